/**
 * The adapter conformance suite: one set of behaviours every {@linkcode SocketRuntime}
 * (Deno, Bun, Node adapters and the in-memory network) must show, so the core can rely
 * on them regardless of where it runs.
 *
 * A test file calls {@linkcode conformanceSuite} once per target; it registers flat
 * `test("<label> adapter: ...")` calls. Every case bounds each wait (a hang fails with a
 * message naming what did not happen), opens no fixed port, and closes everything it
 * opened in a `finally`, so Deno's leak sanitizers stay quiet even when a case fails.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Datagram,
  type DatagramSocket,
  NetError,
  type NetErrorCode,
  type SocketRuntime,
  type StreamConnection,
  type StreamListener,
} from "../../src/net.ts";

/** Two hosts on one network, as a target provides them to each case. */
export interface ConformanceHosts {
  /** The first host's runtime. For real sockets `a === b`. */
  a: SocketRuntime;
  /** The second host's runtime. */
  b: SocketRuntime;
  /** Host a's IPv4 address; also its multicast interface address. `"127.0.0.1"` for real sockets. */
  addressA: string;
  /** Host b's IPv4 address; also its multicast interface address. `"127.0.0.1"` for real sockets. */
  addressB: string;
  /** Releases the hosts (called after every case, also when it fails). */
  close(): Promise<void>;
}

/** Identifiers of the cases, for {@linkcode ConformanceTarget.skipCases}. */
export type ConformanceCase =
  | "datagram-round-trip"
  | "multicast-delivery"
  | "multicast-shared-port"
  | "accept-connect"
  | "large-writes"
  | "write-backpressure"
  | "half-close"
  | "close-while-reading"
  | "connect-refused"
  | "udp-busy-port"
  | "tcp-busy-port"
  | "connect-timeout"
  | "use-after-close"
  | "close-idempotent";

/** What the suite runs against. */
export interface ConformanceTarget {
  /** Names the target in test names: `"<label> adapter: ..."`. */
  label: string;
  /** A reason to skip every case (e.g. `socketSkip`), or `false`/absent to run them. */
  skip?: string | false;
  /** Makes a fresh pair of hosts for one case. */
  hosts(): Promise<ConformanceHosts>;
  /**
   * An endpoint that silently ignores connection attempts (no answer at all, not a
   * refusal), for the connect-timeout case. Absent: that case skips with a reason.
   */
  unresponsive?: { address: string; port: number };
  /** Documented per-case skips: case id -> why this target cannot pass it. */
  skipCases?: Partial<Record<ConformanceCase, string>>;
}

const MULTICAST_GROUP = "224.0.0.251";
const LARGE_WRITE_BYTES = 8 * 1024 * 1024;
/** Generous bound for one network event on a loaded 2-core machine. */
const EVENT_MS = 5_000;
/** A write pending this long while the peer reads nothing counts as stalled by backpressure. */
const STALL_MS = 300;
/** More than this accepted with no reader means the adapter buffers without bound. */
const WITHOUT_READER_LIMIT_BYTES = 64 * 1024 * 1024;
/** How long "nothing arrives" is watched for after a marker that did arrive. */
const QUIET_MS = 200;

