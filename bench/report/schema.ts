/**
 * The JSON file the benchmark writes (`bench-results.json`): every run as measured, and the
 * summary over the runs that the console table, the README and the chart show.
 *
 * @module
 */
import type { Comparison } from "./comparisons.ts";
import type { MetricRow, MetricSpec } from "./table.ts";

/** Everything measured on one runtime in one run. */
export interface RuntimeReport {
  /** `"deno"`, `"bun"` or `"node"`. */
  runtime: string;
  /** Its version, e.g. `"1.4.5"`. */
  version: string;
  /** APIs used: raw baseline sockets, HTTP, gRPC and capnweb servers, PeerLink's socket adapter. */
  apis: Record<string, string>;
  /** `"available"`, or why the PeerLink scenarios could not run. */
  peerlink: string;
  /** Measurements, each over the run's repeats. */
  metrics: MetricRow[];
  /** Ratios and targets from this run's medians. */
  comparisons: Comparison[];
  /** Extra diagnostics (wire bytes per call, engine counters) from `--profile` runs. */
  profile?: Record<string, unknown>;
  /** Problems met on the way (a scenario that failed, a worker that would not start). */
  errors: string[];
  /** Wall time of this runtime's scenarios, ms. */
  durationMs: number;
}

/** One full run: every runtime, every scenario. */
export interface RunReport {
  /** 1, 2, ... */
  index: number;
  /** ISO time it started. */
  startedAt: string;
  /** Load average when it started (1, 5, 15 minutes). */
  loadavg: number[];
  /** One entry per runtime, in the order run. */
  runtimes: RuntimeReport[];
  /** Wall time, ms. */
  durationMs: number;
}

/** One metric over all runs. */
export interface SummaryRow extends MetricSpec {
  /** `"ok"` when at least one run measured it, else the first run's status. */
  status: MetricRow["status"];
  /** Why it is unavailable or failed. */
  note?: string;
  /** Median of the runs' medians. */
  median?: number;
  /** Range: over runs (two or more), or over the one run's repeats (see `rangeOver`). */
  min?: number;
  max?: number;
  /** Each run's median (`null` where that run has none). */
  runs?: (number | null)[];
}

/** One runtime over all runs. */
export interface RuntimeSummary {
  runtime: string;
  version: string;
  apis: Record<string, string>;
  peerlink: string;
  metrics: SummaryRow[];
  /** From the medians over runs; `min`/`max` give each comparison's range over runs. */
  comparisons: Comparison[];
  /** Every run's problems, prefixed with the run's number when there are several. */
  errors: string[];
}

/** Where the benchmark ran; the load average says how noisy the numbers may be. */
export interface Machine {
  platform: string;
  release: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  /** At the start of the first run. */
  loadavg: number[];
  /** `"split"` (call servers on CPU 0, clients on CPU 1) or `"none"`. */
  pin: string;
}

/** The whole JSON file. */
export interface BenchReport {
  /** Format id. */
  schema: "peerlink-bench/2";
  /** ISO time the first run started. */
  startedAt: string;
  /** Whether this was a `--quick` smoke run (rough numbers). */
  quick: boolean;
  /** Which PeerLink layer was measured: `"node"` (the public API) or `"engine"`. */
  layer: string;
  /** The iteration counts used. */
  settings: unknown;
  machine: Machine;
  /** Every run, complete. */
  runs: RunReport[];
  /** Over the runs: what the console, the README table and the chart show. */
  summary: {
    /** `"runs"` when the ranges are over two or more runs, `"repeats"` with a single run. */
    rangeOver: "runs" | "repeats";
    runtimes: RuntimeSummary[];
  };
  /** Wall time of everything, ms. */
  durationMs: number;
}
