/**
 * The options of a PeerLink node, its calls and its peer proxies, each documented in one place.
 *
 * @module
 */
import type { RuntimeOption } from "./runtime_default.ts";
import type { Clock } from "./clock.ts";
import type { DiscoveryLimits, DiscoveryOptions, PeerDownReason, PeerInfo } from "./discovery.ts";
import type { WideAreaOptions } from "./dnssd/options.ts";
import type { Logger } from "./log.ts";
import type { CallOptions } from "./rpc/call.ts";
import type { RpcLimits } from "./rpc/limits.ts";

export type { CallOptions, Transport } from "./rpc/call.ts";

/**
 * Everything `new PeerLink(name, options)` accepts. Every field is optional.
 *
 * @example
 * ```ts
 * import type { PeerLinkOptions } from "@peerlink/peerlink";
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
   * Shared secret. The realm becomes `deriveRealm(secret)` (first 16 hex characters of
   * `sha256("peerlink|" + secret)`), exactly as Python PeerLink 1.2 derives it for its
   * ports, so the default ports match Python's. Beyond Python: the node announces on its
   * realm's service type, every RPC message is sealed (authenticated and encrypted with keys
   * derived from the secret; replays dropped), and the announcement carries a proof, so peers
   * accept only nodes that know the secret. Use a long random string. Python 1.2 with the
   * same secret still announces on the public type and seals nothing: see `allowInsecurePeers`.
   */
  secret?: string;
  /**
   * With a `secret`: also talk to peers that have none, in plaintext, which anyone on the LAN
   * can read and forge. The node then also announces itself on, and browses, the public
   * `_peerlink._tcp` type, where Python PeerLink 1.2 nodes (with or without a secret) and
   * PeerLink-TS nodes without one are; a peer that proved the secret always wins over a public
   * announcement of the same name. Default `false`.
   */
  allowInsecurePeers?: boolean;
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
   * `false` makes a client-only node, for tools and dashboards that only call: it browses and
   * calls like any node, receiving replies on an OS-chosen UDP port, but it is never announced
   * (no probing, no goodbye: peers never see it come or go, and its name need not be unique)
   * and it serves nothing (no TCP listener; a request that reaches it is answered with a
   * `NotServing` error). Default `true`.
   */
  announce?: boolean;
  /**
   * How long `stop()` lets the handlers that are running finish and their replies leave
   * before it says goodbye, in milliseconds; after it, their `currentPeer().signal` aborts.
   * Default `STOP_GRACE` (5000). `stop({ grace })` overrides it for one stop.
   */
  stopGrace?: number;
  /**
   * When another node on the LAN already uses this name: `false` (default) makes `start()`
   * reject with a name conflict; `true` picks `"Name (2)"` and so on, as mDNS does.
   */
  allowRename?: boolean;
  /**
   * Limits that keep the node alive under load or abuse (concurrent handlers, pending calls per
   * peer, TCP connections total and per source, read timeouts, buffered bytes, UDP reply
   * amplification, the largest TCP frame `maxFrameBytes`, ...). Each has a sane default (see
   * `RpcLimits`); a caller over a limit gets `BusyError`, not a timeout.
   */
  limits?: Partial<RpcLimits>;
  /**
   * Bounds on what other hosts on the LAN can make this node keep through mDNS (see
   * `DiscoveryLimits`): records cached in all (2048) and per source address (256), peers
   * listed (256), `acceptPeer` checks at once, ... Each has a default; raise the first and
   * third on a LAN of more than some 300 nodes.
   */
  discoveryLimits?: Partial<DiscoveryLimits>;
  /** Where diagnostics go. Default: a logger prefixed `[peerlink <name>]`, quiet unless `verbose`. */
  logger?: Logger;
  /** Turn on debug lines for this node. Default: on when the environment has `PEERLINK_DEBUG=1`. */
  verbose?: boolean;
  /**
   * Socket adapter: `"auto"` (default: Deno, Bun or Node, whichever runs), `"deno"`, `"bun"`,
   * `"node"`, or a `SocketRuntime` object (tests pass a `MemoryNetwork` host).
   */
  runtime?: RuntimeOption;
  /** Time source. Default: the system clock. Tests pass a fake clock. */
  clock?: Clock;
  /**
   * Beyond one LAN: also browse, and with a TSIG key register in, a unicast DNS domain served
   * by a real DNS server (RFC 6763 wide-area DNS-SD), so peers on other subnets, VLANs or VPNs
   * find each other. See `WideAreaOptions` (`domain`, `server`, `tsig`, `ttl`, `pollInterval`,
   * `addresses`). Default: mDNS only.
   */
  wideArea?: WideAreaOptions;
  /**
   * For networks with neither multicast nor a DNS server (a VPN of a few hosts): numeric
   * addresses of hosts to ask directly by unicast DNS-SD on port 5353 (RFC 6762 section 5.5).
   * This node also answers such queries, from these hosts only. Default: none.
   */
  seeds?: string[];
  /**
   * Advanced: replaces mDNS discovery, e.g. with a static peer list on a network that blocks
   * multicast. Called by each `start()` with what the node would publish; the default creates a
   * `Discovery` (mDNS/DNS-SD).
   */
  discovery?: (options: DiscoveryOptions) => PeerDiscovery;
}

