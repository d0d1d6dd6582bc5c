/**
 * The options of a PeerLink node, its calls and its peer proxies, each documented in one place.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import type { Logger } from "./log.ts";
import type { SocketRuntime } from "./net.ts";

/**
 * How a call travels. `"auto"` (the default) uses UDP when the encoded request fits
 * `MAX_SAFE_UDP_PAYLOAD` (1200 bytes) and TCP otherwise; `"udp"` refuses larger requests with
 * `PayloadTooLarge` before sending anything; `"tcp"` always uses TCP.
 */
export type Transport = "auto" | "udp" | "tcp";

/**
 * Everything `new PeerLink(name, options)` accepts. Every field is optional.
 *
 * @example
 * ```ts
 * import type { PeerLinkOptions } from "./options.ts";
 * const options: PeerLinkOptions = {
 *   secret: "kitchen-lan",   // only nodes with the same secret see and call each other
 *   timeout: 2_000,          // default per-call timeout
 *   verbose: true,           // debug lines prefixed with [peerlink <name>]
 * };
 * ```
 */
export interface PeerLinkOptions {
  /**
   * Realm (a namespace on the LAN): nodes of different realms never see or call each other.
   * Give `realm` or `secret`, not both. Default: none (the public realm, as Python PeerLink).
   */
  realm?: string;
  /**
   * Shared secret; the realm becomes `deriveRealm(secret)` (first 16 hex characters of
   * `sha256("peerlink|" + secret)`), exactly as Python PeerLink 1.2 derives it.
   */
  secret?: string;
  /**
   * UDP port for calls. Default `derivePort(name, realm)`, a stable port in 49152-65534;
   * when that one is busy the node binds an OS-chosen port instead and logs a warning
   * (discovery advertises the real port). An explicit port that is busy makes `start()` reject.
   */
  port?: number;
  /** TCP port for large calls. Default `derivePort(name, realm, "tcp")`; busy handling as for `port`. */
  tcpPort?: number;
  /**
   * Interfaces to announce and browse on, by name (`"eth0"`) or address (`"192.168.1.7"`).
   * Default: every multicast-capable interface, or loopback when there is none.
   */
  interfaces?: string[];
  /** Default timeout of each call in milliseconds. Default `RPC_TIMEOUT` (5000). */
  timeout?: number;
  /**
   * When another node on the LAN already uses this name: `false` (default) makes `start()`
   * reject with a name conflict; `true` picks `"Name (2)"` and so on, as mDNS does.
   */
  allowRename?: boolean;
  /** Largest TCP frame accepted or sent, in bytes. Default `TCP_MAX_FRAME` (4 MiB). */
  maxFrameBytes?: number;
  /** Where diagnostics go. Default: a logger prefixed `[peerlink <name>]`, quiet unless `verbose`. */
  logger?: Logger;
  /** Turn on debug lines for this node. Default: on when the environment has `PEERLINK_DEBUG=1`. */
  verbose?: boolean;
  /** Socket adapter. Default `autoRuntime()` (picks Deno, Bun or Node). Tests pass an in-memory host. */
  runtime?: SocketRuntime;
  /** Time source. Default: the system clock. Tests pass a fake clock. */
  clock?: Clock;
}

/** Options of one call (`node.call(peer, fn, args, options)`). */
export interface CallOptions {
  /** Transport; default `"auto"`. */
  transport?: Transport;
  /** Milliseconds before the call fails with `PeerTimeoutError`; default the node's `timeout`. */
  timeout?: number;
  /** Cancels the call promptly: it rejects with an `AbortError`. */
  signal?: AbortSignal;
  /** Keyword arguments for a Python handler (`def fn(*args, **kwargs)`). */
  kwargs?: Record<string, unknown>;
}

/** Options bound to a proxy by `node.peer(name, options)`: every call through it uses them. */
export interface PeerOptions {
  /** Transport for every call of this proxy; default `"auto"`. */
  transport?: Transport;
  /** Timeout of every call of this proxy, ms; default the node's `timeout`. */
  timeout?: number;
  /** Cancels every call of this proxy still running when it aborts. */
  signal?: AbortSignal;
}

/** Options of `node.waitForPeers(count, options)`. */
export interface WaitForPeersOptions {
  /** Give up after this many milliseconds (rejects with `PeerTimeoutError`). Default `DISCOVERY_WAIT`. */
  timeout?: number;
  /** Stops waiting when aborted. */
  signal?: AbortSignal;
}

/**
 * The outcome of one peer's part of a fan-out (`node.call("ALL", fn, args)`); the fan-out
 * never rejects because one peer failed.
 *
 * @example
 * ```ts
 * import type { CallResult } from "./options.ts";
 * function report(results: CallResult<string>[]) {
 *   for (const r of results) console.log(r.peer, r.ok ? r.value : r.error.message);
 * }
 * ```
 */
export type CallResult<T = unknown> =
  | {
    /** The peer's name. */
    peer: string;
    /** The call succeeded. */
    ok: true;
    /** What the handler returned. */
    value: T;
    /** Round-trip time in milliseconds. */
    elapsedMs: number;
  }
  | {
    /** The peer's name. */
    peer: string;
    /** The call failed. */
    ok: false;
    /** Why: `RemoteError`, `PeerTimeoutError`, ... */
    error: Error;
    /** Time until the failure, milliseconds. */
    elapsedMs: number;
  };
