import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { TimerSet } from "../../src/rpc/timers.ts";
import { ReplyCache, replyCacheKey } from "../../src/rpc/reply_cache.ts";
import { DEFAULT_RPC_LIMITS, resolveLimits } from "../../src/rpc/limits.ts";
import { RttEstimator } from "../../src/rpc/rtt.ts";
import { abortError, PendingCall } from "../../src/rpc/call.ts";
import { OutgoingMessage } from "../../src/wire/codec.ts";
import { PeerTimeoutError } from "../../src/errors.ts";

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

test("TimerSet serves every timer with one runtime timer, in due order, re-arming only for sooner ones", async () => {
  const clock = new FakeClock();
  let armed = 0;
  const counting = {
    now: () => clock.now(),
    setTimeout: (fn: () => void, ms: number) => (armed++, clock.setTimeout(fn, ms)),
    clearTimeout: (id: unknown) => clock.clearTimeout(id),
  };
  const timers = new TimerSet(counting);
  const order: string[] = [];
  timers.set(() => order.push("c"), 300);
  timers.set(() => order.push("a"), 100);
  timers.set(() => order.push("b1"), 200);
  timers.set(() => order.push("b2"), 200);
  assert.equal(clock.pending(), 1, "one runtime timer for four timers");
  assert.equal(armed, 2, "armed for 300, then re-armed for the sooner 100");
  // Sequential calls: each sets and clears timers due later than the alarm; no runtime timer.
  for (let i = 0; i < 1000; i++) timers.clear(timers.set(() => order.push("never"), 5000 + i));
  assert.equal(armed, 2);
  assert.equal(timers.size, 4);
  await clock.advance(200);
  assert.deepEqual(order, ["a", "b1", "b2"]);
  await clock.advance(100);
  assert.deepEqual(order, ["a", "b1", "b2", "c"]);
  assert.equal(timers.size, 0);
  timers.set(() => order.push("d"), 50);
  timers.clearAll();
  assert.equal(clock.pending(), 0, "clearAll() cancels the runtime timer");
  await clock.advance(100);
  assert.equal(order.length, 4);
});

test("TimerSet survives a throwing callback and a callback that reschedules itself at 0 ms", async () => {
  const clock = new FakeClock();
  const timers = new TimerSet(clock);
  let spins = 0;
  const spin = () => {
    if (++spins < 5) timers.set(spin, 0);
  };
  timers.set(spin, 10);
  let after = false;
  timers.set(() => {
    throw new Error("boom");
  }, 20);
  timers.set(() => (after = true), 20);
  const uncaught: unknown[] = [];
  try {
    await clock.advance(15);
  } catch (error) {
    uncaught.push(error);
  }
  assert.equal(spins, 5, "each 0 ms reschedule ran once, on its own alarm");
  await clock.advance(5).catch((error) => uncaught.push(error));
  await clock.advance(1).catch((error) => uncaught.push(error));
  assert.equal(uncaught.length, 1);
  assert.ok(after, "the timer due with the throwing one still ran");
  assert.equal(timers.size, 0);
  timers.clearAll();
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

test("abortError() rejects with an Error reason as fetch does and wraps anything else", async () => {
  const reason = new DOMException("stop", "AbortError");
  assert.equal(abortError(AbortSignal.abort(reason), "x"), reason);
  const other = new Error("other");
  assert.equal(abortError(AbortSignal.abort(other), "x"), other);
  const timeout = AbortSignal.timeout(1);
  await new Promise((resolve) => timeout.addEventListener("abort", resolve, { once: true }));
  assert.equal(abortError(timeout, "x").name, "TimeoutError");
  const wrapped = abortError(AbortSignal.abort("bored"), "call 'f'");
  assert.equal(wrapped.name, "AbortError");
  assert.equal(wrapped.message, "call 'f' was aborted");
  assert.equal(wrapped.cause, "bored");
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

test("ReplyCache expires in completion order, past a long-running call, and survives sitting at its cap", async () => {
  const clock = new FakeClock();
  const cache = new ReplyCache({ clock, ttl: 1000, maxEntries: 100, maxBytes: 1 << 20 });
  const slow = cache.begin("slow");
  const late = cache.begin("late");
  const early = cache.begin("early");
  cache.complete(early, OutgoingMessage.response("early", 1), true, new Uint8Array(4), 4);
  await clock.advance(500);
  cache.complete(late, OutgoingMessage.response("late", 2), true, new Uint8Array(4), 4);
  await clock.advance(500);
  cache.begin("trigger"); // adding an entry expires what is due
  assert.equal(cache.get("early"), undefined, "expired 1000 ms after its reply");
  assert.equal(cache.get("late")?.state, "done", "begun first but answered later: still kept");
  assert.equal(cache.get("slow"), slow, "a running call never expires and does not block expiry");
  assert.equal(cache.bytes, 4);
  for (let i = 0; i < 5000; i++) {
    const entry = cache.begin(`k${i}`);
    cache.complete(entry, OutgoingMessage.response(String(i), i), true, new Uint8Array(1), 1);
  }
  assert.equal(cache.size, 100);
  assert.equal(cache.bytes, 100 - 2, "98 finished entries of 1 byte plus two running ones");
  assert.equal(cache.get("k4999")?.state, "done");
  assert.equal(cache.get("k4900"), undefined);
  await clock.advance(1000);
  cache.begin("trigger2");
  assert.equal(cache.size, 3, "only the running calls remain once every reply expired");
  assert.equal(cache.bytes, 0);
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

test("resolveLimits() refuses stream limits the wire cannot carry", () => {
  // A CREDIT frame grants at most 2^32 - 1 bytes: a larger window broke every stream's connection.
  assert.throws(() => resolveLimits({ streamWindow: Infinity }), /streamWindow must be at most 1 GiB/);
  assert.throws(() => resolveLimits({ maxStreamWindow: 2 ** 32 }), /maxStreamWindow must be at most 1 GiB/);
  assert.equal(resolveLimits({ streamWindow: 2 ** 30, maxStreamWindow: 2 ** 30 }).streamWindow, 2 ** 30);
  // A chunk larger than a frame could never be sent: the default follows a smaller frame limit.
  assert.equal(resolveLimits({ maxFrameBytes: 1024 }).streamChunkBytes, 1024);
  assert.throws(
    () => resolveLimits({ maxFrameBytes: 1 << 20, streamChunkBytes: 2 << 20 }),
    /streamChunkBytes \(2097152\) must be at most maxFrameBytes \(1048576\)/,
  );
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
