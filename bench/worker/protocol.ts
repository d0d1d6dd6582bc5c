/**
 * The line protocol between the benchmark driver (`bench/main.ts`) and its worker processes
 * (`bench/worker/main.ts`), and the helpers every worker uses.
 *
 * A worker writes one JSON object per line to stdout, prefixed with {@linkcode LINE_TAG} so
 * that stray log lines from the code under test never confuse the driver; it reads one JSON
 * command per line from stdin. Every reply to a command carries the command's `seq`.
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";

/** Prefix of every protocol line a worker prints. */
export const LINE_TAG = "@@bench ";

/** A command from the driver: `cmd` names it, `seq` pairs it with its reply, the rest are its parameters. */
export interface Command {
  /** What to do, e.g. `"latency"`, `"exit"`. */
  cmd: string;
  /** Sequence number the reply carries back. */
  seq: number;
  /** Parameters of the command. */
  [key: string]: unknown;
}

/**
 * Sends one message to the driver.
 *
 * @param message A JSON-serialisable object; `type` tells the driver what it is.
 */
export function emit(message: Record<string, unknown>): void {
  process.stdout.write(`${LINE_TAG}${JSON.stringify(message)}\n`);
}

/**
 * Reads the driver's commands from stdin, one JSON object per line, until stdin closes.
 *
 * @returns The commands, in order.
 */
export async function* commands(): AsyncGenerator<Command> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      const trimmed = line.trim();
      if (trimmed.length === 0) continue;
      yield JSON.parse(trimmed) as Command;
    }
  } finally {
    lines.close();
  }
}

/**
 * Wall-clock time in milliseconds with sub-millisecond resolution. Processes on one machine
 * share it (within about a millisecond), so the driver can subtract one worker's timestamps
 * from another's, e.g. "node started" from "peer reported it".
 *
 * @returns Milliseconds since the Unix epoch.
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Resident set size of this process in bytes, on every runtime.
 *
 * @returns RSS in bytes.
 */
export function residentBytes(): number {
  return process.memoryUsage().rss;
}

/**
 * Runs a full garbage collection where the runtime allows it (Node and Deno workers are
 * started with V8's `--expose-gc`; Bun has `Bun.gc`), so memory figures do not depend on when
 * the collector last ran.
 *
 * @returns Whether a collection ran.
 */
export function collectGarbage(): boolean {
  const g = globalThis as { gc?: () => void; Bun?: { gc?: (force: boolean) => void } };
  if (typeof g.Bun?.gc === "function") {
    g.Bun.gc(true);
    return true;
  }
  if (typeof g.gc === "function") {
    g.gc();
    return true;
  }
  return false;
}

/**
 * Resident set size after a full garbage collection, where the runtime allows one.
 *
 * @returns `rss` in bytes, and whether a collection ran.
 */
export function settledRss(): { rss: number; collected: boolean } {
  const collected = collectGarbage();
  return { rss: residentBytes(), collected };
}

/** The runtime executing this worker. */
export type RuntimeName = "deno" | "bun" | "node";

/**
 * Tells which runtime executes this code.
 *
 * @returns `"deno"`, `"bun"` or `"node"`.
 */
export function currentRuntime(): RuntimeName {
  const g = globalThis as { Deno?: { version?: { deno?: unknown } }; Bun?: { version?: unknown } };
  if (typeof g.Deno?.version?.deno === "string") return "deno";
  if (typeof g.Bun?.version === "string") return "bun";
  return "node";
}

/**
 * The version of the runtime executing this code.
 *
 * @returns e.g. `"2.9.6"`.
 */
export function runtimeVersion(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  return g.Deno?.version.deno ?? g.Bun?.version ?? process.versions.node;
}

/**
 * Waits a little, for settling between phases.
 *
 * @param ms Milliseconds.
 * @returns Resolves after `ms`.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
