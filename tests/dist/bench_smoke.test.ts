/**
 * The benchmark still works: `bench/main.ts --quick` runs every scenario on Deno, Bun and Node
 * (the file row between two hosts of a private LAN, where scripts/lan.sh can make one) and
 * writes results of the documented shape (every run, their summary, the chart). No timing
 * is asserted (numbers on a shared CI machine mean nothing); only structure and that measured
 * values are finite and in order. Plus the pure pieces of the harness: frame scanning,
 * statistics, target verdicts, the summary over runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { buildFrames, FrameScanner } from "../../bench/subjects/raw/frame_scanner.ts";
import { comparisons } from "../../bench/report/comparisons.ts";
import type { RunReport } from "../../bench/report/schema.ts";
import { summarise } from "../../bench/report/summary.ts";
import { MetricTable } from "../../bench/report/table.ts";
import { median, percentile, spread } from "../../bench/stats.ts";
import { runtimeName, socketSkip } from "../support/env.ts";
import { lanSkip } from "../support/lan.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const NODE = join(ROOT, "node_modules", ".bin", "node");

/** The smoke run spawns all three runtimes itself, so one test pass (Node's) is enough. */
const smokeSkip: string | false = socketSkip ||
  (runtimeName !== "node" &&
    `runs once, in the Node pass (this is the ${runtimeName} pass): bench --quick measures all three runtimes itself`);

interface Row {
  scenario: string;
  variant: string;
  metric: string;
  unit: string;
  status: string;
  note?: string;
  min?: number;
  median?: number;
  max?: number;
  values?: number[];
}

interface Runtime {
  runtime: string;
  version: string;
  peerlink: string;
  metrics: Row[];
  comparisons: {
    id: string;
    value: number | null;
    unit: string;
    met: boolean | null;
    target?: { op: string; value: number };
  }[];
  errors: string[];
}

const BASELINES: [scenario: string, variant: string][] = [
  ["latency_udp", "raw"],
  ["latency_tcp", "raw"],
  ["throughput_udp", "raw"],
  ["throughput_tcp", "raw"],
  ["throughput_tcp", "raw_coalesced"],
  ["upload_tcp", "raw"],
  ["stream", "raw"],
  ...["http", "grpc", "capnweb"].flatMap((alt): [string, string][] => [[`${alt}_sequential`, alt], [
    `${alt}_concurrent`,
    alt,
  ]]),
];
const PEERLINK_SCENARIOS = [
  "latency_udp",
  "latency_tcp",
  "throughput_udp",
  "throughput_tcp",
  "upload_tcp",
  "stream",
  "stream_slow_reader",
  "streams_concurrent",
  "stream_values",
  "latency_during_stream",
  "discovery",
  "fanout",
  "memory",
];
/** Small-call rows that carry the CPU time per call. */
const CPU_ROWS: [scenario: string, variant: string][] = [
  ...["latency_udp", "latency_tcp", "throughput_udp", "throughput_tcp"].flatMap((scenario) =>
    ["raw", "peerlink", "peerlink_sealed"].map((variant) => [scenario, variant] as [string, string])
  ),
  ["grpc_sequential", "grpc"],
  ["capnweb_concurrent", "capnweb"],
];
/** The file row runs between two hosts of a private LAN: measured wherever scripts/lan.sh can make one. */
const FILE_ROWS: [scenario: string, variant: string][] = [["files", "raw"], ["files", "curl"], ["files", "peerlink"]];
const FILE_TARGET_IDS = ["files_vs_raw", "files_server_growth", "files_client_growth"];
const TARGET_IDS = [
  "udp_latency_vs_raw",
  "tcp_latency_vs_raw",
  "udp_throughput_vs_raw",
  "tcp_throughput_vs_raw",
  "tcp_throughput_vs_raw_coalesced",
  "upload_vs_raw",
  "http_latency_speedup",
  "http_throughput_speedup",
  "grpc_latency_speedup",
  "grpc_throughput_speedup",
  "capnweb_latency_speedup",
  "capnweb_throughput_speedup",
  "stream_vs_raw",
  "stream_slow_reader_growth",
  "streams_fairness",
  "discovery_up",
  "discovery_down",
];

