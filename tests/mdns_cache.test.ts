import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { type CacheEntry, type ExpireReason, RecordCache } from "../src/mdns/cache.ts";
import type { MdnsRecord } from "../src/mdns/records.ts";

function setup(random = () => 0) {
  const clock = new FakeClock();
  const expired: Array<[string, ExpireReason, number]> = [];
  const refreshed: Array<[string, number]> = [];
  const label = (e: CacheEntry) => `${e.record.type} ${e.record.type === "A" ? e.record.data : e.record.name}`;
  const cache = new RecordCache({
    clock,
    random,
    onExpire: (e, why) => expired.push([label(e), why, clock.now()]),
    onRefresh: (e) => refreshed.push([label(e), clock.now()]),
  });
  return { clock, cache, expired, refreshed };
}

const a = (data: string, ttl = 120, flush = true): MdnsRecord => ({ name: "h.local", type: "A", ttl, flush, data });

test("RecordCache expires a record at its TTL", async () => {
  const { clock, cache, expired } = setup();
  cache.add(a("10.0.0.1", 10), "10.0.0.1");
  await clock.advance(9_999);
  assert.equal(expired.length, 0);
  await clock.advance(1);
  assert.deepEqual(expired, [["A 10.0.0.1", "expired", 10_000]]);
  assert.equal(cache.size, 0);
  cache.close();
});

test("RecordCache fires refresh points at 80, 85, 90 and 95% of the TTL, and a last one at 97.5%", async () => {
  const { clock, cache, refreshed } = setup();
  cache.add(a("10.0.0.1", 100), "10.0.0.1");
  await clock.advance(100_000);
  assert.deepEqual(refreshed.map(([, t]) => t), [80_000, 85_000, 90_000, 95_000, 97_500]);
  cache.close();
});

test("RecordCache adds up to 2% jitter to refresh points", async () => {
  const { clock, cache, refreshed } = setup(() => 0.999);
  cache.add(a("10.0.0.1", 100), "10.0.0.1");
  await clock.advance(100_000);
  const times = refreshed.map(([, t]) => t);
  assert.equal(times.length, 5);
  for (const [i, p] of [0.8, 0.85, 0.9, 0.95, 0.975].entries()) {
    assert.ok(times[i] > p * 100_000 + 1900 && times[i] <= (p + 0.02) * 100_000, `point ${i}: ${times[i]}`);
  }
  cache.close();
});

test("RecordCache re-receiving a record restarts its TTL and refresh points", async () => {
  const { clock, cache, expired, refreshed } = setup();
  cache.add(a("10.0.0.1", 10), "10.0.0.1");
  await clock.advance(7_000);
  const r = cache.add(a("10.0.0.1", 10), "10.0.0.1");
  assert.equal(r.fresh, false);
  await clock.advance(9_000);
  assert.equal(expired.length, 0);
  assert.deepEqual(refreshed.map(([, t]) => t), [15_000, 15_500, 16_000]);
  await clock.advance(1_000);
  assert.equal(expired.length, 1);
  cache.close();
});

test("RecordCache turns a goodbye (TTL 0) into expiry one second later (RFC 6762 10.1)", async () => {
  const { clock, cache, expired } = setup();
  cache.add(a("10.0.0.1"), "10.0.0.1");
  await clock.advance(5_000);
  const r = cache.add(a("10.0.0.1", 0), "10.0.0.1");
  assert.equal(r.goodbye, true);
  await clock.advance(999);
  assert.equal(expired.length, 0);
  await clock.advance(1);
  assert.deepEqual(expired, [["A 10.0.0.1", "goodbye", 6_000]]);
  cache.close();
});

test("RecordCache honours the cache-flush bit: older members of the set expire in one second", async () => {
  const { clock, cache, expired } = setup();
  cache.add(a("10.0.0.1"), "10.0.0.1");
  await clock.advance(2_000);
  cache.add(a("10.0.0.2"), "10.0.0.2");
  cache.add(a("10.0.0.3"), "10.0.0.2"); // same packet: both stay
  await clock.advance(1_000);
  assert.deepEqual(expired, [["A 10.0.0.1", "flushed", 3_000]]);
  assert.deepEqual(cache.find("h.local", "A").map((e) => e.record.data).sort(), ["10.0.0.2", "10.0.0.3"]);
  cache.close();
});

test("RecordCache keeps members received within the last second when the flush bit arrives", async () => {
  const { clock, cache, expired } = setup();
  cache.add(a("10.0.0.1"), "10.0.0.1");
  await clock.advance(500);
  cache.add(a("10.0.0.2"), "10.0.0.2");
  await clock.advance(5_000);
  assert.equal(expired.length, 0);
  cache.close();
});

