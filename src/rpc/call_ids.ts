/**
 * Call ids: unique per caller, unguessable by anyone who does not see the traffic, and cheap.
 * A fresh `crypto.randomUUID()` per call showed in profiles of pipelined calls; one random
 * prefix per endpoint plus a counter costs a string concatenation instead.
 *
 * @module
 */

/** Ids one prefix can carry: the counter fills the UUID's last group of 12 hex digits. */
const COUNTER_SPACE = 2 ** 48;

/**
 * Hands out call ids shaped like UUIDs (`xxxxxxxx-xxxx-4xxx-yxxx-cccccccccccc`, as Python
 * PeerLink 1.2 sends): the first four groups are random, drawn once (and again after 2^48
 * calls), the last group counts. The reply cache keys calls by caller and id, so ids must not
 * repeat for a caller (they do not within a prefix) and a third party must not be able to guess
 * one (74 random bits).
 *
 * @example
 * ```ts
 * import { CallIds } from "./call_ids.ts";
 * const ids = new CallIds();
 * const [a, b] = [ids.next(), ids.next()];
 * console.log(a !== b, a.slice(0, 24) === b.slice(0, 24), a.length); // true true 36
 * ```
 */
export class CallIds {
  #prefix = "";
  #count = COUNTER_SPACE;

  /**
   * The next id.
   *
   * @returns A 36-character id never returned before by this generator.
   */
  next(): string {
    if (this.#count >= COUNTER_SPACE) {
      this.#prefix = crypto.randomUUID().slice(0, 24);
      this.#count = 0;
    }
    // COUNTER_SPACE + count has 13 hex digits: dropping the leading 1 zero-pads the counter.
    return this.#prefix + (COUNTER_SPACE + this.#count++).toString(16).slice(1);
  }
}
