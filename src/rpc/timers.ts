/**
 * Timers that know how many of them are alive, so tests (and `stats()`) can prove that no
 * call leaves a timer behind, and `stop()` can cancel them all.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";

/** Handle of a {@linkcode TimerSet} timer. */
export type TimerHandle = { readonly id: TimerId } | undefined;

/**
 * A set of live timers on a {@linkcode Clock}.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { TimerSet } from "./timers.ts";
 * const timers = new TimerSet(systemClock);
 * const t = timers.set(() => console.log("fired"), 10);
 * console.log(timers.size); // 1
 * timers.clear(t);
 * console.log(timers.size); // 0
 * ```
 */
export class TimerSet {
  /** The clock timers run on. */
  readonly clock: Clock;
  readonly #live = new Set<{ id: TimerId }>();

  /**
   * Creates a {@linkcode TimerSet}.
   *
   * @param clock Time source.
   */
  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Timers scheduled and neither fired nor cleared. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Schedules `fn` after `ms` milliseconds.
   *
   * @param fn Callback.
   * @param ms Delay.
   * @returns Handle for {@linkcode TimerSet.clear}.
   */
  set(fn: () => void, ms: number): { readonly id: TimerId } {
    const handle: { id: TimerId } = { id: undefined };
    handle.id = this.clock.setTimeout(() => {
      if (!this.#live.delete(handle)) return;
      fn();
    }, ms);
    this.#live.add(handle);
    return handle;
  }

  /**
   * Cancels a timer; `undefined`, fired and cleared handles are ignored.
   *
   * @param handle From {@linkcode TimerSet.set}.
   */
  clear(handle: TimerHandle): void {
    if (handle && this.#live.delete(handle)) this.clock.clearTimeout(handle.id);
  }

  /** Cancels every live timer. */
  clearAll(): void {
    for (const handle of this.#live) this.clock.clearTimeout(handle.id);
    this.#live.clear();
  }
}