interface Report {
  schema: string;
  quick: boolean;
  settings: { repeats: number; streams: { repeats: number } };
  machine: { cpus: number; pin: string };
  runs: { index: number; loadavg: number[]; runtimes: Runtime[] }[];
  summary: { rangeOver: string; runtimes: Runtime[] };
  durationMs: number;
}

function checkRow(runtime: string, row: Row, repeats: number): void {
  const where = `${runtime} ${row.scenario}/${row.variant}/${row.metric}`;
  assert.ok(["ok", "unavailable"].includes(row.status), `${where}: status ${row.status} (${row.note ?? ""})`);
  if (row.status !== "ok") return;
  for (const key of ["min", "median", "max"] as const) {
    const value = row[key];
    // A memory growth may be 0; every time, rate and CPU figure is positive.
    const floor = row.unit === "MiB" ? value === 0 || (value ?? -1) > 0 : (value ?? 0) > 0;
    assert.ok(typeof value === "number" && Number.isFinite(value) && floor, `${where}: ${key} = ${value}`);
  }
  assert.ok(row.min! <= row.median! && row.median! <= row.max!, `${where}: min <= median <= max`);
  assert.ok(Array.isArray(row.values) && row.values.length >= 1 && row.values.length <= repeats, `${where}: values`);
}

