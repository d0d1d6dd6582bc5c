/**
 * A min-heap of (time, item) pairs: what falls due next, in O(log n) per change instead of a
 * scan of everything. Pairs are never updated in place; the owner pushes a new pair when an
 * item's time changes and skips the pairs that no longer match when they come out.
 *
 * @module
 */

/**
 * Items by the time they fall due, earliest first.
 *
 * @example
 * ```ts
 * import { DueQueue } from "./due_queue.ts";
 * const queue = new DueQueue<string>();
 * queue.push(30, "later");
 * queue.push(10, "first");
 * console.log(queue.peekTime(), queue.pop()?.item); // 10 first
 * ```
 */
export class DueQueue<T> {
  #times: number[] = [];
  #items: T[] = [];

  /** Pairs queued, stale ones included. */
  get size(): number {
    return this.#times.length;
  }

  /** The earliest time queued (Infinity when empty). */
  peekTime(): number {
    return this.#times.length > 0 ? this.#times[0] : Infinity;
  }

  /**
   * Queues an item at a time.
   *
   * @param time When it falls due.
   * @param item The item.
   */
  push(time: number, item: T): void {
    const times = this.#times;
    const items = this.#items;
    let i = times.length;
    times.push(time);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] <= time) break;
      times[i] = times[parent];
      items[i] = items[parent];
      i = parent;
    }
    times[i] = time;
    items[i] = item;
  }

  /**
   * Takes the earliest pair.
   *
   * @returns It, or undefined when empty.
   */
  pop(): { time: number; item: T } | undefined {
    const times = this.#times;
    const items = this.#items;
    if (times.length === 0) return undefined;
    const top = { time: times[0], item: items[0] };
    const lastTime = times.pop()!;
    const lastItem = items.pop()!;
    const n = times.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && times[child + 1] < times[child]) child++;
        if (times[child] >= lastTime) break;
        times[i] = times[child];
        items[i] = items[child];
        i = child;
      }
      times[i] = lastTime;
      items[i] = lastItem;
    }
    return top;
  }

  /** Empties the queue. */
  clear(): void {
    this.#times = [];
    this.#items = [];
  }
}
