import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { TimerSet } from "../src/rpc/timers.ts";
import { ReplyCache, replyCacheKey } from "../src/rpc/reply_cache.ts";
import { DEFAULT_RPC_LIMITS, resolveLimits } from "../src/rpc/limits.ts";
import { RttEstimator } from "../src/rpc/rtt.ts";
import { abortError, PendingCall } from "../src/rpc/call.ts";
import { OutgoingMessage } from "../src/wire/codec.ts";
import { PeerTimeoutError } from "../src/errors.ts";

const peer = { name: "B", address: "10.0.0.2", udpPort: 1, tcpPort: 2 };

test("TimerSet counts live timers through fire, clear and clearAll", async () => {
  const clock = new FakeClock();
  const timers = new TimerSet(clock);
  let fired = 0;
  const a = timers.set(() => fired++, 10);
  timers.set(() => fired++, 20);
  timers.set(() => fired++, 30);
  assert.equal(timers.size, 3);
  timers.clear(a);
  timers.clear(a);
  timers.clear(undefined);
  assert.equal(timers.size, 2);
  await clock.advance(20);
  assert.equal(fired, 1);
  assert.equal(timers.size, 1);
  timers.clearAll();
  assert.equal(timers.size, 0);
  assert.equal(clock.pending(), 0);
});

test("PendingCall times out naming peer, function and time, and cleans up once", async () => {
  const clock = new FakeClock();
  const timers = new TimerSet(clock);
  const call = new PendingCall({ id: "1", peer, fn: "slow", timeoutMs: 250, timers });
  let cleanups = 0;
  call.onSettle(() => cleanups++);
  const outcome = assert.rejects(call.promise, (err) => {
    assert.ok(err instanceof PeerTimeoutError);
    assert.equal(err.timeoutMs, 250);
    assert.match(err.message, /'slow' on 'B' timed out after 250 ms \(udp\)/);
    return true;
  });
  await clock.advance(250);
  await outcome;
  call.settle({ ok: true, value: 1 });
  assert.equal(cleanups, 1);
  assert.equal(timers.size, 0);
  let late = 0;
  call.onSettle(() => late++);
  assert.equal(late, 1, "cleanup registered after settling runs at once");
});

test("PendingCall removes its abort listener when it settles", () => {
  const timers = new TimerSet(new FakeClock());
  const controller = new AbortController();
  const call = new PendingCall({ id: "1", peer, fn: "f", timeoutMs: 1000, timers, signal: controller.signal });
  call.settle({ ok: true, value: 1 });
  controller.abort();
  return call.promise.then((value) => assert.equal(value, 1));
});

test("abortError() keeps an AbortError reason and wraps anything else", () => {
  const reason = new DOMException("stop", "AbortError");
  assert.equal(abortError(AbortSignal.abort(reason), "x"), reason);
  const wrapped = abortError(AbortSignal.abort(new Error("other")), "call 'f'");
  assert.equal(wrapped.name, "AbortError");
  assert.equal(wrapped.message, "call 'f' was aborted");
});

test("ReplyCache expires entries after the TTL, oldest first, without timers", async () => {
  const clock = new FakeClock();
  const cache = new ReplyCache({ clock, ttl: 1000, maxEntries: 100, maxBytes: 1 << 20 });
  const reply = OutgoingMessage.response("1", 1);
  const first = cache.begin(replyCacheKey("A", "1"));
  assert.equal(cache.get(replyCacheKey("A", "1"))?.state, "running");
  cache.complete(first, reply, true, new Uint8Array(10), 10);
  assert.equal(cache.bytes, 10);
  await clock.advance(999);
  assert.equal(cache.get(replyCacheKey("A", "1"))?.state, "done");
  await clock.advance(1);
  assert.equal(cache.get(replyCacheKey("A", "1")), undefined);
  assert.equal(cache.bytes, 0);
  assert.equal(clock.pending(), 0);
});

test("ReplyCache bounds entries and bytes, never evicting running calls", () => {
  const clock = new FakeClock();
  const cache = new ReplyCache({ clock, ttl: 60_000, maxEntries: 10, maxBytes: 100 });
  const running = cache.begin("running");
  for (let i = 0; i < 50; i++) {
    const entry = cache.begin(`k${i}`);
    cache.complete(entry, OutgoingMessage.response(String(i), i), true, new Uint8Array(30), 30);
  }
  assert.ok(cache.size <= 10, `size ${cache.size}`);
  assert.ok(cache.bytes <= 100, `bytes ${cache.bytes}`);
  assert.equal(cache.get("running"), running);
  assert.ok(cache.get("k49"), "the newest entry survives");
  assert.equal(cache.get("k0"), undefined);
});

test("ReplyCache wakes waiters and forgets entries it should not keep", async () => {
  const cache = new ReplyCache({ clock: new FakeClock(), ttl: 1000, maxEntries: 10, maxBytes: 100 });
  const entry = cache.begin("k");
  const waiting = cache.wait(entry);
  const reply = OutgoingMessage.response("k", "v");
  cache.complete(entry, reply, false);
  assert.equal(await waiting, reply);
  assert.equal(cache.get("k"), undefined);
  assert.equal(cache.size, 0);
});

test("resolveLimits() fills defaults and refuses nonsense", () => {
  assert.deepEqual(resolveLimits(), { ...DEFAULT_RPC_LIMITS });
  assert.equal(resolveLimits({ retryInitial: 20 }).retryInitial, 20);
  assert.throws(() => resolveLimits({ replyCacheTtl: 0 }), /replyCacheTtl must be a positive number, got 0/);
  assert.throws(() => resolveLimits({ maxDepth: Number.NaN }), RangeError);
  assert.throws(() => resolveLimits({ maxFrameBytes: 3 * 2 ** 30 }), /below 2 GiB/);
});

test("RttEstimator starts at the minimum, follows samples and stays within bounds", () => {
  const rtt = new RttEstimator(100, 500);
  assert.equal(rtt.timeout("p"), 100);
  rtt.sample("p", 300);
  assert.equal(rtt.timeout("p"), 500, "300 + 4 * 150 capped at 500");
  for (let i = 0; i < 50; i++) rtt.sample("p", 1);
  assert.equal(rtt.timeout("p"), 100, "a fast peer goes back to the minimum");
  rtt.sample("q", 120);
  assert.ok(rtt.timeout("q") > 100 && rtt.timeout("q") <= 500);
  assert.equal(rtt.timeout("unknown"), 100);
});
