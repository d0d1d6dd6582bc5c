import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { RpcEndpoint, type RpcEndpointOptions } from "../../src/rpc/endpoint.ts";
import { type RpcPair, rpcPair } from "../support/rpc_pair.ts";
import { NO_CAPABILITIES } from "../../src/wire/capabilities.ts";
import { PayloadTooLarge, PeerTimeoutError, RemoteError } from "../../src/errors.ts";
import type { Datagram } from "../../src/net.ts";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

type Pair = RpcPair & { clock: FakeClock };

/** "Worker" (10.0.0.1) calls "Host" (10.0.0.2) on an in-memory LAN with a fake clock. */
async function pair(hostOptions: Partial<RpcEndpointOptions> = {}, network?: MemoryNetwork): Promise<Pair> {
  const t = await rpcPair({ host: hostOptions, network, fake: true, seed: 7 });
  return { ...t, clock: t.clock! };
}

/** Advances the fake clock in steps until every promise settled (bounded). */
async function settleAll<T>(clock: FakeClock, promises: Promise<T>[], stepMs = 50, maxMs = 60_000) {
  const results = Promise.allSettled(promises);
  let done = false;
  results.then(() => (done = true));
  for (let elapsed = 0; !done && elapsed <= maxMs; elapsed += stepMs) await clock.advance(stepMs);
  assert.ok(done, `calls still pending after ${maxMs} ms of fake time`);
  return await results;
}

test("UDP: 200 calls at 30% datagram loss all succeed and the handler runs exactly 200 times", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 2024, loss: 0.3, clock });
  let invocations = 0;
  const t = await pair({ handlers: { inc: (n: number) => (invocations++, n + 1) } }, network);
  try {
    const calls = Array.from({ length: 200 }, (_, i) => t.worker.call(t.peer, "inc", [i], { transport: "udp" }));
    const results = await settleAll(clock, calls);
    const failures = results.filter((r) => r.status === "rejected");
    assert.equal(failures.length, 0, `failures: ${failures.map((f) => (f as PromiseRejectedResult).reason)}`);
    assert.deepEqual(results.map((r) => (r as PromiseFulfilledResult<unknown>).value), calls.map((_, i) => i + 1));
    assert.equal(invocations, 200);
    assert.ok(network.stats.dropped > 50, `expected real loss, dropped ${network.stats.dropped}`);
    assert.ok(t.worker.stats().udp.retransmits > 0);
    assert.ok(t.host.stats().serve.duplicates > 0, "some retransmissions reached the host and hit the cache");
    assert.equal(t.worker.stats().pendingCalls, 0);
  } finally {
    await t.close();
  }
});

test("UDP: duplicated datagrams run the handler once per call", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 5, duplicate: 0.5, delayMs: [0, 20], clock });
  let invocations = 0;
  const t = await pair({ handlers: { count: () => ++invocations } }, network);
  try {
    const calls = Array.from({ length: 50 }, () => t.worker.call(t.peer, "count", []));
    const results = await settleAll(clock, calls, 10);
    assert.ok(results.every((r) => r.status === "fulfilled"));
    assert.equal(invocations, 50);
    assert.ok(network.stats.duplicated > 0);
  } finally {
    await t.close();
  }
});

test("UDP: a duplicate request is answered from the reply cache without running the handler", async () => {
  let invocations = 0;
  const t = await pair({ handlers: { add: (a: number, b: number) => (invocations++, a + b) } });
  const replies: Datagram[] = [];
  const raw = await t.network.host("10.0.0.3").bindDatagram({ address: "0.0.0.0", port: 0 }, (d) => replies.push(d));
  try {
    const request = encode({
      type: "request",
      id: "dup-1",
      src: "Raw",
      dst: "Host",
      rpc: "add",
      args: [1, 2],
      kwargs: {},
    });
    await raw.send(request, "10.0.0.2", t.peer.udpPort);
    await t.clock.advance(0);
    await raw.send(request, "10.0.0.2", t.peer.udpPort);
    await t.clock.advance(0);
    assert.equal(replies.length, 2);
    assert.deepEqual(decode(replies[0].data), { type: "response", id: "dup-1", result: 3 });
    assert.deepEqual([...replies[1].data], [...replies[0].data]);
    assert.equal(invocations, 1);
    assert.equal(t.host.stats().serve.duplicates, 1);
    // Another caller may use the same id: the key is (src, id).
    await raw.send(
      encode({ type: "request", id: "dup-1", src: "Other", dst: "Host", rpc: "add", args: [5, 5], kwargs: {} }),
      "10.0.0.2",
      t.peer.udpPort,
    );
    await t.clock.advance(0);
    assert.equal(decode(replies[2].data).result, 10);
    assert.equal(invocations, 2);
    // After the cache lifetime the id is forgotten.
    await t.clock.advance(t.host.limits.replyCacheTtl + 1);
    await raw.send(
      encode({ type: "request", id: "late", src: "Raw", dst: "Host", rpc: "add", args: [0, 0], kwargs: {} }),
      "10.0.0.2",
      t.peer.udpPort,
    );
    await t.clock.advance(0);
    assert.equal(t.host.stats().replyCache.entries, 1, "the expired entries were swept");
  } finally {
    await raw.close();
    await t.close();
  }
});

