/**
 * Streams end with the calls and handlers they belong to: a failed call ends its argument
 * streams on the handler's side too, a handler that ignores its argument stream releases it,
 * and a stream's resources (the sender's source, slots, connections) are freed however it ends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rpcPair } from "../support/rpc_pair.ts";
import { RemoteError } from "../../src/errors.ts";
import { collect, messagesIn, rawRequest, readFrames, until } from "../support/streams.ts";

test("an aborted call ends its argument stream on the handler's side (the handler is not left waiting)", async () => {
  let handlerSaw: unknown;
  let firstChunk!: () => void;
  const started = new Promise<void>((resolve) => (firstChunk = resolve));
  const t = await rpcPair({
    host: {
      handlers: {
        ingest: async (input: ReadableStream<number>) => {
          try {
            for await (const _ of input) firstChunk();
            handlerSaw = "end";
          } catch (error) {
            handlerSaw = error;
          }
          return "done";
        },
      },
    },
  });
  try {
    const source = new TransformStream<number, number>();
    const writer = source.writable.getWriter();
    void writer.write(1);
    const abort = new AbortController();
    const call = t.worker.call(t.peer, "ingest", [source.readable], { signal: abort.signal });
    await started;
    abort.abort();
    await assert.rejects(call, { name: "AbortError" });
    assert.ok(await until(() => handlerSaw !== undefined), "the handler's stream ended");
    assert.ok(handlerSaw instanceof RemoteError, String(handlerSaw));
    assert.equal(handlerSaw.remoteType, "AbortError");
    assert.ok(await until(() => t.host.stats().streams.open === 0), "the host forgot the stream");
    assert.ok(await until(() => t.worker.stats().streams.open === 0), "the worker forgot the stream");
  } finally {
    await t.close();
  }
});

test("a handler that returns without reading its argument stream releases it: the caller's source is cancelled, slots and connections are freed", async () => {
  let finallyRan = false;
  const t = await rpcPair({
    fake: false,
    host: {
      limits: { maxStreamsPerConnection: 2 },
      handlers: {
        ignore: (_input: ReadableStream<number>) => "ignored",
        keep: (input: ReadableStream<number>) => {
          // Reading it after returning is fine once a reader is taken before.
          const reader = input.getReader();
          return {
            later: (async function* () {
              for (;;) {
                const next = await reader.read();
                if (next.done) return;
                yield next.value * 10;
              }
            })(),
          };
        },
      },
    },
  });
  try {
    const source = async function* () {
      try {
        for (let i = 0;; i++) yield i;
      } finally {
        finallyRan = true;
      }
    };
    // More calls than the connection has stream slots: each must give its slot back.
    for (let i = 0; i < 4; i++) assert.equal(await t.worker.call(t.peer, "ignore", [source()]), "ignored");
    assert.ok(await until(() => finallyRan), "the caller's generator was cancelled");
    assert.ok(await until(() => t.host.stats().streams.open === 0), "the host forgot the streams");
    assert.ok(await until(() => t.worker.stats().streams.open === 0), "the worker forgot the streams");
    const { later } = await t.worker.call(t.peer, "keep", [ReadableStream.from([1, 2, 3])]) as {
      later: ReadableStream<number>;
    };
    assert.deepEqual(await collect(later), [10, 20, 30]);
  } finally {
    await t.close();
  }
});

test("an argument stream a result generator never reads is released once the result ends", async () => {
  let finallyRan = false;
  const t = await rpcPair({
    host: {
      handlers: {
        // Reads its input only as it is pulled: the input stays open while the result flows.
        double: async function* (input: ReadableStream<number>) {
          for await (const n of input) yield n * 2;
        },
        first: async function* (_input: ReadableStream<number>) {
          yield "only";
        },
      },
    },
  });
  try {
    const doubled = await t.worker.call(t.peer, "double", [ReadableStream.from([1, 2, 3])]) as ReadableStream<number>;
    assert.deepEqual(await collect(doubled), [2, 4, 6]);
    const source = async function* () {
      try {
        for (let i = 0;; i++) yield i;
      } finally {
        finallyRan = true;
      }
    };
    const first = await t.worker.call(t.peer, "first", [source()]) as ReadableStream<string>;
    assert.deepEqual(await collect(first), ["only"]);
    assert.ok(await until(() => finallyRan), "the unread argument's source was cancelled");
    assert.ok(await until(() => t.host.stats().streams.open === 0 && t.worker.stats().streams.open === 0));
  } finally {
    await t.close();
  }
});

test("more calls streaming their arguments than maxRequestsPerConnection all finish (reading does not stop under them)", async () => {
  const t = await rpcPair({
    host: {
      limits: { maxRequestsPerConnection: 2 },
      handlers: {
        size: async (input: ReadableStream<Uint8Array>) => (await collect(input)).reduce((n, c) => n + c.length, 0),
      },
    },
  });
  try {
    const upload = () =>
      (async function* () {
        for (let i = 0; i < 40; i++) yield new Uint8Array(16 * 1024); // 640 KiB: more than a window
      })();
    const results: unknown[] = [];
    const calls = Array.from(
      { length: 5 },
      () => t.worker.call(t.peer, "size", [upload()], { timeout: 600_000 }).then((n) => results.push(n)),
    );
    assert.ok(await until(() => results.length === 5), `${results.length} of 5 uploads finished`);
    await Promise.all(calls);
    assert.deepEqual(results, Array(5).fill(640 * 1024));
  } finally {
    await t.close();
  }
});

test("a reply with streams is handed out once: a second TCP fetch of it (after a UDP retry hint) gets an error, not a share of the stream", async () => {
  const t = await rpcPair({
    host: {
      handlers: {
        count: async function* () {
          for (let i = 0; i < 10; i++) yield i;
        },
      },
    },
  });
  try {
    const mallory = t.network.host("10.0.0.66");
    const hints: Record<string, unknown>[] = [];
    const socket = await mallory.bindDatagram({ address: "0.0.0.0", port: 0 }, (datagram) => {
      hints.push(JSON.parse(new TextDecoder().decode(datagram.data)));
    });
    const request = { id: "twice-1", src: "Mallory", dst: "Host", rpc: "count", args: [] };
    const datagram = new TextEncoder().encode(JSON.stringify({ type: "request", kwargs: {}, plx: 2, ...request }));
    await socket.send(datagram, "10.0.0.2", t.peer.udpPort);
    assert.ok(await until(() => hints.length === 1));
    assert.equal(hints[0].retry, "tcp");
    const first = await mallory.connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    const second = await mallory.connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    const firstFrames = readFrames(first);
    const secondFrames = readFrames(second);
    await first.write(rawRequest(request));
    assert.ok(await until(() => messagesIn(firstFrames).length === 1));
    await second.write(rawRequest(request));
    assert.ok(await until(() => messagesIn(secondFrames).length === 1));
    assert.equal(messagesIn(firstFrames)[0].type, "response");
    const refused = messagesIn(secondFrames)[0] as { type: string; error: { message: string } };
    assert.equal(refused.type, "error");
    assert.match(refused.error.message, /carries streams, which were already fetched/);
    // Every value and the end went to the first fetch, none to the second.
    assert.ok(await until(() => firstFrames.filter((f) => f[0] === 0xfd).length === 11));
    assert.equal(secondFrames.filter((f) => f[0] === 0xfd).length, 0);
    await socket.close();
    await first.close();
    await second.close();
  } finally {
    await t.close();
  }
});

test("a result stream that is never delivered has its source cancelled: the reply was never fetched, or its connection closed first", async () => {
  const cancelled: string[] = [];
  let release!: () => void;
  const later = new Promise<void>((resolve) => (release = resolve));
  const t = await rpcPair({
    host: {
      handlers: {
        slow: async (tag: string) => {
          await later;
          return new ReadableStream({ pull: (c) => c.enqueue(1), cancel: () => void cancelled.push(tag) });
        },
        quick: (tag: string) =>
          new ReadableStream({ pull: (c) => c.enqueue(1), cancel: () => void cancelled.push(tag) }),
      },
    },
  });
  try {
    const mallory = t.network.host("10.0.0.66");
    // Over UDP: the caller gets the "fetch it over TCP" hint and never fetches.
    let hinted = false;
    const socket = await mallory.bindDatagram({ address: "0.0.0.0", port: 0 }, () => void (hinted = true));
    const request = { id: "gone-1", src: "Mallory", dst: "Host", rpc: "quick", args: ["udp"] };
    await socket.send(
      new TextEncoder().encode(JSON.stringify({ type: "request", kwargs: {}, plx: 2, ...request })),
      "10.0.0.2",
      t.peer.udpPort,
    );
    assert.ok(await until(() => hinted));
    // Over TCP: the handler is still running when the connection closes (the node stops).
    const connection = await mallory.connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    await connection.write(rawRequest({ id: "gone-2", src: "Mallory", dst: "Host", rpc: "slow", args: ["tcp"] }));
    assert.ok(await until(() => t.host.stats().tcpServer.requests === 1));
    assert.equal(cancelled.length, 0, "kept while they may still be delivered");
    await t.host.stop();
    assert.ok(await until(() => cancelled.includes("udp")), "the source of the unfetched reply was cancelled");
    release();
    assert.ok(await until(() => cancelled.includes("tcp")), "the source of the undeliverable reply was cancelled");
    await socket.close();
  } finally {
    await t.close();
  }
});

test("a call that fails before its request is written cancels its argument streams' sources", async () => {
  const t = await rpcPair({ host: { handlers: { size: async (s: ReadableStream) => (await collect(s)).length } } });
  try {
    let cancelledWith: unknown;
    const source = new ReadableStream({ pull: (c) => c.enqueue(1), cancel: (reason) => void (cancelledWith = reason) });
    const abort = new AbortController();
    const call = t.worker.call(t.peer, "size", [source], { signal: abort.signal });
    abort.abort(); // the connection to the host is still opening
    await assert.rejects(call, { name: "AbortError" });
    assert.ok(await until(() => cancelledWith !== undefined), "the source was cancelled");
    assert.equal((cancelledWith as Error).name, "AbortError");
    assert.equal(t.host.stats().streams.received, 0, "nothing was sent");
  } finally {
    await t.close();
  }
});

test("a locked ReadableStream is refused when the call is made, and one locked before it is sent errors its reader instead of hanging it", async () => {
  const t = await rpcPair({
    host: {
      handlers: {
        locked: () => {
          const stream = new ReadableStream({ pull: (c) => c.enqueue(1) });
          stream.getReader();
          return stream;
        },
        lockedLater: () => {
          const stream = new ReadableStream({ pull: (c) => c.enqueue(1) });
          queueMicrotask(() => stream.getReader()); // after the reply was encoded, before its stream is sent
          return stream;
        },
      },
    },
  });
  try {
    const mine = new ReadableStream();
    mine.getReader();
    await assert.rejects(t.worker.call(t.peer, "locked", [mine]), (error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /Cannot send args\[0\]: the ReadableStream is locked/);
      return true;
    });
    await assert.rejects(t.worker.call(t.peer, "locked", []), (error) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.match(error.remoteMessage, /the ReadableStream is locked/);
      return true;
    });
    const later = await t.worker.call(t.peer, "lockedLater", []) as ReadableStream<number>;
    await assert.rejects(later.getReader().read(), (error) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.equal(error.remoteType, "TypeError");
      return true;
    });
    assert.ok(await until(() => t.host.stats().streams.open === 0 && t.worker.stats().streams.open === 0));
  } finally {
    await t.close();
  }
});

test("at the connection limit, a connection carrying an open stream is not displaced for a newcomer", async () => {
  let more!: () => void;
  const quiet = new Promise<void>((resolve) => (more = resolve));
  const t = await rpcPair({
    host: {
      limits: { maxConnections: 1 },
      handlers: {
        // A log tail: one line, then quiet until there is more.
        tail: async function* () {
          yield "first";
          await quiet;
          yield "second";
        },
      },
    },
  });
  try {
    const lines = await t.worker.call(t.peer, "tail", [], { transport: "tcp" }) as ReadableStream<string>;
    const reader = lines.getReader();
    assert.equal((await reader.read()).value, "first");
    await until(() => false, 50); // every write has finished: the connection is quiet
    // Someone else connects while the stream is quiet.
    const newcomer = await t.network.host("10.0.0.66").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    assert.ok(await until(() => t.host.stats().tcpServer.refused + t.host.stats().tcpServer.evicted === 1));
    assert.equal(t.host.stats().tcpServer.evicted, 0, "the stream's connection was displaced");
    more();
    assert.equal((await reader.read()).value, "second");
    assert.equal((await reader.read()).done, true);
    await newcomer.close();
  } finally {
    await t.close();
  }
});

test("a reader gets every chunk sent before the sender's abort, then the error", async () => {
  const t = await rpcPair({
    host: {
      handlers: {
        partial: async function* () {
          yield 1;
          yield 2;
          yield 3;
          throw new RangeError("disk full");
        },
      },
    },
  });
  try {
    const stream = await t.worker.call(t.peer, "partial", []) as ReadableStream<number>;
    // Nobody reads until the abort has arrived.
    assert.ok(await until(() => t.host.stats().streams.open === 0), "the sender is done");
    await until(() => false, 20);
    const reader = stream.getReader();
    const got: number[] = [];
    await assert.rejects(async () => {
      for (;;) {
        const next = await reader.read();
        if (next.done) return;
        got.push(next.value);
      }
    }, (error) => error instanceof RemoteError && error.remoteMessage === "disk full");
    assert.deepEqual(got, [1, 2, 3]);
  } finally {
    await t.close();
  }
});
