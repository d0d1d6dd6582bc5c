import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { RpcEndpoint, type RpcEndpointOptions } from "../../src/rpc/endpoint.ts";
import { BusyError } from "../../src/errors.ts";
import { LOCAL_CAPABILITIES } from "../../src/wire/capabilities.ts";
import { FrameReader } from "../../src/wire/frames.ts";
import { CONNECTION_REFUSED_ID } from "../../src/rpc/tcp_server.ts";
import type { StreamConnection } from "../../src/net.ts";
import { securePair, settle } from "../support/security_harness.ts";

const text = new TextEncoder();
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

function request(id: string, rpc: string, args: unknown[] = [], plx = true): Record<string, unknown> {
  const message: Record<string, unknown> = { type: "request", id, src: "Raw", dst: "Host", rpc, args, kwargs: {} };
  if (plx) message.plx = 1;
  return message;
}

function frame(message: unknown): Uint8Array {
  const body = text.encode(JSON.stringify(message));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** Reads one frame body from a raw connection, or null at end of stream. */
async function readFrame(conn: StreamConnection): Promise<Uint8Array | null> {
  const reader = new FrameReader(1 << 24);
  for (;;) {
    const chunk = await conn.read();
    if (chunk === null) return null;
    const frames = reader.push(chunk);
    if (frames.length > 0) return frames[0];
  }
}

/** Host on 10.0.0.2 with a fake clock; callers are made per test. */
async function host(options: Partial<RpcEndpointOptions>) {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 11, clock });
  const endpoint = new RpcEndpoint({ runtime: network.host("10.0.0.2"), name: "Host", clock, ...options });
  const ports = await endpoint.start();
  const peer = { name: "Host", address: "10.0.0.2", ...ports, capabilities: LOCAL_CAPABILITIES };
  return {
    clock,
    network,
    endpoint,
    ports,
    peer,
    async close() {
      await endpoint.stop();
      await network.close();
    },
  };
}

test("UDP replies to unauthenticated requests stay within 3x the request; larger ones go over TCP", async () => {
  const t = await securePair({ host: { handlers: { medium: () => "m".repeat(600), tiny: () => 1 } } });
  const attacker = t.network.host("10.0.0.66");
  const heard: { data: Uint8Array }[] = [];
  const socket = await attacker.bindDatagram({ address: "0.0.0.0", port: 0 }, (d) => void heard.push(d));
  try {
    // A PeerLink-TS caller still gets the reply: the host sends a hint and it fetches over TCP.
    assert.equal(await t.worker.call(t.peer, "medium", []), "m".repeat(600));
    assert.equal(t.worker.stats().calls.retriedOverTcp, 1);
    assert.equal(t.host.stats().serve.amplificationLimited, 1);
    assert.equal(t.host.stats().handlers.invocations, 1, "the TCP fetch was answered from the reply cache");
    // Spoofable raw requests: every answer is at most 3x the request.
    const sizes: Array<[number, number]> = [];
    for (
      const [i, rpc, plx] of [[1, "medium", true], [2, "medium", false], [3, "tiny", true], [4, "nope", false]] as const
    ) {
      const datagram = text.encode(JSON.stringify(request(`r${i}`, rpc, [], plx)));
      heard.length = 0;
      await socket.send(datagram, "10.0.0.2", t.peer.udpPort);
      await settle(5);
      assert.equal(heard.length, 1, `request ${i} got an answer`);
      sizes.push([datagram.length, heard[0].data.length]);
      const reply = decode(heard[0].data);
      if (i === 1) assert.equal(reply.retry, "tcp");
      if (i === 2) assert.match(reply.error.message, /Call it over TCP/);
      if (i === 3) assert.equal(reply.result, 1);
    }
    for (const [req, rep] of sizes) assert.ok(rep <= 3 * req, `reply ${rep} > 3 x request ${req}`);
    // A tiny malformed request whose error would be larger than 3x gets no answer at all.
    heard.length = 0;
    await socket.send(text.encode('{"type":"request","id":"x"}'), "10.0.0.2", t.peer.udpPort);
    await settle(5);
    assert.equal(heard.length, 0);
  } finally {
    await socket.close();
    await t.close();
  }
});