test("UDP: a reply too large for a datagram is fetched over TCP without re-running the handler", async () => {
  let invocations = 0;
  const big = "x".repeat(10_000);
  const blob = new Uint8Array(50_000).map((_, i) => i & 0xff);
  const t = await pair({ handlers: { big: () => (invocations++, big), blob: () => (invocations++, { blob }) } });
  try {
    const result = t.worker.call(t.peer, "big", []);
    await t.clock.advance(0);
    assert.equal(await result, big);
    assert.equal(invocations, 1);
    const stats = t.worker.stats();
    assert.equal(stats.calls.udp, 1);
    assert.equal(stats.calls.retriedOverTcp, 1);
    assert.equal(t.host.stats().serve.fetchedOverTcp, 1);
    assert.equal(t.host.stats().serve.repliesTooLargeForUdp, 1);
    const back = await t.worker.call(t.peer, "blob", []) as { blob: Uint8Array };
    assert.ok(back.blob instanceof Uint8Array);
    assert.deepEqual([...back.blob], [...blob]);
    assert.equal(invocations, 2);
  } finally {
    await t.close();
  }
});

test("UDP: a Python caller gets a PayloadTooLarge error for a reply too large for a datagram", async () => {
  const t = await pair({ handlers: { big: () => "y".repeat(5000) } });
  const replies: Datagram[] = [];
  const raw = await t.network.host("10.0.0.3").bindDatagram({ address: "0.0.0.0", port: 0 }, (d) => replies.push(d));
  try {
    await raw.send(
      encode({ type: "request", id: "py-1", src: "PyNode", dst: "Host", rpc: "big", args: [], kwargs: {} }),
      "10.0.0.2",
      t.peer.udpPort,
    );
    await t.clock.advance(0);
    const reply = decode(replies[0].data);
    assert.equal(reply.type, "error");
    assert.equal(reply.error.type, "PayloadTooLarge");
    assert.match(reply.error.message, /too large for a UDP datagram.*Call it over TCP/);
    assert.equal(reply.retry, undefined, "no PeerLink-TS extension toward a Python caller");
  } finally {
    await raw.close();
    await t.close();
  }
});

test("UDP: transport 'udp' refuses an oversize request before sending or registering anything", async () => {
  const t = await pair({ handlers: { f: () => 1 } });
  try {
    const sentBefore = t.network.stats.sent;
    await assert.rejects(t.worker.call(t.peer, "f", ["z".repeat(2000)], { transport: "udp" }), (err: unknown) => {
      assert.ok(err instanceof PayloadTooLarge);
      assert.equal(err.transport, "udp");
      assert.match(err.message, /^UDP send: \d+ bytes > MAX_SAFE_UDP_PAYLOAD \(1200\)\. Use TCP transport/);
      return true;
    });
    assert.equal(t.network.stats.sent, sentBefore);
    assert.equal(t.worker.stats().pendingCalls, 0);
    assert.equal(t.worker.stats().timers, 0);
    assert.equal(t.worker.stats().calls.started, 0);
  } finally {
    await t.close();
  }
});

test("UDP: auto sends requests that fit a datagram over UDP and larger ones over TCP", async () => {
  const t = await pair({ handlers: { len: (s: string) => s.length } });
  try {
    assert.equal(await t.worker.call(t.peer, "len", ["a".repeat(1000)]), 1000);
    assert.equal(await t.worker.call(t.peer, "len", ["a".repeat(1200)]), 1200);
    const { calls } = t.worker.stats();
    assert.equal(calls.udp, 1);
    assert.equal(calls.tcp, 1);
  } finally {
    await t.close();
  }
});