/**
 * What a node needs from discovery (the mDNS `Discovery` class implements it): publish this
 * node, keep the peer list, report peers coming and going.
 */
export interface PeerDiscovery {
  /** The published name (differs from the requested one only after an allowed rename). */
  readonly name: string;
  /** Publishes and starts browsing; rejects on a name conflict. */
  start(): Promise<void>;
  /** Withdraws the publication (goodbye) and stops browsing. Idempotent. */
  stop(): Promise<void>;
  /**
   * Known peers now, without this node. Each `PeerInfo` is a snapshot: a change to a peer
   * (including a newer `lastSeen`) comes as a new object, never by mutating an old one.
   */
  peers(): PeerInfo[];
  /** The peer with exactly this name. */
  resolve(name: string): PeerInfo | undefined;
  /** Resolves once `count` peers are known; rejects on timeout or abort. */
  waitForPeers(count: number, options?: { timeout?: number; signal?: AbortSignal }): Promise<PeerInfo[]>;
  /** Peer arrived. */
  on(event: "peer-up", fn: (peer: PeerInfo) => void): () => void;
  /** Peer left. */
  on(event: "peer-down", fn: (peer: PeerInfo, reason: PeerDownReason) => void): () => void;
  /** A call to this peer failed in a way that suggests it is gone: check on it now. */
  reportUnreachable(name: string): void;
  /** Exceptions caught while handling received announcements that were bugs, not bad input (counted in `stats().internalErrors`). */
  readonly internalErrors?: number;
}

/** Listener signatures of `node.on(event, listener)`. */
export interface PeerLinkEvents {
  /** A peer appeared (or re-appeared with a new instance, address or port). */
  "peer-up": [peer: PeerInfo];
  /** A peer left: `"goodbye"` (it stopped), `"expired"` (silent too long), `"replaced"` (it restarted). */
  "peer-down": [peer: PeerInfo, reason: PeerDownReason];
}

/**
 * Options bound to a proxy by `node.peer(name, options)`: the transport, timeout and signal
 * of every call through it (see {@linkcode CallOptions}).
 */
export type PeerOptions = Pick<CallOptions, "transport" | "timeout" | "signal">;

/** Options of `node.stop(options)`. */
export interface StopOptions {
  /**
   * Longest wait for the handlers running now to finish and their replies to leave, in
   * milliseconds (0: none). Default the node's `stopGrace` option, else `STOP_GRACE` (5000).
   */
  grace?: number;
}

/** Options of `node.openStream(peer, name, options)`. */
export interface OpenStreamOptions {
  /** Milliseconds to wait for the peer's handler to take the stream; default the node's `timeout`. */
  timeout?: number;
  /** Aborts opening; once open, closes the stream. */
  signal?: AbortSignal;
}

/** Options of `node.waitForPeers(count, options)`. */
export interface WaitForPeersOptions {
  /** Give up after this many milliseconds (rejects with a `PeerLinkError` of code `TIMEOUT`). Default `DISCOVERY_WAIT`. */
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
 * import type { CallResult } from "@peerlink/peerlink";
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