test("UDP replies to authenticated callers are not limited by the request size", async () => {
  const t = await securePair({
    host: { secret: "s3cret-for-udp", handlers: { medium: () => "m".repeat(600) } },
    worker: { secret: "s3cret-for-udp" },
  });
  try {
    assert.equal(await t.worker.call(t.peer, "medium", [], { transport: "udp" }), "m".repeat(600));
    assert.equal(t.worker.stats().calls.retriedOverTcp, 0);
    assert.equal(t.host.stats().serve.amplificationLimited, 0);
  } finally {
    await t.close();
  }
});

test("one caller cannot take every handler slot: beyond maxHandlersPerCaller it gets BusyError, then recovers", async () => {
  const releases: Array<() => void> = [];
  const t = await securePair({
    host: {
      handlers: { hang: () => new Promise<string>((resolve) => releases.push(() => resolve("done"))) },
      limits: { maxHandlersPerCaller: 2 },
    },
  });
  try {
    const calls = Array.from({ length: 5 }, () => t.worker.call(t.peer, "hang", [], { timeout: 5000 }));
    const outcomes = calls.map((p) => p.then(() => "ok", (err) => err));
    while (releases.length < 2 || t.host.stats().handlers.busyPerCaller < 3) await settle(1);
    for (const release of releases) release();
    const results = await Promise.all(outcomes);
    assert.equal(results.filter((r) => r === "ok").length, 2);
    const busy = results.filter((r) => r instanceof BusyError) as BusyError[];
    assert.equal(busy.length, 3);
    assert.match(busy[0].message, /maxHandlersPerCaller/);
    assert.equal(busy[0].peer, "Host");
    const again = t.worker.call(t.peer, "hang", []);
    while (releases.length < 3) await settle(1);
    releases[2]();
    assert.equal(await again, "done", "the node recovered");
  } finally {
    await t.close();
  }
});

test("a caller with maxPendingCallsPerPeer calls pending gets BusyError at once, sending nothing", async () => {
  const releases: Array<() => void> = [];
  const t = await securePair({
    host: { handlers: { hang: () => new Promise<void>((resolve) => releases.push(resolve)) } },
    worker: { limits: { maxPendingCallsPerPeer: 3 } },
  });
  try {
    const first = [1, 2, 3].map(() => t.worker.call(t.peer, "hang", []));
    await assert.rejects(t.worker.call(t.peer, "hang", []), (err) => {
      assert.ok(err instanceof BusyError);
      assert.match(err.message, /3 calls to it are pending \(maxPendingCallsPerPeer\)/);
      return true;
    });
    assert.equal(t.worker.stats().calls.busy, 1);
    assert.equal(t.worker.stats().calls.started, 3);
    while (releases.length < 3) await settle(1);
    for (const release of releases) release();
    await Promise.all(first);
    assert.equal(t.worker.stats().pendingCalls, 0);
  } finally {
    await t.close();
  }
});

