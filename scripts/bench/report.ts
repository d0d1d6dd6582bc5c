/**
 * The benchmark's results: the JSON shape written to `bench-results.json`, the comparisons
 * with the targets of issue 6, and the plain-text tables printed at the end.
 *
 * @module
 */
import { round, type Spread, spread } from "./stats.ts";

/** Who is measured in a row. */
export type Variant = "raw" | "raw_coalesced" | "peerlink" | "peerlink_sealed" | "http" | "runtime";

/** Display order of variants within a scenario: baselines first. */
const VARIANT_ORDER: readonly Variant[] = ["runtime", "raw", "raw_coalesced", "http", "peerlink", "peerlink_sealed"];

/** One measured quantity of one variant, summarised over repeats. */
export interface MetricRow {
  /** e.g. `"latency_udp"`. */
  scenario: string;
  /** Who: the raw baseline, PeerLink, the HTTP alternative, the bare runtime. */
  variant: Variant;
  /** e.g. `"median"`, `"p99"`, `"rate"`. */
  metric: string;
  /** e.g. `"ms"`, `"calls/s"`, `"MB/s"`, `"MB"`. */
  unit: string;
  /** Whether smaller or larger is better. */
  better: "lower" | "higher";
  /** `"ok"`, `"unavailable"` (could not run, see `note`) or `"error"` (failed midway, see `note`). */
  status: "ok" | "unavailable" | "error";
  /** Why it is unavailable or failed, or a remark. */
  note?: string;
  /** Smallest / median / largest over repeats, and every repeat's value (absent unless ok). */
  min?: number;
  median?: number;
  max?: number;
  values?: number[];
}

/** A ratio or value checked against a target of issue 6. */
export interface Comparison {
  /** Stable id, e.g. `"udp_latency_vs_raw"`. */
  id: string;
  /** What it says, e.g. `"UDP call latency (median), PeerLink / raw echo"`. */
  label: string;
  /** The ratio (or value) computed from the medians; `null` when a side is missing. */
  value: number | null;
  /** `"x"` for ratios, else the unit of the value. */
  unit: string;
  /** The target, when issue 6 sets one. */
  target?: { op: "<=" | ">="; value: number };
  /** Whether the target is met; `null` without a target or without a value. */
  met: boolean | null;
}

/** Everything measured on one runtime. */
export interface RuntimeReport {
  /** `"deno"`, `"bun"` or `"node"`. */
  runtime: string;
  /** Its version, e.g. `"1.4.5"`. */
  version: string;
  /** APIs used: raw baseline sockets, HTTP server, PeerLink's socket adapter. */
  apis: Record<string, string>;
  /** `"available"`, or why the PeerLink scenarios could not run. */
  peerlink: string;
  /** Measurements. */
  metrics: MetricRow[];
  /** Ratios and targets. */
  comparisons: Comparison[];
  /** Extra diagnostics (wire bytes per call, engine counters) from `--profile` runs. */
  profile?: Record<string, unknown>;
  /** Problems met on the way (a scenario that failed, a worker that would not start). */
  errors: string[];
  /** Wall time of this runtime's scenarios, ms. */
  durationMs: number;
}

/** The whole JSON file. */
export interface BenchReport {
  /** Format id. */
  schema: "peerlink-bench/1";
  /** ISO time the run started. */
  startedAt: string;
  /** Whether this was a `--quick` smoke run (rough numbers). */
  quick: boolean;
  /** Which PeerLink layer was measured: `"node"` (the public API) or `"engine"`. */
  layer: string;
  /** The iteration counts used. */
  settings: unknown;
  /** Where it ran; load average says how noisy the numbers may be. */
  machine: {
    platform: string;
    release: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    loadavg: number[];
    pin: string;
  };
  /** One entry per runtime, in the order run. */
  runtimes: RuntimeReport[];
  /** Wall time of the whole run, ms. */
  durationMs: number;
}

/** Describes a metric before it has values. */
export interface MetricSpec {
  scenario: string;
  variant: Variant;
  metric: string;
  unit: string;
  better: "lower" | "higher";
}

