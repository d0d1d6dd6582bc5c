/**
 * A manual clock for deterministic tests of timing code (mDNS probing and announcing, RPC
 * timeouts, cache expiry). Time moves only when the test says so.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import { nextMacrotask } from "../macrotask.ts";

/** Bound on the timers one {@linkcode FakeClock.advance} fires, to turn a runaway timer loop into an error. */
export const DEFAULT_ADVANCE_LIMIT = 100_000;

/** Default bound of {@linkcode FakeClock.runAll}. */
export const DEFAULT_RUN_ALL_LIMIT = 10_000;

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/** Fires first: the earlier due time, then the earlier scheduled (smaller id). */
function before(x: Timer, y: Timer): boolean {
  return x.due < y.due || (x.due === y.due && x.id < y.id);
}

/** Resolves once every pending microtask chain has run as far as it can without a timer. */
const settle = nextMacrotask;

/**
 * A {@linkcode Clock} whose time advances only through {@linkcode FakeClock.advance} and
 * {@linkcode FakeClock.runAll}. Timers fire in due-time order (ties in scheduling order).
 * Between two timers the clock yields to the event loop once, so promise chains started by
 * a timer (or by an in-memory network delivery) run before the next timer fires. Timers
 * scheduled by fired timers are fired too when they fall due within the advanced window.
 *
 * A timer callback that throws stops the advance: `advance()` rejects with that error and
 * the clock stays at that timer's due time; calling `advance()` again carries on.
 *
 * @example
 * ```ts
 * import { FakeClock } from "@peerlink/peerlink/testing";
 * const clock = new FakeClock();
 * let fired = false;
 * clock.setTimeout(() => (fired = true), 1000);
 * await clock.advance(999);
 * console.log(fired); // false
 * await clock.advance(1);
 * console.log(fired, clock.now()); // true 1000
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  /** Live timers by id; cleared timers are removed here and skipped lazily in the heap. */
  readonly #timers = new Map<number, Timer>();
  /** Min-heap of timers by {@linkcode before}, so many pending timers stay cheap. */
  readonly #heap: Timer[] = [];
  #busy = false;

  /**
   * Creates a clock that reads `startMs` until advanced.
   *
   * @param startMs The initial value of {@linkcode FakeClock.now} (default 0).
   */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) throw new RangeError(`FakeClock: startMs must be a finite number, got ${startMs}`);
    this.#now = startMs;
  }

  /**
   * The current fake time in milliseconds.
   *
   * @returns Milliseconds since the clock's epoch (its `startMs`).
   */
  now(): number {
    return this.#now;
  }

  /**
   * Schedules `fn` to run when the clock reaches `now() + ms`.
   *
   * @param fn Callback.
   * @param ms Delay in milliseconds; negative or non-finite delays count as 0, as with real timers.
   * @returns A timer id for {@linkcode FakeClock.clearTimeout}.
   */
  setTimeout(fn: () => void, ms: number): TimerId {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const id = this.#nextId++;
    const timer = { id, due: this.#now + delay, fn };
    this.#timers.set(id, timer);
    this.#push(timer);
    return id;
  }

  /**
   * Cancels a timer. Unknown or already fired ids are ignored.
   *
   * @param id A value returned by {@linkcode FakeClock.setTimeout}.
   */
  clearTimeout(id: TimerId): void {
    if (typeof id !== "number" || !this.#timers.delete(id)) return;
    // Code that sets and clears many timeouts without advancing must not grow the heap forever.
    if (this.#heap.length > 64 + 2 * this.#timers.size) {
      const live = [...this.#timers.values()];
      this.#heap.length = 0;
      for (const timer of live) this.#push(timer);
    }
  }

  /**
   * The number of timers scheduled and not yet fired or cleared.
   *
   * @returns Pending timer count.
   */
  pending(): number {
    return this.#timers.size;
  }

  /**
   * The time the earliest pending timer falls due, if any.
   *
   * @returns A {@linkcode FakeClock.now}-based time, or `undefined` when no timer is pending.
   */
  nextDue(): number | undefined {
    return this.#earliest(Infinity)?.due;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in time order,
   * including timers that fired timers schedule within the window. Let pending promise
   * chains run before the first timer, between timers and at the end.
   *
   * @param ms Milliseconds to advance (0 fires timers already due and lets promises settle).
   * @param limit Most timers to fire; more means a timer keeps rescheduling itself, and
   *   `advance()` rejects instead of spinning forever.
   * @returns Resolves when the clock reads `now() + ms` and nothing more is due.
   */
  async advance(ms: number, limit: number = DEFAULT_ADVANCE_LIMIT): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`FakeClock.advance: ms must be a finite number >= 0, got ${ms}`);
    }
    const target = this.#now + ms;
    await this.#exclusive("advance", async () => {
      let fired = 0;
      for (;;) {
        await settle();
        const timer = this.#earliest(target);
        if (timer) {
          if (++fired > limit) {
            throw new Error(
              `FakeClock.advance: more than ${limit} timers fell due within ${ms} ms; a timer probably reschedules itself with a 0 ms delay. Raise the limit if this is intended.`,
            );
          }
          this.#fire(timer);
        } else if (this.#now < target) {
          this.#now = target;
        } else {
          return;
        }
      }
    });
  }

  /**
   * Fires every pending timer in time order, including timers they schedule, moving time
   * to each timer's due time, until none is left.
   *
   * @param limit Most timers to fire before giving up with an error (default 10,000), so a
   *   periodic timer cannot loop forever.
   * @returns The number of timers fired.
   */
  async runAll(limit: number = DEFAULT_RUN_ALL_LIMIT): Promise<number> {
    return await this.#exclusive("runAll", async () => {
      let fired = 0;
      for (;;) {
        await settle();
        const timer = this.#earliest(Infinity);
        if (!timer) return fired;
        if (++fired > limit) {
          throw new Error(
            `FakeClock.runAll: still ${this.#timers.size} timers pending after firing ${limit}; a periodic timer keeps rescheduling. Use advance(ms) for periodic timers, or raise the limit.`,
          );
        }
        this.#fire(timer);
      }
    });
  }

  async #exclusive<T>(what: string, body: () => Promise<T>): Promise<T> {
    if (this.#busy) {
      throw new Error(`FakeClock.${what}: another advance() or runAll() is still running; await it first.`);
    }
    this.#busy = true;
    try {
      return await body();
    } finally {
      this.#busy = false;
    }
  }

  #earliest(notAfter: number): Timer | undefined {
    while (this.#heap.length > 0 && !this.#timers.has(this.#heap[0].id)) this.#pop(); // cleared
    const first = this.#heap[0];
    return first && first.due <= notAfter ? first : undefined;
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    let i = heap.push(timer) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
      i = smallest;
    }
  }

  #fire(timer: Timer): void {
    this.#pop(); // `timer` is the heap's top: #earliest just returned it.
    this.#timers.delete(timer.id);
    if (timer.due > this.#now) this.#now = timer.due;
    timer.fn();
  }
}
