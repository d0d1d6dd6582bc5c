/**
 * Small statistics helpers for the benchmark: percentiles of samples, and the min / median /
 * max summary of the values that several repeats of one measurement produced.
 *
 * @module
 */

/**
 * The p-th percentile of samples (nearest-rank method: an actual sample, never interpolated).
 *
 * @param samples Values, in any order (not modified).
 * @param p Percentile, 0-100.
 * @returns The percentile, or `NaN` for no samples.
 *
 * @example
 * ```ts
 * import { percentile } from "./stats.ts";
 * console.log(percentile([5, 1, 3], 50)); // 3
 * ```
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * The median of samples: the middle value, or the mean of the two middle values.
 *
 * @param samples Values.
 * @returns The median, or `NaN` for no samples.
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * console.log(median([4, 1, 3, 2])); // 2.5
 * ```
 */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Summary of the values several repeats of one measurement gave. */
export interface Spread {
  /** Smallest value. */
  min: number;
  /** Median value. */
  median: number;
  /** Largest value. */
  max: number;
  /** Every value, in the order measured. */
  values: number[];
}

/**
 * Summarises repeat values as min / median / max.
 *
 * @param values One value per repeat.
 * @returns The spread (all `NaN` when there are no values).
 *
 * @example
 * ```ts
 * import { spread } from "./stats.ts";
 * console.log(spread([3, 1, 2])); // { min: 1, median: 2, max: 3, values: [3, 1, 2] }
 * ```
 */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { min: NaN, median: NaN, max: NaN, values: [] };
  return { min: Math.min(...values), median: median(values), max: Math.max(...values), values: [...values] };
}

/**
 * Rounds for display and JSON: three significant digits, at most three decimals.
 *
 * @param value A number.
 * @returns The rounded number.
 */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (value === 0) return 0;
  const digits = Math.max(0, Math.min(3, 2 - Math.floor(Math.log10(Math.abs(value)))));
  return Number(value.toFixed(digits));
}
