/**
 * Every scenario the benchmark knows, in the order it runs them. A scenario is one file: it
 * starts its worker processes (roles of `bench/subjects/`), measures, and puts rows into the
 * run's table; comparisons of its rows go in `report/comparisons.ts`. Adding one is a file here
 * plus a line below.
 *
 * @module
 */
import { CALL_MEASUREMENTS, runCalls } from "./calls.ts";
import type { RunContext } from "./context.ts";
import { runDiscovery } from "./discovery.ts";
import { runFanout } from "./fanout.ts";
import { runFiles } from "./files.ts";
import { runStreams, STREAM_MEASUREMENTS } from "./streams.ts";

/** One scenario. */
export interface Scenario {
  /** Its name for `--scenario`. */
  name: string;
  /** Names of its measurements for `--only` (its rows' `scenario` field). */
  measurements: readonly string[];
  /** Runs it on `ctx.runtime`, measuring only what `ctx.only` selects. */
  run(ctx: RunContext): Promise<void>;
  /** Light enough to overlap with the other light ones in a `--quick` run (separate realms). */
  light?: boolean;
}

/** The scenarios, in order. */
export const SCENARIOS: readonly Scenario[] = [
  { name: "calls", measurements: CALL_MEASUREMENTS, run: runCalls },
  { name: "streams", measurements: STREAM_MEASUREMENTS, run: runStreams },
  { name: "files", measurements: ["files"], run: runFiles },
  { name: "discovery", measurements: ["discovery"], run: runDiscovery, light: true },
  { name: "fanout", measurements: ["fanout", "memory"], run: runFanout, light: true },
];

/** Every measurement name, for `--only`. */
export const MEASUREMENTS: readonly string[] = SCENARIOS.flatMap((s) => s.measurements);
