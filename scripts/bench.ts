/**
 * PeerLink benchmarks: PeerLink side by side with its baselines (raw UDP/TCP echo on the same
 * runtime's sockets, and HTTP+fetch), on Deno, Bun and Node, in one run. Prints a table per
 * runtime and a summary of the targets of issue 6, and writes everything to a JSON file.
 *
 * Every scenario runs two or more worker processes (server and client, observer and subject,
 * caller and peers) started with the runtime under test. Sockets are opened, so it runs only
 * inside the private network namespace of scripts/netns.sh:
 *
 * ```sh
 * npm run bench                          # = bash scripts/netns.sh node_modules/.bin/node scripts/bench.ts
 * npm run bench -- --quick --runtime bun # smoke run on one runtime
 * ```
 *
 * Options: `--quick` (seconds, rough numbers: proves it works), `--runtime deno,bun,node`,
 * `--scenario calls,discovery,fanout`, `--only throughput_udp,...` (some small-call
 * measurements), `--pin split|none` (for small calls servers on CPU 0 and clients on CPU 1,
 * uploads unpinned; the default with two or more CPUs), `--repeats N`, `--out FILE` (default
 * bench-results.json), `--layer node|engine` (engine: the RPC engine without discovery),
 * `--profile` (count wire traffic per call; slightly slower), `--cpu-profile DIR` (CPU
 * profiles of the call workers on Node and Deno), `--runtime-flags="..."` (e.g.
 * `--cpu-prof` for Node workers), `--verbose` (worker output).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, availableParallelism, cpus, loadavg, networkInterfaces, platform, release } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { ROOT, type Runtime, Worker } from "./bench/proc.ts";
import {
  type BenchReport,
  comparisons,
  formatRuntime,
  formatSummary,
  MetricTable,
  type RuntimeReport,
} from "./bench/report.ts";
import { CALL_MEASUREMENTS, runCalls, type RunContext, runDiscovery, runFanout } from "./bench/scenarios.ts";
import { FULL, QUICK, type Settings } from "./bench/settings.ts";

const RUNTIMES: Runtime[] = ["deno", "bun", "node"];
const SCENARIOS = ["calls", "discovery", "fanout"] as const;

const USAGE = `usage: bash scripts/netns.sh node_modules/.bin/node scripts/bench.ts [options]
  --quick                 smoke run: every scenario, few iterations (rough numbers)
  --runtime LIST          runtimes to measure, comma-separated (default deno,bun,node)
  --scenario LIST         calls,discovery,fanout (default all)
  --repeats N             repeats of each measurement (default 5, quick 2)
  --out FILE              JSON results (default bench-results.json)
  --only LIST             small-call measurements to run, e.g. throughput_udp,latency_tcp (default all)
  --pin split|none        split (default with 2+ CPUs): for small calls, servers on CPU 0 and clients
                          on CPU 1, every variant alike (uploads run unpinned); none: never pin
  --layer node|engine     PeerLink's public API (default) or its RPC engine alone
  --profile               count PeerLink's wire traffic per call (adds a little overhead)
  --cpu-profile DIR       CPU profiles of the call workers (Node, Deno) into DIR; summarise one with
                          node scripts/bench/profile_summary.ts DIR/deno-peerlink-client.cpuprofile
  --runtime-flags="..."   extra flags for every worker's runtime, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
                          with --runtime node (workers that exit cleanly write their profiles)
  --verbose               show the workers' output`;

/** Why sockets must not be opened here, or `undefined` when this is our private namespace. */
function namespaceProblem(): string | undefined {
  if (process.env.PEERLINK_NETNS !== "1") {
    return "bench: refusing to run outside the private network namespace (PEERLINK_NETNS is not 1). " +
      "Run it as `npm run bench`, or `bash scripts/netns.sh node_modules/.bin/node scripts/bench.ts`.";
  }
  const foreign = Object.entries(networkInterfaces()).filter(([name, addresses]) =>
    name !== "lo" && !name.startsWith("pl") && (addresses ?? []).some((a) => !a.internal)
  );
  if (foreign.length > 0) {
    return `bench: refusing to run: interfaces outside our namespace are visible (${
      foreign.map(([n]) => n).join(", ")
    })`;
  }
  return undefined;
}

function parseList<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const list = value.split(",").map((v) => v.trim()).filter(Boolean);
  for (const item of list) {
    if (!allowed.includes(item as T)) {
      throw new Error(`bench: unknown ${what} ${JSON.stringify(item)}; use ${allowed.join(", ")}`);
    }
  }
  return list as T[];
}