/** Collects repeat values per metric for one runtime. */
export class MetricTable {
  readonly #rows = new Map<
    string,
    { spec: MetricSpec; values: number[]; status: MetricRow["status"]; note?: string }
  >();

  #entry(spec: MetricSpec) {
    const key = `${spec.scenario}/${spec.variant}/${spec.metric}`;
    let entry = this.#rows.get(key);
    if (!entry) this.#rows.set(key, entry = { spec, values: [], status: "ok" });
    return entry;
  }

  /**
   * Adds one repeat's value.
   *
   * @param spec Which metric.
   * @param value The value.
   */
  add(spec: MetricSpec, value: number): void {
    this.#entry(spec).values.push(value);
  }

  /**
   * Marks a metric as not measurable, or failed.
   *
   * @param spec Which metric.
   * @param status `"unavailable"` or `"error"`.
   * @param note Why.
   */
  mark(spec: MetricSpec, status: "unavailable" | "error", note: string): void {
    const entry = this.#entry(spec);
    if (entry.status === "ok") {
      entry.status = status;
      entry.note = note;
    }
  }

  /**
   * Whether a metric has at least one value.
   *
   * @param spec Which metric.
   * @returns True when something was measured.
   */
  has(spec: MetricSpec): boolean {
    return (this.#rows.get(`${spec.scenario}/${spec.variant}/${spec.metric}`)?.values.length ?? 0) > 0;
  }

  /**
   * The median of a metric over repeats, if it was measured.
   *
   * @param scenario Scenario.
   * @param variant Variant.
   * @param metric Metric.
   * @returns The median, or `undefined`.
   */
  median(scenario: string, variant: Variant, metric: string): number | undefined {
    const entry = this.#rows.get(`${scenario}/${variant}/${metric}`);
    if (!entry || entry.status !== "ok" || entry.values.length === 0) return undefined;
    return spread(entry.values).median;
  }

  /**
   * The rows for the report.
   *
   * @returns Rows in the order first added.
   */
  rows(): MetricRow[] {
    // Grouped by scenario (in the order scenarios first appeared), then by variant (baselines
    // first), then in the order added.
    const all = [...this.#rows.values()];
    const order = [...new Set(all.map((e) => e.spec.scenario))];
    const entries = all.map((entry, index) => ({ entry, index })).sort((a, b) =>
      order.indexOf(a.entry.spec.scenario) - order.indexOf(b.entry.spec.scenario) ||
      VARIANT_ORDER.indexOf(a.entry.spec.variant) - VARIANT_ORDER.indexOf(b.entry.spec.variant) ||
      a.index - b.index
    ).map((x) => x.entry);
    return entries.map(({ spec, values, status, note }) => {
      if (status !== "ok" || values.length === 0) {
        return { ...spec, status: status === "ok" ? "error" : status, note: note ?? "no value was measured" };
      }
      const s: Spread = spread(values);
      return {
        ...spec,
        status,
        min: round(s.min),
        median: round(s.median),
        max: round(s.max),
        values: values.map(round),
      };
    });
  }
}

function compare(
  id: string,
  label: string,
  value: number | undefined,
  unit: string,
  target?: { op: "<=" | ">="; value: number },
): Comparison {
  const v = value === undefined || !Number.isFinite(value) ? null : round(value);
  const met = v === null || !target ? null : target.op === "<=" ? v <= target.value : v >= target.value;
  return { id, label, value: v, unit, ...(target ? { target } : {}), met };
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/**
 * The comparisons of issue 6 for one runtime, from its metric medians.
 *
 * @param t The runtime's metrics.
 * @returns Ratios and values with their targets.
 */
export function comparisons(t: MetricTable): Comparison[] {
  const pl = (scenario: string, metric: string) => t.median(scenario, "peerlink", metric);
  const raw = (scenario: string, metric: string) => t.median(scenario, "raw", metric);
  const sealed = (scenario: string, metric: string) => t.median(scenario, "peerlink_sealed", metric);
  return [
    compare(
      "udp_latency_vs_raw",
      "UDP call latency (median), PeerLink / raw UDP echo",
      ratio(pl("latency_udp", "median"), raw("latency_udp", "median")),
      "x",
      { op: "<=", value: 1.3 },
    ),
    compare(
      "tcp_latency_vs_raw",
      "TCP call latency (median), PeerLink / raw TCP echo",
      ratio(pl("latency_tcp", "median"), raw("latency_tcp", "median")),
      "x",
      { op: "<=", value: 1.3 },
    ),
    compare(
      "udp_latency_p99_vs_raw",
      "UDP call latency (p99), PeerLink / raw UDP echo",
      ratio(pl("latency_udp", "p99"), raw("latency_udp", "p99")),
      "x",
    ),
    compare(
      "tcp_latency_p99_vs_raw",
      "TCP call latency (p99), PeerLink / raw TCP echo",
      ratio(pl("latency_tcp", "p99"), raw("latency_tcp", "p99")),
      "x",
    ),
    compare(
      "udp_throughput_vs_raw",
      "UDP calls/s with 64 in flight, PeerLink / raw UDP echo",
      ratio(pl("throughput_udp", "rate"), raw("throughput_udp", "rate")),
      "x",
      { op: ">=", value: 0.6 },
    ),
    compare(
      "tcp_throughput_vs_raw",
      "TCP calls/s with 64 in flight, PeerLink / raw TCP echo (one write per message)",
      ratio(pl("throughput_tcp", "rate"), raw("throughput_tcp", "rate")),
      "x",
      { op: ">=", value: 0.6 },
    ),
    compare(
      "tcp_throughput_vs_raw_coalesced",
      "TCP calls/s with 64 in flight, PeerLink / raw TCP echo with coalesced writes",
      ratio(pl("throughput_tcp", "rate"), t.median("throughput_tcp", "raw_coalesced", "rate")),
      "x",
    ),
    compare(
      "upload_vs_raw",
      "4 MiB upload over TCP (MB/s), PeerLink / raw TCP transfer",
      ratio(pl("upload_tcp", "rate"), raw("upload_tcp", "rate")),
      "x",
      { op: ">=", value: 0.5 },
    ),
    compare(
      "sealed_udp_latency_vs_plain",
      "Sealed UDP call latency (median), with a secret / without",
      ratio(sealed("latency_udp", "median"), pl("latency_udp", "median")),
      "x",
      { op: "<=", value: 1.15 },
    ),
    compare(
      "sealed_tcp_latency_vs_plain",
      "Sealed TCP call latency (median), with a secret / without",
      ratio(sealed("latency_tcp", "median"), pl("latency_tcp", "median")),
      "x",
      { op: "<=", value: 1.15 },
    ),
    compare(
      "sealed_udp_throughput_vs_plain",
      "Sealed UDP calls/s with 64 in flight, with a secret / without",
      ratio(sealed("throughput_udp", "rate"), pl("throughput_udp", "rate")),
      "x",
      { op: ">=", value: 0.8 },
    ),
    compare(
      "sealed_tcp_throughput_vs_plain",
      "Sealed TCP calls/s with 64 in flight, with a secret / without",
      ratio(sealed("throughput_tcp", "rate"), pl("throughput_tcp", "rate")),
      "x",
      { op: ">=", value: 0.8 },
    ),
    compare(
      "sealed_upload_vs_plain",
      "Sealed 4 MiB upload (MB/s), with a secret / without",
      ratio(sealed("upload_tcp", "rate"), pl("upload_tcp", "rate")),
      "x",
      { op: ">=", value: 0.8 },
    ),
    compare(
      "http_latency_speedup",
      "Sequential small call: HTTP+fetch latency / PeerLink UDP latency (median)",
      ratio(t.median("http_sequential", "http", "median"), pl("latency_udp", "median")),
      "x",
      { op: ">=", value: 2 },
    ),
    compare(
      "http_throughput_speedup",
      "64 small calls in flight: PeerLink UDP calls/s / HTTP+fetch calls/s",
      ratio(pl("throughput_udp", "rate"), t.median("http_concurrent", "http", "rate")),
      "x",
      { op: ">=", value: 2 },
    ),
    compare(
      "http_latency_bound",
      "Sequential: HTTP+fetch latency / raw UDP echo latency (the most any UDP RPC could gain)",
      ratio(t.median("http_sequential", "http", "median"), raw("latency_udp", "median")),
      "x",
    ),
    compare(
      "http_throughput_speedup_tcp",
      "64 small calls in flight: PeerLink TCP calls/s / HTTP+fetch calls/s",
      ratio(pl("throughput_tcp", "rate"), t.median("http_concurrent", "http", "rate")),
      "x",
    ),
    compare(
      "discovery_up",
      "Discovery: start() until the other node reports it (median)",
      pl("discovery", "up"),
      "ms",
      {
        op: "<=",
        value: 1500,
      },
    ),
    compare(
      "discovery_down",
      "Peer-down: stop() until the other node reports it (median)",
      pl("discovery", "down"),
      "ms",
      {
        op: "<=",
        value: 200,
      },
    ),
  ];
}

function cell(value: number | undefined, width: number): string {
  return (value === undefined ? "-" : String(value)).padStart(width);
}

/**
 * Renders one runtime's results as a plain-text table.
 *
 * @param report The runtime's results.
 * @returns Lines of text.
 */
export function formatRuntime(report: RuntimeReport): string {
  const apis = Object.entries(report.apis).map(([k, v]) => `${k}: ${v}`).join("; ");
  const lines = [`\n=== ${report.runtime} ${report.version} (${apis}) ===`];
  if (report.peerlink !== "available") lines.push(`PeerLink scenarios unavailable: ${report.peerlink}`);
  lines.push(
    `${"scenario".padEnd(17)}${"variant".padEnd(15)}${"metric".padEnd(9)}${"unit".padEnd(9)}${"min".padStart(10)}${
      "median".padStart(10)
    }${"max".padStart(10)}`,
  );
  let last = "";
  for (const row of report.metrics) {
    const scenario = row.scenario === last ? "" : row.scenario;
    last = row.scenario;
    const head = `${scenario.padEnd(17)}${row.variant.padEnd(15)}${row.metric.padEnd(9)}${row.unit.padEnd(9)}`;
    if (row.status !== "ok") {
      lines.push(`${head}${`${row.status}: ${row.note ?? ""}`.slice(0, 90).padStart(10)}`);
    } else {
      lines.push(`${head}${cell(row.min, 10)}${cell(row.median, 10)}${cell(row.max, 10)}`);
    }
  }
  lines.push("Comparisons (from medians):");
  for (const c of report.comparisons) {
    const value = c.value === null ? "n/a" : `${c.value}${c.unit === "x" ? "x" : ` ${c.unit}`}`;
    const target = c.target ? `target ${c.target.op} ${c.target.value}${c.unit === "x" ? "x" : ` ${c.unit}`}` : "";
    const verdict = c.met === null ? (c.target ? "n/a" : "") : c.met ? "met" : "MISSED";
    lines.push(`  ${c.label.padEnd(82)}${value.padStart(10)}  ${target.padEnd(18)}${verdict}`);
  }
  for (const error of report.errors) lines.push(`  ! ${error.split("\n").join("\n    ")}`);
  return lines.join("\n");
}

/**
 * Renders the targets of every runtime side by side.
 *
 * @param runtimes The runtime reports.
 * @returns Lines of text.
 */
export function formatSummary(runtimes: RuntimeReport[]): string {
  const lines = ["\n=== Targets (issue 6) ==="];
  lines.push(`${"".padEnd(34)}${runtimes.map((r) => r.runtime.padStart(16)).join("")}`);
  const ids = runtimes[0]?.comparisons.filter((c) => c.target).map((c) => c.id) ?? [];
  for (const id of ids) {
    const first = runtimes[0].comparisons.find((c) => c.id === id)!;
    const target = `${first.target!.op} ${first.target!.value}${first.unit === "x" ? "x" : first.unit}`;
    const cells = runtimes.map((r) => {
      const c = r.comparisons.find((x) => x.id === id);
      if (!c || c.value === null) return "n/a".padStart(16);
      return `${c.value}${c.unit === "x" ? "x" : ""} ${c.met ? "met" : "MISSED"}`.padStart(16);
    });
    lines.push(`${`${id} (${target})`.padEnd(34)}${cells.join("")}`);
  }
  return lines.join("\n");
}