test("UDP: a Python peer gets one datagram per call, never retransmissions", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 1, clock });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker", clock });
  const seen: Datagram[] = [];
  const python = await network.host("10.0.0.9").bindDatagram({ address: "0.0.0.0", port: 50000 }, (d) => seen.push(d));
  await worker.start();
  try {
    const peer = { name: "Py", address: "10.0.0.9", udpPort: 50000, tcpPort: 50001, capabilities: NO_CAPABILITIES };
    const call = worker.call(peer, "f", [1], { timeout: 2000 });
    const outcome = assert.rejects(call, (err: unknown) => {
      assert.ok(err instanceof PeerTimeoutError);
      assert.equal(err.peer, "Py");
      assert.equal(err.function, "f");
      assert.equal(err.timeoutMs, 2000);
      assert.equal(err.transport, "udp");
      assert.match(err.message, /'f' on 'Py' timed out after 2000 ms \(udp\)/);
      return true;
    });
    await clock.advance(2000);
    await outcome;
    assert.equal(seen.length, 1);
    const request = decode(seen[0].data);
    assert.deepEqual(Object.keys(request), ["type", "id", "src", "dst", "rpc", "args", "kwargs"]);
    assert.match(request.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(worker.stats().timers, 0);
  } finally {
    await python.close();
    await worker.stop();
    await network.close();
  }
});

test("UDP: malformed datagrams are dropped and counted; readable bad requests get an error", async () => {
  let invocations = 0;
  const t = await pair({ handlers: { f: () => ++invocations } });
  const replies: Datagram[] = [];
  const raw = await t.network.host("10.0.0.3").bindDatagram({ address: "0.0.0.0", port: 0 }, (d) => replies.push(d));
  try {
    const junk = [
      new Uint8Array([0xff, 0xfe]),
      new TextEncoder().encode("not json"),
      encode([1, 2, 3]),
      encode({ type: "request", id: 1, rpc: "f" }),
      encode({ type: "request", id: "bad-args", src: "R", dst: "Host", rpc: "f", args: {}, kwargs: {} }),
      encode({
        type: "request",
        id: "proto",
        src: "R",
        dst: "Host",
        rpc: "f",
        args: [{ ["__proto__"]: 1 }],
        kwargs: {},
      })
        .map((b) => b),
    ];
    // JSON.stringify drops a literal __proto__ member; write that one by hand.
    junk[5] = new TextEncoder().encode(
      '{"type":"request","id":"proto","src":"R","dst":"Host","rpc":"f","args":[{"__proto__":{"x":1}}],"kwargs":{}}',
    );
    for (const datagram of junk) await raw.send(datagram, "10.0.0.2", t.peer.udpPort);
    await t.clock.advance(0);
    assert.equal(invocations, 0);
    assert.equal(t.host.stats().udp.malformed, junk.length);
    const answered = replies.map((r) => decode(r.data));
    assert.deepEqual(answered.map((r) => [r.id, r.error.type]), [["bad-args", "BadMessage"], ["proto", "BadMessage"]]);
    assert.equal(await t.worker.call(t.peer, "f", []), 1, "still serving");
  } finally {
    await raw.close();
    await t.close();
  }
});

test("UDP: an unknown reply id is ignored and counted", async () => {
  const t = await pair();
  const raw = await t.network.host("10.0.0.3").bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  try {
    const port = t.worker.ports!.udpPort;
    await raw.send(encode({ type: "response", id: "nobody", result: 1 }), "10.0.0.1", port);
    await t.clock.advance(0);
    assert.equal(t.worker.stats().udp.unmatched, 1);
  } finally {
    await raw.close();
    await t.close();
  }
});

test("UDP: remote errors over UDP carry type and message", async () => {
  const t = await pair({ handlers: { boom: () => Promise.reject(new TypeError("bad input")) } });
  try {
    const call = t.worker.call(t.peer, "boom", []);
    await assert.rejects(call, (err: unknown) => err instanceof RemoteError && err.remoteType === "TypeError");
  } finally {
    await t.close();
  }
});

test("UDP: a burst of calls to one peer keeps at most udpWindow in flight, the rest wait their turn", async () => {
  let running = 0;
  let most = 0;
  const t = await pair({
    handlers: {
      work: async (i: number) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running--;
        return i;
      },
    },
  });
  try {
    const calls = Array.from({ length: 300 }, (_, i) => t.worker.call(t.peer, "work", [i], { transport: "udp" }));
    const results = await settleAll(t.clock, calls, 1);
    assert.ok(results.every((r, i) => r.status === "fulfilled" && r.value === i));
    assert.equal(most, t.worker.limits.udpWindow);
    const stats = t.worker.stats().udp;
    assert.equal(stats.queued, 300 - t.worker.limits.udpWindow);
    assert.equal(t.worker.stats().pendingCalls, 0);
  } finally {
    await t.close();
  }
});
