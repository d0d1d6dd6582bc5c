/**
 * Output formatting of the `peerlink` command: colours (only on a terminal, never with
 * `NO_COLOR`), aligned columns, summary statistics.
 *
 * @module
 */

/** ANSI styling functions; all identity functions when colour is off. */
export interface Style {
  /** Whether colour is on. */
  readonly enabled: boolean;
  /** Bold text. */
  bold(text: string): string;
  /** Dim (grey) text. */
  dim(text: string): string;
  /** Green: success. */
  green(text: string): string;
  /** Red: failure. */
  red(text: string): string;
  /** Yellow: warnings, departures. */
  yellow(text: string): string;
  /** Cyan: names. */
  cyan(text: string): string;
}

/**
 * Decides whether to colour a stream: never when `NO_COLOR` is set to a non-empty value
 * (https://no-color.org), else when `FORCE_COLOR` is set to something other than `0`, else
 * when the stream is a terminal.
 *
 * @param isTTY Whether the stream is a terminal.
 * @param env The environment.
 * @returns Whether to use colour.
 *
 * @example
 * ```ts
 * import { colorEnabled } from "./format.ts";
 * console.log(colorEnabled(true, { NO_COLOR: "1" })); // false
 * ```
 */
export function colorEnabled(isTTY: boolean | undefined, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return isTTY === true;
}

/**
 * Makes a {@linkcode Style}.
 *
 * @param enabled Whether to emit ANSI escapes.
 * @returns The style.
 *
 * @example
 * ```ts
 * import { createStyle } from "./format.ts";
 * console.log(createStyle(false).green("OK")); // "OK"
 * ```
 */
export function createStyle(enabled: boolean): Style {
  const sgr = (open: number, close: number) => (text: string) =>
    enabled && text !== "" ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    enabled,
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    green: sgr(32, 39),
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
  };
}

/**
 * Removes ANSI colour escapes (to measure or compare text).
 *
 * @param text Text that may contain escapes.
 * @returns Plain text.
 */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/**
 * Aligns rows into columns separated by two spaces (cells may contain colour escapes; the last
 * column is not padded).
 *
 * @param rows Rows of cells.
 * @returns One string per row.
 *
 * @example
 * ```ts
 * import { alignColumns } from "./format.ts";
 * console.log(alignColumns([["NodeA", "10.0.0.5"], ["Worker1", "10.0.0.7"]]).join("\n"));
 * // NodeA    10.0.0.5
 * // Worker1  10.0.0.7
 * ```
 */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, stripAnsi(cell).length)));
  }
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat(widths[i] - stripAnsi(cell).length)))
      .join("  ")
  );
}

/** Minimum, median and maximum of some numbers. */
export interface Summary {
  /** Smallest. */
  min: number;
  /** Middle value (mean of the two middle ones for an even count). */
  median: number;
  /** Largest. */
  max: number;
}

/**
 * Minimum, median and maximum.
 *
 * @param values Numbers (any order).
 * @returns The summary, or `undefined` for no values.
 *
 * @example
 * ```ts
 * import { summarize } from "./format.ts";
 * console.log(summarize([3, 1, 2, 10])); // { min: 1, median: 2.5, max: 10 }
 * ```
 */
export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

/**
 * "1 peer", "2 peers".
 *
 * @param count How many.
 * @param word Singular noun.
 * @returns The phrase.
 */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/**
 * Byte counts for people: `512 B`, `1.0 KiB`, `1.0 MiB`, `1.50 GiB`.
 *
 * @param bytes Number of bytes.
 * @returns The text.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
