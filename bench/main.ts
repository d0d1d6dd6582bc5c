/**
 * PeerLink benchmarks: PeerLink side by side with its baselines (raw UDP/TCP on the same
 * runtime's sockets) and with what users would pick instead (HTTP+fetch, gRPC, capnweb), on
 * Deno, Bun and Node, in one invocation of one or more full runs. Prints a table per runtime
 * and the targets, and writes every run and their summary to a JSON file and a chart to an
 * SVG file beside it. See bench/README.md.
 *
 * Every scenario runs two or more worker processes (server and client, observer and subject,
 * caller and peers) started with the runtime under test. Sockets are opened, so it runs only
 * inside the private network namespace of scripts/netns.sh:
 *
 * ```sh
 * npm run bench                          # = bash scripts/netns.sh node_modules/.bin/node bench/main.ts
 * npm run bench -- --runs 3              # three full runs: medians of the runs' medians, ranges
 * npm run bench -- --quick --runtime bun # smoke run on one runtime
 * ```
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import { type BenchOptions, namespaceProblem, parseOptions, USAGE } from "./driver/options.ts";
import { ROOT } from "./driver/proc.ts";
import { runOnce } from "./driver/run.ts";
import type { BenchReport } from "./report/schema.ts";
import { summarise } from "./report/summary.ts";
import { chartSvg } from "./report/svg.ts";
import { formatRuntime, formatTargets } from "./report/text.ts";

function newReport(options: BenchOptions): BenchReport {
  const cpuList = cpus();
  return {
    schema: "peerlink-bench/2",
    startedAt: new Date().toISOString(),
    quick: options.quick,
    layer: options.layer,
    settings: options.settings,
    machine: {
      platform: platform(),
      release: release(),
      arch: arch(),
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? "unknown",
      loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      pin: options.pin,
    },
    runs: [],
    summary: { rangeOver: "repeats", runtimes: [] },
    durationMs: 0,
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  // Arguments are checked first, so a typo is reported wherever the script runs.
  const problem = namespaceProblem();
  if (problem) {
    console.error(problem);
    return 2;
  }
  const jsonPath = resolve(ROOT, options.out);
  const svgPath = jsonPath.replace(/(\.json)?$/, ".svg");
  if (options.cpuProfileDir !== undefined) mkdirSync(resolve(options.cpuProfileDir), { recursive: true });
  const started = performance.now();
  const report = newReport(options);
  for (let index = 1; index <= options.runs; index++) report.runs.push(await runOnce(options, index));
  report.summary = summarise(report.runs);
  report.durationMs = Math.round(performance.now() - started);
  for (const runtime of report.summary.runtimes) console.log(formatRuntime(runtime, report.summary.rangeOver));
  console.log(formatTargets(report.summary.runtimes));
  const loads = report.runs.map((r) => r.loadavg[0]).join(", ");
  console.log(
    `\n${report.quick ? "Quick smoke run: numbers are rough. " : ""}${options.runs} run${
      options.runs > 1 ? "s" : ""
    }; load average (1 min) at the start of each: ${loads} on ${report.machine.cpus} CPUs (other work on the machine makes numbers noisy); ${
      options.pin === "split"
        ? "for small calls servers pinned to CPU 0 and clients to CPU 1, transfers unpinned"
        : "workers not pinned"
    }.`,
  );
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(svgPath, chartSvg(report));
  console.log(`Results written to ${jsonPath} and ${svgPath} (${(report.durationMs / 1000).toFixed(1)} s)`);
  const broken = report.runs.some((run) => run.runtimes.some((r) => r.metrics.some((m) => m.status === "error")));
  return broken ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
}
