/**
 * Replay protection for sealed messages: a message is accepted only if its timestamp is within
 * `window` of this node's wall clock and its nonce has not been seen before.
 *
 * The seen-nonce cache is bounded in time (a nonce is kept until its message would be stale
 * anyway) and in size. When the size bound forces out a nonce that is not yet stale, the guard
 * raises a floor: from then on only messages stamped later than every forgotten nonce are
 * accepted, so a forgotten nonce can never be replayed. Under a flood that exceeds the cache
 * the effective window therefore shrinks (late legitimate messages are dropped too) instead
 * of memory growing or replays getting through.
 *
 * @module
 */

/** Why {@linkcode ReplayGuard.check} refused a message. */
export type ReplayVerdict = "ok" | "stale" | "replayed";

/**
 * Remembers recent nonces.
 *
 * @example
 * ```ts
 * import { ReplayGuard } from "./replay.ts";
 * const guard = new ReplayGuard({ window: 30_000, maxEntries: 1000 });
 * const now = 1_700_000_000_000;
 * console.log(guard.check("nonce-1", now, now)); // "ok"
 * guard.remember("nonce-1", now, now);
 * console.log(guard.check("nonce-1", now, now)); // "replayed"
 * console.log(guard.check("nonce-2", now - 31_000, now)); // "stale"
 * ```
 */
export class ReplayGuard {
  /** Largest accepted difference between a message's timestamp and our clock, in ms. */
  readonly window: number;
  readonly #maxEntries: number;
  /** Nonce -> message timestamp. */
  readonly #seen = new Map<string, number>();
  /**
   * The same nonces and timestamps in arrival order, as a queue (`#head` is its front), so the
   * sweep looks at the oldest entries without creating a Map iterator per message.
   */
  #order: string[] = [];
  #times: number[] = [];
  #head = 0;
  /** Messages stamped at or before this are refused (see the module notes). */
  #floor = -Infinity;

  /**
   * Creates a {@linkcode ReplayGuard}.
   *
   * @param options `window` in ms and the most nonces remembered.
   */
  constructor(options: { window: number; maxEntries: number }) {
    this.window = options.window;
    this.#maxEntries = Math.max(1, Math.floor(options.maxEntries));
  }

  /** Nonces remembered now. */
  get size(): number {
    return this.#seen.size;
  }

  /**
   * Checks a message without remembering it.
   *
   * @param nonceKey The message's nonce.
   * @param timestamp Its timestamp (sender's wall clock, ms).
   * @param now Our wall clock, ms.
   * @returns `"ok"`, `"stale"` (outside the window, or below the floor) or `"replayed"`.
   */
  check(nonceKey: string, timestamp: number, now: number): ReplayVerdict {
    if (!(Math.abs(now - timestamp) <= this.window) || timestamp <= this.#floor) return "stale";
    return this.#seen.has(nonceKey) ? "replayed" : "ok";
  }

  /**
   * Checks and, when accepted, remembers a message, in one step (call after the message
   * verified, so that forged messages never fill the cache).
   *
   * @param nonceKey The message's nonce.
   * @param timestamp Its timestamp.
   * @param now Our wall clock.
   * @returns The verdict; the nonce is remembered only for `"ok"`.
   */
  remember(nonceKey: string, timestamp: number, now: number): ReplayVerdict {
    const verdict = this.check(nonceKey, timestamp, now);
    if (verdict !== "ok") return verdict;
    this.#sweep(now);
    this.#seen.set(nonceKey, timestamp);
    this.#order.push(nonceKey);
    this.#times.push(timestamp);
    return "ok";
  }

  /**
   * Refuses every message stamped at or before `timestamp` from now on.
   *
   * @param timestamp Wall-clock ms.
   */
  raiseFloor(timestamp: number): void {
    this.#floor = Math.max(this.#floor, timestamp);
  }

  /** Forgets everything (the floor stays, so nothing forgotten becomes replayable). */
  clear(): void {
    for (const timestamp of this.#seen.values()) this.#floor = Math.max(this.#floor, timestamp);
    this.#seen.clear();
    this.#order = [];
    this.#times = [];
    this.#head = 0;
  }

  #sweep(now: number): void {
    // Arrival order is nearly timestamp order: drop stale entries from the front, and while
    // over the bound drop more, raising the floor past each one dropped early.
    const order = this.#order;
    const times = this.#times;
    while (this.#head < order.length) {
      const timestamp = times[this.#head];
      const stale = now - timestamp > this.window;
      if (!stale && this.#seen.size < this.#maxEntries) break;
      if (!stale) this.#floor = Math.max(this.#floor, timestamp);
      this.#seen.delete(order[this.#head]);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > order.length) {
      this.#order = order.slice(this.#head);
      this.#times = times.slice(this.#head);
      this.#head = 0;
    }
  }
}
