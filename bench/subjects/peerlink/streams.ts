/**
 * PeerLink's side of the stream benchmarks (issue 16): the server's handlers (`sink` reads a
 * byte stream argument, optionally paced to a rate; `values` returns a stream of `{i, t}`
 * objects) and the client's commands that time them.
 *
 * Every byte stream is an async generator yielding one 64 KiB `Uint8Array` again and again:
 * the sink only counts, and the raw baseline writes its chunk the same way.
 *
 * @module
 */
import { measureLatency, measureTransfer } from "../../worker/measure.ts";
import { measureGrowth } from "../../worker/memory.ts";
import { sleep } from "../../worker/protocol.ts";
import { num, type Role } from "../../worker/role.ts";
import { median } from "../../stats.ts";
import type { Caller } from "./rpc.ts";

/** Options of the `sink` handler. */
interface SinkOptions {
  /** Read at most this many bytes per second (a slow reader); unlimited when absent. */
  rate?: number;
}

/** The server's stream handlers. */
export const streamHandlers = {
  /** Reads a byte stream to its end; answers how many bytes came. */
  async sink(stream: AsyncIterable<Uint8Array>, options: SinkOptions = {}): Promise<number> {
    const started = performance.now();
    let bytes = 0;
    for await (const chunk of stream) {
      bytes += chunk.byteLength;
      if (options.rate) {
        const ahead = (bytes / options.rate) * 1000 - (performance.now() - started);
        if (ahead >= 1) await sleep(ahead);
      }
    }
    return bytes;
  },
  /** Streams `count` small values `{i, t}` (`t`: when it was made, ms). */
  async *values(count: number): AsyncGenerator<{ i: number; t: number }> {
    for (let i = 0; i < count; i++) yield { i, t: performance.now() };
  },
};

/**
 * `bytes` in chunks of `chunkBytes` (the last one shorter), until `stop()` says so.
 *
 * @returns The chunks, and how many bytes were yielded so far.
 */
function chunks(bytes: number, chunkBytes: number, stop: () => boolean = () => false) {
  const chunk = new Uint8Array(chunkBytes).fill(7);
  const state = { sent: 0 };
  async function* source(): AsyncGenerator<Uint8Array> {
    while (state.sent < bytes && !stop()) {
      const size = Math.min(chunkBytes, bytes - state.sent);
      state.sent += size;
      yield size === chunkBytes ? chunk : chunk.subarray(0, size);
    }
  }
  return { source: source(), state };
}

const STREAM_TIMEOUT_MS = 60_000;

/**
 * The client's stream commands.
 *
 * @param call One call through the client node.
 * @param addTcp One `add(1, 2)` call over TCP (the small call measured beside a stream).
 * @returns Commands by name.
 */
export function streamCommands(call: Caller, addTcp: () => Promise<void>): Role["handlers"] {
  const sink = async (bytes: number, chunkBytes: number, options: SinkOptions = {}, stop?: () => boolean) => {
    const { source, state } = chunks(bytes, chunkBytes, stop);
    const got = await call("sink", [source, options], "tcp", STREAM_TIMEOUT_MS);
    if (got !== state.sent) throw new Error(`sink received ${JSON.stringify(got)} bytes of ${state.sent}`);
    return state.sent;
  };
  return {
    /** One stream of `bytes`: MB/s of the median transfer. */
    stream: async (c) => {
      const [bytes, chunkBytes] = [num(c, "bytes"), num(c, "chunkBytes")];
      return { ...(await measureTransfer(() => sink(bytes, chunkBytes), bytes, num(c, "count"), num(c, "warmup"))) };
    },
    /** One stream towards a reader paced to `readerRate` bytes/s: the writer's memory growth. */
    slowReader: async (c) => {
      const [bytes, chunkBytes, rate] = [num(c, "bytes"), num(c, "chunkBytes"), num(c, "readerRate")];
      const { growth, seconds } = await measureGrowth(() => sink(bytes, chunkBytes, { rate }));
      return { growth, rate: bytes / 1e6 / seconds, seconds };
    },
    /** `streams` streams of `bytes` at once on the one connection: total MB/s and max/mean time. */
    concurrentStreams: async (c) => {
      const [streams, bytes, chunkBytes] = [num(c, "streams"), num(c, "bytes"), num(c, "chunkBytes")];
      const started = performance.now();
      const times = await Promise.all(Array.from({ length: streams }, async () => {
        const t0 = performance.now();
        await sink(bytes, chunkBytes);
        return performance.now() - t0;
      }));
      const wall = (performance.now() - started) / 1000;
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      return {
        rate: (streams * bytes) / 1e6 / wall,
        max_over_mean: Math.max(...times) / mean,
        medianMs: median(times),
      };
    },
    /** A stream of `count` small values: values per second. */
    values: async (c) => {
      const count = num(c, "count");
      const started = performance.now();
      const stream = (await call("values", [count], "tcp", STREAM_TIMEOUT_MS)) as AsyncIterable<{ i: number }>;
      let seen = 0;
      for await (const value of stream) {
        if (value.i !== seen) throw new Error(`values: got i = ${value.i}, expected ${seen}`);
        seen++;
      }
      if (seen !== count) throw new Error(`values: got ${seen} of ${count}`);
      return { rate: count / ((performance.now() - started) / 1000) };
    },
    /**
     * Sequential small TCP calls without a stream (`idleMedian`), then while a stream of up to
     * `bytes` runs on the same connection (`median`, `p99`); the stream stops when they end.
     */
    latencyDuringStream: async (c) => {
      const [bytes, chunkBytes, count, warmup] = [
        num(c, "bytes"),
        num(c, "chunkBytes"),
        num(c, "count"),
        num(c, "warmup"),
      ];
      const idle = await measureLatency(addTcp, count, warmup);
      let done = false;
      const { source, state } = chunks(bytes, chunkBytes, () => done);
      const flowing = call("sink", [source, {}], "tcp", STREAM_TIMEOUT_MS);
      flowing.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
      // The stream is under way before the first timed call.
      while (state.sent < 16 * chunkBytes && state.sent < bytes) await sleep(1);
      const during = await measureLatency(addTcp, count, 0);
      const overlapped = state.sent < bytes;
      done = true;
      await flowing;
      if (!overlapped) throw new Error(`the ${bytes}-byte stream ended before the calls did: make it longer`);
      return { median: during.median, p99: during.p99, idle_median: idle.median, streamedBytes: state.sent };
    },
  };
}
