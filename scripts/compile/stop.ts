/**
 * How the compile script ends: its exit codes, and the error that carries one up to it.
 *
 * @module
 */

/** The compile script's exit codes (its `--help` lists them). */
export const EXIT = {
  /** Everything asked for was built (and the binary for this machine ran `--version`). */
  OK: 0,
  /** A build or its check failed. */
  FAILED: 1,
  /** Bad arguments. */
  USAGE: 2,
  /** `--deno`: denort, the runtime deno compile embeds, is neither given, cached nor downloadable. */
  DENORT_UNAVAILABLE: 3,
  /** A target's Bun runtime is neither cached nor downloadable (run `--fetch` with network). */
  BUN_RUNTIME_UNAVAILABLE: 4,
} as const;

/** Stops the compile script with a one-line reason and an exit code from {@linkcode EXIT}. */
export class CompileStop extends Error {
  /** The exit code. */
  readonly exitCode: number;

  /**
   * @param message What happened and what to do, on one line.
   * @param exitCode From {@linkcode EXIT}.
   */
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "CompileStop";
    this.exitCode = exitCode;
  }
}
