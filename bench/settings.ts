/**
 * How much the benchmark measures: the full run (stable medians, a few minutes) and the
 * `--quick` smoke run (proves every scenario still works, in seconds; its numbers are rough).
 *
 * @module
 */

/** Iteration counts of one run. */
export interface Settings {
  /** Repeats of every measurement; the report shows min / median / max over them. */
  repeats: number;
  /** Sequential small calls per repeat, and untimed warm-up calls before. */
  latency: { count: number; warmup: number };
  /** Calls in flight, calls per repeat, warm-up calls. */
  throughput: { concurrency: number; total: number; warmup: number };
  /** HTTP: sequential and concurrent counts (fetch is slower, so fewer). */
  http: { count: number; warmup: number; total: number; totalWarmup: number };
  /** Upload size in bytes, uploads per repeat, warm-up uploads. */
  upload: { bytes: number; count: number; warmup: number };
  /** Nodes started and stopped for discovery timing. */
  discovery: { iterations: number };
  /** Fan-out calls per repeat and warm-up; peer counts; nodes per peer process. */
  fanout: { count: number; warmup: number; sizes: number[]; nodesPerProcess: number };
  /** Pause before reading an idle node's memory, ms. */
  memorySettleMs: number;
  /** Streams (issue 16); each stream is written in chunks of `chunkBytes`. */
  streams: {
    /** Repeats of the large stream and of the concurrent streams (they are long). */
    repeats: number;
    chunkBytes: number;
    /** The large stream, against the raw TCP transfer of the same bytes. */
    bytes: number;
    /** The stream towards a reader `slowdown` times slower than the writer. */
    slowReaderBytes: number;
    slowdown: number;
    /** Concurrent streams on one connection, and each one's size. */
    concurrent: { streams: number; bytes: number };
    /** Small values in one stream. */
    values: number;
    /** Upper bound of the stream that runs while small calls are timed (it stops when they end). */
    duringBytes: number;
  };
  /** Files (issue 17): one file fetched between two LAN hosts, against raw TCP and curl. */
  files: {
    /** Its size. */
    bytes: number;
    /** Repeats of each variant (the transfers are long). */
    repeats: number;
    /** Size of the untimed file each variant moves first (connections, JIT, one-time allocations). */
    warmupBytes: number;
  };
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The full run. */
export const FULL: Settings = {
  repeats: 5,
  latency: { count: 2_000, warmup: 500 },
  throughput: { concurrency: 64, total: 20_000, warmup: 2_000 },
  http: { count: 1_000, warmup: 200, total: 5_000, totalWarmup: 500 },
  upload: { bytes: 4 * 1024 * 1024, count: 15, warmup: 3 },
  discovery: { iterations: 10 },
  fanout: { count: 50, warmup: 5, sizes: [10, 30], nodesPerProcess: 10 },
  memorySettleMs: 1_000,
  streams: {
    repeats: 3,
    chunkBytes: 64 * KiB,
    bytes: GiB,
    slowReaderBytes: GiB,
    slowdown: 10,
    concurrent: { streams: 100, bytes: 8 * MiB },
    values: 1_000_000,
    duringBytes: 64 * GiB,
  },
  files: { bytes: GiB, repeats: 3, warmupBytes: 4 * MiB },
};

/** The `--quick` smoke run. */
export const QUICK: Settings = {
  repeats: 2,
  latency: { count: 200, warmup: 50 },
  throughput: { concurrency: 64, total: 2_000, warmup: 200 },
  http: { count: 100, warmup: 20, total: 500, totalWarmup: 50 },
  upload: { bytes: 4 * 1024 * 1024, count: 3, warmup: 1 },
  discovery: { iterations: 2 },
  fanout: { count: 5, warmup: 1, sizes: [10, 30], nodesPerProcess: 10 },
  memorySettleMs: 200,
  streams: {
    repeats: 1,
    chunkBytes: 64 * KiB,
    bytes: 64 * MiB,
    slowReaderBytes: 32 * MiB,
    slowdown: 10,
    concurrent: { streams: 100, bytes: 256 * KiB },
    values: 20_000,
    duringBytes: 64 * GiB,
  },
  files: { bytes: 16 * MiB, repeats: 1, warmupBytes: MiB },
};
