/**
 * Tunables of the RPC engine, all with defaults from `constants.ts`. Each bound keeps memory or
 * work finite when a peer misbehaves, and each is an option of `RpcEndpoint` (`limits`).
 *
 * What a hostile or broken peer can cost a node, with the defaults:
 * - handlers: `maxConcurrentHandlers` running in all, `maxHandlersPerCaller` per caller address;
 *   more calls are answered with `BusyError` at once;
 * - outgoing calls: `maxPendingCallsPerPeer` per peer (then `BusyError` at the caller);
 * - TCP: `maxConnections` open (`maxConnectionsPerSource` per address); a silent or trickling
 *   client is closed after `readTimeout` (plus the frame size at `minReadRate`); a client
 *   that does not read its replies after `writeTimeout`; partial frames hold at most
 *   `maxBufferedBytes` in all (each connection at most one frame, `maxFrameBytes`), and a
 *   connection has at most `maxRequestsPerConnection` requests in service;
 * - UDP: unauthenticated replies are at most `maxUdpAmplification` times their request;
 *   at most `maxPendingVerifications` sealed datagrams are being verified at once;
 * - memory of past calls: the reply cache (`replyCache*`) and the replay cache
 *   (`replayCacheEntries`).
 *
 * @module
 */
import {
  CONNECT_TIMEOUT,
  MAX_BUFFERED_BYTES,
  MAX_CONCURRENT_HANDLERS,
  MAX_HANDLERS_PER_CALLER,
  MAX_NESTING_DEPTH,
  MAX_PENDING_CALLS_PER_PEER,
  MAX_PENDING_VERIFICATIONS,
  MAX_REQUESTS_PER_CONNECTION,
  MAX_SAFE_UDP_PAYLOAD,
  MAX_TCP_CONNECTIONS,
  MAX_TCP_CONNECTIONS_PER_SOURCE,
  MAX_UDP_AMPLIFICATION,
  REPLAY_CACHE_MAX_ENTRIES,
  REPLAY_WINDOW,
  REPLY_CACHE_MAX_BYTES,
  REPLY_CACHE_MAX_ENTRIES,
  REPLY_CACHE_TTL,
  TCP_CLIENT_IDLE_TIMEOUT,
  TCP_MAX_FRAME,
  TCP_MIN_READ_RATE,
  TCP_READ_TIMEOUT,
  TCP_SERVER_IDLE_TIMEOUT,
  TCP_WRITE_TIMEOUT,
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
  /** Handlers running at once for one caller address; more are answered with `BusyError` (default 256). */
  maxHandlersPerCaller: number;
  /** Calls pending toward one peer; a further `call()` fails at once with `BusyError` (default 16,384). */
  maxPendingCallsPerPeer: number;
  /** Accepted TCP connections open at once (default 256). */
  maxConnections: number;
  /** Accepted TCP connections open at once from one address (default 64). */
  maxConnectionsPerSource: number;
  /** Time to send a complete frame, from accept or from a frame's first byte (default 10 s). */
  readTimeout: number;
  /** Bytes per second a large frame is given time for, on top of `readTimeout` (default 64 KiB/s). */
  minReadRate: number;
  /** Time a reply frame may wait to be written before the connection is closed (default 30 s). */
  writeTimeout: number;
  /** Bytes of partly received frames held over all connections (default 64 MiB). */
  maxBufferedBytes: number;
  /** Requests of one connection in service at once; reading pauses beyond (default 128). */
  maxRequestsPerConnection: number;
  /** Largest UDP reply, as a multiple of its request, to an unauthenticated caller (default 3; `Infinity` turns it off). */
  maxUdpAmplification: number;
  /** Sealed datagrams being verified at once; more are dropped (default 1024). */
  maxPendingVerifications: number;
  /** Replay window of sealed messages (default 30 s). */
  replayWindow: number;
  /** Nonces remembered against replays (default 100,000). */
  replayCacheEntries: number;
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
  maxConcurrentHandlers: MAX_CONCURRENT_HANDLERS,
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
  maxHandlersPerCaller: MAX_HANDLERS_PER_CALLER,
  maxPendingCallsPerPeer: MAX_PENDING_CALLS_PER_PEER,
  maxConnections: MAX_TCP_CONNECTIONS,
  maxConnectionsPerSource: MAX_TCP_CONNECTIONS_PER_SOURCE,
  readTimeout: TCP_READ_TIMEOUT,
  minReadRate: TCP_MIN_READ_RATE,
  writeTimeout: TCP_WRITE_TIMEOUT,
  maxBufferedBytes: MAX_BUFFERED_BYTES,
  maxRequestsPerConnection: MAX_REQUESTS_PER_CONNECTION,
  maxUdpAmplification: MAX_UDP_AMPLIFICATION,
  maxPendingVerifications: MAX_PENDING_VERIFICATIONS,
  replayWindow: REPLAY_WINDOW,
  replayCacheEntries: REPLAY_CACHE_MAX_ENTRIES,
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
