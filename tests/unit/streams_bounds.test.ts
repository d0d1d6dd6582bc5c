/**
 * What a stream may cost either end, whoever is at the other: the window bounds the frames a
 * receiver holds, overhead included (tiny values, empty chunks), a chunk held for a slow reader
 * does not keep the connection's much larger read buffer alive, and a sender neither queues
 * far ahead of its connection nor keeps its process from other work, however much credit it
 * is granted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rpcPair } from "../support/rpc_pair.ts";
import {
  collect,
  rawFrame,
  rawRequest,
  rawResultStream,
  rawStreamFrame,
  streamFrameBody,
  until,
} from "../support/streams.ts";
import { type Recorded, recordingRuntime } from "../support/security_harness.ts";
import { STREAM_CHUNK_OVERHEAD } from "../../src/streams/incoming.ts";

const WINDOW = 256 * 1024;

test("tiny values: a reader that does not read holds at most a window of frames, each counted with its overhead", async () => {
  let yielded = 0;
  const t = await rpcPair({
    host: {
      handlers: {
        digits: async function* () {
          for (;;) {
            yielded++;
            yield 7; // one byte of JSON
          }
        },
      },
    },
  });
  try {
    const stream = await t.worker.call(t.peer, "digits", []) as ReadableStream<number>;
    await until(() => false, 300);
    const bound = WINDOW / (1 + STREAM_CHUNK_OVERHEAD) + 2;
    assert.ok(yielded <= bound, `${yielded} one-byte values pulled for a ${WINDOW}-byte window (at most ${bound})`);
    assert.ok(yielded >= bound / 2, `${yielded} values pulled: the window should fill`);
    await stream.cancel();
  } finally {
    await t.close();
  }
});

test("empty DATA frames from a hostile sender cost credit: they cannot pile up without bound", async () => {
  let release!: () => void;
  const later = new Promise<void>((resolve) => (release = resolve));
  let chunks = 0;
  let failure: unknown;
  const t = await rpcPair({
    host: {
      handlers: {
        drain: async (input: ReadableStream<Uint8Array>) => {
          const reader = input.getReader();
          await later;
          try {
            while (!(await reader.read()).done) chunks++;
          } catch (error) {
            failure = error;
          }
          return chunks;
        },
      },
    },
  });
  try {
    const connection = await t.network.host("10.0.0.66").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    await connection.write(
      rawRequest({ id: "evil-empty", src: "Mallory", dst: "Host", rpc: "drain", args: [{ __stream__: 9 }] }),
    );
    const empty = rawStreamFrame(1, 9);
    const batch = new Uint8Array(empty.length * 1000);
    for (let i = 0; i < 1000; i++) batch.set(empty, i * empty.length);
    for (let i = 0; i < 20; i++) await connection.write(batch); // 20,000 empty chunks
    assert.ok(await until(() => t.host.stats().streams.protocolErrors === 1), "over credit once the window is used");
    release();
    assert.ok(await until(() => failure !== undefined));
    assert.match(String(failure), /sent more bytes than granted/);
    assert.ok(chunks <= WINDOW / STREAM_CHUNK_OVERHEAD, `${chunks} empty chunks were held`);
    await connection.close();
  } finally {
    await t.close();
  }
});

test("a small chunk held for a slow reader does not pin the connection's read buffer it arrived in", async () => {
  let release!: () => void;
  const later = new Promise<void>((resolve) => (release = resolve));
  let got: Uint8Array | undefined;
  const t = await rpcPair({
    host: {
      handlers: {
        first: async (input: ReadableStream<Uint8Array>) => {
          const reader = input.getReader();
          await later;
          got = (await reader.read()).value;
          await reader.cancel();
          return got?.length;
        },
      },
    },
  });
  try {
    const connection = await t.network.host("10.0.0.66").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    await connection.write(
      rawRequest({ id: "evil-pin", src: "Mallory", dst: "Host", rpc: "first", args: [{ __stream__: 4 }] }),
    );
    // One write, one read: a 10-byte chunk, then 60 KB of frames for a stream nobody knows.
    const small = rawStreamFrame(1, 4, new Uint8Array(10).fill(1));
    const junk = rawFrame(streamFrameBody(1, 999, new Uint8Array(60_000)));
    const both = new Uint8Array(small.length + junk.length);
    both.set(small);
    both.set(junk, small.length);
    await connection.write(both);
    assert.ok(await until(() => t.host.stats().streams.unknownStream >= 1));
    release();
    assert.ok(await until(() => got !== undefined));
    assert.equal(got!.length, 10);
    assert.ok(
      got!.buffer.byteLength <= 16 * got!.length,
      `a 10-byte chunk keeps ${got!.buffer.byteLength} bytes alive`,
    );
    await connection.close();
  } finally {
    await t.close();
  }
});

test("a stream of small values leaves many to a connection write, and never queues far ahead of the connection", async () => {
  let recorded!: Recorded;
  let produced = 0;
  const t = await rpcPair({
    highWaterMark: 64 * 1024,
    workerRuntime: (runtime) => {
      const recording = recordingRuntime(runtime);
      recorded = recording.recorded;
      return recording.runtime;
    },
    host: {
      handlers: {
        count: async (input: ReadableStream<number>) => (await collect(input)).length,
        values: async function* () {
          for (;;) {
            produced++;
            yield { i: produced };
          }
        },
      },
    },
  });
  try {
    // 1. Coalescing: 5,000 values of one argument stream take fewer writes than values (frames
    //    that queue while a write is under way leave together; on real sockets writes take longer,
    //    and more values share each).
    const values = async function* () {
      for (let i = 0; i < 5000; i++) yield i;
    };
    assert.equal(await t.worker.call(t.peer, "count", [values()]), 5000);
    const writes = recorded.streams.reduce((n, connection) => n + connection.length, 0);
    assert.ok(writes <= 2500, `${writes} connection writes for 5,000 values (one per value before)`);
    // 2. Bounded: a receiver that grants all the credit there is but reads nothing from its
    //    connection gets what the connection buffers (64 KiB here) plus 64 KiB queued, no more.
    const connection = await t.network.host("10.0.0.66").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    const id = await rawResultStream(connection, { id: "flood", src: "Mallory", dst: "Host", rpc: "values", args: [] });
    const credit = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    for (let i = 0; i < 100; i++) await connection.write(rawStreamFrame(6, id, credit));
    await until(() => false, 300);
    // Each value frame is about 25 bytes on the wire (and counts 90 toward the 64 KiB queued).
    assert.ok(produced < (64 * 1024 + 64 * 1024) / 20, `${produced} values produced`);
    await connection.close();
  } finally {
    await t.close();
  }
});

test("a receiver granting lots of credit and reading fast cannot keep the sender's event loop from other work", async () => {
  let produced = 0;
  const t = await rpcPair({
    host: {
      handlers: {
        values: async function* () {
          for (;;) {
            produced++;
            yield { i: produced };
          }
        },
      },
    },
  });
  try {
    const connection = await t.network.host("10.0.0.66").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    const id = await rawResultStream(connection, { id: "fast", src: "Mallory", dst: "Host", rpc: "values", args: [] });
    // 32 MiB of credit (about 370,000 values), and every byte read at once.
    for (let i = 0; i < 8; i++) await connection.write(rawStreamFrame(6, id, new Uint8Array([0, 0x40, 0, 0])));
    let draining = true;
    void (async () => {
      while (draining && (await connection.read()) !== null);
    })().catch(() => {});
    // A timer of the sender's process: how many values go out between two of its turns.
    let worst = 0;
    for (let tick = 0; tick < 200; tick++) {
      const before = produced;
      await new Promise((resolve) => setTimeout(resolve, 0));
      worst = Math.max(worst, produced - before);
    }
    draining = false;
    assert.ok(produced > 10_000, `${produced} values sent`);
    assert.ok(worst < 20_000, `${worst} values were sent while a timer waited`);
    await connection.close();
  } finally {
    await t.close();
  }
});
