import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { type CacheEntry, type ExpireReason, RecordCache } from "../src/mdns/cache.ts";
import type { MdnsRecord } from "../src/mdns/records.ts";
import { SourceGroups } from "../src/mdns/source_groups.ts";
import { DueQueue } from "../src/mdns/due_queue.ts";
import { mulberry32 } from "../src/testing/prng.ts";

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

/** A complete fake service's records (PTR, SRV, TXT, A), as one host announces it. */
function service(label: string, address: string): MdnsRecord[] {
  const instance = `${label}._t._tcp.local`;
  const host = `${label}.local`;
  return [
    { name: "_t._tcp.local", type: "PTR", ttl: 4500, flush: false, data: instance },
    { name: instance, type: "SRV", ttl: 120, flush: true, data: { priority: 0, weight: 0, port: 1, target: host } },
    { name: instance, type: "TXT", ttl: 120, flush: true, data: [] },
    { name: host, type: "A", ttl: 120, flush: true, data: address },
  ];
}

function bounded(maxEntries: number, maxPerSource: number) {
  const clock = new FakeClock();
  const evicted: string[] = [];
  const cache = new RecordCache({
    clock,
    maxEntries,
    maxPerSource,
    onExpire: (e, why) => why === "evicted" && evicted.push(`${e.source} ${e.record.type} ${e.record.name}`),
  });
  const addAll = (records: MdnsRecord[], source: string) => records.map((r) => cache.add(r, source));
  return { clock, cache, evicted, addAll };
}

test("RecordCache: one sender holds at most its share over all its records; beyond it its records are refused", () => {
  const { cache, evicted, addAll } = bounded(1000, 8);
  addAll(service("real", "10.0.0.1"), "10.0.0.1");
  for (let i = 0; i < 100; i++) addAll(service(`fake${i}`, "10.0.0.9"), "10.0.0.9");
  assert.equal(cache.size, 4 + 8, "the flooder holds its share, the other host all of its records");
  assert.equal(cache.find("real._t._tcp.local", "SRV").length, 1);
  assert.deepEqual(cache.find("fake1._t._tcp.local", "ANY").map((e) => e.record.type).sort(), ["SRV", "TXT"]);
  assert.deepEqual(cache.find("fake99._t._tcp.local", "ANY"), []);
  assert.deepEqual(evicted, [], "nobody's records were evicted, not even the flooder's");
  assert.deepEqual(cache.stats, { entries: 12, kept: 0, sources: 2, largestSource: 8, evicted: 0, refused: 392 });
  // What it holds is refreshed in place: that needs no room.
  const again = service("fake0", "10.0.0.9").map((r) => cache.add(r, "10.0.0.9"));
  assert.ok(again.every((r) => r.entry !== undefined));
  assert.equal(cache.stats.refused, 392);
  cache.close();
});

test("RecordCache: in a full cache a source below its fair share takes room from the largest; small sources keep everything", () => {
  const { cache, evicted, addAll } = bounded(40, 30);
  addAll(service("real", "10.0.0.1"), "10.0.0.1");
  for (let i = 0; i < 50; i++) addAll(service(`fake${i}`, `10.0.1.${i % 5}`), `10.0.1.${i % 5}`);
  assert.equal(cache.size, 40);
  assert.equal(cache.find("real._t._tcp.local", "ANY").length, 2, "the small source kept its records");
  assert.ok(evicted.every((e) => e.startsWith("10.0.1.")), evicted.join("; "));
  const stats = cache.stats;
  assert.equal(stats.sources, 6);
  assert.ok(stats.largestSource <= 8, `the floods share the rest evenly: ${JSON.stringify(stats)}`);
  assert.ok(stats.evicted > 0 && stats.refused > 0, "newcomers below their share took room, the others were refused");
  cache.close();
});

test("RecordCache.keep(): an instance's SRV, TXT, the PTRs to it and its host's addresses go only for kept newcomers", () => {
  const { cache, addAll, evicted } = bounded(12, 100);
  addAll(service("real", "10.0.0.1"), "10.0.0.1");
  cache.keep("Real._T._tcp.local.", true); // any spelling of the name
  assert.equal(cache.stats.kept, 4, "PTR, SRV, TXT and the address of the SRV's host");
  for (let i = 0; i < 20; i++) addAll(service(`fake${i}`, `10.0.1.${i}`), `10.0.1.${i}`);
  assert.equal(cache.find("real._t._tcp.local", "ANY").length, 2);
  assert.equal(cache.find("real.local", "A").length, 1);
  assert.ok(
    evicted.length > 0 && evicted.every((e) => e.startsWith("10.0.1.")),
    "the fakes made room among themselves",
  );

  // Only kept records left to evict: an ordinary newcomer is refused, a kept one makes room.
  const small = bounded(4, 100);
  small.addAll(service("real", "10.0.0.1"), "10.0.0.1");
  small.cache.keep("real._t._tcp.local", true);
  const refused = small.addAll(service("fake", "10.0.1.1"), "10.0.1.1");
  assert.ok(refused.every((r) => r.entry === undefined && !r.fresh));
  assert.deepEqual(small.cache.stats, { entries: 4, kept: 4, sources: 1, largestSource: 4, evicted: 0, refused: 4 });
  small.cache.keep("other._t._tcp.local", true);
  const [, srv] = service("other", "10.0.1.1");
  assert.ok(small.cache.add(srv, "10.0.1.1").entry, "a kept newcomer evicts the oldest kept record");
  assert.equal(small.cache.stats.evicted, 1);

  // Stopping: the records are ordinary again; the host's address follows its SRV.
  cache.keep("real._t._tcp.local", false);
  assert.equal(cache.stats.kept, 0);
  cache.close();
  small.cache.close();
});

