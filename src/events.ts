/**
 * A tiny typed event emitter for the node's `peer-up` / `peer-down` events. Listeners can be
 * added before `start()` (so no early peer is missed); a throwing listener is logged and
 * never breaks discovery or the other listeners.
 *
 * @module
 */
import type { Logger } from "./log.ts";

/** Maps event names to listener argument tuples, e.g. `{ "peer-up": [peer: PeerInfo] }`. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** How listeners are stored: their argument types are checked by {@linkcode Emitter.on}. */
type Listener = (...args: unknown[]) => unknown;

/**
 * Typed listener registry.
 *
 * @example
 * ```ts
 * import { Emitter } from "./events.ts";
 * const events = new Emitter<{ ping: [number] }>();
 * const off = events.on("ping", (n) => console.log(n));
 * events.emit("ping", 1);
 * off();
 * ```
 */
export class Emitter<E extends EventMap<E>> {
  #listeners = new Map<keyof E, Set<Listener>>();
  #logger?: Logger;

  /**
   * Creates an {@linkcode Emitter} without listeners.
   *
   * @param logger Where a throwing listener is reported (default: `console.error`).
   */
  constructor(logger?: Logger) {
    this.#logger = logger;
  }

  /**
   * Adds a listener.
   *
   * @param event Event name.
   * @param fn Called with the event's arguments.
   * @returns A function that removes this listener.
   */
  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, set = new Set());
    const entry = fn as unknown as Listener;
    set.add(entry);
    return () => void set.delete(entry);
  }

  /**
   * Removes a listener added with {@linkcode Emitter.on}.
   *
   * @param event Event name.
   * @param fn The listener.
   */
  off<K extends keyof E>(event: K, fn: (...args: E[K]) => void): void {
    this.#listeners.get(event)?.delete(fn as unknown as Listener);
  }

  /**
   * Calls every listener of `event` in the order added. Errors (and rejected promises) from
   * listeners are logged, never thrown.
   *
   * @param event Event name.
   * @param args Listener arguments.
   */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        const out = fn(...args) as { catch?: unknown } | undefined;
        if (out && typeof out.catch === "function") {
          (out as Promise<unknown>).catch((err) => this.#report(event, err));
        }
      } catch (err) {
        this.#report(event, err);
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear();
  }

  #report(event: keyof E, err: unknown): void {
    const message = `a "${String(event)}" listener threw: ${err instanceof Error ? err.stack ?? err.message : err}`;
    if (this.#logger) this.#logger.error(message);
    else console.error(message);
  }
}
