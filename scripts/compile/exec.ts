/**
 * Running the build tools (Bun, Deno) and the binaries they made, with their output captured
 * so the compile script can explain a failure in its own words.
 *
 * @module
 */
import { execFile } from "node:child_process";
import process from "node:process";

/** How a program ended, with everything it printed. */
export interface Finished {
  /** Exit status; `null` when it was killed (time limit) or could not start. */
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A build of one target must not hang the script: Bun needs about 1 s, Deno about 5 s. */
const TIME_LIMIT_MS = 300_000;

/**
 * Runs a program to completion without blocking (several builds run at once).
 *
 * @param command The program.
 * @param args Its arguments.
 * @param options Working directory and extra environment.
 * @returns Its exit status and output.
 */
export function execute(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(command, [...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      timeout: TIME_LIMIT_MS,
      maxBuffer: 16 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
      const why = error && status === null ? `\n${error.message}` : "";
      resolve({ status, stdout: String(stdout), stderr: String(stderr) + why });
    });
  });
}
