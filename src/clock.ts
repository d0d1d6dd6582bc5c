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
