/**
 * Small leveled logger. Off by default; `verbose: true` or the environment variable
 * `PEERLINK_DEBUG=1` turns debug output on. Each logger writes its own prefix and never
 * attaches shared handlers, so several nodes in one process never duplicate lines.
 *
 * @module
 */

/** Where PeerLink writes diagnostics. Any object with these four methods works (e.g. `console`). */
export interface Logger {
  /** Detail for debugging; shown only when verbose. */
  debug(message: string): void;
  /** Notable events. */
  info(message: string): void;
  /** Something went wrong but the node carries on. */
  warn(message: string): void;
  /** Something failed. */
  error(message: string): void;
}

/** True when `PEERLINK_DEBUG` is set to a non-empty value other than `0`/`false`. Never throws. */
export function debugFromEnv(): boolean {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const value = env?.PEERLINK_DEBUG;
    return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
  } catch {
    return false; // Deno without --allow-env: treat as unset.
  }
}

/**
 * Creates a logger that prefixes every line, e.g. `[peerlink Worker] started`.
 *
 * @param prefix Shown in brackets before each line.
 * @param options `verbose` enables debug/info lines; warnings and errors always show
 *   unless `quiet`. `sink` receives the lines (default `console`).
 * @returns A {@linkcode Logger}.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const log = createLogger("peerlink Worker", { verbose: true });
 * log.debug("bound UDP 0.0.0.0:50123");
 * ```
 */
export function createLogger(
  prefix: string,
  options: { verbose?: boolean; quiet?: boolean; sink?: Pick<Console, "error" | "warn"> } = {},
): Logger {
  const sink = options.sink ?? console;
  const verbose = options.verbose ?? debugFromEnv();
  const line = (level: string, message: string) => `[${prefix}] ${level}${message}`;
  return {
    debug: (m) => verbose && sink.error(line("debug: ", m)),
    info: (m) => verbose && sink.error(line("", m)),
    warn: (m) => !options.quiet && sink.warn(line("warning: ", m)),
    error: (m) => !options.quiet && sink.error(line("error: ", m)),
  } as Logger;
}

const said = new Set<string>();

/** Logs `message` at debug level once per process (e.g. an adapter fallback notice). */
export function debugOnce(logger: Logger, key: string, message: string): void {
  if (said.has(key)) return;
  said.add(key);
  logger.debug(message);
}

/**
 * A warning about something that comes in bursts, such as a flood of packets: said at once
 * the first time, then at most once per interval, each time with the counts since the last
 * time it was said (counts only grow; nothing is said while they stand still).
 *
 * @example
 * ```ts
 * import { createLogger, ThrottledWarning } from "./log.ts";
 * import { systemClock } from "./clock.ts";
 * const warning = new ThrottledWarning<"dropped">(createLogger("demo"), systemClock, 60_000);
 * let dropped = 0;
 * dropped += 5;
 * warning.update({ dropped }, (since) => `dropped ${since.dropped} packets`); // says "dropped 5 packets"
 * dropped += 1;
 * warning.update({ dropped }, (since) => `dropped ${since.dropped} packets`); // quiet for a minute
 * ```
 */
export class ThrottledWarning<K extends string> {
  readonly #logger: Logger;
  readonly #clock: { now(): number };
  readonly #intervalMs: number;
  #said: Partial<Record<K, number>> = {};
  #saidAt = -Infinity;

  /**
   * @param logger Where to say it (at warning level).
   * @param clock Time source.
   * @param intervalMs Least time between two warnings.
   */
  constructor(logger: Logger, clock: { now(): number }, intervalMs: number) {
    this.#logger = logger;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /**
   * Warns when the counts moved since the last warning and the interval has passed.
   *
   * @param counts The running totals.
   * @param describe Builds the message from what each count grew by since the last warning.
   */
  update(counts: Record<K, number>, describe: (since: Record<K, number>) => string): void {
    const now = this.#clock.now();
    if (now - this.#saidAt < this.#intervalMs) return; // first: the cheap test, on every packet of a flood
    const keys = Object.keys(counts) as K[];
    if (keys.every((k) => counts[k] === (this.#said[k] ?? 0))) return;
    const since = {} as Record<K, number>;
    for (const k of keys) since[k] = counts[k] - (this.#said[k] ?? 0);
    this.#said = { ...counts };
    this.#saidAt = now;
    this.#logger.warn(describe(since));
  }
}
