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