test("RecordCache ignores the flush bit's absence: shared records accumulate", async () => {
  const { clock, cache, expired } = setup();
  cache.add(a("10.0.0.1", 120, false), "x");
  await clock.advance(2_000);
  cache.add(a("10.0.0.2", 120, false), "y");
  await clock.advance(2_000);
  assert.equal(expired.length, 0);
  assert.equal(cache.size, 2);
  cache.close();
});

test("RecordCache.knownAnswers() lists only records with more than half their TTL left", async () => {
  const { clock, cache } = setup();
  cache.add(a("10.0.0.1", 100), "x");
  await clock.advance(40_000);
  const ka = cache.knownAnswers({ name: "H.LOCAL", type: "A", qu: false });
  assert.equal(ka.length, 1);
  assert.equal(ka[0].ttl, 60, "remaining TTL, not the original");
  assert.equal(ka[0].flush, false);
  await clock.advance(10_001);
  assert.equal(cache.knownAnswers({ name: "h.local", type: "A", qu: false }).length, 0);
  cache.close();
});

test("RecordCache.expireSoon() brings expiry forward with the given reason", async () => {
  const { clock, cache, expired } = setup();
  const { entry } = cache.add(a("10.0.0.1"), "x");
  cache.expireSoon(entry!, 1500, "unanswered");
  await clock.advance(1500);
  assert.deepEqual(expired, [["A 10.0.0.1", "unanswered", 1500]]);
  cache.close();
});

test("RecordCache bounds entries per record set, per sender and in total", () => {
  const clock = new FakeClock();
  const cache = new RecordCache({ clock, maxEntries: 50, maxPerRrset: 8, maxPerSource: 5 });
  for (let i = 0; i < 20; i++) cache.add(a(`10.0.0.${i}`, 120, false), "x");
  assert.equal(cache.find("h.local", "A").length, 5, "one sender fills at most 5");
  for (let i = 0; i < 20; i++) cache.add(a(`10.0.1.${i}`, 120, false), `y${i}`);
  assert.equal(cache.find("h.local", "A").length, 8);
  for (let i = 0; i < 100; i++) cache.add({ ...a("10.0.0.1"), name: `h${i}.local` }, "x");
  assert.equal(cache.size, 50);
  cache.close();
  assert.equal(clock.pending(), 0, "close() cancels the timer");
});

test("RecordCache gives the records of one packet the same refresh times (one query refreshes them all)", async () => {
  const clock = new FakeClock();
  let n = 0;
  const refreshed: Array<[string, number]> = [];
  const cache = new RecordCache({
    clock,
    random: () => (n++ % 7) / 7,
    onRefresh: (e) => refreshed.push([e.record.type, clock.now()]),
  });
  cache.add(a("10.0.0.1", 100), "10.0.0.9");
  cache.add({ name: "x._t._tcp.local", type: "TXT", ttl: 100, flush: true, data: [] }, "10.0.0.9");
  await clock.advance(1);
  cache.add(a("10.0.0.2", 100), "10.0.0.9"); // another packet: its own jitter
  await clock.advance(100_000);
  const byTime = new Map<number, string[]>();
  for (const [type, t] of refreshed) byTime.set(t, [...(byTime.get(t) ?? []), type]);
  const firstTimes = [...byTime.entries()].filter(([, types]) => types.length === 2);
  assert.equal(firstTimes.length, 5, "A and TXT of the first packet refresh together at every point");
  cache.close();
});

test("RecordCache refreshes an identical record in place; a new TTL, spelling or sender replaces the entry", () => {
  const { cache } = setup();
  const first = cache.add(a("10.0.0.1", 120), "10.0.0.1").entry;
  assert.equal(cache.add(a("10.0.0.1", 120), "10.0.0.1").entry, first, "same record again: same entry");
  const longer = cache.add(a("10.0.0.1", 4500), "10.0.0.1").entry;
  assert.notEqual(longer, first);
  assert.equal(longer?.record.ttl, 4500);
  const upper = cache.add({ ...a("10.0.0.1", 4500), name: "H.local" }, "10.0.0.1").entry;
  assert.equal(upper?.record.name, "H.local", "the newest spelling is kept");
  const other = cache.add({ ...a("10.0.0.1", 4500), name: "H.local" }, "10.0.0.9").entry;
  assert.equal(other?.source, "10.0.0.9");
  assert.equal(cache.size, 1);
  cache.close();
});

test("RecordCache: a refreshed record does not expire at its old time, and many adds keep one timer", async () => {
  const { clock, cache, expired } = setup();
  for (let i = 0; i < 50; i++) cache.add(a(`10.0.1.${i}`, 10), "10.0.0.1");
  assert.equal(clock.pending(), 1);
  await clock.advance(5_000);
  for (let i = 0; i < 50; i++) cache.add(a(`10.0.1.${i}`, 10), "10.0.0.1");
  await clock.advance(9_999);
  assert.equal(expired.length, 0);
  await clock.advance(1);
  assert.equal(expired.length, 50);
  assert.equal(clock.pending(), 0);
  cache.close();
});
