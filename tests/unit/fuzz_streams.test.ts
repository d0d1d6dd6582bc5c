/**
 * Fuzzing the stream layer: 100,000+ hostile stream frames into a connection's mux (random
 * kinds, known and unknown ids, over credit, garbage values, truncated headers), counted by
 * the receiver. Nothing may throw out of the mux (a throw would be a crash of the connection's
 * read loop), every frame must be accounted for, and the streams' buffers stay bounded.
 * The seed differs per runtime pass and is printed, so a failure can be replayed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { emptyStreamStats, StreamMux } from "../../src/streams/mux.ts";
import { StreamFrameKind } from "../../src/streams/frames.ts";
import { mulberry32 } from "../../src/testing/prng.ts";
import { runtimeName } from "../support/env.ts";
import { rpcPair } from "../support/rpc_pair.ts";
import { rawFrame, rawRequest, streamFrameBody } from "../support/streams.ts";

const SEEDS: Record<string, number> = { deno: 0x5eed_d3, bun: 0x5eed_b0, node: 0x5eed_0d };
const FRAMES = 100_000;
const WINDOW = 64 * 1024;

test("fuzz: 100,000 hostile stream frames into a mux never throw, are all counted, and buffers stay bounded", async () => {
  const seed = SEEDS[runtimeName] ?? 1;
  const random = mulberry32(seed);
  const int = (n: number) => Math.floor(random() * n);
  const stats = emptyStreamStats();
  let sentFrames = 0;
  const mux = new StreamMux({
    send: () => (sentFrames++, Promise.resolve()),
    peer: () => "Mallory",
    limits: {
      streamWindow: WINDOW,
      maxStreamWindow: WINDOW,
      streamChunkBytes: 16 * 1024,
      maxStreamsPerConnection: 64,
      maxDepth: 20,
      streamIdleTimeout: Infinity,
    },
    clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
    stats,
  });
  // Streams this side receives (ids 1-32, nobody reads them) and sends (ids 100-131, never-ending).
  const readers: ReadableStream<unknown>[] = [];
  for (let id = 1; id <= 32; id++) readers.push(mux.revive(id, "fuzz", undefined));
  mux.send(
    Array.from({ length: 32 }, (_, i) => ({
      id: 100 + i,
      source: (async function* () {
        for (;;) yield new Uint8Array(1024);
      })(),
    })),
    undefined,
  );
  const payloads = [
    () => crypto.getRandomValues(new Uint8Array(int(300))),
    () => new Uint8Array(int(20_000)),
    () => new TextEncoder().encode(JSON.stringify({ i: int(1000), deep: [[[[int(5)]]]] })),
    () => new TextEncoder().encode('{"__proto__":{"polluted":1}}'),
    () => new TextEncoder().encode("[".repeat(50) + "]".repeat(50)),
    () => Uint8Array.of(0, 0, int(256), int(256)),
    () => new TextEncoder().encode('{"type":"Error","message":"x"}'),
  ];
  let closes = 0;
  let thrown = 0;
  for (let i = 0; i < FRAMES; i++) {
    const kind = int(10); // 0 and 7-9 are unknown kinds
    const id = random() < 0.7 ? 1 + int(32) : random() < 0.5 ? 100 + int(32) : int(0xffff_ffff);
    let body = streamFrameBody(kind, id, payloads[int(payloads.length)]());
    if (random() < 0.05) body = body.subarray(0, int(6)); // truncated
    try {
      if (!mux.onFrame(body, random() < 0.02 ? "Eve" : undefined)) closes++;
    } catch {
      thrown++;
    }
  }
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(thrown, 0, `seed ${seed}: the mux threw`);
  assert.ok(
    closes > 0 && stats.malformedFrames + stats.wrongSender === closes,
    `seed ${seed}: ${JSON.stringify(stats)}`,
  );
  assert.ok(stats.unknownStream > 10_000, `seed ${seed}: unknown ${stats.unknownStream}`);
  assert.ok(stats.protocolErrors > 0, `seed ${seed}: some streams were ended for breaking flow control`);
  // Nothing is held beyond a window (plus one value) per stream: a reader sees at most that.
  let held = 0;
  for (const reader of readers) {
    const r = reader.getReader();
    for (let n = 0; n < 1000; n++) {
      const next = await Promise.race([
        r.read().catch(() => ({ done: true, value: undefined })),
        Promise.resolve(undefined),
      ]);
      if (!next || next.done) break;
      held += next.value instanceof Uint8Array ? next.value.length : JSON.stringify(next.value).length;
    }
    r.releaseLock();
  }
  assert.ok(held <= 32 * (WINDOW + 20_000), `seed ${seed}: ${held} bytes held`);
  mux.failAll(new Error("done"));
  assert.equal(mux.open, 0);
  console.log(
    `fuzz streams (${runtimeName}, seed ${seed}): ${FRAMES} frames, ${JSON.stringify(stats)}, ${sentFrames} sent`,
  );
});

test("fuzz: hostile stream frames over a real TCP connection leave the node serving its other callers", async () => {
  const seed = (SEEDS[runtimeName] ?? 1) + 1;
  const random = mulberry32(seed);
  const t = await rpcPair({
    host: {
      handlers: {
        sink: async (s: ReadableStream) => {
          for await (const _ of s);
          return 1;
        },
        add: (a: number, b: number) => a + b,
      },
    },
  });
  try {
    for (let round = 0; round < 20; round++) {
      const connection = await t.network.host("10.0.0.66").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
      await connection.write(
        rawRequest({ id: `fuzz-${round}`, src: "Mallory", dst: "Host", rpc: "sink", args: [{ __stream__: 5 }] }),
      );
      for (let i = 0; i < 500; i++) {
        const kind = Math.floor(random() * 8);
        const payload = crypto.getRandomValues(new Uint8Array(Math.floor(random() * 2000)));
        await connection.write(
          rawFrame(
            streamFrameBody(kind || StreamFrameKind.data, random() < 0.8 ? 5 : Math.floor(random() * 99), payload),
          ),
        )
          .catch(() => {});
      }
      await connection.close();
    }
    assert.equal(await t.worker.call(t.peer, "add", [40, 2], { transport: "tcp" }), 42);
    const stats = t.host.stats().streams;
    assert.ok(stats.received >= 1, JSON.stringify(stats));
  } finally {
    await t.close();
  }
});
