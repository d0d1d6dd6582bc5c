/**
 * Timers that know how many of them are alive, so tests (and `stats()`) can prove that no
 * call leaves a timer behind, and `stop()` can cancel them all.
 *
 * Every call arms a deadline and, over UDP, a retransmit timer, and almost all of them are
 * cleared long before they fall due. Runtime timers are not free (setTimeout plus clearTimeout
 * costs about 1.2 µs on Deno), so the set keeps its timers in a min-heap and arms one runtime
 * timer at the earliest due time. `set` re-arms only when the new timer is due sooner than that
 * alarm; `clear` only marks the timer dead. An alarm left armed after the last timer was
 * cleared stays, and fires once for nothing: a later call is almost always due later, so
 * sequential calls cost no runtime timer at all. {@linkcode TimerSet.clearAll} cancels it.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";

/** A timer of a {@linkcode TimerSet}. */
export interface Timer {
  /** When it falls due, on the set's clock. */
  readonly due: number;
}

/** Handle of a {@linkcode TimerSet} timer. */
export type TimerHandle = Timer | undefined;

/** Largest delay runtimes accept (larger ones overflow and fire at once). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Heap entry; `live` is false once fired or cleared (dead entries are skipped lazily). */
interface Entry {
  due: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/** Whether `a` fires before `b`: earlier due time, then creation order. */
function before(a: Entry, b: Entry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/**
 * A set of live timers on a {@linkcode Clock}, served by a single runtime timer.
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
 * timers.clearAll(); // also cancels the runtime timer
 * ```
 */
export class TimerSet {
  /** The clock timers run on. */
  readonly clock: Clock;
  #heap: Entry[] = [];
  #live = 0;
  #seq = 0;
  /** The runtime timer, and the due time it was armed for (Infinity when none). */
  #alarm: TimerId;
  #alarmDue = Infinity;
  readonly #onAlarm = (): void => this.#fire();

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
    return this.#live;
  }

  /**
   * Schedules `fn` after `ms` milliseconds.
   *
   * @param fn Callback.
   * @param ms Delay (negative or NaN count as 0, as with runtime timers).
   * @returns Handle for {@linkcode TimerSet.clear}.
   */
  set(fn: () => void, ms: number): Timer {
    const entry: Entry = { due: this.clock.now() + (ms > 0 ? ms : 0), seq: this.#seq++, fn, live: true };
    this.#push(entry);
    this.#live++;
    if (entry.due < this.#alarmDue) this.#arm(entry.due);
    return entry;
  }

  /**
   * Cancels a timer; `undefined`, fired and cleared handles are ignored.
   *
   * @param handle From {@linkcode TimerSet.set}.
   */
  clear(handle: TimerHandle): void {
    const entry = handle as Entry | undefined;
    if (!entry || !entry.live) return;
    entry.live = false;
    if (--this.#live === 0) {
      this.#heap = []; // the alarm stays armed: see the module note
    } else if (this.#heap.length > 64 + 2 * this.#live) {
      // Mostly dead entries: rebuild from the live ones (a sorted array is a valid heap).
      this.#heap = this.#heap.filter((e) => e.live).sort((a, b) => (before(a, b) ? -1 : 1));
    }
  }

  /** Cancels every live timer, and the runtime timer. */
  clearAll(): void {
    for (const entry of this.#heap) entry.live = false;
    this.#heap = [];
    this.#live = 0;
    this.#disarm();
  }

  /** Arms the runtime timer for `due`, replacing a later alarm. */
  #arm(due: number): void {
    this.#disarm();
    this.#alarmDue = due;
    this.#alarm = this.clock.setTimeout(this.#onAlarm, Math.min(MAX_DELAY_MS, Math.max(0, due - this.clock.now())));
  }

  #disarm(): void {
    if (this.#alarmDue === Infinity) return;
    this.clock.clearTimeout(this.#alarm);
    this.#alarm = undefined;
    this.#alarmDue = Infinity;
  }

  /** Runs every timer due by now (or by the alarm's time, if the runtime fired a little early), then re-arms. */
  #fire(): void {
    const limit = Math.max(this.clock.now(), this.#alarmDue);
    // Timers set by the callbacks wait for the next alarm, so one rescheduling itself with 0 ms
    // cannot keep this loop (and the event loop) busy.
    const firstNew = this.#seq;
    this.#alarm = undefined;
    this.#alarmDue = Infinity;
    try {
      for (;;) {
        const top = this.#heap[0];
        if (!top) break;
        if (!top.live) {
          this.#pop();
          continue;
        }
        if (top.due > limit || top.seq >= firstNew) break;
        this.#pop();
        top.live = false;
        this.#live--;
        top.fn();
      }
    } finally {
      // Also after a throwing callback: the timers still due run on the next alarm.
      this.#rearm();
    }
  }

  /** Arms the runtime timer for the earliest live timer, unless an alarm at or before it is armed. */
  #rearm(): void {
    while (this.#heap.length > 0 && !this.#heap[0].live) this.#pop();
    const top = this.#heap[0];
    if (top && top.due < this.#alarmDue) this.#arm(top.due);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right], heap[left]) ? right : left;
      if (!before(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }
}
