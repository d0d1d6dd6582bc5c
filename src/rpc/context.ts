/**
 * Who is calling: inside a handler, {@linkcode currentPeer} returns the caller, also after
 * `await`s and inside timers the handler starts. Built on `AsyncLocalStorage` from
 * `node:async_hooks`, which Deno, Bun and Node all provide (Python PeerLink 1.2 used a
 * `ContextVar` the same way).
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** Where a request came from, as the transports report it. */
export interface RequestSource {
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

/** The caller of the running handler, and the handler's abort signal. */
export interface CallerInfo extends RequestSource {
  /**
   * Aborted when this node is stopping and the handler has not finished within the grace
   * period (`stop({ grace })`, default `STOP_GRACE`): its reply can no longer be sent, so
   * stop working. The reason is a `NodeStopped` error. A handler that finishes within the
   * grace period never sees it abort, and its reply reaches the caller.
   */
  signal: AbortSignal;
}

const storage = new AsyncLocalStorage<CallerInfo>();

/** The signal of a caller given without one: it never aborts. */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * The caller of the handler that is running, or `undefined` outside a handler. Its `signal`
 * tells a long handler that the node is stopping and will not wait for it any longer.
 *
 * @returns The caller.
 *
 * @example
 * ```ts
 * import { currentPeer, PeerLink } from "@peerlink/peerlink";
 * const node = new PeerLink("Renderer").register("render", async (frames: number) => {
 *   const caller = currentPeer()!;
 *   for (let frame = 0; frame < frames; frame++) {
 *     caller.signal.throwIfAborted(); // the node is stopping and its grace period is over
 *     await new Promise((resolve) => setTimeout(resolve, 10)); // render one frame
 *   }
 *   return `${frames} frames for ${caller.name}`;
 * });
 * ```
 */
export function currentPeer(): CallerInfo | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` with {@linkcode currentPeer} returning `peer` (also in everything `fn` starts
 * asynchronously). Use it to hand the caller on to work that runs outside the handler's
 * async context, such as a queue consumer, or in tests of handlers. A `peer` without a
 * `signal` gets one that never aborts.
 *
 * @param peer The caller to expose, or `undefined` for none.
 * @param fn The function to run.
 * @param args Arguments for `fn`.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { currentPeer, runWithCurrentPeer } from "@peerlink/peerlink";
 * const peer = { name: "Host", address: "10.0.0.2", port: 50000, transport: "udp" as const };
 * const name = runWithCurrentPeer(peer, () => currentPeer()?.name);
 * console.log(name); // "Host"
 * ```
 */
export function runWithCurrentPeer<R, A extends unknown[]>(
  peer: RequestSource & { signal?: AbortSignal } | undefined,
  fn: (...args: A) => R,
  ...args: A
): R {
  if (peer === undefined) return storage.exit(fn, ...args);
  const caller = peer.signal ? peer as CallerInfo : { ...peer, signal: NEVER_ABORTED };
  return storage.run(caller, fn, ...args);
}
