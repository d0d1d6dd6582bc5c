/**
 * The rows of one run on one runtime: every measured quantity of every variant, with the
 * values its repeats gave.
 *
 * @module
 */
import { round, spread } from "../stats.ts";

/** Who is measured in a row. */
export type Variant =
  | "runtime"
  | "raw"
  | "raw_coalesced"
  | "http"
  | "grpc"
  | "capnweb"
  | "curl"
  | "peerlink"
  | "peerlink_sealed";

/** Display order of variants within a scenario: baselines first. */
export const VARIANT_ORDER: readonly Variant[] = [
  "runtime",
  "raw",
  "raw_coalesced",
  "http",
  "grpc",
  "capnweb",
  "curl",
  "peerlink",
  "peerlink_sealed",
];

/** Describes a metric before it has values. */
export interface MetricSpec {
  /** e.g. `"latency_udp"`. */
  scenario: string;
  /** Who: the raw baseline, PeerLink, an alternative, the bare runtime. */
  variant: Variant;
  /** e.g. `"median"`, `"p99"`, `"rate"`, `"cpu"`. */
  metric: string;
  /** e.g. `"ms"`, `"calls/s"`, `"MB/s"`, `"MB"`, `"µs/call"`. */
  unit: string;
  /** Whether smaller or larger is better. */
  better: "lower" | "higher";
}

/**
 * A metric's description.
 *
 * @param scenario e.g. `"latency_udp"`.
 * @param variant Who.
 * @param metric e.g. `"median"`.
 * @param unit e.g. `"ms"`.
 * @param better Whether smaller (default) or larger is better.
 * @returns The spec.
 */
export function metricSpec(
  scenario: string,
  variant: Variant,
  metric: string,
  unit: string,
  better: "lower" | "higher" = "lower",
): MetricSpec {
  return { scenario, variant, metric, unit, better };
}

/** One measured quantity of one variant, summarised over the repeats of one run. */
export interface MetricRow extends MetricSpec {
  /** `"ok"`, `"unavailable"` (could not run, see `note`) or `"error"` (failed midway, see `note`). */
  status: "ok" | "unavailable" | "error";
  /** Why it is unavailable or failed. */
  note?: string;
  /** Smallest / median / largest over repeats, and every repeat's value (absent unless ok). */
  min?: number;
  median?: number;
  max?: number;
  values?: number[];
}

/** Looks a metric's median up: `undefined` when it was not measured. */
export type MedianOf = (scenario: string, variant: Variant, metric: string) => number | undefined;

/**
 * The key of a metric in maps and lookups.
 *
 * @param spec The metric.
 * @returns `scenario/variant/metric`.
 */
export function metricKey(spec: Pick<MetricSpec, "scenario" | "variant" | "metric">): string {
  return `${spec.scenario}/${spec.variant}/${spec.metric}`;
}

/**
 * Rows in display order: by scenario (in the order scenarios first appear), then variant
 * (baselines first), then as given.
 *
 * @param rows Rows in the order added.
 * @returns The same rows, sorted.
 */
export function displayOrder<T extends MetricSpec>(rows: readonly T[]): T[] {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  return rows.map((row, index) => ({ row, index })).sort((a, b) =>
    scenarios.indexOf(a.row.scenario) - scenarios.indexOf(b.row.scenario) ||
    VARIANT_ORDER.indexOf(a.row.variant) - VARIANT_ORDER.indexOf(b.row.variant) ||
    a.index - b.index
  ).map((x) => x.row);
}

/** Collects repeat values per metric for one runtime in one run. */
export class MetricTable {
  readonly #rows = new Map<
    string,
    { spec: MetricSpec; values: number[]; status: MetricRow["status"]; note?: string }
  >();

  #entry(spec: MetricSpec) {
    const key = metricKey(spec);
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
   * Marks a metric as not measurable, or failed (the first reason stays).
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
    return (this.#rows.get(metricKey(spec))?.values.length ?? 0) > 0;
  }

  /** The median of a metric over repeats, if it was measured. */
  readonly median: MedianOf = (scenario, variant, metric) => {
    const entry = this.#rows.get(metricKey({ scenario, variant, metric }));
    if (!entry || entry.status !== "ok" || entry.values.length === 0) return undefined;
    return spread(entry.values).median;
  };

  /**
   * The rows for the report, in display order.
   *
   * @returns Rows.
   */
  rows(): MetricRow[] {
    return displayOrder([...this.#rows.values()].map(({ spec, values, status, note }): MetricRow => {
      if (status !== "ok" || values.length === 0) {
        return { ...spec, status: status === "ok" ? "error" : status, note: note ?? "no value was measured" };
      }
      const s = spread(values);
      return {
        ...spec,
        status,
        min: round(s.min),
        median: round(s.median),
        max: round(s.max),
        values: values.map(round),
      };
    }));
  }
}
