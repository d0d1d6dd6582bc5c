/**
 * Durations on the command line: `3s`, `500ms`, `2m`, `1.5s`, `1h`, or a bare number of seconds.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** Longest duration accepted (24 h): timers beyond that are surely a typo, and every wait stays bounded. */
export const MAX_DURATION_MS = 24 * 60 * 60 * 1000;

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration.
 *
 * @param text `"3s"`, `"500ms"`, `"2m"`, `"1h"`, `"1.5s"`, or a bare number of seconds (`"3"`, `"0.5"`).
 * @param option The option it came from (for the error message), e.g. `"--wait"`.
 * @param allowZero Whether `0` is acceptable (a wait may be zero, a timeout may not).
 * @returns Milliseconds (rounded to whole ms).
 * @throws {UsageError} For anything else, saying what is accepted.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * console.log(parseDuration("3s", "--wait"), parseDuration("250ms", "--wait"), parseDuration("2", "--wait")); // 3000 250 2000
 * ```
 */
export function parseDuration(text: string, option: string, allowZero = false): number {
  const match = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!match) {
    throw new UsageError(
      `invalid duration '${text}' for ${option}: use e.g. 3s, 500ms, 2m or a number of seconds`,
    );
  }
  const ms = Math.round(Number(match[1]) * UNITS[(match[2] ?? "s").toLowerCase()]);
  if (ms === 0 && !allowZero) {
    throw new UsageError(`${option} must be longer than 0 (got '${text}')`);
  }
  if (ms > MAX_DURATION_MS) {
    throw new UsageError(`${option} '${text}' is too long: at most 24h`);
  }
  return ms;
}

/**
 * Formats milliseconds for people: `0.4 ms`, `12.3 ms`, `250 ms`, `3.0 s`, `2m 05s`.
 *
 * @param ms Milliseconds (non-negative).
 * @returns The text.
 *
 * @example
 * ```ts
 * import { formatMs } from "./duration.ts";
 * console.log(formatMs(12.34), formatMs(3000), formatMs(125_000)); // "12.3 ms" "3.0 s" "2m 05s"
 * ```
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes}m ${String(totalSeconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

/**
 * How long ago something was seen, coarse: `0s ago`, `42s ago`, `3m ago`, `2h ago`, `4d ago`.
 *
 * @param thenMs When it happened, epoch ms.
 * @param nowMs Now, epoch ms.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { formatAge } from "./duration.ts";
 * console.log(formatAge(1_000, 4_200)); // "3s ago"
 * ```
 */
export function formatAge(thenMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}
