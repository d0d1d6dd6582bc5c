/**
 * Functions a `peerlink serve` node offers: `echo` and `info` always (next to the node's own
 * `__ping__`), and with `--expose-demo` a few more that the demo and tutorials use.
 *
 * @module
 */
import process from "node:process";
import { detectRuntime } from "../src/runtime_kind.ts";
import type { Handler } from "../src/rpc/dispatch.ts";
import { currentPeer } from "../src/rpc/context.ts";
import { VERSION } from "../src/version.ts";

/** Largest `bytes(n)` answer: leaves room in a 4 MiB TCP frame. */
export const MAX_DEMO_BYTES = 3 * 1024 * 1024;
/** Longest `sleep(ms)`. */
export const MAX_DEMO_SLEEP_MS = 10_000;

/** What `info` answers. */
export interface NodeInfo {
  /** Node name. */
  name: string;
  /** `deno`, `bun` or `node`. */
  runtime: string;
  /** The runtime's version, e.g. `"2.9.6"`. */
  runtimeVersion: string;
  /** PeerLink version. */
  version: string;
  /** Seconds since the node started serving. */
  uptime: number;
  /** Process id. */
  pid: number;
  /** Registered function names. */
  functions: string[];
}

/**
 * The runtime and its version.
 *
 * @returns E.g. `{ runtime: "bun", runtimeVersion: "1.4.5" }`.
 */
export function runtimeInfo(): { runtime: string; runtimeVersion: string } {
  const runtime = detectRuntime();
  const versions = process.versions as Record<string, string | undefined>;
  return { runtime, runtimeVersion: versions[runtime] ?? versions.node ?? "?" };
}

/**
 * `echo` and `info`.
 *
 * @param node What `info` reports: the name and the registered functions, read at call time.
 * @param startedAt `performance.now()` when serving started.
 * @returns Handlers by name.
 *
 * @example
 * ```ts
 * import { basicHandlers } from "./builtins.ts";
 * const handlers = basicHandlers({ name: "NodeB", functions: () => ["echo", "info"] }, performance.now());
 * console.log(await handlers.echo("hi")); // "hi"
 * ```
 */
export function basicHandlers(
  node: { readonly name: string; functions(): string[] },
  startedAt: number,
): Record<string, Handler> {
  return {
    echo: (value: unknown) => value,
    info: (): NodeInfo => ({
      name: node.name,
      ...runtimeInfo(),
      version: VERSION,
      uptime: Math.round((performance.now() - startedAt) / 100) / 10,
      pid: process.pid,
      functions: node.functions(),
    }),
  };
}

/**
 * The `--expose-demo` functions: `add(a, b)`, `upper(text)`, `checksum(bytes)` (length and
 * SHA-256), `bytes(n)`, `sleep(ms)`, `whoami()` (the caller as this node sees it) and
 * `fail(message)` (throws, to show a `RemoteError`). Every input is checked: bad input is a
 * clear error for the caller, never a crash or an unbounded allocation.
 *
 * @returns Handlers by name.
 *
 * @example
 * ```ts
 * import { demoHandlers } from "./builtins.ts";
 * console.log(await demoHandlers().add(2, 3)); // 5
 * ```
 */
export function demoHandlers(): Record<string, Handler> {
  return {
    add: (a: unknown, b: unknown) => {
      if (typeof a !== "number" || typeof b !== "number") throw new TypeError("add(a, b) takes two numbers");
      return a + b;
    },
    upper: (text: unknown) => {
      if (typeof text !== "string") throw new TypeError("upper(text) takes a string");
      return text.toUpperCase();
    },
    checksum: async (blob: unknown) => {
      if (!(blob instanceof Uint8Array)) throw new TypeError("checksum(bytes) takes binary data (Uint8Array)");
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", blob as Uint8Array<ArrayBuffer>));
      return { bytes: blob.length, sha256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join("") };
    },
    bytes: (n: unknown) => {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_DEMO_BYTES) {
        throw new RangeError(`bytes(n) takes a whole number from 0 to ${MAX_DEMO_BYTES}`);
      }
      return demoPattern(n);
    },
    sleep: async (ms: unknown) => {
      if (typeof ms !== "number" || !(ms >= 0) || ms > MAX_DEMO_SLEEP_MS) {
        throw new RangeError(`sleep(ms) takes 0 to ${MAX_DEMO_SLEEP_MS} milliseconds`);
      }
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    },
    whoami: () => currentPeer() ?? null,
    fail: (message: unknown) => {
      throw new Error(typeof message === "string" ? message : "failing on purpose (demo)");
    },
  };
}

/**
 * Deterministic bytes (`i * 31 + 7` mod 256), so both sides of a demo can check a transfer.
 *
 * @param length How many.
 * @returns The bytes.
 */
export function demoPattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}
