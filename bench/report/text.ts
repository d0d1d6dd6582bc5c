/**
 * The plain-text report printed at the end: one table per runtime (median and range of every
 * metric, then the comparisons), and the targets of every runtime side by side.
 *
 * @module
 */
import type { Comparison } from "./comparisons.ts";
import type { RuntimeSummary } from "./schema.ts";

function cell(value: number | undefined, width: number): string {
  return (value === undefined ? "-" : String(value)).padStart(width);
}

function withUnit(value: number, unit: string): string {
  return unit === "x" ? `${value}x` : unit ? `${value} ${unit}` : String(value);
}

function describeComparison(c: Comparison): string {
  const value = c.value === null ? "n/a" : withUnit(c.value, c.unit);
  const range = c.min === undefined || c.max === undefined ? "" : `[${c.min}-${c.max}]`;
  const target = c.target ? `target ${c.target.op} ${withUnit(c.target.value, c.unit)}` : "";
  const verdict = c.met === null ? (c.target ? "n/a" : "") : c.met ? "met" : "MISSED";
  return `  ${c.label.padEnd(86)}${value.padStart(11)} ${range.padEnd(15)} ${target.padEnd(20)}${verdict}`;
}

/**
 * Renders one runtime's summary as a plain-text table.
 *
 * @param summary The runtime over all runs.
 * @param rangeOver Whether min and max are over runs or over one run's repeats.
 * @returns Lines of text.
 */
export function formatRuntime(summary: RuntimeSummary, rangeOver: "runs" | "repeats"): string {
  const apis = Object.entries(summary.apis).map(([k, v]) => `${k}: ${v}`).join("; ");
  const lines = [`\n=== ${summary.runtime} ${summary.version} (${apis}) ===`];
  if (summary.peerlink !== "available") lines.push(`PeerLink scenarios unavailable: ${summary.peerlink}`);
  lines.push(
    `${"scenario".padEnd(22)}${"variant".padEnd(16)}${"metric".padEnd(14)}${"unit".padEnd(10)}${"median".padStart(10)}${
      "min".padStart(10)
    }${"max".padStart(10)}   (min-max over ${rangeOver})`,
  );
  let last = "";
  for (const row of summary.metrics) {
    const scenario = row.scenario === last ? "" : row.scenario;
    last = row.scenario;
    const head = `${scenario.padEnd(22)}${row.variant.padEnd(16)}${row.metric.padEnd(14)}${row.unit.padEnd(10)}`;
    if (row.status !== "ok") lines.push(`${head}  ${row.status}: ${(row.note ?? "").slice(0, 100)}`);
    else lines.push(`${head}${cell(row.median, 10)}${cell(row.min, 10)}${cell(row.max, 10)}`);
  }
  lines.push(`Comparisons (from the medians${rangeOver === "runs" ? "; [range over runs]" : ""}):`);
  for (const c of summary.comparisons) lines.push(describeComparison(c));
  for (const error of summary.errors) lines.push(`  ! ${error.split("\n").join("\n    ")}`);
  return lines.join("\n");
}

/**
 * Renders the targets of every runtime side by side.
 *
 * @param runtimes The runtime summaries.
 * @returns Lines of text.
 */
export function formatTargets(runtimes: readonly RuntimeSummary[]): string {
  const lines = ["\n=== Targets ==="];
  lines.push(`${"".padEnd(44)}${runtimes.map((r) => r.runtime.padStart(18)).join("")}`);
  const ids = runtimes[0]?.comparisons.filter((c) => c.target).map((c) => c.id) ?? [];
  for (const id of ids) {
    const first = runtimes[0].comparisons.find((c) => c.id === id)!;
    const target = `${first.target!.op} ${withUnit(first.target!.value, first.unit)}`;
    const cells = runtimes.map((r) => {
      const c = r.comparisons.find((x) => x.id === id);
      if (!c || c.value === null) return "n/a".padStart(18);
      return `${withUnit(c.value, c.unit)} ${c.met ? "met" : "MISSED"}`.padStart(18);
    });
    lines.push(`${`${id} (${target})`.padEnd(44)}${cells.join("")}`);
  }
  return lines.join("\n");
}