test("at the connection limits, the quietest connection makes room; a newcomer that finds none gets BusyError", async () => {
  const releases: Array<() => void> = [];
  const t = await host({
    handlers: { hang: () => new Promise<string>((resolve) => releases.push(() => resolve("late"))), f: () => 1 },
    limits: { maxConnections: 4, maxConnectionsPerSource: 2 },
  });
  const opened: StreamConnection[] = [];
  const connect = async (from: string) => {
    const conn = await t.network.host(from).connect({ address: "10.0.0.2", port: t.ports.tcpPort });
    opened.push(conn);
    await t.clock.advance(1);
    return conn;
  };
  const callers: RpcEndpoint[] = [];
  try {
    const a1 = await connect("10.0.0.20");
    await connect("10.0.0.20");
    await connect("10.0.0.20"); // over the per-source limit: a1, the quietest from .20, goes
    assert.equal(await a1.read(), null);
    assert.equal(t.endpoint.stats().tcpServer.evicted, 1);
    await connect("10.0.0.21");
    await connect("10.0.0.21");
    assert.equal(t.endpoint.stats().tcpServer.open, 4);
    // Four callers, each holding its connection with a call in service: nothing can be displaced.
    for (let i = 0; i < 4; i++) {
      const caller = new RpcEndpoint({ runtime: t.network.host(`10.0.1.${i}`), name: `C${i}`, clock: t.clock });
      await caller.start();
      callers.push(caller);
    }
    const hanging = callers.map((c) => c.call(t.peer, "hang", [], { transport: "tcp", timeout: 60_000 }));
    for (let i = 0; i < 50 && releases.length < 4; i++) await t.clock.advance(1);
    assert.equal(releases.length, 4);
    assert.equal(t.endpoint.stats().tcpServer.evicted, 5, "the four raw connections made room");
    const late = new RpcEndpoint({ runtime: t.network.host("10.0.2.1"), name: "Late", clock: t.clock });
    await late.start();
    callers.push(late);
    const refused = assert.rejects(late.call(t.peer, "f", [], { transport: "tcp", timeout: 60_000 }), (err) => {
      assert.ok(err instanceof BusyError, String(err));
      assert.match(err.message, /busy: 4 \(maxConnections\) connections open/);
      return true;
    });
    await t.clock.advance(1);
    await refused;
    assert.equal(t.endpoint.stats().tcpServer.refused, 1);
    assert.equal(late.stats().tcpClient.refused, 1);
    for (const release of releases) release();
    assert.deepEqual(await Promise.all(hanging), ["late", "late", "late", "late"]);
    await t.clock.advance(1); // the server sees its reply writes complete
    // Recovered: the late caller's connections are quiet now, so there is room again.
    const retry = late.call(t.peer, "f", [], { transport: "tcp", timeout: 60_000 });
    await t.clock.advance(1);
    assert.equal(await retry, 1);
  } finally {
    for (const caller of callers) await caller.stop();
    for (const conn of opened) await conn.close();
    await t.close();
  }
});

test("slow and silent TCP clients are closed after the read timeout while others are served", async () => {
  const t = await host({ handlers: { f: (n: number) => n * 2 }, limits: { readTimeout: 1000 } });
  const worker = new RpcEndpoint({ runtime: t.network.host("10.0.0.1"), name: "Worker", clock: t.clock });
  await worker.start();
  const silent = await t.network.host("10.0.0.30").connect({ address: "10.0.0.2", port: t.ports.tcpPort });
  const slow = await t.network.host("10.0.0.31").connect({ address: "10.0.0.2", port: t.ports.tcpPort });
  try {
    const whole = frame(request("s1", "f", [21]));
    await slow.write(whole.subarray(0, 4)); // a header, then one byte a "second"
    let sent = 4;
    let served = 0;
    for (let step = 0; step < 8; step++) {
      await slow.write(whole.subarray(sent, ++sent)).catch(() => {});
      const call = worker.call(t.peer, "f", [step], { transport: step % 2 ? "tcp" : "udp" });
      await t.clock.advance(250);
      assert.equal(await call, step * 2);
      served++;
    }
    assert.equal(served, 8);
    const stats = t.endpoint.stats().tcpServer;
    assert.equal(stats.readTimeouts, 1, "the trickling client was closed");
    assert.equal(stats.idleClosed, 1, "the silent client was closed");
    assert.equal(await silent.read(), null);
    assert.equal(t.endpoint.stats().handlers.invocations, 8, "the slow request never ran");
  } finally {
    await silent.close();
    await slow.close();
    await worker.stop();
    await t.close();
  }
});

test("a client that stops reading its replies is closed after the write timeout", async () => {
  const t = await host({
    handlers: { blob: () => new Uint8Array(512 * 1024) },
    limits: { writeTimeout: 1000 },
  });
  const conn = await t.network.host("10.0.0.40").connect({ address: "10.0.0.2", port: t.ports.tcpPort });
  try {
    for (let i = 0; i < 8; i++) await conn.write(frame(request(`b${i}`, "blob")));
    for (let i = 0; i < 30 && t.endpoint.stats().tcpServer.open > 0; i++) await t.clock.advance(200);
    const stats = t.endpoint.stats().tcpServer;
    assert.equal(stats.writeTimeouts, 1);
    assert.equal(stats.open, 0);
  } finally {
    await conn.close();
    await t.close();
  }
});

