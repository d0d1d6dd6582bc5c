/**
 * The summary over runs: per metric the median of the runs' medians and the range over runs
 * (with a single run, the range over its repeats), and the comparisons from those medians
 * with each one's range over runs.
 *
 * @module
 */
import { median, round } from "../stats.ts";
import { comparisons } from "./comparisons.ts";
import type { RunReport, RuntimeReport, RuntimeSummary, SummaryRow } from "./schema.ts";
import { displayOrder, metricKey, type MetricRow } from "./table.ts";

function summariseRow(rows: (MetricRow | undefined)[], overRuns: boolean): SummaryRow {
  const first = rows.find((r) => r !== undefined)!;
  const { scenario, variant, metric, unit, better } = first;
  const spec = { scenario, variant, metric, unit, better };
  const perRun = rows.map((r) => r?.status === "ok" && r.median !== undefined ? r.median : null);
  const measured = perRun.filter((v): v is number => v !== null);
  if (measured.length === 0) {
    const failed = rows.find((r) => r && r.status !== "ok") ?? first;
    return { ...spec, status: failed.status, note: failed.note };
  }
  const only = rows.find((r) => r?.status === "ok")!;
  return {
    ...spec,
    status: "ok",
    median: round(median(measured)),
    min: overRuns ? Math.min(...measured) : only.min,
    max: overRuns ? Math.max(...measured) : only.max,
    runs: perRun,
  };
}

function summariseRuntime(reports: (RuntimeReport | undefined)[], overRuns: boolean): RuntimeSummary {
  const present = reports.filter((r): r is RuntimeReport => r !== undefined);
  const keys = new Map<string, MetricRow>();
  for (const r of present) for (const row of r.metrics) if (!keys.has(metricKey(row))) keys.set(metricKey(row), row);
  const metrics = displayOrder(
    [...keys.keys()].map((key) =>
      summariseRow(reports.map((r) => r?.metrics.find((m) => metricKey(m) === key)), overRuns)
    ),
  );
  const byKey = new Map(metrics.map((m) => [metricKey(m), m]));
  const summary = comparisons((scenario, variant, metric) =>
    byKey.get(metricKey({ scenario, variant, metric }))?.median
  );
  for (const c of summary) {
    const values = present.map((r) => r.comparisons.find((x) => x.id === c.id)?.value)
      .filter((v): v is number => typeof v === "number");
    if (overRuns && values.length > 0) {
      c.min = Math.min(...values);
      c.max = Math.max(...values);
    }
  }
  const last = present[present.length - 1];
  return {
    runtime: last.runtime,
    version: last.version,
    apis: last.apis,
    peerlink: present.find((r) => r.peerlink !== "available")?.peerlink ?? "available",
    metrics,
    comparisons: summary,
    errors: reports.flatMap((r, i) => (r?.errors ?? []).map((e) => overRuns ? `run ${i + 1}: ${e}` : e)),
  };
}

/**
 * Summarises the runs.
 *
 * @param runs Every run.
 * @returns Whether ranges are over runs or repeats, and one summary per runtime (in the order run).
 */
export function summarise(runs: readonly RunReport[]): { rangeOver: "runs" | "repeats"; runtimes: RuntimeSummary[] } {
  const overRuns = runs.length > 1;
  const names = [...new Set(runs.flatMap((run) => run.runtimes.map((r) => r.runtime)))];
  return {
    rangeOver: overRuns ? "runs" : "repeats",
    runtimes: names.map((name) =>
      summariseRuntime(runs.map((run) => run.runtimes.find((r) => r.runtime === name)), overRuns)
    ),
  };
}