/**
 * Awaits `promise` for at most `ms` milliseconds.
 *
 * @param ms Time limit.
 * @param promise What to wait for. A later rejection is absorbed (never unhandled).
 * @param what Names the awaited event in the failure message.
 * @returns The promise's value.
 */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms` milliseconds. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Turns a promise into one that never rejects, so it can be left pending safely. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));
}

function describeError(error: unknown): string {
  if (error instanceof NetError) return `NetError ${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Asserts that `error` is a {@linkcode NetError} with `code`. */
function assertNetError(error: unknown, code: NetErrorCode, context: string): asserts error is NetError {
  assert.ok(error instanceof NetError, `${context}: expected a NetError ${code}, got ${describeError(error)}`);
  assert.equal(error.code, code, `${context}: expected code ${code}, got ${describeError(error)}`);
}

/** Awaits a promise that must reject with a NetError of `code` within `ms`. */
async function expectNetError(
  promise: Promise<unknown>,
  code: NetErrorCode,
  ms: number,
  what: string,
): Promise<NetError> {
  const result = await within(ms, settle(promise), what);
  assert.ok(!result.ok, `${what}: expected a NetError ${code}, but it succeeded`);
  assertNetError(result.error, code, what);
  return result.error;
}

/** A queue of arrivals (datagrams, accepted connections) with bounded waits. */
class Arrivals<T> {
  readonly items: T[] = [];
  #waiters: Array<() => void> = [];

  push(item: T): void {
    this.items.push(item);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Waits until an item matching `match` has arrived, removes it and returns it. */
  async take(what: string, match: (item: T) => boolean = () => true, ms = EVENT_MS): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const index = this.items.findIndex(match);
      if (index >= 0) return this.items.splice(index, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await within(left, new Promise<void>((resolve) => this.#waiters.push(resolve)), what);
    }
  }
}

/** Everything a case opened, closed in reverse order in its `finally`. */
class Opened {
  #items: Array<{ close(): Promise<void> }> = [];

  add<T extends { close(): Promise<void> }>(item: T): T {
    this.#items.push(item);
    return item;
  }

  async closeAll(): Promise<void> {
    for (const item of this.#items.splice(0).reverse()) {
      // Cleanup must not mask the case's own failure, nor hang.
      await within(EVENT_MS, settle(item.close()), "cleanup close()").catch(() => {});
    }
  }
}

/** Deterministic pseudo-random bytes (xorshift32), so corruption anywhere is visible. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Asserts byte equality with a message that locates the first difference. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(
        `${what}: byte ${i} is ${actual[i]}, expected ${expected[i]} (lengths ${actual.length}/${expected.length})`,
      );
    }
  }
  assert.equal(actual.length, expected.length, `${what}: got ${actual.length} bytes, expected ${expected.length}`);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Reads until end of stream. Keeps every chunk until the end before joining them, so an
 * adapter that hands out a buffer it later reuses shows up as corruption.
 */
async function readToEnd(
  connection: StreamConnection,
  maxBytes: number,
  ms: number,
  what: string,
): Promise<Uint8Array> {
  const deadline = Date.now() + ms;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = await within(
      Math.max(1, deadline - Date.now()),
      connection.read(),
      `${what} (${total} bytes so far)`,
    );
    if (chunk === null) return concat(chunks);
    assert.ok(chunk instanceof Uint8Array, `${what}: read() must resolve a Uint8Array or null`);
    chunks.push(chunk);
    total += chunk.length;
    assert.ok(total <= maxBytes, `${what}: more than the ${maxBytes} bytes that were sent`);
  }
}

/** Reads until exactly `length` bytes have arrived (TCP may split or merge writes). */
async function readExactly(connection: StreamConnection, length: number, what: string): Promise<Uint8Array> {
  const deadline = Date.now() + EVENT_MS;
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < length) {
    const chunk = await within(Math.max(1, deadline - Date.now()), connection.read(), what);
    assert.ok(chunk !== null, `${what}: stream ended after ${total} of ${length} bytes`);
    chunks.push(chunk);
    total += chunk.length;
  }
  assert.equal(total, length, `${what}: got ${total} bytes, expected ${length}`);
  return concat(chunks);
}

/** A listener on host b plus a connection from host a, with the accepted end. */
interface Pair {
  listener: StreamListener;
  client: StreamConnection;
  server: StreamConnection;
}

async function connectPair(hosts: ConformanceHosts, opened: Opened): Promise<Pair> {
  const accepted = new Arrivals<StreamConnection>();
  const listener = opened.add(
    await within(
      EVENT_MS,
      hosts.b.listen({ address: hosts.addressB, port: 0 }, (c) => accepted.push(opened.add(c))),
      "listen()",
    ),
  );
  const client = opened.add(
    await within(
      EVENT_MS,
      hosts.a.connect({ address: hosts.addressB, port: listener.localAddress.port, timeoutMs: EVENT_MS }),
      "connect()",
    ),
  );
  const server = await accepted.take("the listener to accept the connection");
  return { listener, client, server };
}

async function bindInbox(
  runtime: SocketRuntime,
  opened: Opened,
  options: { address: string; port: number; reuseAddress?: boolean },
): Promise<{ socket: DatagramSocket; inbox: Arrivals<Datagram> }> {
  const inbox = new Arrivals<Datagram>();
  const socket = opened.add(
    await within(
      EVENT_MS,
      runtime.bindDatagram(options, (m) => inbox.push(m)),
      `bindDatagram(${options.address}:${options.port})`,
    ),
  );
  return { socket, inbox };
}

/** A multicast sender on host a: leaves from addressA, TTL 255 (as mDNS), loopback on. */
async function multicastSender(hosts: ConformanceHosts, opened: Opened): Promise<DatagramSocket> {
  const { socket } = await bindInbox(hosts.a, opened, { address: hosts.addressA, port: 0 });
  await within(EVENT_MS, socket.setMulticastInterface(hosts.addressA), "setMulticastInterface()");
  await within(EVENT_MS, socket.setMulticastTTL(255), "setMulticastTTL(255)");
  await within(EVENT_MS, socket.setMulticastLoopback(true), "setMulticastLoopback(true)");
  return socket;
}

const hasPayload = (expected: string) => (m: Datagram) => untext(m.data) === expected;

/**
 * Registers the conformance cases for one target as flat `test()` calls named
 * `"<label> adapter: ..."`.
 *
 * @param target The runtime(s) under test, a skip reason, optional per-case skips.
 *
 * @example
 * ```ts
 * import { conformanceSuite } from "./support/conformance.ts";
 * import { nodeRuntime } from "../runtimes/node/mod.ts";
 * import { socketSkip } from "./support/env.ts";
 * const runtime = nodeRuntime();
 * conformanceSuite({
 *   label: "node",
 *   skip: socketSkip,
 *   hosts: () => Promise.resolve({ a: runtime, b: runtime, addressA: "127.0.0.1", addressB: "127.0.0.1", close: async () => {} }),
 * });
 * ```
 */
export function conformanceSuite(target: ConformanceTarget): void {
  const define = (
    id: ConformanceCase,
    title: string,
    body: (hosts: ConformanceHosts, opened: Opened) => Promise<void>,
    caseSkip: string | false = false,
  ) => {
    const skip = target.skip || target.skipCases?.[id] || caseSkip;
    test(`${target.label} adapter: ${title}`, { skip }, async () => {
      const hosts = await within(EVENT_MS, target.hosts(), `${target.label} hosts()`);
      const opened = new Opened();
      try {
        await body(hosts, opened);
      } finally {
        await opened.closeAll();
        await within(EVENT_MS, hosts.close(), `${target.label} hosts.close()`);
      }
    });
  };

  define("datagram-round-trip", "datagram round trip reports the sender's address and port", async (h, opened) => {
    const one = await bindInbox(h.a, opened, { address: h.addressA, port: 0 });
    const two = await bindInbox(h.b, opened, { address: h.addressB, port: 0 });
    for (const [s, address] of [[one.socket, h.addressA], [two.socket, h.addressB]] as const) {
      assert.equal(s.localAddress.address, address, "localAddress.address is the bound address");
      assert.ok(s.localAddress.port > 0 && s.localAddress.port <= 65535, "localAddress.port is the real port, not 0");
      assert.equal(s.localAddress.family, "IPv4");
    }
    // Two datagrams kept side by side: an adapter reusing its receive buffer corrupts the first.
    const first = pattern(1200, 7);
    const second = pattern(1200, 8);
    await within(EVENT_MS, one.socket.send(first, h.addressB, two.socket.localAddress.port), "send() a->b");
    const got1 = await two.inbox.take("the first datagram at b");
    await within(EVENT_MS, one.socket.send(second, h.addressB, two.socket.localAddress.port), "second send() a->b");
    const got2 = await two.inbox.take("the second datagram at b");
    assertSameBytes(got1.data, first, "first datagram");
    assertSameBytes(got2.data, second, "second datagram");
    assert.equal(got1.address, h.addressA, "sender address");
    assert.equal(got1.port, one.socket.localAddress.port, "sender port");
    // Reply to the reported sender: proves address and port are usable as given.
    await within(EVENT_MS, two.socket.send(text("pong"), got1.address, got1.port), "reply b->a");
    const reply = await one.inbox.take("the reply at a", hasPayload("pong"));
    assert.equal(reply.address, h.addressB);
    assert.equal(reply.port, two.socket.localAddress.port);
    assert.equal(one.inbox.items.length + two.inbox.items.length, 0, "no extra datagrams");
  });

  define("multicast-delivery", "multicast join delivers group datagrams and leave stops them", async (h, opened) => {
    const receiver = await bindInbox(h.b, opened, { address: "0.0.0.0", port: 0, reuseAddress: true });
    const port = receiver.socket.localAddress.port;
    await within(EVENT_MS, receiver.socket.joinMulticast(MULTICAST_GROUP, h.addressB), "joinMulticast()");
    const sender = await multicastSender(h, opened);
    await within(EVENT_MS, sender.send(text("joined"), MULTICAST_GROUP, port), "multicast send()");
    const got = await receiver.inbox.take(`the datagram sent to ${MULTICAST_GROUP}:${port}`, hasPayload("joined"));
    assert.equal(got.address, h.addressA, "multicast sender address");
    assert.equal(got.port, sender.localAddress.port, "multicast sender port");

    await within(EVENT_MS, receiver.socket.leaveMulticast(MULTICAST_GROUP, h.addressB), "leaveMulticast()");
    await within(EVENT_MS, sender.send(text("after-leave"), MULTICAST_GROUP, port), "multicast send() after leave");
    // A unicast marker sent after it shows the receiver is alive and the group datagram had its chance.
    await within(EVENT_MS, sender.send(text("marker"), h.addressB, port), "unicast marker send()");
    await receiver.inbox.take("the unicast marker", hasPayload("marker"));
    await delay(QUIET_MS);
    assert.equal(
      receiver.inbox.items.filter(hasPayload("after-leave")).length,
      0,
      "a group datagram arrived after leaveMulticast()",
    );
  });

  define(
    "multicast-shared-port",
    "two sockets sharing a multicast port with reuseAddress both receive",
    async (h, opened) => {
      const first = await bindInbox(h.b, opened, { address: "0.0.0.0", port: 0, reuseAddress: true });
      const port = first.socket.localAddress.port;
      const second = await bindInbox(h.b, opened, { address: "0.0.0.0", port, reuseAddress: true });
      assert.equal(second.socket.localAddress.port, port, "second socket bound the same port");
      await within(EVENT_MS, first.socket.joinMulticast(MULTICAST_GROUP, h.addressB), "first joinMulticast()");
      await within(EVENT_MS, second.socket.joinMulticast(MULTICAST_GROUP, h.addressB), "second joinMulticast()");
      const sender = await multicastSender(h, opened);
      await within(EVENT_MS, sender.send(text("both"), MULTICAST_GROUP, port), "multicast send()");
      await first.inbox.take("the group datagram at the first socket", hasPayload("both"));
      await second.inbox.take("the group datagram at the second socket", hasPayload("both"));
    },
  );

  define("accept-connect", "listener accepts, connect succeeds, both ends report addresses", async (h, opened) => {
    const { listener, client, server } = await connectPair(h, opened);
    assert.equal(listener.localAddress.address, h.addressB);
    assert.ok(listener.localAddress.port > 0, "listener reports its real port");
    assert.equal(client.remoteAddress.address, h.addressB, "client.remoteAddress.address");
    assert.equal(client.remoteAddress.port, listener.localAddress.port, "client.remoteAddress.port");
    assert.equal(client.localAddress.address, h.addressA, "client.localAddress.address");
    assert.ok(client.localAddress.port > 0, "client.localAddress.port");
    assert.equal(server.remoteAddress.address, client.localAddress.address, "server.remoteAddress is the client");
    assert.equal(server.remoteAddress.port, client.localAddress.port, "server.remoteAddress.port is the client's");
    assert.equal(server.localAddress.port, listener.localAddress.port, "server.localAddress.port");
    await within(EVENT_MS, client.write(text("hello")), "client write()");
    assert.equal(untext(await readExactly(server, 5, "hello at the server")), "hello");
    await within(EVENT_MS, server.write(text("world!")), "server write()");
    assert.equal(untext(await readExactly(client, 6, "world! at the client")), "world!");
  });

  define("large-writes", "8 MiB each way arrives intact", async (h, opened) => {
    const { client, server } = await connectPair(h, opened);
    const up = pattern(LARGE_WRITE_BYTES, 1);
    const down = pattern(LARGE_WRITE_BYTES, 2);
    const limit = 30_000;
    const [atServer, atClient] = await within(
      limit,
      Promise.all([
        readToEnd(server, LARGE_WRITE_BYTES, limit, "8 MiB at the server"),
        readToEnd(client, LARGE_WRITE_BYTES, limit, "8 MiB at the client"),
        (async () => {
          await client.write(up); // one big write
          await client.closeWrite();
        })(),
        (async () => {
          // Many odd-sized writes, each awaited: exercises backpressure and chunk boundaries.
          for (let offset = 0, size = 1; offset < down.length; offset += size, size = (size * 7 + 4099) % 200_003) {
            await server.write(down.subarray(offset, Math.min(down.length, offset + size)));
          }
          await server.closeWrite();
        })(),
      ]),
      "8 MiB to cross both ways",
    );
    assertSameBytes(atServer, up, "client -> server");
    assertSameBytes(atClient, down, "server -> client");
  });

  define(
    "write-backpressure",
    "write() stalls while the peer reads nothing, then resumes intact",
    async (h, opened) => {
      const { client, server } = await connectPair(h, opened);
      const chunk = 64 * 1024;
      const data = pattern(WITHOUT_READER_LIMIT_BYTES + chunk, 3);
      // Write with nobody reading until a write stays pending: that proves the adapter bounds
      // what it buffers instead of accepting everything into memory.
      let offset = 0;
      let stalled: Promise<void> | undefined;
      while (offset < WITHOUT_READER_LIMIT_BYTES) {
        const write = client.write(data.subarray(offset, offset + chunk));
        offset += chunk;
        const done = await within(
          EVENT_MS,
          Promise.race([write.then(() => true), delay(STALL_MS).then(() => false)]),
          "a write",
        );
        if (!done) {
          stalled = write;
          break;
        }
      }
      assert.ok(stalled, `accepted ${offset} bytes with nobody reading: write() applies no backpressure`);
      // Now read: the stalled write must complete and every byte arrive in order.
      const sent = data.subarray(0, offset);
      const [received] = await within(
        30_000,
        Promise.all([
          readToEnd(server, sent.length, 30_000, "the backlog at the server"),
          stalled.then(() => client.closeWrite()),
        ]),
        "the stalled write to resume once the peer reads",
      );
      assertSameBytes(received, sent, "bytes written under backpressure");
    },
  );

  define("half-close", "closeWrite() ends the peer's reads and the peer can still answer", async (h, opened) => {
    const { client, server } = await connectPair(h, opened);
    await within(EVENT_MS, client.write(text("ping")), "client write()");
    await within(EVENT_MS, client.closeWrite(), "client closeWrite()");
    assert.equal(untext(await readToEnd(server, 4, EVENT_MS, "ping then end of stream at the server")), "ping");
    await within(EVENT_MS, server.write(text("pong")), "server write() after the client's closeWrite()");
    await within(EVENT_MS, server.closeWrite(), "server closeWrite()");
    assert.equal(untext(await readToEnd(client, 4, EVENT_MS, "pong then end of stream at the client")), "pong");
  });

  define(
    "close-while-reading",
    "close() rejects a pending read with CLOSED; the peer sees the end",
    async (h, opened) => {
      const { client, server } = await connectPair(h, opened);
      const pending = settle(client.read());
      await delay(50); // let the read really wait inside the adapter
      await within(EVENT_MS, client.close(), "close() with a read pending");
      const result = await within(EVENT_MS, pending, "the pending read to settle after close()");
      assert.ok(!result.ok, `pending read resolved ${String(result.ok && result.value)} instead of rejecting CLOSED`);
      assertNetError(result.error, "CLOSED", "pending read after local close()");
      await expectNetError(client.read(), "CLOSED", EVENT_MS, "read() after local close()");
      const remote = await within(EVENT_MS, settle(server.read()), "the peer's read after the other end closed");
      if (remote.ok) assert.equal(remote.value, null, "the peer reads end of stream (null)");
      else assertNetError(remote.error, "CONNECTION_RESET", "the peer's read after the other end closed");
    },
  );

  define("connect-refused", "connect to a closed port fails fast with CONNECTION_REFUSED", async (h, opened) => {
    // A port that was just listening and is now closed: nothing listens there.
    const listener = await within(
      EVENT_MS,
      h.b.listen({ address: h.addressB, port: 0 }, (c) => void c.close()),
      "listen()",
    );
    const port = listener.localAddress.port;
    await within(EVENT_MS, listener.close(), "listener close()");
    const started = Date.now();
    const attempt = h.a.connect({ address: h.addressB, port, timeoutMs: 30_000 });
    void attempt.then((c) => opened.add(c), () => {});
    const error = await expectNetError(
      attempt,
      "CONNECTION_REFUSED",
      3_000,
      `connect() to closed ${h.addressB}:${port}`,
    );
    assert.ok(Date.now() - started < 3_000, "refusal must not wait for the connect timeout");
    assert.ok(error.message.includes(String(port)), `message names the port: ${error.message}`);
  });

  define(
    "udp-busy-port",
    "binding a busy UDP port without reuseAddress fails with ADDR_IN_USE naming it",
    async (h, opened) => {
      const { socket } = await bindInbox(h.a, opened, { address: h.addressA, port: 0 });
      const port = socket.localAddress.port;
      const attempt = h.a.bindDatagram({ address: h.addressA, port }, () => {});
      void attempt.then((s) => opened.add(s), () => {});
      const error = await expectNetError(attempt, "ADDR_IN_USE", EVENT_MS, `second UDP bind of ${h.addressA}:${port}`);
      assert.ok(error.message.includes(h.addressA), `message names the address: ${error.message}`);
      assert.ok(error.message.includes(String(port)), `message names the port: ${error.message}`);
    },
  );

  define("tcp-busy-port", "listening on a busy TCP port fails with ADDR_IN_USE naming it", async (h, opened) => {
    const listener = opened.add(
      await within(EVENT_MS, h.b.listen({ address: h.addressB, port: 0 }, (c) => void c.close()), "listen()"),
    );
    const port = listener.localAddress.port;
    const attempt = h.b.listen({ address: h.addressB, port }, (c) => void c.close());
    void attempt.then((l) => opened.add(l), () => {});
    const error = await expectNetError(attempt, "ADDR_IN_USE", EVENT_MS, `second TCP listen on ${h.addressB}:${port}`);
    assert.ok(error.message.includes(h.addressB), `message names the address: ${error.message}`);
    assert.ok(error.message.includes(String(port)), `message names the port: ${error.message}`);
  });

  const timeoutSkip = target.unresponsive
    ? false
    : "no endpoint that silently ignores connection attempts was given (ConformanceTarget.unresponsive)";
  define(
    "connect-timeout",
    "connect to an unresponsive endpoint fails with TIMED_OUT after timeoutMs",
    async (h, opened) => {
      const endpoint = target.unresponsive;
      assert.ok(endpoint, "connect-timeout needs ConformanceTarget.unresponsive");
      const { address, port } = endpoint;
      const started = Date.now();
      const attempt = h.a.connect({ address, port, timeoutMs: 300 });
      void attempt.then((c) => opened.add(c), () => {});
      await expectNetError(
        attempt,
        "TIMED_OUT",
        3_000,
        `connect() to unresponsive ${address}:${port} with timeoutMs 300`,
      );
      assert.ok(Date.now() - started >= 250, "gave up before timeoutMs");
    },
    timeoutSkip,
  );

  define("use-after-close", "send() and write() after close() reject with CLOSED", async (h, opened) => {
    const { socket } = await bindInbox(h.a, opened, { address: h.addressA, port: 0 });
    const target2 = await bindInbox(h.b, opened, { address: h.addressB, port: 0 });
    await within(EVENT_MS, socket.close(), "datagram close()");
    await expectNetError(
      socket.send(text("late"), h.addressB, target2.socket.localAddress.port),
      "CLOSED",
      EVENT_MS,
      "send() after close()",
    );
    const { client } = await connectPair(h, opened);
    await within(EVENT_MS, client.close(), "connection close()");
    await expectNetError(client.write(text("late")), "CLOSED", EVENT_MS, "write() after close()");
  });

  define(
    "close-idempotent",
    "close() is idempotent for datagram sockets, listeners and connections",
    async (h, opened) => {
      const { socket } = await bindInbox(h.a, opened, { address: h.addressA, port: 0 });
      await within(EVENT_MS, Promise.all([socket.close(), socket.close()]), "two concurrent datagram close()");
      await within(EVENT_MS, socket.close(), "third datagram close()");
      const { listener, client, server } = await connectPair(h, opened);
      await within(EVENT_MS, Promise.all([listener.close(), listener.close()]), "two concurrent listener close()");
      await within(EVENT_MS, listener.close(), "third listener close()");
      // Closing the listener leaves the connection it accepted open.
      await within(EVENT_MS, client.write(text("still")), "write() after the listener closed");
      assert.equal(untext(await readExactly(server, 5, "data after the listener closed")), "still");
      await within(EVENT_MS, client.closeWrite(), "closeWrite()");
      await within(EVENT_MS, Promise.all([client.close(), client.close()]), "two concurrent connection close()");
      await within(EVENT_MS, client.close(), "third connection close()");
      await within(EVENT_MS, server.close(), "server close()");
      await within(EVENT_MS, server.close(), "second server close()");
    },
  );
}
