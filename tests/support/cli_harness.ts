/**
 * Helpers for the CLI tests: run `main()` in-process with captured output, or run `cli.ts` as
 * a child process under the runtime executing the test (Deno: `deno run -A`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { signalChild } from "../../cli/launch.ts";
import { main } from "../../cli/main.ts";
import type { PeerLinkOptions } from "../../src/options.ts";
import { runtimeName } from "./env.ts";

/** Absolute path of the CLI entry. */
export const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));
/** The repository root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A stream that records what is written. */
export interface Capture {
  stream: { write(text: string, done?: () => void): boolean; isTTY: boolean };
  text(): string;
}

/**
 * A capturing stream.
 *
 * @param isTTY What it claims to be.
 * @returns The capture.
 */
export function capture(isTTY = false): Capture {
  let text = "";
  return {
    stream: {
      write(chunk: string, done?: () => void) {
        text += chunk;
        done?.();
        return true;
      },
      isTTY,
    },
    text: () => text,
  };
}

/** Result of a command. */
export interface RunResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/**
 * Runs `main(argv)` in this process.
 *
 * @param argv Arguments.
 * @param options Environment, TTY flag, node options, interrupt signal.
 * @returns Exit code and output.
 */
export async function runMain(
  argv: string[],
  options: {
    env?: Record<string, string>;
    isTTY?: boolean;
    node?: Partial<PeerLinkOptions>;
    signal?: AbortSignal;
  } = {},
): Promise<RunResult> {
  const out = capture(options.isTTY);
  const err = capture(options.isTTY);
  const code = await main(argv, {
    stdout: out.stream,
    stderr: err.stream,
    env: options.env ?? {},
    signal: options.signal ?? new AbortController().signal,
    node: options.node,
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** The command that runs `cli.ts` under this test's runtime. */
export function cliCommand(): string[] {
  return runtimeName === "deno" ? [process.execPath, "run", "-A", CLI] : [process.execPath, CLI];
}

/** A running `cli.ts` child. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Waits until stdout matches, or rejects after `timeoutMs` (with the output so far). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends a signal and waits for the exit (SIGKILL after 10 s). */
  stop(signal?: "SIGTERM" | "SIGINT"): Promise<number | string>;
}

/**
 * Starts `cli.ts <args>` as a child process. It is killed after `lifetimeMs` in any case.
 *
 * @param args CLI arguments.
 * @param env Extra environment.
 * @param lifetimeMs Hard limit on the child's life.
 * @returns The running child.
 */
export function startCli(args: string[], env: Record<string, string> = {}, lifetimeMs = 60_000): CliProcess {
  const [binary, ...prefix] = cliCommand();
  const child = spawn(binary, [...prefix, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    out += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr!.on("data", (chunk: string) => (err += chunk));
  const killer = setTimeout(() => signalChild(child, "SIGKILL"), lifetimeMs);
  const exited = new Promise<number | string>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      resolve(code ?? signal ?? "unknown");
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern);
          if (match) finish(() => resolve(match));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`timed out waiting for ${pattern}\nstdout: ${out}\nstderr: ${err}`))),
          timeoutMs,
        );
        const onExit = () =>
          finish(() => reject(new Error(`exited before ${pattern} appeared\nstdout: ${out}\nstderr: ${err}`)));
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("close", onExit);
          settle();
        };
        listeners.add(check);
        child.on("close", onExit);
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      // process.kill, not child.kill: Deno's node:child_process reports a child it killed as
      // killed by the signal even when the child handled it and exited with its own code.
      signalChild(child, signal);
      const hard = setTimeout(() => signalChild(child, "SIGKILL"), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(hard);
      }
    },
  };
}

/**
 * Runs `cli.ts <args>` to completion.
 *
 * @param args CLI arguments.
 * @param env Extra environment.
 * @param timeoutMs Killed after this long.
 * @returns Exit code and output.
 */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<RunResult> {
  const cli = startCli(args, env, timeoutMs);
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/**
 * Polls until `check()` is true or the time is up.
 *
 * @param check Condition.
 * @param timeoutMs Limit.
 * @returns Whether the condition became true.
 */
export async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
