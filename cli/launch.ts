/**
 * Starting `peerlink` itself in child processes, under each available runtime: the demo runs
 * one `serve` node per runtime, and re-runs itself inside a private network namespace.
 *
 * The entry (`cli.ts` in a checkout, `cli.js` in the npm build) and the runtime binaries
 * (`node_modules/.bin/{deno,bun,node}` of a checkout, else the running one) are found next to
 * this module. A single-file binary has neither: {@linkcode cliEntry} is `undefined` there.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { detectRuntime } from "../src/runtime_kind.ts";

/** A runtime that can run the CLI entry. */
export type RuntimeName = "deno" | "bun" | "node";

/** The three runtimes, in the order the demo starts them. */
export const RUNTIMES: readonly RuntimeName[] = ["deno", "bun", "node"];

function fromHere(relative: string): string | undefined {
  try {
    const url = new URL(relative, import.meta.url);
    return url.protocol === "file:" ? fileURLToPath(url) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The package root (the folder holding `cli.ts`/`cli.js`), when this module is a file on disk.
 *
 * @returns The absolute path, or `undefined` (bundled single binary).
 */
export function packageRoot(): string | undefined {
  const root = fromHere("../");
  if (!root) return undefined;
  return existsSync(`${root}/cli.ts`) || existsSync(`${root}/cli.js`) ? root.replace(/\/$/, "") : undefined;
}

/**
 * The CLI entry file: `cli.ts` in a checkout (or JSR), `cli.js` in the npm build.
 *
 * @returns The path, or `undefined` when there is none on disk.
 */
export function cliEntry(): string | undefined {
  const root = packageRoot();
  if (!root) return undefined;
  // A checkout (and JSR) has cli.ts; the npm package has only the built cli.js.
  for (const name of ["cli.ts", "cli.js"]) if (existsSync(`${root}/${name}`)) return `${root}/${name}`;
  return undefined;
}

/**
 * The command prefix that runs the CLI entry under a runtime, when that runtime is available:
 * `node_modules/.bin/<runtime>` of the checkout, or the running binary for the running runtime.
 *
 * @param runtime Which runtime.
 * @param entry The CLI entry file.
 * @returns `[binary, ...arguments before the command]`, or `undefined`.
 *
 * @example
 * ```ts
 * import { cliEntry, commandFor } from "./launch.ts";
 * const entry = cliEntry();
 * if (entry) console.log(commandFor("deno", entry)); // [".../node_modules/.bin/deno", "run", "-A", ".../cli.ts"]
 * ```
 */
export function commandFor(runtime: RuntimeName, entry: string): string[] | undefined {
  const root = packageRoot();
  const local = root ? `${root}/node_modules/.bin/${runtime}` : undefined;
  const binary = local && existsSync(local) ? local : detectRuntime() === runtime ? process.execPath : undefined;
  if (!binary) return undefined;
  if (runtime === "node" && entry.endsWith(".ts") && entry.includes("/node_modules/")) return undefined;
  return runtime === "deno" ? [binary, "run", "-A", entry] : [binary, entry];
}

/**
 * Sends a signal to a child. Through `process.kill(pid)` rather than `child.kill()`: Deno's
 * `node:child_process` (2.9) reports a child it was asked to kill as killed by that signal even
 * when the child handled it and exited normally, hiding the real exit code; and it closes the
 * child's pipes before it signals, so a child that acts on the end of its stdin (or writes
 * its last words to stdout) does so in that gap, or cannot.
 *
 * @param child The child.
 * @param signal Signal name.
 * @returns Whether the signal was sent (false when the child is gone).
 */
export function signalChild(child: ChildProcess, signal: "SIGTERM" | "SIGINT" | "SIGKILL"): boolean {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
  try {
    process.kill(child.pid, signal);
    return true;
  } catch {
    return false; // Already gone.
  }
}

/** A `peerlink` child process. */
export interface CliChild {
  /** What runs it. */
  runtime: RuntimeName;
  /** The process. */
  process: ChildProcess;
  /** Everything it wrote to stdout so far. */
  stdout(): string;
  /** The last few KiB it wrote to stderr (for error reports). */
  stderr(): string;
  /** Resolves with the exit code (or the signal name) when it exits. */
  exited: Promise<number | string>;
  /** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
}

/**
 * Spawns `peerlink <args>` under a runtime.
 *
 * @param runtime Runtime name (for reports).
 * @param prefix From {@linkcode commandFor}.
 * @param args The command and its arguments, e.g. `["serve", "--name", "Demo-deno"]`.
 * @param env Extra environment.
 * @param lifeline Give the child a stdin pipe that closes when this process dies, however it
 *   dies (`serve --exit-with-stdin` stops then), so no child outlives its parent.
 * @returns The child.
 */
export function spawnCli(
  runtime: RuntimeName,
  prefix: readonly string[],
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
  lifeline = false,
): CliChild {
  const [binary, ...rest] = prefix;
  const child = spawn(binary, [...rest, ...args], {
    stdio: [lifeline ? "pipe" : "ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => (out = (out + chunk).slice(-65536)));
  child.stderr?.on("data", (chunk: string) => (err = (err + chunk).slice(-4096)));
  const exited = new Promise<number | string>((resolve) => {
    child.on("error", (error) => {
      err += `\n${error.message}`;
      resolve("spawn-error");
    });
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  return {
    runtime,
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async (graceMs = 5000) => {
      child.stdin?.end();
      signalChild(child, "SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          signalChild(child, "SIGKILL");
          resolve();
        }, graceMs);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      return await exited;
    },
  };
}