function runBench(args: string[], timeout: number): { report: Report; stdout: string; svg: string } {
  const dir = mkdtempSync(join(tmpdir(), "peerlink-bench-"));
  try {
    const out = join(dir, "bench.json");
    const run = spawnSync(NODE, ["bench/main.ts", ...args, "--out", out], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      encoding: "utf8",
      timeout,
    });
    assert.equal(run.status, 0, `bench exited with ${run.status ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
    const report = JSON.parse(readFileSync(out, "utf8")) as Report;
    return { report, stdout: run.stdout, svg: readFileSync(join(dir, "bench.svg"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("bench --quick measures every scenario on every runtime and writes the JSON report and the chart", {
  skip: smokeSkip,
  timeout: 300_000,
}, () => {
  const { report, stdout, svg } = runBench(["--quick"], 290_000);
  assert.match(stdout, /=== Targets ===/);
  assert.equal(report.schema, "peerlink-bench/2");
  assert.equal(report.quick, true);
  assert.ok(report.machine.cpus > 0 && report.durationMs > 0);
  assert.equal(report.machine.pin, availableParallelism() >= 2 ? "split" : "none");
  assert.equal(report.runs.length, 1);
  const [run] = report.runs;
  assert.deepEqual(run.runtimes.map((r) => r.runtime), ["deno", "bun", "node"]);
  const repeats = Math.max(report.settings.repeats, report.settings.streams.repeats);
  for (const rt of run.runtimes) {
    assert.match(rt.version, /^\d+\.\d+/, `${rt.runtime} version`);
    const has = (scenario: string, variant: string, metric?: string) =>
      rt.metrics.some((m) =>
        m.scenario === scenario && m.variant === variant && m.status === "ok" && (!metric || m.metric === metric)
      );
    for (const row of rt.metrics) checkRow(rt.runtime, row, repeats);
    for (const [scenario, variant] of BASELINES) {
      assert.ok(has(scenario, variant), `${rt.runtime}: ${scenario} ${variant}`);
    }
    assert.ok(has("memory", "runtime"), `${rt.runtime}: bare runtime memory`);
    if (rt.peerlink === "available") {
      for (const scenario of PEERLINK_SCENARIOS) {
        assert.ok(has(scenario, "peerlink"), `${rt.runtime}: PeerLink ${scenario}`);
      }
      for (const [scenario, variant] of CPU_ROWS) {
        assert.ok(has(scenario, variant, "cpu"), `${rt.runtime}: CPU per call of ${scenario} ${variant}`);
      }
    }
    if (!lanSkip) {
      for (const [scenario, variant] of FILE_ROWS) {
        assert.ok(has(scenario, variant), `${rt.runtime}: ${scenario} ${variant}`);
      }
      assert.ok(has("files", "peerlink", "server_growth") && has("files", "peerlink", "client_growth"));
    }
    for (const id of [...TARGET_IDS, ...(lanSkip ? [] : FILE_TARGET_IDS)]) {
      const c = rt.comparisons.find((x) => x.id === id);
      assert.ok(c?.target, `${rt.runtime}: comparison ${id} with a target`);
      if (c.value === null) assert.equal(c.met, null);
      else {
        // A memory growth may be 0 (RSS is read after a full GC); every ratio and time is positive.
        assert.ok(c.value > 0 || (c.unit === "MiB" && c.value === 0), `${rt.runtime} ${id}: value ${c.value}`);
        assert.equal(typeof c.met, "boolean");
      }
      if (rt.peerlink === "available") assert.notEqual(c.value, null, `${rt.runtime}: ${id} computed`);
    }
  }
  // One run: the summary is that run's medians, with the range over its repeats.
  assert.equal(report.summary.rangeOver, "repeats");
  for (const [i, rt] of report.summary.runtimes.entries()) {
    for (const row of rt.metrics.filter((m) => m.status === "ok")) {
      const same = run.runtimes[i].metrics.find((m) =>
        m.scenario === row.scenario && m.variant === row.variant && m.metric === row.metric
      );
      assert.equal(row.median, same?.median, `${rt.runtime} ${row.scenario}/${row.variant}/${row.metric}`);
    }
  }
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (const label of ["deno", "bun", "node", "PeerLink UDP", "gRPC", "capnweb", "HTTP+fetch"]) {
    assert.ok(svg.includes(label), `the chart names ${label}`);
  }
});

test("bench --runs 2 --only keeps both runs and gives the median and range over them, unpinned with --pin none", {
  skip: smokeSkip,
  timeout: 120_000,
}, () => {
  const args = ["--quick", "--runs", "2", "--runtime", "node", "--only", "throughput_tcp", "--pin", "none"];
  const { report, stdout } = runBench(args, 110_000);
  assert.match(stdout, /workers not pinned/);
  assert.equal(report.machine.pin, "none");
  assert.deepEqual(report.runs.map((r) => r.index), [1, 2]);
  for (const run of report.runs) {
    const measured = new Set(run.runtimes[0].metrics.filter((m) => m.status === "ok").map((m) => m.scenario));
    assert.ok(measured.has("throughput_tcp"), "throughput_tcp measured");
    assert.ok(!measured.has("latency_udp") && !measured.has("upload_tcp"), `only throughput_tcp: ${[...measured]}`);
  }
  assert.equal(report.summary.rangeOver, "runs");
  const row = report.summary.runtimes[0].metrics.find((m) =>
    m.scenario === "throughput_tcp" && m.variant === "peerlink"
  )!;
  const perRun = report.runs.map((run) =>
    run.runtimes[0].metrics.find((m) =>
      m.scenario === "throughput_tcp" && m.variant === "peerlink" && m.metric === "rate"
    )
      ?.median
  );
  const rate = report.summary.runtimes[0].metrics.find((m) =>
    m.scenario === "throughput_tcp" && m.variant === "peerlink" && m.metric === "rate"
  ) as Row & { runs: number[] };
  assert.ok(row);
  assert.deepEqual(rate.runs, perRun);
  assert.equal(rate.min, Math.min(...perRun as number[]));
  assert.equal(rate.max, Math.max(...perRun as number[]));
});

test("bench refuses an unknown --only measurement with a clear message", () => {
  const run = spawnSync(NODE, ["bench/main.ts", "--only", "latency_udpp"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /unknown measurement "latency_udpp"; use latency_udp, latency_tcp/);
});

test("bench refuses to run outside the private network namespace", () => {
  // Set to "0" rather than deleted: Deno's child processes inherit the parent's variables
  // that are missing from `env`.
  const env = { ...process.env, PEERLINK_NETNS: "0" };
  const run = spawnSync(NODE, ["bench/main.ts", "--quick", "--out", join(tmpdir(), "never-written.json")], {
    cwd: ROOT,
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /refusing to run outside the private network namespace/);
});

test("FrameScanner finds frames split anywhere across chunks", () => {
  const body = new Uint8Array(10);
  const bytes = buildFrames(body, 7, 3);
  for (let cut = 1; cut < bytes.length; cut += 3) {
    const seen: [number, number][] = [];
    const scanner = new FrameScanner((id, length) => seen.push([id, length]));
    scanner.push(bytes.subarray(0, cut));
    scanner.push(bytes.subarray(cut));
    assert.deepEqual(seen, [[7, 10], [8, 10], [9, 10]], `cut at ${cut}`);
  }
});

test("median, percentile and spread summarise samples", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99), 99);
  assert.ok(Number.isNaN(median([])));
  assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2, max: 3, values: [3, 1, 2] });
});

test("comparisons judge ratios against the targets and stay null without data", () => {
  const table = new MetricTable();
  const lat = (variant: "raw" | "peerlink", value: number) =>
    table.add({ scenario: "latency_udp", variant, metric: "median", unit: "ms", better: "lower" }, value);
  lat("raw", 0.02);
  lat("peerlink", 0.025);
  const byId = new Map(comparisons(table.median).map((c) => [c.id, c]));
  assert.equal(byId.get("udp_latency_vs_raw")?.value, 1.25);
  assert.equal(byId.get("udp_latency_vs_raw")?.met, true);
  assert.equal(byId.get("tcp_latency_vs_raw")?.value, null);
  assert.equal(byId.get("tcp_latency_vs_raw")?.met, null);
  lat("peerlink", 0.035);
  assert.equal(comparisons(table.median).find((c) => c.id === "udp_latency_vs_raw")?.met, false);
});

test("the summary takes the median of the runs' medians, the range over runs, and each comparison's range", () => {
  const run = (index: number, raw: number, peerlink: number): RunReport => {
    const table = new MetricTable();
    const spec = (variant: "raw" | "peerlink") =>
      ({ scenario: "latency_udp", variant, metric: "median", unit: "ms", better: "lower" }) as const;
    table.add(spec("raw"), raw);
    table.add(spec("peerlink"), peerlink);
    table.add(spec("peerlink"), peerlink * 3); // a second repeat: the run's median is their mean
    const runtime = {
      runtime: "node",
      version: "24",
      apis: {},
      peerlink: "available",
      metrics: table.rows(),
      comparisons: comparisons(table.median),
      errors: index === 2 ? ["slow"] : [],
      durationMs: 1,
    };
    return { index, startedAt: "", loadavg: [0], runtimes: [runtime], durationMs: 1 };
  };
  const summary = summarise([run(1, 0.05, 0.05), run(2, 0.05, 0.06), run(3, 0.1, 0.04)]);
  assert.equal(summary.rangeOver, "runs");
  const [node] = summary.runtimes;
  const pl = node.metrics.find((m) => m.variant === "peerlink")!;
  assert.deepEqual([pl.median, pl.min, pl.max, pl.runs], [0.1, 0.08, 0.12, [0.1, 0.12, 0.08]]);
  const ratio = node.comparisons.find((c) => c.id === "udp_latency_vs_raw")!;
  assert.deepEqual([ratio.value, ratio.min, ratio.max, ratio.met], [2, 0.8, 2.4, false]);
  assert.deepEqual(node.errors, ["run 2: slow"]);
  const single = summarise([run(1, 0.05, 0.05)]);
  assert.equal(single.rangeOver, "repeats");
  const one = single.runtimes[0].metrics.find((m) => m.variant === "peerlink")!;
  assert.deepEqual([one.median, one.min, one.max], [0.1, 0.05, 0.15]);
});
