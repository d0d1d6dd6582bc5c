/**
 * Time source for the core. Production code uses {@linkcode systemClock}; tests pass a
 * fake clock (`src/testing/fake_clock.ts`) so mDNS timing is deterministic.
 *
 * @module
 */

/** Opaque timer handle. */
export type TimerId = unknown;

/** What the core needs from time. */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; monotonic enough for intervals. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a timer; unknown or fired ids are ignored. */
  clearTimeout(id: TimerId): void;
}

/** The real clock, on the Web timer API that Deno, Bun and Node share. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

const epochOffsets = new WeakMap<Clock, number>();

/**
 * Converts a reading of `clock` to milliseconds since the Unix epoch. The offset is taken once
 * per clock, at its first conversion, so everything sharing a clock agrees on epoch times
 * (with a fake clock they advance with it; with the system clock the drift between
 * `performance.now()` and `Date.now()` is negligible).
 *
 * @param clock The clock.
 * @param clockMs A reading of it (default: now).
 * @returns Milliseconds since the Unix epoch.
 *
 * @example
 * ```ts
 * import { epochMs, systemClock } from "./clock.ts";
 * console.log(Math.abs(epochMs(systemClock) - Date.now()) < 1000); // true
 * ```
 */
export function epochMs(clock: Clock, clockMs: number = clock.now()): number {
  let offset = epochOffsets.get(clock);
  if (offset === undefined) {
    offset = Date.now() - clock.now();
    epochOffsets.set(clock, offset);
  }
  return clockMs + offset;
}
