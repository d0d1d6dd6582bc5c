/**
 * Tunables of the RPC engine, all with defaults from `constants.ts`. Each bound keeps memory or
 * work finite when a peer misbehaves; later limits (connections per source, read timeouts for
 * slow clients) slot in here.
 *
 * @module
 */
import {
  CONNECT_TIMEOUT,
  MAX_NESTING_DEPTH,
  MAX_SAFE_UDP_PAYLOAD,
  REPLY_CACHE_MAX_BYTES,
  REPLY_CACHE_MAX_ENTRIES,
  REPLY_CACHE_TTL,
  TCP_CLIENT_IDLE_TIMEOUT,
  TCP_MAX_FRAME,
  TCP_SERVER_IDLE_TIMEOUT,
  UDP_RETRY_BACKOFF,
  UDP_RETRY_INITIAL,
  UDP_RETRY_MAX_INTERVAL,
  UDP_RETRY_WINDOW,
} from "../constants.ts";

/** Limits and timings of an `RpcEndpoint`. Durations in milliseconds, sizes in bytes. */
export interface RpcLimits {
  /** Largest UDP datagram sent (default `MAX_SAFE_UDP_PAYLOAD`, 1200). */
  maxDatagramBytes: number;
  /** Largest JSON text of a TCP message, and separately of its binary values (default `TCP_MAX_FRAME`, 4 MiB). */
  maxFrameBytes: number;
  /** Deepest nesting in args, kwargs and results (default 100). */
  maxDepth: number;
  /** Handlers running at once; more calls are answered with a `BusyError` (default 1024). */
  maxConcurrentHandlers: number;
  /** How long answered call ids are remembered (default 60 s). */
  replyCacheTtl: number;
  /** Most call ids remembered (default 10,000). */
  replyCacheEntries: number;
  /** Most bytes of remembered replies (default 32 MiB). */
  replyCacheBytes: number;
  /** First UDP retransmission after this long (default 100 ms). */
  retryInitial: number;
  /** Growth factor of the retransmission interval (default 1.5). */
  retryBackoff: number;
  /** Longest retransmission interval (default 500 ms). */
  retryMaxInterval: number;
  /** No retransmissions after this long into a call (default 30 s). */
  retryWindow: number;
  /** UDP calls in flight per peer; more wait their turn (default 64). */
  udpWindow: number;
  /** TCP connect timeout (default 5 s; the call's own deadline applies too). */
  connectTimeout: number;
  /** Pooled client connections close after this long unused (default 15 s). */
  clientIdleTimeout: number;
  /** Accepted connections close after this long without requests (default 60 s). */
  serverIdleTimeout: number;
}

/**
 * The defaults.
 *
 * @example
 * ```ts
 * import { DEFAULT_RPC_LIMITS } from "./limits.ts";
 * console.log(DEFAULT_RPC_LIMITS.maxFrameBytes); // 4194304
 * ```
 */
export const DEFAULT_RPC_LIMITS: Readonly<RpcLimits> = Object.freeze({
  maxDatagramBytes: MAX_SAFE_UDP_PAYLOAD,
  maxFrameBytes: TCP_MAX_FRAME,
  maxDepth: MAX_NESTING_DEPTH,
  maxConcurrentHandlers: 1024,
  replyCacheTtl: REPLY_CACHE_TTL,
  replyCacheEntries: REPLY_CACHE_MAX_ENTRIES,
  replyCacheBytes: REPLY_CACHE_MAX_BYTES,
  retryInitial: UDP_RETRY_INITIAL,
  retryBackoff: UDP_RETRY_BACKOFF,
  retryMaxInterval: UDP_RETRY_MAX_INTERVAL,
  retryWindow: UDP_RETRY_WINDOW,
  udpWindow: 64,
  connectTimeout: CONNECT_TIMEOUT,
  clientIdleTimeout: TCP_CLIENT_IDLE_TIMEOUT,
  serverIdleTimeout: TCP_SERVER_IDLE_TIMEOUT,
});

/**
 * Fills in defaults and checks that every given value is a positive number.
 *
 * @param given Partial limits.
 * @returns Complete limits.
 * @throws {RangeError} Naming the first invalid limit.
 *
 * @example
 * ```ts
 * import { resolveLimits } from "./limits.ts";
 * console.log(resolveLimits({ maxFrameBytes: 1 << 20 }).maxFrameBytes); // 1048576
 * ```
 */
export function resolveLimits(given: Partial<RpcLimits> = {}): RpcLimits {
  const limits = { ...DEFAULT_RPC_LIMITS };
  for (const key of Object.keys(DEFAULT_RPC_LIMITS) as Array<keyof RpcLimits>) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value > 0) || Number.isNaN(value)) {
      throw new RangeError(`RPC limit ${key} must be a positive number, got ${String(value)}`);
    }
    limits[key] = value;
  }
  if (limits.maxFrameBytes > 0x7fff_ffff) {
    throw new RangeError(`RPC limit maxFrameBytes must be below 2 GiB, got ${limits.maxFrameBytes}`);
  }
  return limits;
}
