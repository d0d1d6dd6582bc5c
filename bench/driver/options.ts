/**
 * The benchmark's command line: its options, their checks, and the refusal to open sockets
 * outside the private network namespace.
 *
 * @module
 */
import { availableParallelism, networkInterfaces } from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import { MEASUREMENTS, SCENARIOS } from "../scenarios/mod.ts";
import { FULL, QUICK, type Settings } from "../settings.ts";
import type { Runtime } from "./proc.ts";

const RUNTIMES: readonly Runtime[] = ["deno", "bun", "node"];

/** Usage text of `--help`. */
export const USAGE = `usage: npm run bench -- [options]
  (= bash scripts/netns.sh node_modules/.bin/node bench/main.ts [options])
  --quick                 smoke run: every scenario, few iterations (rough numbers)
  --runs N                full runs in one invocation (default 1); the report gives per measure
                          the median of the runs' medians and the range over runs
  --runtime LIST          runtimes to measure, comma-separated (default deno,bun,node)
  --scenario LIST         ${SCENARIOS.map((s) => s.name).join(",")} (default all)
  --only LIST             measurements to run, e.g. throughput_udp,latency_tcp,stream (default all)
  --repeats N             repeats of each measurement in a run (default 5, quick 2)
  --out FILE              JSON results (default bench-results.json); the chart goes beside it (.svg)
  --pin split|none        split (default with 2+ CPUs): for small calls, servers on CPU 0 and clients
                          on CPU 1, every variant alike (transfers run unpinned); none: never pin
  --layer node|engine     PeerLink's public API (default) or its RPC engine alone
  --profile               count PeerLink's wire traffic per call (adds a little overhead)
  --cpu-profile DIR       CPU profiles of the call workers (Node, Deno) into DIR; summarise one with
                          node bench/tools/profile_summary.ts DIR/deno-peerlink-rpc-client.cpuprofile
  --runtime-flags="..."   extra flags for every worker's runtime, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
                          with --runtime node (workers that exit cleanly write their profiles)
  --verbose               show the workers' output`;

/** The options of one invocation. */
export interface BenchOptions {
  quick: boolean;
  runs: number;
  runtimes: Runtime[];
  scenarios: string[];
  only?: string[];
  settings: Settings;
  out: string;
  pin: "split" | "none";
  layer: "node" | "engine";
  profile: boolean;
  cpuProfileDir?: string;
  runtimeFlags: string[];
  verbose: boolean;
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

function positive(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench: ${what} must be a positive integer`);
  return n;
}

/**
 * Parses the command line.
 *
 * @param args The arguments after the script.
 * @returns The options, or `"help"`.
 * @throws {Error} On an unknown or malformed option (the caller exits with code 2).
 */
export function parseOptions(args: string[]): BenchOptions | "help" {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        runs: { type: "string" },
        runtime: { type: "string", default: RUNTIMES.join(",") },
        scenario: { type: "string", default: SCENARIOS.map((s) => s.name).join(",") },
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
    }).values;
  } catch (error) {
    throw new Error(`bench: ${error instanceof Error ? error.message : error}\n${USAGE}`);
  }
  if (values.help) return "help";
  if (values.layer !== "node" && values.layer !== "engine") throw new Error("bench: --layer must be node or engine");
  if (values.pin !== "split" && values.pin !== "none") throw new Error("bench: --pin must be split or none");
  if (values.pin === "split" && availableParallelism() < 2) {
    throw new Error("bench: --pin split needs at least 2 CPUs");
  }
  const settings: Settings = structuredClone(values.quick ? QUICK : FULL);
  settings.repeats = positive(values.repeats, "--repeats") ?? settings.repeats;
  return {
    quick: values.quick!,
    runs: positive(values.runs, "--runs") ?? 1,
    runtimes: parseList(values.runtime!, RUNTIMES, "runtime"),
    scenarios: parseList(values.scenario!, SCENARIOS.map((s) => s.name), "scenario"),
    only: values.only === undefined ? undefined : parseList(values.only, MEASUREMENTS, "measurement"),
    settings,
    out: values.out!,
    pin: values.pin,
    layer: values.layer,
    profile: values.profile!,
    cpuProfileDir: values["cpu-profile"],
    runtimeFlags: values["runtime-flags"]!.split(" ").filter(Boolean),
    verbose: values.verbose!,
  };
}

/**
 * Why sockets must not be opened here.
 *
 * @returns The reason, or `undefined` when this is our private namespace.
 */
export function namespaceProblem(): string | undefined {
  if (process.env.PEERLINK_NETNS !== "1") {
    return "bench: refusing to run outside the private network namespace (PEERLINK_NETNS is not 1). " +
      "Run it as `npm run bench`, or `bash scripts/netns.sh node_modules/.bin/node bench/main.ts`.";
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
