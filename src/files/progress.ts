/**
 * Progress of a transfer: bytes done (including what a resume kept), the total, and the rate
 * of this run, reported to an `onProgress` callback at most every `intervalMs` and once at the
 * end.
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";

/** What `onProgress` gets. */
export interface Progress {
  /** Bytes of the file done, including those a resume kept. */
  bytes: number;
  /** The file's size. */
  total: number;
  /** Bytes per second moved by this run so far (its average). */
  rate: number;
}

/** Default interval between two `onProgress` calls, ms. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Counts bytes and reports progress.
 *
 * @example
 * ```ts
 * import { ProgressMeter } from "./progress.ts";
 * const seen: number[] = [];
 * const meter = new ProgressMeter(100, (p) => seen.push(p.bytes), { start: 40 });
 * meter.add(60);
 * meter.finish();
 * console.log(seen.at(-1)); // 100
 * ```
 */
export class ProgressMeter {
  readonly #total: number;
  readonly #start: number;
  readonly #report: ((progress: Progress) => void) | undefined;
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #began: number;
  #bytes: number;
  #lastReport = -Infinity;

  /**
   * Creates a meter.
   *
   * @param total The file's size.
   * @param report Gets the progress.
   * @param options `start`: bytes already there; `clock`; `intervalMs` between reports.
   */
  constructor(
    total: number,
    report?: (progress: Progress) => void,
    options: { start?: number; clock?: Clock; intervalMs?: number } = {},
  ) {
    this.#total = total;
    this.#start = options.start ?? 0;
    this.#bytes = this.#start;
    this.#report = report;
    this.#clock = options.clock ?? systemClock;
    this.#interval = options.intervalMs ?? PROGRESS_INTERVAL_MS;
    this.#began = this.#clock.now();
  }

  /** The progress now. */
  get progress(): Progress {
    const seconds = (this.#clock.now() - this.#began) / 1000;
    const moved = this.#bytes - this.#start;
    return { bytes: this.#bytes, total: this.#total, rate: seconds > 0 ? moved / seconds : 0 };
  }

  /**
   * Counts bytes; reports when the interval has passed.
   *
   * @param bytes How many more.
   */
  add(bytes: number): void {
    this.#bytes += bytes;
    if (!this.#report) return;
    const now = this.#clock.now();
    if (now - this.#lastReport < this.#interval) return;
    this.#lastReport = now;
    this.#report(this.progress);
  }

  /**
   * Reports the final progress.
   *
   * @returns It.
   */
  finish(): Progress {
    const progress = this.progress;
    this.#report?.(progress);
    return progress;
  }
}
