/**
 * Probe timing (RFC 6762 section 8.1): after a random 0-250 ms delay, three probes 250 ms
 * apart, then 250 ms of silence; if nothing interrupted it, the names are ours. Deciding
 * what counts as a conflict is the responder's job; this only keeps time and restarts.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";

/** Interval between probes and the wait after the last one, ms. */
export const PROBE_INTERVAL_MS = 250;
/** Number of probes. */
export const PROBE_COUNT = 3;

/** Options of {@linkcode Prober}. */
export interface ProberOptions {
  /** Time source. */
  clock: Clock;
  /** Random numbers in [0, 1). */
  random: () => number;
  /** Sends probe number `n` (1-3). */
  sendProbe: (n: number) => void;
  /** Called when probing finished without interruption. */
  onSuccess: () => void;
}

/**
 * One probing sequence, restartable.
 *
 * @example
 * ```ts
 * import { Prober } from "./prober.ts";
 * import { systemClock } from "../clock.ts";
 * const p = new Prober({ clock: systemClock, random: Math.random, sendProbe: (n) => console.log("probe", n), onSuccess: () => {} });
 * p.start();
 * p.cancel();
 * ```
 */
export class Prober {
  readonly #o: ProberOptions;
  #timer: TimerId | undefined;
  #active = false;

  /**
   * @param options Clock, randomness and callbacks.
   */
  constructor(options: ProberOptions) {
    this.#o = options;
  }

  /** True between {@linkcode Prober.start} and success or cancel. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Starts (or restarts) probing after `delayMs`, or after a random 0-250 ms when omitted.
   *
   * @param delayMs Fixed delay before the first probe (e.g. 1000 after losing a tiebreak).
   */
  start(delayMs?: number): void {
    this.cancel();
    this.#active = true;
    const wait = delayMs ?? Math.floor(this.#o.random() * PROBE_INTERVAL_MS);
    this.#step(1, wait);
  }

  #step(n: number, wait: number): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      if (n > PROBE_COUNT) {
        this.#active = false;
        this.#o.onSuccess();
        return;
      }
      this.#o.sendProbe(n);
      this.#step(n + 1, PROBE_INTERVAL_MS);
    }, wait);
  }

  /** Stops without success. */
  cancel(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#active = false;
  }
}
