/**
 * Streams on the in-memory network: values and bytes in arguments and results, nested and
 * several at once, flow control (bounded buffering), cancellation both ways, failures that end
 * streams instead of hanging them, sealing, Python peers, duplex streams, limits and bad input.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rpcPair } from "../support/rpc_pair.ts";
import { securePair } from "../support/security_harness.ts";
import { memoryLan } from "../support/node_harness.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { BusyError, NodeStopped, NotSupportedError, PeerConnectionError, RemoteError } from "../../src/errors.ts";
import { isSealed } from "../../src/security/envelope.ts";
import { NO_CAPABILITIES } from "../../src/wire/capabilities.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import { IncomingStream, STREAM_CHUNK_OVERHEAD } from "../../src/streams/incoming.ts";
import { bytesOf, collect, concat, rawFrame, rawRequest, rawStreamFrame, until } from "../support/streams.ts";

const text = new TextEncoder();
const untext = new TextDecoder();

test("a handler's async generator arrives as a ReadableStream that ends when the generator returns", async () => {
  const t = await rpcPair({
    host: {
      handlers: {
        count: async function* (n: number) {
          for (let i = 0; i < n; i++) yield { i, t: i * 10 };
        },
      },
    },
  });
  try {
    const stream = await t.worker.call(t.peer, "count", [1000]) as ReadableStream<{ i: number; t: number }>;
    assert.ok(stream instanceof ReadableStream);
    const values = await collect(stream);
    assert.equal(values.length, 1000);
    assert.deepEqual(values[999], { i: 999, t: 9990 });
    assert.ok(await until(() => t.host.stats().streams.open === 0 && t.worker.stats().streams.open === 0));
    assert.equal(t.host.stats().streams.sent, 1);
    assert.equal(t.worker.stats().streams.received, 1);
  } finally {
    await t.close();
  }
});

test("byte streams travel as raw bytes, whole and in order, in chunks of at most streamChunkBytes", async () => {
  const sizes: number[] = [];
  const t = await rpcPair({
    host: {
      handlers: {
        echoBytes: (input: ReadableStream<Uint8Array>) =>
          input.pipeThrough(
            new TransformStream({
              transform(chunk, c) {
                sizes.push(chunk.length);
                c.enqueue(chunk);
              },
            }),
          ),
      },
    },
  });
  try {
    const data = bytesOf(1_000_003);
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(data.subarray(0, 700_000));
        c.enqueue(data.subarray(700_000));
        c.close();
      },
    });
    const back = await t.worker.call(t.peer, "echoBytes", [source]) as ReadableStream<Uint8Array>;
    const got = concat(await collect(back));
    assert.equal(got.length, data.length);
    assert.ok(Buffer.from(got).equals(Buffer.from(data)), "byte-exact");
    assert.ok(sizes.every((n) => n <= 64 * 1024), `chunks ${Math.max(...sizes)}`);
    assert.ok(sizes.length >= 16);
  } finally {
    await t.close();
  }
});

test("several streams in one call, nested in objects and arrays, in arguments and result", async () => {
  const t = await rpcPair({
    host: {
      handlers: {
        zip: async (input: { names: ReadableStream<string>; more: [ReadableStream<number>] }) => {
          const names = await collect(input.names);
          const numbers = await collect(input.more[0]);
          async function* pairs() {
            for (let i = 0; i < names.length; i++) yield [names[i], numbers[i]];
          }
          async function* total() {
            yield numbers.reduce((a, b) => a + b, 0);
          }
          return { pairs: pairs(), summary: [total()], note: "ok" };
        },
      },
    },
  });
  try {
    const names = async function* () {
      yield* ["a", "b", "c"];
    };
    const numbers = ReadableStream.from([1, 2, 3]);
    const result = await t.worker.call(t.peer, "zip", [{ names: names(), more: [numbers] }]) as {
      pairs: ReadableStream<[string, number]>;
      summary: [ReadableStream<number>];
      note: string;
    };
    assert.equal(result.note, "ok");
    assert.deepEqual(await collect(result.pairs), [["a", 1], ["b", 2], ["c", 3]]);
    assert.deepEqual(await collect(result.summary[0]), [6]);
    assert.equal(t.worker.stats().streams.sent, 2);
    assert.equal(t.worker.stats().streams.received, 2);
  } finally {
    await t.close();
  }
});

test("flow control: a reader that stops reading stops the writer (bounded buffering, no generator pulled ahead)", async () => {
  let pulled = 0;
  let produced = 0;
  const t = await rpcPair({
    host: {
      limits: { streamWindow: 256 * 1024, maxStreamWindow: 256 * 1024 },
      handlers: {
        firehose: () =>
          new ReadableStream<Uint8Array>({
            pull(c) {
              pulled++;
              produced += 16 * 1024;
              c.enqueue(new Uint8Array(16 * 1024));
            },
          }, { highWaterMark: 0 }),
      },
    },
    worker: { limits: { streamWindow: 256 * 1024, maxStreamWindow: 256 * 1024 } },
  });
  try {
    const stream = await t.worker.call(t.peer, "firehose", []) as ReadableStream<Uint8Array>;
    // Nobody reads: the sender may fill the window, then waits for credit.
    await until(() => false, 300);
    assert.ok(produced <= 256 * 1024 + 16 * 1024, `the source produced ${produced} bytes for a 256 KiB window`);
    assert.ok(produced >= 64 * 1024, `the source produced ${produced} bytes (the window should fill)`);
    const before = pulled;
    // Reading 1 MiB moves it on by about what was read.
    const reader = stream.getReader();
    let read = 0;
    while (read < 1024 * 1024) read += (await reader.read()).value!.length;
    await until(() => false, 100);
    assert.ok(pulled > before, "reading resumed the source");
    assert.ok(produced - read <= 256 * 1024 + 16 * 1024, `${produced - read} bytes ahead of the reader`);
    await reader.cancel("done");
  } finally {
    await t.close();
  }
});

test("flow control of an argument: the caller's generator is not resumed while the handler does not read", async () => {
  let yielded = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const t = await rpcPair({
    host: {
      handlers: {
        slow: async (input: ReadableStream<Uint8Array>) => {
          await gate;
          return (await collect(input)).reduce((n, c) => n + c.length, 0);
        },
      },
    },
  });
  try {
    const source = async function* () {
      for (let i = 0; i < 200; i++) {
        yielded++;
        yield new Uint8Array(8 * 1024);
      }
    };
    const call = t.worker.call(t.peer, "slow", [source()], { timeout: 60_000 });
    await until(() => false, 300);
    assert.ok(yielded * 8 * 1024 <= 256 * 1024 + 8 * 1024, `${yielded} chunks of 8 KiB pulled before any read`);
    release();
    assert.equal(await call, 200 * 8 * 1024);
  } finally {
    await t.close();
  }
});

test("cancel from the reader: the sending generator's finally runs and a ReadableStream source gets cancel(reason)", async () => {
  let finallyRan = false;
  let cancelledWith: unknown;
  const t = await rpcPair({
    host: {
      handlers: {
        endless: async function* () {
          try {
            for (let i = 0;; i++) yield i;
          } finally {
            finallyRan = true;
          }
        },
        source: () =>
          new ReadableStream({
            pull: (c) => c.enqueue("tick"),
            cancel: (reason) => void (cancelledWith = reason),
          }),
      },
    },
  });
  try {
    const numbers = await t.worker.call(t.peer, "endless", []) as ReadableStream<number>;
    const reader = numbers.getReader();
    assert.equal((await reader.read()).value, 0);
    await reader.cancel(new Error("seen enough"));
    assert.ok(await until(() => finallyRan), "the generator's finally ran");
    const ticks = await t.worker.call(t.peer, "source", []) as ReadableStream<string>;
    const r2 = ticks.getReader();
    await r2.read();
    await r2.cancel("stop");
    assert.ok(await until(() => cancelledWith !== undefined));
    assert.match(String((cancelledWith as Error).message), /cancelled the stream: stop/);
    assert.ok(await until(() => t.host.stats().streams.open === 0));
  } finally {
    await t.close();
  }
});

test("a throwing generator or an aborted writer errors the reader with a RemoteError carrying the reason", async () => {
  const t = await rpcPair({
    host: {
      handlers: {
        broken: async function* () {
          yield 1;
          throw new RangeError("disk full");
        },
        consume: async (input: ReadableStream<number>) => {
          try {
            await collect(input);
            return "ended";
          } catch (error) {
            return `${(error as RemoteError).name}: ${(error as RemoteError).remoteType}: ${
              (error as RemoteError).remoteMessage
            }`;
          }
        },
      },
    },
  });
  try {
    const stream = await t.worker.call(t.peer, "broken", []) as ReadableStream<number>;
    const reader = stream.getReader();
    assert.equal((await reader.read()).value, 1);
    await assert.rejects(reader.read(), (error) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.equal(error.remoteType, "RangeError");
      assert.equal(error.remoteMessage, "disk full");
      assert.equal(error.function, "broken");
      return true;
    });
    const pipe = new TransformStream<number, number>();
    const call = t.worker.call(t.peer, "consume", [pipe.readable]);
    const writer = pipe.writable.getWriter();
    await writer.write(1);
    await writer.abort(new TypeError("camera unplugged"));
    assert.equal(await call, "RemoteError: TypeError: camera unplugged");
  } finally {
    await t.close();
  }
});

test("connection loss mid-stream errors the reader with PeerConnectionError; stop() with NodeStopped", async () => {
  const network = new MemoryNetwork({ seed: 3 });
  const t = await rpcPair({
    network,
    host: {
      handlers: {
        endless: async function* () {
          for (;;) yield "x";
        },
      },
    },
  });
  try {
    const stream = await t.worker.call(t.peer, "endless", []) as ReadableStream<string>;
    const reader = stream.getReader();
    await reader.read();
    await network.host("10.0.0.2").closeAll();
    await assert.rejects(async () => {
      for (let i = 0; i < 10_000; i++) await reader.read();
    }, PeerConnectionError);
    const again = await rpcPair({
      network: new MemoryNetwork({ seed: 4 }),
      host: {
        handlers: {
          endless: async function* () {
            for (;;) yield "y";
          },
        },
      },
    });
    const s2 = (await again.worker.call(again.peer, "endless", [])) as ReadableStream<string>;
    const r2 = s2.getReader();
    await r2.read();
    await again.worker.stop();
    await assert.rejects(async () => {
      for (let i = 0; i < 10_000; i++) await r2.read();
    }, NodeStopped);
    await again.close();
  } finally {
    await t.close();
  }
});

test("with a secret every stream frame is sealed, and streams work both ways", async () => {
  const secret = "stream sealing secret 11";
  const t = await securePair({
    host: {
      secret,
      handlers: {
        double: async function* (input: ReadableStream<number>) {
          for await (const n of input) yield n * 2;
        },
      },
    },
    worker: { secret },
  });
  try {
    const out = await t.worker.call(t.peer, "double", [ReadableStream.from([1, 2, 3])]) as ReadableStream<number>;
    assert.deepEqual(await collect(out), [2, 4, 6]);
    // Every frame the worker wrote on its connection is sealed (0xFE after the length).
    const stream = concat(t.recorded.streams.flat());
    let frames = 0;
    for (let at = 0; at < stream.length;) {
      const length = new DataView(stream.buffer, stream.byteOffset + at).getUint32(0);
      assert.ok(isSealed(stream.subarray(at + 4, at + 4 + length)), `frame ${frames} is sealed`);
      at += 4 + length;
      frames++;
    }
    assert.ok(frames >= 5, `${frames} frames (request, data, end, credit...)`);
    assert.equal(t.host.stats().security.plaintextDropped, 0);
  } finally {
    await t.close();
  }
});

test("Python peers: a stream argument is refused before anything is sent; a stream result answers with a clear error", async () => {
  const t = await rpcPair({
    host: {
      handlers: {
        gen: async function* () {
          yield 1;
        },
      },
    },
  });
  try {
    const python = { ...t.peer, capabilities: NO_CAPABILITIES };
    const sentBefore = t.worker.stats().udp.sent + t.worker.stats().tcpClient.connects;
    await assert.rejects(t.worker.call(python, "ingest", [ReadableStream.from([1])]), (error) => {
      assert.ok(error instanceof NotSupportedError);
      assert.match(error.message, /'Host' cannot take streams: it is Python PeerLink 1\.2/);
      return true;
    });
    assert.equal(t.worker.stats().udp.sent + t.worker.stats().tcpClient.connects, sentBefore, "nothing was sent");
    // A caller without the stream capability (no "plx": 2) gets an error, not a dangling stream.
    await assert.rejects(t.worker.call(python, "gen", [], { transport: "tcp" }), (error) => {
      assert.ok(error instanceof RemoteError);
      assert.match(error.remoteMessage, /a stream can only be sent over TCP to a PeerLink-TS peer/);
      return true;
    });
    await assert.rejects(t.worker.call(t.peer, "gen", [ReadableStream.from([1])], { transport: "udp" }), TypeError);
  } finally {
    await t.close();
  }
});

test("a UDP call whose handler returns a stream gets it over TCP (the reply is fetched, the handler runs once)", async () => {
  let runs = 0;
  const t = await rpcPair({
    host: {
      handlers: {
        gen: async function* () {
          runs++;
          yield "a";
          yield "b";
        },
      },
    },
  });
  try {
    const stream = await t.worker.call(t.peer, "gen", [], { transport: "auto" }) as ReadableStream<string>;
    assert.deepEqual(await collect(stream), ["a", "b"]);
    assert.equal(runs, 1);
    assert.equal(t.worker.stats().calls.retriedOverTcp, 1);
  } finally {
    await t.close();
  }
});

test("a small call gets through while a large stream flows on the same connection", async () => {
  const t = await rpcPair({
    host: {
      handlers: {
        big: () => {
          let left = 64 * 1024 * 1024;
          return new ReadableStream<Uint8Array>({
            pull(c) {
              if (left <= 0) return c.close();
              left -= 256 * 1024;
              c.enqueue(new Uint8Array(256 * 1024));
            },
          }, { highWaterMark: 0 });
        },
        add: (a: number, b: number) => a + b,
      },
    },
  });
  try {
    const big = await t.worker.call(t.peer, "big", []) as ReadableStream<Uint8Array>;
    const reader = big.getReader();
    let read = 0;
    let calls = 0;
    while (read < 16 * 1024 * 1024) {
      read += (await reader.read()).value!.length;
      if (read % (2 * 1024 * 1024) < 64 * 1024) {
        assert.equal(await t.worker.call(t.peer, "add", [read, 1], { transport: "tcp" }), read + 1);
        calls++;
      }
    }
    assert.ok(calls >= 4, `${calls} calls interleaved`);
    await reader.cancel();
  } finally {
    await t.close();
  }
});

test("limits: streams over maxStreamsPerConnection are refused with BusyError, and the rest keep working", async () => {
  const t = await rpcPair({
    host: {
      limits: { maxStreamsPerConnection: 2 },
      handlers: { hold: async (s: ReadableStream<number>) => (await collect(s)).length },
    },
  });
  try {
    const open = [new TransformStream<number, number>(), new TransformStream<number, number>()];
    const held = open.map((p) => t.worker.call(t.peer, "hold", [p.readable], { timeout: 10_000 }));
    await until(() => t.host.stats().streams.received === 2);
    const refused = await t.worker.call(t.peer, "hold", [ReadableStream.from([1])]).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(refused instanceof RemoteError || refused instanceof BusyError, String(refused));
    assert.equal(t.host.stats().streams.refused, 1);
    for (const p of open) {
      const w = p.writable.getWriter();
      await w.write(1);
      await w.close();
    }
    assert.deepEqual(await Promise.all(held), [1, 1]);
  } finally {
    await t.close();
  }
});

test("a partition stalls a stream and healing resumes it, on a fake clock", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 9, clock });
  const t = await rpcPair({
    network,
    host: {
      handlers: {
        count: async function* () {
          for (let i = 0; i < 5000; i++) yield i;
        },
      },
    },
  });
  try {
    const stream = await t.worker.call(t.peer, "count", [], { timeout: 120_000 }) as ReadableStream<number>;
    const reader = stream.getReader();
    assert.equal((await reader.read()).value, 0);
    network.partition(["10.0.0.1"], ["10.0.0.2"]);
    await clock.advance(10_000);
    network.heal();
    let last = 0;
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      assert.equal(next.value, last + 1, "in order, nothing lost");
      last = next.value;
    }
    assert.equal(last, 4999);
  } finally {
    await t.close();
  }
});

test("duplex streams: openStream to a registerStream handler, with the caller known and closed settling", async () => {
  const lan = memoryLan(7);
  try {
    const callers: string[] = [];
    const host = lan.node("Host").registerStream("upper", async (stream, caller) => {
      callers.push(caller.name);
      assert.equal(currentPeer()?.name, caller.name);
      await stream.readable
        .pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform: (chunk, c) => c.enqueue(text.encode(untext.decode(chunk).toUpperCase())),
          }),
        )
        .pipeTo(stream.writable);
    });
    const worker = lan.node("Worker");
    await host.start();
    await worker.start();
    const s = await worker.openStream("Host", "upper", { timeout: 2000 });
    assert.equal(s.peer, "Host");
    const writer = s.writable.getWriter();
    await writer.write(text.encode("hello "));
    await writer.write(text.encode("world"));
    await writer.close();
    const got = untext.decode(concat(await collect(s.readable)));
    assert.equal(got, "HELLO WORLD");
    await s.closed;
    assert.deepEqual(callers, ["Worker"]);
    // A handler that throws errors the caller's readable with its reason.
    host.registerStream("fail", () => {
      throw new Error("no shell for you");
    });
    const f = await worker.openStream("Host", "fail");
    await assert.rejects(collect(f.readable), /no shell for you/);
    await assert.rejects(f.closed);
    // openStream to a plain function says so; call() to a stream handler says so.
    host.register("plain", () => 1);
    await assert.rejects(worker.openStream("Host", "plain"), /not a stream handler/);
    await assert.rejects(worker.call("Host", "upper", [1]), /is a stream handler: open it with openStream/);
  } finally {
    await lan.close();
  }
});

test("duplex streams: close() ends both ways; a signal aborts opening and closes an open stream", async () => {
  const lan = memoryLan(8);
  try {
    let handlerDone = false;
    const host = lan.node("Host").registerStream("echo", async (stream) => {
      await stream.readable.pipeTo(stream.writable).catch(() => {});
      handlerDone = true;
    });
    const worker = lan.node("Worker");
    await host.start();
    await worker.start();
    const s = await worker.openStream("Host", "echo");
    await s.close();
    assert.ok(await until(() => handlerDone));
    const aborted = new AbortController();
    aborted.abort(new Error("changed my mind"));
    await assert.rejects(worker.openStream("Host", "echo", { signal: aborted.signal }), /changed my mind|abort/i);
    const later = new AbortController();
    const open = await worker.openStream("Host", "echo", { signal: later.signal });
    later.abort();
    await open.closed.catch(() => {});
    assert.ok(await until(() => worker.stats()!.streams.open === 0), "the aborted stream is gone");
  } finally {
    await lan.close();
  }
});

test("bad stream frames are counted and dropped: over credit ends the stream, unknown ids are ignored, garbage closes the connection", async () => {
  let seen: unknown;
  let release!: () => void;
  const later = new Promise<void>((resolve) => (release = resolve));
  const t = await rpcPair({
    host: {
      handlers: {
        drain: async (s: ReadableStream<Uint8Array>) => {
          await later; // reads nothing until the hostile sender is done: credit is not given back
          try {
            await collect(s);
            return "ended";
          } catch (error) {
            seen = error;
            return "failed";
          }
        },
        add: (a: number, b: number) => a + b,
      },
    },
  });
  const hostile = t.network.host("10.0.0.66");
  try {
    const connection = await hostile.connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    const request = rawRequest({ id: "evil-1", src: "Mallory", dst: "Host", rpc: "drain", args: [{ __stream__: 77 }] });
    await connection.write(request);
    // Unknown stream ids are dropped (counted), the connection stays.
    await connection.write(rawStreamFrame(1, 999, new Uint8Array(10)));
    await connection.write(rawStreamFrame(6, 12345, new Uint8Array([0, 0, 1, 0])));
    // The window is 256 KiB (64 KiB initial credit, the rest granted at once). Send more.
    for (let i = 0; i < 8; i++) await connection.write(rawStreamFrame(1, 77, new Uint8Array(64 * 1024)));
    assert.ok(await until(() => t.host.stats().streams.protocolErrors === 1), "the over-credit frame was caught");
    release();
    assert.ok(await until(() => seen !== undefined), "the handler's stream ended");
    assert.match(String(seen), /sent more bytes than granted/);
    const stats = t.host.stats().streams;
    assert.equal(stats.unknownStream >= 2, true, JSON.stringify(stats));
    assert.equal(stats.protocolErrors, 1);
    // Garbage after the stream magic closes this connection only.
    await connection.write(rawFrame(new Uint8Array([0xfd, 99, 0, 0])));
    assert.ok(await until(() => t.host.stats().streams.malformedFrames === 1));
    assert.equal(await t.worker.call(t.peer, "add", [2, 3], { transport: "tcp" }), 5, "the host still serves");
    await connection.close();
  } finally {
    await t.close();
  }
});

test("streamIdleTimeout: a reader waiting longer than the limit gets PeerTimeoutError and the sender is cancelled", async () => {
  let finallyRan = false;
  let never!: () => void;
  const t = await rpcPair({
    fake: true,
    worker: { limits: { streamIdleTimeout: 1000 } },
    host: {
      handlers: {
        quiet: async function* () {
          try {
            yield "first";
            await new Promise<void>((resolve) => (never = resolve));
          } finally {
            finallyRan = true;
          }
        },
      },
    },
  });
  try {
    const call = t.worker.call(t.peer, "quiet", [], { transport: "tcp" });
    await t.clock!.advance(0);
    const stream = await call as ReadableStream<string>;
    const reader = stream.getReader();
    assert.equal((await reader.read()).value, "first");
    const next = reader.read();
    const failed = assert.rejects(next, (error) => {
      assert.equal((error as Error).name, "PeerTimeoutError");
      assert.match((error as Error).message, /sent nothing for 1000 ms \(streamIdleTimeout\)/);
      return true;
    });
    await t.clock!.advance(999);
    assert.equal(
      await Promise.race([next.then(() => "settled", () => "settled"), Promise.resolve("pending")]),
      "pending",
    );
    await t.clock!.advance(2);
    await failed;
    never();
    assert.ok(await until(() => finallyRan), "the sender's generator was cancelled");
  } finally {
    await t.close();
  }
});

test("window auto-tuning: a reader that keeps up grows the window, up to the max; an idle one never does", async () => {
  const grants: number[] = [];
  const link = { credit: (_: number, bytes: number) => void grants.push(bytes), cancel() {}, closed() {} };
  const window = { initial: 64 * 1024, max: 256 * 1024 };
  const CHUNK = 16 * 1024;
  const COST = CHUNK + STREAM_CHUNK_OVERHEAD; // what a chunk takes of the credit
  let widest = 0;
  const { read } = await feedAsCreditAllows(
    new IncomingStream(1, undefined, window, link),
    grants,
    CHUNK,
    8 * 1024 * 1024,
    {
      onSpin: (granted, read) => widest = Math.max(widest, granted - (read / CHUNK) * COST),
    },
  );
  assert.equal(read, 8 * 1024 * 1024);
  assert.ok(widest > 64 * 1024, `the window stayed at ${widest} bytes`);
  assert.ok(widest <= 256 * 1024, `the window reached ${widest} bytes, over the max`);
  // A reader that never reads: nothing is given back and the window never grows.
  const idleGrants: number[] = [];
  const idle = new IncomingStream(2, undefined, window, { ...link, credit: (_, b) => void idleGrants.push(b) });
  for (let i = 0; i < Math.floor((64 * 1024) / COST); i++) idle.onData(new Uint8Array(CHUNK));
  await until(() => false, 20);
  assert.deepEqual(idleGrants, []);
  assert.equal(idle.onData(new Uint8Array(CHUNK)), "overCredit", "no more than the initial window");
});

test("a reader that keeps up gets credit back in batches, not a CREDIT frame per chunk", async () => {
  const grants: number[] = [];
  const link = { credit: (_: number, bytes: number) => void grants.push(bytes), cancel() {}, closed() {} };
  const window = { initial: 256 * 1024, max: 4 * 1024 * 1024 };
  const CHUNK = 64 * 1024;
  const TOTAL = 32 * 1024 * 1024;
  // The sender's own pace: the reader may take what arrived every four chunks.
  const { read, stalls } = await feedAsCreditAllows(
    new IncomingStream(1, undefined, window, link),
    grants,
    CHUNK,
    TOTAL,
    {
      yieldEvery: 4,
    },
  );
  assert.equal(read, TOTAL);
  const chunks = TOTAL / CHUNK;
  // One grant per chunk would be 512; batched in quarter windows it is about 50 (137 before batching).
  assert.ok(grants.length * 8 <= chunks, `${grants.length} credit grants for ${chunks} chunks (${stalls} stalls)`);
});

/**
 * Feeds `total` bytes in `chunk`-byte chunks to a stream whose reader takes everything at once,
 * as fast as the credit allows: 64 KiB before any CREDIT (the protocol's), then what `grants`
 * (the stream's CREDIT frames) adds. Waits a tick when out of credit, and every `yieldEvery`
 * chunks when given; `onSpin` sees the credit granted and the bytes read at each step.
 */
async function feedAsCreditAllows(
  stream: IncomingStream,
  grants: readonly number[],
  chunk: number,
  total: number,
  options: { yieldEvery?: number; onSpin?: (granted: number, read: number) => void } = {},
): Promise<{ read: number; stalls: number }> {
  const cost = chunk + STREAM_CHUNK_OVERHEAD;
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  let read = 0;
  const reading = (async () => {
    for await (const value of stream.readable) read += (value as Uint8Array).length;
  })();
  let received = 0;
  let sent = 0;
  let stalls = 0;
  for (let spins = 0; sent < total && spins < 100_000; spins++) {
    const granted = 64 * 1024 + grants.reduce((a, b) => a + b, 0);
    options.onSpin?.(granted, read);
    if (received + cost <= granted) {
      assert.equal(stream.onData(new Uint8Array(chunk)), undefined, "within credit");
      received += cost;
      sent += chunk;
      if (options.yieldEvery && (sent / chunk) % options.yieldEvery === 0) await tick();
    } else {
      stalls++;
      await tick();
    }
  }
  stream.onEnd();
  await reading;
  return { read, stalls };
}