test("RecordCache: a refused copy of a record from another sender leaves the cached one as it was", () => {
  const { cache } = bounded(100, 1);
  cache.keep("k.local", true);
  cache.add({ name: "k.local", type: "A", ttl: 120, flush: true, data: "10.0.0.3" }, "10.0.0.3"); // 10.0.0.3's share: kept
  const record: MdnsRecord = { name: "r.local", type: "A", ttl: 120, flush: true, data: "10.0.0.2" };
  const original = cache.add(record, "10.0.0.2").entry;
  const copy = cache.add({ ...record, ttl: 4500 }, "10.0.0.3");
  assert.equal(copy.entry, undefined, "10.0.0.3 has no room it may take");
  assert.equal(cache.get(record), original);
  assert.equal(original?.source, "10.0.0.2");
  assert.equal(cache.find("r.local", "A").length, 1);
  assert.deepEqual([cache.size, cache.stats.refused], [2, 1]);
  cache.close();
});

test("RecordCache.knownAnswers(): at most `max`, kept records first, then the most recent", async () => {
  const { clock, cache, addAll } = bounded(1000, 1000);
  addAll(service("kept", "10.0.0.1"), "10.0.0.1");
  await clock.advance(10);
  for (let i = 0; i < 10; i++) {
    addAll(service(`other${i}`, "10.0.0.2"), "10.0.0.2");
    await clock.advance(10);
  }
  cache.keep("kept._t._tcp.local", true);
  const q = { name: "_t._tcp.local", type: "PTR", qu: false };
  assert.equal(cache.knownAnswers(q).length, 11);
  assert.deepEqual(cache.knownAnswers(q, 3).map((r) => r.type === "PTR" && r.data), [
    "kept._t._tcp.local",
    "other9._t._tcp.local",
    "other8._t._tcp.local",
  ]);
  assert.deepEqual(cache.knownAnswers(q, 0), []);
  cache.close();
});

test("RecordCache: a record received again and again still refreshes and expires on time, with one timer", async () => {
  const { clock, cache, expired, refreshed } = setup();
  for (let i = 0; i < 10_000; i++) cache.add(a("10.0.0.1", 100), "10.0.0.1");
  for (let i = 0; i < 100; i++) cache.add({ ...a(`10.0.2.${i}`, 100), name: `h${i}.local` }, "10.0.0.1");
  assert.equal(clock.pending(), 1);
  await clock.advance(80_000);
  assert.equal(refreshed.length, 101, "each record once at 80%");
  await clock.advance(20_000);
  assert.equal(expired.length, 101);
  assert.equal(clock.pending(), 0);
  cache.close();
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

test("SourceGroups: the oldest item of the largest source, through random adds, touches and deletes", () => {
  const random = mulberry32(9);
  const groups = new SourceGroups<{ source: string; n: number }>();
  const model = new Map<string, Array<{ source: string; n: number }>>();
  for (let n = 0; n < 5000; n++) {
    const source = `s${Math.floor(random() * 12)}`;
    const list = model.get(source) ?? [];
    const roll = random();
    if (roll < 0.5 || list.length === 0) {
      const item = { source, n };
      groups.add(item);
      model.set(source, [...list, item]);
    } else if (roll < 0.7) {
      const item = list[Math.floor(random() * list.length)];
      groups.touch(item);
      model.set(source, [...list.filter((x) => x !== item), item]);
    } else {
      const item = list[Math.floor(random() * list.length)];
      assert.equal(groups.delete(item), true);
      model.set(source, list.filter((x) => x !== item));
    }
    const largest = Math.max(0, ...[...model.values()].map((l) => l.length));
    assert.equal(groups.largest, largest);
    const victim = groups.oldestOfLargest();
    if (largest === 0) assert.equal(victim, undefined);
    else {
      const itsList = model.get(victim!.source)!;
      assert.equal(itsList.length, largest, "from a largest source");
      assert.equal(itsList[0], victim, "its oldest item");
    }
  }
  assert.equal(groups.size, [...model.values()].reduce((sum, l) => sum + l.length, 0));
});

test("DueQueue: items come out earliest first", () => {
  const random = mulberry32(4);
  const queue = new DueQueue<number>();
  const model: number[] = [];
  for (let i = 0; i < 3000; i++) {
    if (random() < 0.6 || model.length === 0) {
      const t = Math.floor(random() * 1000);
      queue.push(t, t);
      model.push(t);
    } else {
      model.sort((x, y) => x - y);
      assert.equal(queue.pop()?.time, model.shift());
    }
    assert.equal(queue.size, model.length);
  }
});
