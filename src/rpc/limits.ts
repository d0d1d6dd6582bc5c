/**
 * Every limit and timing of the RPC engine, documented once, with the defaults right below
 * (`DEFAULT_RPC_LIMITS`). Each bound keeps memory or work finite when a peer misbehaves, and
 * each is an option of the node (`new PeerLink(name, { limits })`) and of `RpcEndpoint`.
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
 * - streams: `maxStreamsPerConnection` and `maxStreamsPerPeer` open, each buffering at most
 *   `streamWindow` bytes (the sender waits for credit), up to `maxStreamWindow` for a reader
 *   that keeps up, chunks of `streamChunkBytes`;
 * - memory of past calls: the reply cache (`replyCache*`) and the replay cache
 *   (`replayCacheEntries`).
 *
 * Where each is enforced: ARCHITECTURE.md, "Limits".
 *
 * @module
 */
import { MAX_SAFE_UDP_PAYLOAD, TCP_MAX_FRAME } from "../constants.ts";
import { MAX_NESTING_DEPTH } from "../wire/values.ts";

/** Limits and timings of a node's RPC engine. Durations in milliseconds, sizes in bytes. */
export interface RpcLimits {
  /**
   * Largest UDP datagram sent (default `MAX_SAFE_UDP_PAYLOAD`, 1200: an Ethernet MTU minus
   * headers, with room for tunnels). Transport `"auto"` switches to TCP above it.
   */
  maxDatagramBytes: number;
  /**
   * Largest message over TCP (default `TCP_MAX_FRAME`, 4 MiB, as Python PeerLink 1.2): bounds
   * the JSON text and, separately, the total of the raw `Uint8Array` values beside it.
   */
  maxFrameBytes: number;
  /** Deepest nesting of arrays and objects in args, kwargs and results (default 100). */
  maxDepth: number;
  /** Handlers running at once; more calls are answered with `BusyError` (default 1024). */
  maxConcurrentHandlers: number;
  /** Handlers running at once for one caller address, so one peer cannot take every slot (default 256). */
  maxHandlersPerCaller: number;
  /** Calls pending toward one peer; a further `call()` fails at once with `BusyError` (default 16,384). */
  maxPendingCallsPerPeer: number;
  /**
   * How long an answered call id (and its reply) is remembered, so a retransmitted request is
   * answered from memory instead of running the handler twice (default 60 s).
   */
  replyCacheTtl: number;
  /** Most call ids remembered; the oldest are forgotten first (default 10,000). */
  replyCacheEntries: number;
  /** Most bytes of remembered replies; the oldest are forgotten first (default 32 MiB). */
  replyCacheBytes: number;
  /**
   * First UDP retransmission of an unanswered request (default 100 ms; later ones adapt to the
   * measured round trip). Only peers that advertise at-most-once execution (PeerLink-TS) get
   * retransmissions: a Python 1.2 peer would run the handler once per copy.
   */
  retryInitial: number;
  /** Growth factor of the retransmission interval (default 1.5). */
  retryBackoff: number;
  /** Longest interval between two retransmissions (default 500 ms: about 12 sends within 5 s). */
  retryMaxInterval: number;
  /** No retransmissions after this long into a call; below `replyCacheTtl`, so the peer still remembers the id (default 30 s). */
  retryWindow: number;
  /** UDP calls in flight per peer; more wait their turn (default 64). */
  udpWindow: number;
  /** TCP connect timeout; the call's own deadline applies too (default 5 s). */
  connectTimeout: number;
  /** Pooled client connections close after this long unused (default 15 s). */
  clientIdleTimeout: number;
  /**
   * Accepted connections close after this long without requests (default 60 s: longer than
   * `clientIdleTimeout`, so the caller normally closes first and never races the server).
   */
  serverIdleTimeout: number;
  /**
   * Accepted TCP connections open at once (default 256). At the limit a new connection
   * displaces the longest-idle one with nothing in flight, or is refused with a `BusyError` frame.
   */
  maxConnections: number;
  /** Accepted TCP connections open at once from one address, same rules (default 64). */
  maxConnectionsPerSource: number;
  /** Time to send a complete frame, from accept or from a frame's first byte (default 10 s). */
  readTimeout: number;
  /** Bytes per second a large frame is given time for, on top of `readTimeout` (default 64 KiB/s). */
  minReadRate: number;
  /** Time a reply frame may wait to be written before the connection is closed (default 30 s). */
  writeTimeout: number;
  /** Bytes of partly received frames held over all connections; beyond, reading pauses (default 64 MiB). */
  maxBufferedBytes: number;
  /**
   * Requests of one connection in service at once; reading pauses beyond (default 128). Requests
   * carrying streams do not count: their streams follow on the connection.
   */
  maxRequestsPerConnection: number;
  /**
   * Largest UDP reply, as a multiple of its request, to an unauthenticated caller, so a
   * spoofed small request cannot reflect a large datagram (default 3; `Infinity` turns it off).
   * A larger reply is fetched over TCP (PeerLink-TS does it by itself).
   */
  maxUdpAmplification: number;
  /**
   * Bytes a received stream buffers at first: the sender gets credit for this much and waits
   * for more as the reader reads (default 256 KiB; at least 64 KiB, the initial credit; at most
   * 1 GiB). A slow reader's stream never buffers more.
   */
  streamWindow: number;
  /**
   * Most bytes a received stream buffers once its window grew: the window doubles when a fast
   * reader waits for data, up to this (default 4 MiB; at most 1 GiB). Equal to `streamWindow`
   * turns growth off.
   */
  maxStreamWindow: number;
  /**
   * Largest chunk of a byte stream on the wire; bigger chunks are split (default 64 KiB, or
   * `maxFrameBytes` when smaller; at most `maxFrameBytes`).
   */
  streamChunkBytes: number;
  /** Streams open at once on one TCP connection, both directions; more are refused with `BusyError` (default 256). */
  maxStreamsPerConnection: number;
  /** Streams received at once from one peer address, over all its connections (default 1024). */
  maxStreamsPerPeer: number;
  /**
   * A reader waiting longer than this for the next chunk of a received stream (a call's stream
   * or a duplex stream) gets a `PeerTimeoutError` and the stream closes (default `Infinity`:
   * off, since a log tail or a shell may rightly stay quiet for long; a peer that leaves ends its
   * streams anyway).
   */
  streamIdleTimeout: number;
  /** Replay window of sealed messages: nodes' clocks must agree within it (default 30 s). */
  replayWindow: number;
  /** Nonces remembered against replays, about 100 bytes each (default 100,000). */
  replayCacheEntries: number;
}

