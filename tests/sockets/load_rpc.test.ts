import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { RpcEndpoint, type RpcEndpointOptions, type RpcPeer } from "../../src/rpc/endpoint.ts";
import type { RpcLimits } from "../../src/rpc/limits.ts";
import { BusyError } from "../../src/errors.ts";
import { LOCAL_CAPABILITIES } from "../../src/wire/capabilities.ts";
import type { Clock } from "../../src/clock.ts";
import type { SocketRuntime, StreamConnection } from "../../src/net.ts";
import { autoRuntime } from "../../runtimes/auto.ts";
import { socketSkip } from "../support/env.ts";

const sleep = (clock: Clock, ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));

/** Outcome counts of many calls. */
interface Tally {
  ok: number;
  busy: number;
  other: string[];
}

async function tally(calls: Promise<unknown>[]): Promise<Tally> {
  const result: Tally = { ok: 0, busy: 0, other: [] };
  for (const outcome of await Promise.allSettled(calls)) {
    if (outcome.status === "fulfilled") result.ok++;
    else if (outcome.reason instanceof BusyError) result.busy++;
    else result.other.push(`${(outcome.reason as Error).name}: ${(outcome.reason as Error).message}`);
  }
  return result;
}

/** 1,000 calls from `clients`, mixed transports and sizes; every call checks its own answer. */
function fireCalls(clients: RpcEndpoint[], peer: RpcPeer, count: number, timeout: number): Promise<unknown>[] {
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const client = clients[i % clients.length];
    const large = i % 50 === 0;
    const transport = large ? "auto" : (["udp", "tcp", "auto"] as const)[i % 3];
    const payload = large ? "p".repeat(20_000) : `call ${i}`;
    calls.push(
      client.call(peer, "work", [i, payload], { transport, timeout }).then((back) => {
        assert.deepEqual(back, [i, payload.length]);
        return back;
      }),
    );
  }
  return calls;
}

/** Starts a trickling client: a header announcing 64 KiB, then one byte per `every` ms. */
function slowClient(connection: StreamConnection, clock: Clock, every: number): () => void {
  const header = new Uint8Array([0, 1, 0, 0]);
  let stopped = false;
  let timer: unknown;
  connection.write(header).catch(() => {});
  const tick = () => {
    if (stopped) return;
    connection.write(new Uint8Array([0x20])).then(() => (timer = clock.setTimeout(tick, every)), () => {});
  };
  timer = clock.setTimeout(tick, every);
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}

interface Scene {
  host: RpcEndpoint;
  clients: RpcEndpoint[];
  peer: RpcPeer;
  idle: StreamConnection[];
  slow: StreamConnection[];
  stopSlow: Array<() => void>;
  close(): Promise<void>;
}

async function scene(
  network: { runtime(address: string): SocketRuntime; address(i: number): string; hostAddress: string },
  clock: Clock,
  options: { limits?: Partial<RpcLimits>; clients: number; idle: number; slow: number; trickle: number },
): Promise<Scene> {
  const host = new RpcEndpoint({
    runtime: network.runtime(network.hostAddress),
    name: "Host",
    clock,
    address: network.hostAddress === "127.0.0.1" ? "127.0.0.1" : undefined,
    limits: options.limits,
    handlers: {
      work: async (i: number, payload: string) => {
        await sleep(clock, 20 + (i % 7) * 10);
        return [i, payload.length];
      },
    },
  } as RpcEndpointOptions);
  const ports = await host.start();
  const peer = { name: "Host", address: network.hostAddress, ...ports, capabilities: LOCAL_CAPABILITIES };
  const clients: RpcEndpoint[] = [];
  for (let i = 0; i < options.clients; i++) {
    const address = network.address(i);
    const client = new RpcEndpoint({
      runtime: network.runtime(address),
      name: `Client${i}`,
      clock,
      address: address === "127.0.0.1" ? "127.0.0.1" : undefined,
    });
    await client.start();
    clients.push(client);
  }
  const idle: StreamConnection[] = [];
  for (let i = 0; i < options.idle; i++) {
    idle.push(
      await network.runtime(network.address(100 + (i % 10))).connect({
        address: network.hostAddress,
        port: ports.tcpPort,
      }),
    );
  }
  const slow: StreamConnection[] = [];
  const stopSlow: Array<() => void> = [];
  for (let i = 0; i < options.slow; i++) {
    const conn = await network.runtime(network.address(200 + (i % 2))).connect({
      address: network.hostAddress,
      port: ports.tcpPort,
    });
    slow.push(conn);
    stopSlow.push(slowClient(conn, clock, options.trickle));
  }
  return {
    host,
    clients,
    peer,
    idle,
    slow,
    stopSlow,
    async close() {
      for (const stop of stopSlow) stop();
      await Promise.allSettled([...idle, ...slow].map((c) => c.close()));
      await Promise.allSettled(clients.map((c) => c.stop()));
      await host.stop();
    },
  };
}

