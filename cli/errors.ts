/**
 * Exit codes of the `peerlink` command and the errors that map to them.
 *
 * | code | meaning                                                                    |
 * |------|----------------------------------------------------------------------------|
 * | 0    | success (also: `serve` / `discover --watch` stopped by Ctrl-C or SIGTERM)   |
 * | 1    | failure: peer missing or silent, remote error, no peers found, bad network |
 * | 2    | usage error: unknown command or option, bad value                          |
 * | 130  | interrupted by Ctrl-C (SIGINT) before the command finished                  |
 * | 143  | terminated by SIGTERM before the command finished                          |
 *
 * @module
 */

/** Exit codes; see the module documentation. */
export const EXIT = Object.freeze({
  /** Success. */
  OK: 0,
  /** The command ran and failed (peer missing or silent, remote error, ...). */
  FAILURE: 1,
  /** The command line was wrong. */
  USAGE: 2,
  /** Ctrl-C (SIGINT) before the command finished. */
  INTERRUPTED: 130,
  /** SIGTERM before the command finished. */
  TERMINATED: 143,
});

/**
 * A wrong command line: printed as one line with a pointer to `--help`; exit code 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 * throw new UsageError("invalid duration 'x' for --wait: use e.g. 3s, 500ms, 2m or a number of seconds");
 * ```
 */
export class UsageError extends Error {
  /** The command whose help explains the fix (`undefined`: the top-level help). */
  command: string | undefined;

  /**
   * @param message What is wrong, starting lowercase, without the `peerlink:` prefix.
   * @param command The command, when known.
   */
  constructor(message: string, command?: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/**
 * A failure already explained to the user in one line (e.g. "peer 'X' not found ..."); exit code 1
 * unless another is given.
 *
 * @example
 * ```ts
 * import { CliFailure } from "./errors.ts";
 * throw new CliFailure("no peers found within 3.0 s");
 * ```
 */
export class CliFailure extends Error {
  /** The exit code. */
  exitCode: number;

  /**
   * @param message The line to print after `peerlink: `.
   * @param exitCode Exit code (default 1).
   * @param cause The error behind it (its stack is shown with `--verbose`).
   */
  constructor(message: string, exitCode: number = EXIT.FAILURE, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "CliFailure";
    this.exitCode = exitCode;
  }
}

/**
 * The exit code for a command ended by an interrupt: 130 for SIGINT (Ctrl-C), 143 for SIGTERM.
 *
 * @param signal The aborted interrupt signal (its reason is the signal name).
 * @returns The exit code.
 */
export function interruptedExitCode(signal: AbortSignal): number {
  return signal.reason === "SIGTERM" ? EXIT.TERMINATED : EXIT.INTERRUPTED;
}

/**
 * One line describing any error: `PeerTimeoutError: ...` for library errors, the bare message for
 * CLI errors, newlines folded so the line stays one line.
 *
 * @param error Anything thrown.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { describeError } from "./errors.ts";
 * console.log(describeError(new RangeError("bad"))); // "RangeError: bad"
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof UsageError || error instanceof CliFailure) return oneLine(error.message);
  if (error instanceof Error) {
    const name = error.name && error.name !== "Error" ? `${error.name}: ` : "";
    return oneLine(`${name}${error.message}`);
  }
  return oneLine(String(error));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
