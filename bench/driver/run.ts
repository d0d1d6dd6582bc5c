/**
 * One full run: for each runtime in turn, the bare runtime, then every selected scenario.
 *
 * @module
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import { comparisons } from "../report/comparisons.ts";
import type { RunReport, RuntimeReport } from "../report/schema.ts";
import { MetricTable } from "../report/table.ts";
import type { RunContext } from "../scenarios/context.ts";
import { SCENARIOS } from "../scenarios/mod.ts";
import type { BenchOptions } from "./options.ts";
import { type Runtime, Worker } from "./proc.ts";

/** Starts a bare worker of the runtime: proves the runtime runs, tells its version and baseline memory. */
async function bareRuntime(runtime: Runtime, verbose: boolean): Promise<{ version: string; rss: number }> {
  try {
    const bare = await Worker.spawn(runtime, "bare#idle", {}, { verbose });
    await bare.close();
    return { version: String(bare.ready.version), rss: Number(bare.ready.rss) };
  } catch (error) {
    throw new Error(`bench: cannot run ${runtime}: ${error instanceof Error ? error.message : error}`);
  }
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

async function runRuntime(options: BenchOptions, runtime: Runtime, tag: string): Promise<RuntimeReport> {
  const t0 = performance.now();
  const table = new MetricTable();
  const ctx: RunContext = {
    runtime,
    settings: options.settings,
    layer: options.layer,
    only: options.only,
    pin: options.pin === "split",
    realm: `bench-${tag}-${runtime}`,
    verbose: options.verbose,
    runtimeFlags: options.runtimeFlags,
    profile: options.profile,
    cpuProfileDir: options.cpuProfileDir === undefined ? undefined : resolve(options.cpuProfileDir),
    table,
    errors: [],
    apis: {},
    profileData: {},
    log,
  };
  let version = "unknown";
  try {
    const bare = await bareRuntime(runtime, ctx.verbose);
    version = bare.version;
    ctx.bareRss = bare.rss;
    const chosen = SCENARIOS.filter((s) =>
      options.scenarios.includes(s.name) && (!options.only || s.measurements.some((m) => options.only!.includes(m)))
    );
    const overlap = options.quick ? chosen.filter((s) => s.light) : [];
    for (const scenario of chosen.filter((s) => !overlap.includes(s))) await scenario.run(ctx);
    // The smoke run overlaps the light ones (separate realms) to stay fast; its numbers are rough anyway.
    await Promise.all(overlap.map((s) => s.run(ctx)));
  } catch (error) {
    ctx.errors.push(error instanceof Error ? error.message : String(error));
  }
  return {
    runtime,
    version,
    apis: ctx.apis,
    peerlink: ctx.peerlinkUnavailable ?? "available",
    metrics: table.rows(),
    comparisons: comparisons(table.median),
    ...(options.profile ? { profile: ctx.profileData } : {}),
    errors: ctx.errors,
    durationMs: Math.round(performance.now() - t0),
  };
}

/**
 * One run over every runtime.
 *
 * @param options The invocation's options.
 * @param index 1-based number of this run.
 * @returns Its report.
 */
export async function runOnce(options: BenchOptions, index: number): Promise<RunReport> {
  const started = performance.now();
  const report: RunReport = {
    index,
    startedAt: new Date().toISOString(),
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    runtimes: [],
    durationMs: 0,
  };
  const tag = `${Math.random().toString(36).slice(2, 8)}-${index}`;
  for (const runtime of options.runtimes) {
    if (options.runs > 1) log(`run ${index} of ${options.runs}: ${runtime}`);
    report.runtimes.push(await runRuntime(options, runtime, tag));
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}
