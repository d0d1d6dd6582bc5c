/**
 * {@linkcode Activity}: counts work in progress (requests in service on a transport) and lets
 * a graceful stop wait until none is left.
 *
 * @module
 */

/**
 * A counter of work in progress with a promise for "nothing left".
 *
 * @example
 * ```ts
 * import { Activity } from "./activity.ts";
 * const serving = new Activity();
 * serving.begin();
 * const idle = serving.idle();
 * serving.end();
 * await idle; // resolves once the count is back to zero
 * ```
 */
export class Activity {
  #count = 0;
  readonly #waiters = new Set<() => void>();

  /** Work in progress now. */
  get count(): number {
    return this.#count;
  }

  /** One more piece of work started. */
  begin(): void {
    this.#count++;
  }

  /** One piece of work ended (a bound function, to pass as a callback). */
  readonly end = (): void => {
    if (--this.#count > 0) return;
    for (const resolve of this.#waiters) resolve();
    this.#waiters.clear();
  };

  /**
   * Resolves once no work is in progress (at once when none is).
   *
   * @returns Resolves when idle.
   */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.add(resolve));
  }
}