test("load: 1,000 concurrent calls from 5 clients beside 200 idle and 50 slow connections all settle; memory stays bounded", async () => {
  const clock = new FakeClock();
  const memory = new MemoryNetwork({ seed: 21, clock });
  const net = {
    runtime: (address: string) => memory.host(address),
    address: (i: number) => `10.0.${Math.floor(i / 250)}.${1 + (i % 250)}`,
    hostAddress: "10.9.9.9",
  };
  const s = await scene(net, clock, { clients: 5, idle: 200, slow: 50, trickle: 1000 });
  try {
    const limits = s.host.limits;
    const calls = fireCalls(s.clients, s.peer, 1000, 30_000);
    let settled = 0;
    for (const call of calls) call.then(() => settled++, () => settled++);
    let maxOpen = 0;
    let maxBuffered = 0;
    for (
      let step = 0;
      step < 300 && (settled < calls.length || s.host.stats().tcpServer.open > s.clients.length);
      step++
    ) {
      await clock.advance(100);
      const tcp = s.host.stats().tcpServer;
      maxOpen = Math.max(maxOpen, tcp.open);
      maxBuffered = Math.max(maxBuffered, tcp.bufferedBytes);
    }
    const result = await tally(calls);
    assert.deepEqual(result.other.slice(0, 5), [], "every call completed or got BusyError");
    assert.equal(result.ok + result.busy, 1000, "nothing was lost");
    assert.ok(result.ok >= 900, `only ${result.ok} succeeded with default limits`);
    const stats = s.host.stats();
    assert.ok(maxOpen <= limits.maxConnections, `open ${maxOpen}`);
    assert.ok(
      stats.tcpServer.peakBufferedBytes <= limits.maxBufferedBytes,
      `peak ${stats.tcpServer.peakBufferedBytes}`,
    );
    assert.ok(maxBuffered <= 50 * 16 * 1024 + 2 * 64 * 1024, `slow clients held ${maxBuffered} bytes`);
    assert.equal(stats.tcpServer.readTimeouts, 50, "every slow client was closed");
    assert.equal(stats.tcpServer.idleClosed, 200, "every idle connection was closed");
    assert.equal(stats.tcpServer.bufferedBytes, 0);
    assert.ok(stats.tcpServer.open <= s.clients.length);
    assert.equal(stats.handlers.running, 0);
    for (const client of s.clients) assert.equal(client.stats().pendingCalls, 0);
    // Still healthy afterwards.
    const after = s.clients[0].call(s.peer, "work", [1, "again"], { transport: "tcp" });
    await clock.advance(200);
    assert.deepEqual(await after, [1, 5]);
  } finally {
    await s.close();
    await memory.close();
  }
});

test("load: overload past tight limits answers BusyError at once, loses nothing, and the node recovers", async () => {
  const clock = new FakeClock();
  const memory = new MemoryNetwork({ seed: 22, clock });
  const net = {
    runtime: (address: string) => memory.host(address),
    address: (i: number) => `10.0.${Math.floor(i / 250)}.${1 + (i % 250)}`,
    hostAddress: "10.9.9.9",
  };
  const limits = {
    maxConcurrentHandlers: 100,
    maxHandlersPerCaller: 60,
    maxConnections: 64,
    maxConnectionsPerSource: 16,
  };
  const s = await scene(net, clock, { limits, clients: 5, idle: 200, slow: 50, trickle: 1000 });
  try {
    const calls = fireCalls(s.clients, s.peer, 1000, 30_000);
    let settled = 0;
    for (const call of calls) call.then(() => settled++, () => settled++);
    let maxOpen = 0;
    // BusyError comes back at once: within a few ticks, long before any timeout.
    for (let step = 0; step < 300 && settled < calls.length; step++) {
      await clock.advance(10);
      maxOpen = Math.max(maxOpen, s.host.stats().tcpServer.open);
    }
    assert.ok(clock.now() < 10_000, `calls took ${clock.now()} ms of fake time`);
    const result = await tally(calls);
    assert.deepEqual(result.other.slice(0, 5), []);
    assert.equal(result.ok + result.busy, 1000);
    assert.ok(result.busy > 0 && result.ok > 0, JSON.stringify({ ok: result.ok, busy: result.busy }));
    assert.ok(maxOpen <= 64, `open ${maxOpen}`);
    const handlers = s.host.stats().handlers;
    assert.ok(handlers.busy + handlers.busyPerCaller > 0);
    // Recovery: once the burst is over every call succeeds again.
    const again = s.clients.map((c, i) => c.call(s.peer, "work", [i, "x"], { transport: i % 2 ? "tcp" : "udp" }));
    for (let step = 0; step < 50; step++) await clock.advance(10);
    const second = await tally(again);
    assert.equal(second.ok, s.clients.length, JSON.stringify(second));
  } finally {
    await s.close();
    await memory.close();
  }
});

test(
  "load on real sockets: 1,000 calls, 200 idle and 50 slow connections on 127.0.0.1",
  { skip: socketSkip },
  async () => {
    const runtime = autoRuntime();
    const clock: Clock = {
      now: () => performance.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    };
    const net = { runtime: () => runtime, address: () => "127.0.0.1", hostAddress: "127.0.0.1" };
    // Everything comes from 127.0.0.1 here, so the per-source limits are the totals.
    const limits = { readTimeout: 300, maxConnections: 400, maxConnectionsPerSource: 400, maxHandlersPerCaller: 1024 };
    const s = await scene(net, clock, { limits, clients: 4, idle: 200, slow: 50, trickle: 100 });
    try {
      const calls = fireCalls(s.clients, s.peer, 1000, 20_000);
      const result = await tally(calls);
      assert.deepEqual(result.other.slice(0, 5), []);
      assert.equal(result.ok + result.busy, 1000);
      assert.ok(result.ok >= 900, `ok ${result.ok}`);
      // The server closes the idle and slow connections on its own timers: wait for that (bounded,
      // and generous, since a loaded machine runs those timers late), not for a fixed count of polls.
      const deadline = Date.now() + 15_000;
      while (s.host.stats().tcpServer.open > s.clients.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const tcp = s.host.stats().tcpServer;
      assert.equal(tcp.readTimeouts, 50);
      assert.equal(tcp.idleClosed, 200);
      assert.ok(tcp.peakBufferedBytes <= s.host.limits.maxBufferedBytes);
      assert.equal(tcp.bufferedBytes, 0);
    } finally {
      await s.close();
    }
  },
);
