/**
 * Who is calling: inside a handler, {@linkcode currentPeer} returns the caller, also after
 * `await`s and inside timers the handler starts. Built on `AsyncLocalStorage` from
 * `node:async_hooks`, which Deno, Bun and Node all provide (Python PeerLink 1.2 used a
 * `ContextVar` the same way).
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The caller of the running handler. */
export interface CallerInfo {
  /** Caller's node name (the request's `src`). */
  name: string;
  /** Caller's address as seen by this node. */
  address: string;
  /** Caller's source port. */
  port: number;
  /** Transport the request arrived on. */
  transport: "udp" | "tcp";
  /**
   * True when the request was sealed with this node's secret (so `name` is authenticated: only
   * a node knowing the secret could send it); false or absent for plaintext requests.
   */
  authenticated?: boolean;
}

const storage = new AsyncLocalStorage<CallerInfo>();

/**
 * The caller of the handler that is running, or `undefined` outside a handler.
 *
 * @returns The caller.
 *
 * @example
 * ```ts
 * import { currentPeer } from "./context.ts";
 * const whoami = () => `hello ${currentPeer()?.name ?? "stranger"}`;
 * console.log(whoami()); // "hello stranger" outside a handler
 * ```
 */
export function currentPeer(): CallerInfo | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` with {@linkcode currentPeer} returning `peer` (also in everything `fn` starts
 * asynchronously). Use it to hand the caller on to work that runs outside the handler's
 * async context, such as a queue consumer, or in tests of handlers.
 *
 * @param peer The caller to expose, or `undefined` for none.
 * @param fn The function to run.
 * @param args Arguments for `fn`.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { currentPeer, runWithCurrentPeer } from "./context.ts";
 * const peer = { name: "Host", address: "10.0.0.2", port: 50000, transport: "udp" as const };
 * const name = runWithCurrentPeer(peer, () => currentPeer()?.name);
 * console.log(name); // "Host"
 * ```
 */
export function runWithCurrentPeer<R, A extends unknown[]>(
  peer: CallerInfo | undefined,
  fn: (...args: A) => R,
  ...args: A
): R {
  return peer === undefined ? storage.exit(fn, ...args) : storage.run(peer, fn, ...args);
}