test("partial frames are bounded by maxBufferedBytes: readers pause, then time out, and memory is released", async () => {
  const t = await host({
    handlers: { f: () => "still here" },
    limits: { maxBufferedBytes: 256 * 1024, readTimeout: 2000 },
  });
  const worker = new RpcEndpoint({ runtime: t.network.host("10.0.0.1"), name: "Worker", clock: t.clock });
  await worker.start();
  const hogs: StreamConnection[] = [];
  try {
    for (let i = 0; i < 8; i++) {
      const conn = await t.network.host(`10.0.3.${i}`).connect({ address: "10.0.0.2", port: t.ports.tcpPort });
      hogs.push(conn);
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, 4 * 1024 * 1024);
      await conn.write(header);
      // 96 KiB of body each: 768 KiB in all, three times the budget. Writes may stall: do not await.
      conn.write(new Uint8Array(96 * 1024)).catch(() => {});
    }
    await t.clock.advance(10);
    const during = t.endpoint.stats().tcpServer;
    assert.ok(during.readPauses > 0, "some readers paused");
    assert.ok(during.peakBufferedBytes <= 256 * 1024 + 8 * 64 * 1024, `peak ${during.peakBufferedBytes}`);
    const call = worker.call(t.peer, "f", [], { transport: "tcp" });
    await t.clock.advance(1);
    assert.equal(await call, "still here", "small requests are still served");
    for (let i = 0; i < 200 && t.endpoint.stats().tcpServer.bufferedBytes > 0; i++) await t.clock.advance(1000);
    const after = t.endpoint.stats().tcpServer;
    assert.equal(after.bufferedBytes, 0);
    assert.equal(after.readTimeouts, 8);
  } finally {
    for (const conn of hogs) await conn.close();
    await worker.stop();
    await t.close();
  }
});

test("a connection with maxRequestsPerConnection requests in service is read no further until one is answered", async () => {
  const releases: Array<() => void> = [];
  const t = await host({
    handlers: { hang: (i: number) => new Promise<number>((resolve) => releases.push(() => resolve(i))) },
    limits: { maxRequestsPerConnection: 2 },
  });
  const conn = await t.network.host("10.0.0.50").connect({ address: "10.0.0.2", port: t.ports.tcpPort });
  try {
    for (let i = 0; i < 5; i++) await conn.write(frame(request(`h${i}`, "hang", [i])));
    await t.clock.advance(1);
    assert.equal(releases.length, 2, "only two requests were taken in");
    assert.ok(t.endpoint.stats().tcpServer.readPauses >= 1);
    const ids: string[] = [];
    while (ids.length < 5) {
      releases.shift()?.();
      await t.clock.advance(1);
      const body = await readFrame(conn);
      assert.ok(body);
      ids.push(decode(body).id);
    }
    assert.deepEqual(ids.sort(), ["h0", "h1", "h2", "h3", "h4"]);
  } finally {
    await conn.close();
    await t.close();
  }
});

test("a refused raw client receives one BusyError frame with id '*', readable by a Python-style client", async () => {
  const t = await host({ handlers: { hang: () => new Promise(() => {}) }, limits: { maxConnections: 1 } });
  const busy = await t.network.host("10.0.0.60").connect({ address: "10.0.0.2", port: t.ports.tcpPort });
  try {
    await busy.write(frame(request("h", "hang")));
    await t.clock.advance(1);
    const python = await t.network.host("10.0.0.61").connect({ address: "10.0.0.2", port: t.ports.tcpPort });
    await python.write(frame(request("p", "hang", [], false)));
    const body = await readFrame(python);
    assert.ok(body);
    const reply = decode(body);
    assert.equal(reply.type, "error");
    assert.equal(reply.id, CONNECTION_REFUSED_ID);
    assert.equal(reply.error.type, "BusyError");
    await t.clock.advance(1000);
    assert.equal(await python.read(), null);
    await python.close();
  } finally {
    await busy.close();
    await t.close();
  }
});
