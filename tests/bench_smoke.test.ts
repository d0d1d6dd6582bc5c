/**
 * The benchmark script still works: `scripts/bench.ts --quick` runs every scenario on Deno,
 * Bun and Node and writes results of the documented shape. No timing is asserted (numbers on a
 * shared CI machine mean nothing); only structure and that measured values are positive.
 * Plus the pure pieces of the harness: frame scanning, statistics, target verdicts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { buildFrames, FrameScanner } from "../scripts/bench/frame_scanner.ts";
import { comparisons, MetricTable } from "../scripts/bench/report.ts";
import { median, percentile, spread } from "../scripts/bench/stats.ts";
import { runtimeName, socketSkip } from "./support/env.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "..");
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
  comparisons: { id: string; value: number | null; met: boolean | null; target?: { op: string; value: number } }[];
  errors: string[];
}

const BASELINE_SCENARIOS = [
  "latency_udp",
  "latency_tcp",
  "throughput_udp",
  "throughput_tcp",
  "upload_tcp",
  "http_sequential",
  "http_concurrent",
];
const PEERLINK_SCENARIOS = [
  "latency_udp",
  "latency_tcp",
  "throughput_udp",
  "throughput_tcp",
  "upload_tcp",
  "discovery",
  "fanout",
  "memory",
];
const TARGET_IDS = [
  "udp_latency_vs_raw",
  "tcp_latency_vs_raw",
  "udp_throughput_vs_raw",
  "tcp_throughput_vs_raw",
  "upload_vs_raw",
  "http_latency_speedup",
  "http_throughput_speedup",
  "discovery_up",
  "discovery_down",
];

function checkRow(runtime: string, row: Row, repeats: number): void {
  const where = `${runtime} ${row.scenario}/${row.variant}/${row.metric}`;
  assert.ok(["ok", "unavailable"].includes(row.status), `${where}: status ${row.status} (${row.note ?? ""})`);
  if (row.status !== "ok") return;
  for (const key of ["min", "median", "max"] as const) {
    const value = row[key];
    assert.ok(typeof value === "number" && Number.isFinite(value) && value > 0, `${where}: ${key} = ${value}`);
  }
  assert.ok(row.min! <= row.median! && row.median! <= row.max!, `${where}: min <= median <= max`);
  assert.ok(Array.isArray(row.values) && row.values.length >= 1 && row.values.length <= repeats, `${where}: values`);
}

test("bench --quick measures every scenario on every runtime and writes the JSON report", {
  skip: smokeSkip,
  timeout: 180_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "peerlink-bench-"));
  try {
    const out = join(dir, "bench.json");
    const run = spawnSync(NODE, ["scripts/bench.ts", "--quick", "--out", out], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 170_000,
    });
    assert.equal(run.status, 0, `bench --quick exited with ${run.status ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /=== Targets \(issue 6\) ===/);
    const report = JSON.parse(readFileSync(out, "utf8")) as {
      schema: string;
      quick: boolean;
      settings: { repeats: number };
      machine: { cpus: number; pin: string };
      runtimes: Runtime[];
      durationMs: number;
    };
    assert.equal(report.schema, "peerlink-bench/1");
    assert.equal(report.quick, true);
    assert.ok(report.machine.cpus > 0 && report.durationMs > 0);
    assert.equal(report.machine.pin, availableParallelism() >= 2 ? "split" : "none");
    assert.deepEqual(report.runtimes.map((r) => r.runtime), ["deno", "bun", "node"]);
    for (const rt of report.runtimes) {
      assert.match(rt.version, /^\d+\.\d+/, `${rt.runtime} version`);
      const has = (scenario: string, variant: string) =>
        rt.metrics.some((m) => m.scenario === scenario && m.variant === variant && m.status === "ok");
      for (const row of rt.metrics) checkRow(rt.runtime, row, report.settings.repeats);
      for (const scenario of BASELINE_SCENARIOS) {
        assert.ok(has(scenario, scenario.startsWith("http") ? "http" : "raw"), `${rt.runtime}: ${scenario} baseline`);
      }
      assert.ok(has("memory", "runtime"), `${rt.runtime}: bare runtime memory`);
      // PeerLink itself must have been measured on every runtime (a smoke run that measured
      // only the baselines would otherwise pass).
      assert.equal(rt.peerlink, "available", `${rt.runtime}: PeerLink was not measured`);
      for (const scenario of PEERLINK_SCENARIOS) {
        assert.ok(has(scenario, "peerlink"), `${rt.runtime}: PeerLink ${scenario}`);
      }
      for (const id of TARGET_IDS) {
        const c = rt.comparisons.find((x) => x.id === id);
        assert.ok(c?.target, `${rt.runtime}: comparison ${id} with a target`);
        assert.notEqual(c.value, null, `${rt.runtime}: ${id} computed`);
        assert.ok(c.value! > 0, `${rt.runtime} ${id}: value ${c.value}`);
        assert.equal(typeof c.met, "boolean");
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench --only runs just the named small-call measurements, unpinned with --pin none", {
  skip: smokeSkip,
  timeout: 90_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "peerlink-bench-"));
  try {
    const out = join(dir, "bench.json");
    const args = ["--quick", "--runtime", "node", "--scenario", "calls", "--only", "throughput_tcp", "--pin", "none"];
    const run = spawnSync(NODE, ["scripts/bench.ts", ...args, "--out", out], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 80_000,
    });
    assert.equal(run.status, 0, `bench exited with ${run.status ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /workers not pinned/);
    const report = JSON.parse(readFileSync(out, "utf8")) as { machine: { pin: string }; runtimes: Runtime[] };
    assert.equal(report.machine.pin, "none");
    const measured = new Set(report.runtimes[0].metrics.filter((m) => m.status === "ok").map((m) => m.scenario));
    assert.ok(measured.has("throughput_tcp"), "throughput_tcp measured");
    assert.ok(!measured.has("latency_udp") && !measured.has("upload_tcp"), `only throughput_tcp: ${[...measured]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench refuses an unknown --only measurement with a clear message", () => {
  const run = spawnSync(NODE, ["scripts/bench.ts", "--only", "latency_udpp"], {
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
  const run = spawnSync(NODE, ["scripts/bench.ts", "--quick", "--out", join(tmpdir(), "never-written.json")], {
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
  const byId = new Map(comparisons(table).map((c) => [c.id, c]));
  assert.equal(byId.get("udp_latency_vs_raw")?.value, 1.25);
  assert.equal(byId.get("udp_latency_vs_raw")?.met, true);
  assert.equal(byId.get("tcp_latency_vs_raw")?.value, null);
  assert.equal(byId.get("tcp_latency_vs_raw")?.met, null);
  lat("peerlink", 0.035);
  assert.equal(comparisons(table).find((c) => c.id === "udp_latency_vs_raw")?.met, false);
});