/** Starts a bare worker of the runtime: proves the runtime runs, tells its version and baseline memory. */
async function bareRuntime(runtime: Runtime, verbose: boolean): Promise<{ version: string; rss: number }> {
  try {
    const bare = await Worker.spawn(runtime, "bare", {}, { verbose });
    await bare.close();
    return { version: String(bare.ready.version), rss: Number(bare.ready.rss) };
  } catch (error) {
    throw new Error(`bench: cannot run ${runtime}: ${error instanceof Error ? error.message : error}`);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      runtime: { type: "string", default: RUNTIMES.join(",") },
      scenario: { type: "string", default: SCENARIOS.join(",") },
      repeats: { type: "string" },
      out: { type: "string", default: "bench-results.json" },
      layer: { type: "string", default: "node" },
      only: { type: "string" },
      pin: { type: "string", default: availableParallelism() >= 2 ? "split" : "none" },
      profile: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      "runtime-flags": { type: "string", default: "" },
      "cpu-profile": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const runtimes = parseList(values.runtime!, RUNTIMES, "runtime");
  const scenarios = parseList(values.scenario!, SCENARIOS, "scenario");
  if (values.layer !== "node" && values.layer !== "engine") throw new Error("bench: --layer must be node or engine");
  if (values.pin !== "split" && values.pin !== "none") throw new Error("bench: --pin must be split or none");
  if (values.pin === "split" && availableParallelism() < 2) throw new Error("bench: --pin split needs at least 2 CPUs");
  const only = values.only === undefined ? undefined : parseList(values.only, CALL_MEASUREMENTS, "measurement");
  const settings: Settings = structuredClone(values.quick ? QUICK : FULL);
  if (values.repeats !== undefined) {
    const repeats = Number(values.repeats);
    if (!Number.isInteger(repeats) || repeats < 1) throw new Error("bench: --repeats must be a positive integer");
    settings.repeats = repeats;
  }
  // Arguments are checked first, so a typo is reported wherever the script runs.
  const problem = namespaceProblem();
  if (problem) {
    console.error(problem);
    return 2;
  }
  const outPath = resolve(ROOT, values.out!);
  if (values["cpu-profile"] !== undefined) mkdirSync(resolve(values["cpu-profile"]), { recursive: true });
  const started = performance.now();
  const cpuList = cpus();
  const report: BenchReport = {
    schema: "peerlink-bench/1",
    startedAt: new Date().toISOString(),
    quick: values.quick!,
    layer: values.layer,
    settings,
    machine: {
      platform: platform(),
      release: release(),
      arch: arch(),
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? "unknown",
      loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      pin: values.pin,
    },
    runtimes: [],
    durationMs: 0,
  };
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const run = Math.random().toString(36).slice(2, 8);
  for (const runtime of runtimes) {
    const t0 = performance.now();
    const table = new MetricTable();
    const ctx: RunContext = {
      runtime,
      settings,
      layer: values.layer,
      only,
      pin: values.pin === "split",
      realm: `bench-${run}-${runtime}`,
      verbose: values.verbose!,
      runtimeFlags: values["runtime-flags"]!.split(" ").filter(Boolean),
      profile: values.profile!,
      cpuProfileDir: values["cpu-profile"] === undefined ? undefined : resolve(values["cpu-profile"]),
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
      if (scenarios.includes("calls")) await runCalls(ctx);
      const discovery = () => scenarios.includes("discovery") ? runDiscovery(ctx) : Promise.resolve();
      const fanout = () => scenarios.includes("fanout") ? runFanout(ctx) : Promise.resolve();
      // The smoke run overlaps the two (separate realms) to stay fast; its numbers are rough anyway.
      if (values.quick) await Promise.all([discovery(), fanout()]);
      else {
        await discovery();
        await fanout();
      }
    } catch (error) {
      ctx.errors.push(error instanceof Error ? error.message : String(error));
    }
    const entry: RuntimeReport = {
      runtime,
      version,
      apis: ctx.apis,
      peerlink: ctx.peerlinkUnavailable ?? "available",
      metrics: table.rows(),
      comparisons: comparisons(table),
      ...(values.profile ? { profile: ctx.profileData } : {}),
      errors: ctx.errors,
      durationMs: Math.round(performance.now() - t0),
    };
    report.runtimes.push(entry);
    console.log(formatRuntime(entry));
  }
  report.durationMs = Math.round(performance.now() - started);
  console.log(formatSummary(report.runtimes));
  console.log(
    `\n${report.quick ? "Quick smoke run: numbers are rough. " : ""}Load average at start ${
      report.machine.loadavg.join(" ")
    } on ${report.machine.cpus} CPUs (other work on the machine makes numbers noisy); ${
      values.pin === "split"
        ? "for small calls servers pinned to CPU 0 and clients to CPU 1, uploads unpinned"
        : "workers not pinned"
    }.`,
  );
  writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Results written to ${outPath} (${(report.durationMs / 1000).toFixed(1)} s)`);
  const broken = report.runtimes.some((r) => r.metrics.some((m) => m.status === "error"));
  return broken ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
}