/**
 * The defaults of {@linkcode RpcLimits}.
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
  maxHandlersPerCaller: 256,
  maxPendingCallsPerPeer: 16_384,
  replyCacheTtl: 60_000,
  replyCacheEntries: 10_000,
  replyCacheBytes: 32 * 1024 * 1024,
  retryInitial: 100,
  retryBackoff: 1.5,
  retryMaxInterval: 500,
  retryWindow: 30_000,
  udpWindow: 64,
  connectTimeout: 5000,
  clientIdleTimeout: 15_000,
  serverIdleTimeout: 60_000,
  maxConnections: 256,
  maxConnectionsPerSource: 64,
  readTimeout: 10_000,
  minReadRate: 64 * 1024,
  writeTimeout: 30_000,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxRequestsPerConnection: 128,
  maxUdpAmplification: 3,
  streamWindow: 256 * 1024,
  maxStreamWindow: 4 * 1024 * 1024,
  streamChunkBytes: 64 * 1024,
  maxStreamsPerConnection: 256,
  maxStreamsPerPeer: 1024,
  streamIdleTimeout: Infinity,
  replayWindow: 30_000,
  replayCacheEntries: 100_000,
});

/** Largest stream window: what one CREDIT frame grants (at most 2^32 - 1 bytes) stays well within. */
const MAX_STREAM_WINDOW = 1 << 30;

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
  for (const key of ["streamWindow", "maxStreamWindow"] as const) {
    // A CREDIT frame grants at most 2^32 - 1 bytes at once (a window and its growth).
    if (limits[key] > MAX_STREAM_WINDOW) {
      throw new RangeError(`RPC limit ${key} must be at most 1 GiB (${MAX_STREAM_WINDOW} bytes), got ${limits[key]}`);
    }
  }
  if (given.streamChunkBytes === undefined) {
    limits.streamChunkBytes = Math.min(limits.streamChunkBytes, limits.maxFrameBytes);
  } else if (limits.streamChunkBytes > limits.maxFrameBytes) {
    throw new RangeError(
      `RPC limit streamChunkBytes (${limits.streamChunkBytes}) must be at most maxFrameBytes (${limits.maxFrameBytes}): a chunk travels in one frame`,
    );
  }
  return limits;
}
