/**
 * PeerLink's use of mDNS/DNS-SD: publishes this node, browses for peers, keeps the peer list
 * and reports peers coming and going.
 *
 * On the wire (compatible with Python PeerLink 1.2, so mixed LANs find each other):
 * - service type `_peerlink._tcp.local`, or `_peerlink-<realm>._tcp.local` for a node with a
 *   secret (`realm = deriveRealm(secret)`, computed by the caller);
 * - instance `<node name>._peerlink._tcp.local`, SRV port = the UDP port;
 * - TXT `node`, `udp_port`, `tcp_port`, `instance_id` (random per process), plus `realm` for a
 *   realm node and the caller's own keys (capabilities `ext`, runtime `rt`, version `ver`),
 *   which a Python peer ignores.
 *
 * Peers are checked before they are reported: our own records never count; a TXT `realm`
 * must match ours (a Python peer, which has none, is trusted on the service type alone), so
 * a realm never leaks into another even if two types collided; `acceptPeer` has the last
 * word. A peer that re-announces with a new instance id, address or port is reported down
 * (`"replaced"`) and up again. A goodbye reports it down at once (`"goodbye"`). A peer whose
 * records expire, or that stops answering after `reportUnreachable()`, is down with
 * `"expired"` (RFC 6762 section 10.5: a crashed peer does not linger for its whole TTL).
 *
 * Bounded under floods (see {@linkcode DiscoveryLimits}, option `limits`): the mDNS cache
 * bounds what any one host, and all of them together, can make this node keep; at most
 * `maxPeers` peers are listed (with the table full, new names are refused, counted and
 * logged, and listed peers stay); at most `maxPendingChecks` `acceptPeer` checks run at once,
 * the other names wait in line. The records of peers that passed `acceptPeer` (for a node
 * with a secret: a valid proof) and of peers this node calls (looked up with `resolve()`)
 * are kept: the cache evicts them only to make room for other kept records, so a flood of
 * fake services never displaces them. Per-name state lives only as long as a source reports
 * the name, and the mDNS browser tracks only what the cache holds.
 *
 * The peer table is kept as the mDNS browser reports changes (up, update, heard again, down):
 * each peer is converted once per change into a frozen {@linkcode PeerInfo}, so `resolve()`
 * is a map lookup and `peers()` a copy of a cached list, whatever the number of peers. A
 * returned `PeerInfo` is an immutable snapshot: the same object until the peer changes or is
 * heard from again (callers may cache values derived from it, keyed by the object).
 *
 * Browse queries repeat at most every 60 s (the RFC allows backing off to an hour): duplicate
 * question suppression keeps that to about one query a minute per LAN, and a peer whose
 * announcements were all lost is still found within a minute.
 *
 * Beyond the LAN (`src/dnssd`): with `wideArea` the node also browses a unicast DNS domain and,
 * with a TSIG key, registers itself there once its mDNS name is settled; with `seeds` it asks
 * the given hosts directly. Each way of finding a peer is a source (`"mdns"`, `"dns"`,
 * `"seed"`) whose instances pass the same checks (own records, realm, `acceptPeer`); the
 * table keeps one entry per name, from the best source that currently sees it (mDNS first:
 * its address is on our link), and lists every such source in `PeerInfo.via`. A peer leaves
 * when no source sees it any more; a goodbye from any source is final for that run of the
 * peer (its instance id), so records lingering elsewhere do not bring it back.
 *
 * With `alsoPublic` (a node with a secret and `allowInsecurePeers`), the node is also
 * published on, and browses, the public type `_peerlink._tcp`: Python PeerLink 1.2 announces
 * there even when it has a secret (the secret only changes its derived ports), so this is how
 * the two find each other. That browse is one more source (`"public"`), the least preferred:
 * the public announcement carries no `realm` (so nodes without a secret accept it too), a peer
 * found there is admitted only if `acceptPeer` agrees, and a peer of our own realm of the same
 * name always wins, so an announcement made on the public type can neither replace nor shadow
 * a peer that proved the secret. A name taken on the public type only costs the public
 * announcement (logged), never the node's own.
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import { PeerLinkError } from "./errors.ts";
import { MdnsStateError } from "./mdns/errors.ts";
import { createLogger, type Logger, ThrottledWarning } from "./log.ts";
import type { SocketRuntime } from "./net.ts";
import { Mdns, type MdnsStats } from "./mdns/mdns.ts";
import type { BrowseHandlers, Browser, BrowserStats, DownReason } from "./mdns/browser.ts";
import type { Published } from "./mdns/mdns.ts";
import type { ServiceInstance } from "./mdns/instance.ts";
import { completeLimits, DEFAULT_MDNS_LIMITS, type MdnsLimits } from "./mdns/limits.ts";
import { serviceTypeName, validateLabel } from "./mdns/names.ts";
import type { TxtAttributes } from "./mdns/txt.ts";
import { checkWideAreaOptions, type ResolvedWideArea, WIDE_AREA_POLL_INTERVAL } from "./dnssd/options.ts";
import type { WideAreaOptions } from "./dnssd/options.ts";
import { WideArea, type WideAreaStats } from "./dnssd/wide_area.ts";
import { Seeds } from "./dnssd/seeds.ts";
import type { DnsClientStats } from "./dnssd/client.ts";
import { LEASE_TXT_KEY } from "./dnssd/service_records.ts";

/** A discovered peer (a frozen snapshot: see the module documentation). */
export interface PeerInfo {
  /** Its node name (the mDNS instance name). */
  name: string;
  /** Its address (IPv4 preferred, on our link). */
  address: string;
  /** Its RPC UDP port. */
  udpPort: number;
  /** Its RPC TCP port. */
  tcpPort: number;
  /** When it was last heard from, ms since the Unix epoch (every announcement and answer counts). */
  lastSeen: number;
  /** Random per process: changes when the peer restarts. */
  instanceId: string;
  /** Runtime it advertised (`"deno"`, `"bun"`, `"node"`), if any. */
  runtime?: string;
  /** PeerLink version it advertised, if any. */
  version?: string;
  /** Protocol extensions it advertised (TXT `ext`), empty for a Python peer. */
  capabilities: string[];
  /** Every TXT attribute (keys lowercased; boolean attributes as `""`). */
  txt: Record<string, string>;
  /**
   * Where the peer is seen now, the source of `address` first: `"mdns"` (on our LAN),
   * `"seed"` (asked directly), `"dns"` (a wide-area domain), `"public"` (on our LAN, on the
   * public type, with `alsoPublic`).
   */
  via?: readonly PeerSource[];
}

/**
 * How a peer was found: mDNS on the LAN, a wide-area DNS domain, a seed asked directly, or
 * mDNS on the public type (`alsoPublic`: Python 1.2 nodes with a secret announce there).
 */
export type PeerSource = "mdns" | "dns" | "seed" | "public";

/**
 * Sources in order of preference: an on-link address first, then one known to answer; the
 * public type last, so a peer of our own realm always wins over a public announcement.
 */
const SOURCE_ORDER: readonly PeerSource[] = ["mdns", "seed", "dns", "public"];

/** Why a peer went down. */
export type PeerDownReason = "goodbye" | "expired" | "replaced";

/** Options of {@linkcode Discovery}. */
export interface DiscoveryOptions {
  /** Sockets. */
  runtime: SocketRuntime;
  /** Time source (default: system clock). */
  clock?: Clock;
  /** Diagnostics. */
  logger?: Logger;
  /** This node's name (one DNS label). */
  name: string;
  /** Realm (`deriveRealm(secret)`); nodes of different realms never see each other. */
  realm?: string;
  /** RPC UDP port to advertise. */
  udpPort: number;
  /** RPC TCP port to advertise. */
  tcpPort: number;
  /** Random per process. */
  instanceId: string;
  /**
   * Extra TXT attributes (may not override `node`, `udp_port`, `tcp_port`, `instance_id`,
   * `realm`), or a function giving them for a name: it is asked again when the node is renamed
   * after a conflict (a proof of the secret covers the name).
   */
  txt?: Record<string, string> | ((name: string) => Record<string, string>);
  /** Interface names or addresses (default: every multicast-capable interface, else loopback). */
  interfaces?: string[];
  /** Take `"Name (2)"` when the name is in use instead of failing `start()`. */
  allowRename?: boolean;
  /**
   * Told the new name at once when the node is renamed after a conflict, while probing or
   * after announcing (so the RPC endpoint can answer to it before anyone calls it). Must not throw.
   */
  onRename?: (name: string) => void;
  /**
   * `false`: browse only, never publish this node (no probing, no announcements, no goodbye),
   * for a client-only node. Default `true`.
   */
  announce?: boolean;
  /** Decides whether a discovered peer is reported (e.g. checks a TXT proof for secured realms). */
  acceptPeer?: (peer: PeerInfo) => boolean | Promise<boolean>;
  /** mDNS port (default 5353; tests only). */
  mdnsPort?: number;
  /** Random numbers for mDNS timing (tests pass a seeded one). */
  random?: () => number;
  /** Wide-area DNS-SD: browse and register in a unicast DNS domain (see `WideAreaOptions`). */
  wideArea?: WideAreaOptions;
  /**
   * Hosts (numeric addresses) asked directly by unicast DNS-SD on their mDNS port, and whose
   * direct queries this node answers: for networks with neither multicast nor a DNS server.
   */
  seeds?: readonly string[];
  /** The resolver settings file for `wideArea` defaults (default /etc/resolv.conf; tests only). */
  resolvConf?: string;
  /**
   * With a realm: also publish on and browse the public `_peerlink._tcp` type, where Python
   * PeerLink 1.2 nodes announce even with a secret (see the module documentation). Default false.
   */
  alsoPublic?: boolean;
  /** Bounds on the peer table, the `acceptPeer` checks and the mDNS state (see {@linkcode DiscoveryLimits}); each has a default. */
  limits?: Partial<DiscoveryLimits>;
}

/**
 * Bounds of a {@linkcode Discovery}: the mDNS ones (`MdnsLimits`: records cached in all and
 * per source address, instances resolved at once, known answers, held queries) and the peer
 * table's. A PeerLink node takes them as its option `discoveryLimits`, e.g.
 * `{ maxCacheEntries: 8192, maxPeers: 1024 }` on a LAN of a thousand nodes.
 */
export interface DiscoveryLimits extends MdnsLimits {
  /**
   * Peers listed at once (default 256). With the table full a new name is refused (counted in
   * `stats().refused`, logged at most once a minute) and the listed peers stay; the name is
   * admitted when it is heard from again once a peer has left. Keep it below
   * `maxCacheEntries / 6` (a peer is 4-6 records) so kept peers can never fill the cache.
   */
  maxPeers: number;
  /** `acceptPeer` checks running at once; the other names wait in line, one entry each (default 64). */
  maxPendingChecks: number;
}

/**
 * The defaults.
 *
 * @example
 * ```ts
 * import { DEFAULT_DISCOVERY_LIMITS } from "./discovery.ts";
 * console.log(DEFAULT_DISCOVERY_LIMITS.maxPeers); // 256
 * ```
 */
export const DEFAULT_DISCOVERY_LIMITS: Readonly<DiscoveryLimits> = Object.freeze({
  ...DEFAULT_MDNS_LIMITS,
  maxPeers: 256,
  maxPendingChecks: 64,
});

/** Counters of a {@linkcode Discovery}: every table it keeps (each bounded), and the ways beyond the LAN. */
export interface DiscoveryStats {
  /** Peers listed. */
  peers: number;
  /** Of those, the ones whose records the mDNS cache keeps (passed `acceptPeer`, or called). */
  kept: number;
  /** `acceptPeer` checks running. */
  checking: number;
  /** Names waiting for an `acceptPeer` check. */
  queued: number;
  /** Names refused so far because the peer table was full. */
  refused: number;
  /** Of those, names still reported by a source, admitted when heard from again once there is room. */
  waitingForRoom: number;
  /** What the mDNS browser tracks (undefined before `start()`). */
  browser?: BrowserStats;
  /** The mDNS counters: cache, questions, sockets (undefined before `start()`). */
  mdns?: MdnsStats;
  /** The wide-area domain(s), when `wideArea` is set. */
  wideArea?: WideAreaStats;
  /** Per seed, its DNS client's counters. */
  seeds: DnsClientStats[];
  /** Direct queries answered for seeds. */
  seedQueries: number;
}

/** A running `acceptPeer` check; `valid` turns false when its source no longer reports the name. */
interface Check {
  /** The newest time the name was heard from while the check ran. */
  lastSeen: number;
  /** False once the name went away (its verdict is then dropped). */
  valid: boolean;
}

/** TXT keys PeerLink publishes itself. */
export const TXT_KEYS = {
  node: "node",
  udpPort: "udp_port",
  tcpPort: "tcp_port",
  instanceId: "instance_id",
  realm: "realm",
} as const;

const RESERVED = new Set<string>([...Object.values(TXT_KEYS), LEASE_TXT_KEY]);

/**
 * Least time a peer that said goodbye stays gone for the polled sources (their answers may
 * lag), ms; with `wideArea`, at least its registration TTL, after which lingering records lapse.
 */
const DEPARTED_MEMORY_MS = 60_000;
/** Most goodbyes remembered for that. */
const MAX_DEPARTED = 1024;
/** How often refusals of a full peer table are logged, at most, ms. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** Longest interval between repeated browse queries, ms. */
export const DISCOVERY_MAX_QUERY_INTERVAL_MS = 60_000;

/**
 * The DNS-SD service type of a realm (Python PeerLink 1.2's naming).
 *
 * @param realm Realm from `deriveRealm(secret)`, or none.
 * @returns `"_peerlink._tcp"` or `"_peerlink-<realm>._tcp"`.
 *
 * @example
 * ```ts
 * import { serviceTypeFor } from "./discovery.ts";
 * console.log(serviceTypeFor()); // "_peerlink._tcp"
 * console.log(serviceTypeFor("0123456789abcdef")); // "_peerlink-0123456789abcdef._tcp"
 * ```
 */
export function serviceTypeFor(realm?: string): string {
  return realm ? `_peerlink-${realm}._tcp` : "_peerlink._tcp";
}

function port(value: string | true | undefined): number | undefined {
  if (typeof value !== "string" || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 && n <= 65535 ? n : undefined;
}

/**
 * Converts a resolved service instance to a {@linkcode PeerInfo}.
 *
 * @param i The instance.
 * @param source Where it was found (default `"mdns"`).
 * @returns The peer, or `undefined` when it has no usable address or ports.
 */
export function toPeerInfo(i: ServiceInstance, source: PeerSource = "mdns"): PeerInfo | undefined {
  const txt: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.txt)) txt[k] = v === true ? "" : v;
  const udpPort = port(i.txt[TXT_KEYS.udpPort]) ?? (i.port > 0 ? i.port : undefined);
  const tcpPort = port(i.txt[TXT_KEYS.tcpPort]) ?? udpPort;
  const address = i.addresses[0];
  if (udpPort === undefined || tcpPort === undefined || address === undefined) return undefined;
  const caps = txt.ext ?? txt.caps ?? "";
  return {
    name: i.name,
    address,
    udpPort,
    tcpPort,
    lastSeen: i.lastSeen,
    instanceId: txt[TXT_KEYS.instanceId] ?? "",
    runtime: txt.rt || undefined,
    version: txt.ver || txt.v || undefined,
    capabilities: caps.split(",").map((c) => c.trim()).filter((c) => c !== ""),
    txt,
    via: [source],
  };
}

/** Freezes a peer and what it holds, so the snapshots handed out cannot alter the table. */
function frozen(peer: PeerInfo): PeerInfo {
  Object.freeze(peer.via);
  Object.freeze(peer.capabilities);
  Object.freeze(peer.txt);
  return Object.freeze(peer);
}

function extraTxt(options: DiscoveryOptions, name: string): Record<string, string> {
  return typeof options.txt === "function" ? options.txt(name) : options.txt ?? {};
}

function byName(a: PeerInfo, b: PeerInfo): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * Discovers PeerLink peers and publishes this node. See the module documentation.
 *
 * @example
 * ```ts
 * import { Discovery } from "./discovery.ts";
 * import { autoRuntime } from "@peerlink/peerlink/runtimes";
 *
 * const discovery = new Discovery({
 *   runtime: autoRuntime(), name: "Worker", udpPort: 50001, tcpPort: 50002, instanceId: crypto.randomUUID(),
 * });
 * discovery.on("peer-up", (p) => console.log("up", p.name, p.address, p.udpPort));
 * discovery.on("peer-down", (p, reason) => console.log("down", p.name, reason));
 * await discovery.start();
 * const peers = await discovery.waitForPeers(1, { timeout: 3000 });
 * await discovery.stop();
 * ```
 */
export class Discovery {
  readonly #o: DiscoveryOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #type: string;
  readonly #wide: ResolvedWideArea | undefined;
  readonly #seedList: readonly string[];
  readonly #departedMs: number;
  readonly #limits: DiscoveryLimits;
  /** The public type, browsed and published too with `alsoPublic`. */
  readonly #publicType: string | undefined;
  #name: string;
  #mdns: Mdns | undefined;
  #browser: Browser | undefined;
  #publicBrowser: Browser | undefined;
  #published: Published | undefined;
  /** The public announcement (`alsoPublic`), published in the background. */
  #publicPublished: Promise<Published | undefined> | undefined;
  #wideArea: WideArea | undefined;
  #seeds: Seeds | undefined;
  #state: "new" | "starting" | "running" | "stopped" = "new";
  /** Reported peers by exact name; values are frozen and replaced (never mutated) on change. */
  readonly #peers = new Map<string, PeerInfo>();
  /** `#peers` sorted by name, built on demand and dropped on every change. */
  #sorted: PeerInfo[] | undefined;
  /** Per name: the admitted view of each source that sees it (the best one is reported). */
  readonly #candidates = new Map<string, Map<PeerSource, PeerInfo>>();
  /**
   * Per `source|name`: the newest `lastSeen` that source reported, also for names not (yet)
   * admitted, so a peer admitted after an asynchronous `acceptPeer` still gets the freshest
   * time. Deleted when the source no longer reports the name (bounded by what the sources hold).
   */
  readonly #heard = new Map<string, number>();
  /** Names whose records the mDNS cache keeps: admitted through `acceptPeer`, or called. */
  readonly #kept = new Set<string>();
  /** Running `acceptPeer` checks by `source|name` (at most `maxPendingChecks`). */
  readonly #checks = new Map<string, Check>();
  /** `source|name` keys waiting for a check, oldest first, each with its newest instance. */
  readonly #queued = new Map<string, { source: PeerSource; instance: ServiceInstance }>();
  /** Names refused while the table was full, admitted when heard from again once there is room. */
  readonly #overflow = new Set<string>();
  #refused = 0;
  readonly #refusals: ThrottledWarning<"refused">;
  /** Instance ids that said goodbye, until when (clock ms) polled sources may not bring them back. */
  readonly #departed = new Map<string, number>();
  readonly #verifying = new Set<string>();
  readonly #up = new Set<Listener<[PeerInfo]>>();
  readonly #down = new Set<Listener<[PeerInfo, PeerDownReason]>>();
  readonly #waiters = new Set<() => void>();

  /**
   * @param options Runtime, name, ports, instance id and optional realm, TXT, interfaces,
   *   wide-area domain and seeds.
   * @throws TypeError for an invalid name or TXT keys that would override PeerLink's own;
   *   WideAreaError (`DNS_CONFIG`) for invalid `wideArea` or `seeds`.
   */
  constructor(options: DiscoveryOptions) {
    validateLabel(options.name, "node name");
    for (const key of Object.keys(extraTxt(options, options.name))) {
      if (RESERVED.has(key.toLowerCase())) {
        throw new TypeError(`Discovery: TXT key "${key}" is set by PeerLink itself; use another key.`);
      }
    }
    const beyond = checkWideAreaOptions(options.wideArea, options.seeds);
    this.#wide = beyond.wideArea;
    this.#seedList = beyond.seeds;
    const wide = beyond.wideArea;
    this.#departedMs = Math.max(DEPARTED_MEMORY_MS, wide ? wide.ttl * 1000 + 2.5 * wide.pollInterval : 0);
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? createLogger("peerlink discovery");
    this.#limits = completeLimits(options.limits, DEFAULT_DISCOVERY_LIMITS, "discovery");
    this.#refusals = new ThrottledWarning(this.#logger, this.#clock, REFUSAL_LOG_INTERVAL_MS);
    this.#type = serviceTypeFor(options.realm);
    this.#publicType = options.realm && options.alsoPublic ? serviceTypeFor() : undefined;
    this.#name = options.name;
  }

  /** The published name: the requested one, or `"Name (2)"`... after an allowed rename. */
  get name(): string {
    return this.#name;
  }

  /**
   * Exceptions its mDNS caught while handling received datagrams that were bugs, not bad input
   * (see `src/internal_errors.ts`); each distinct one was logged with its stack. 0 before `start()`.
   */
  get internalErrors(): number {
    return this.#mdns?.stats.transport.internalErrors ?? 0;
  }

  /**
   * Counters of every table this discovery keeps and of its mDNS, and of the wide-area domain
   * and the seeds (see {@linkcode DiscoveryStats}).
   *
   * @returns A snapshot.
   */
  stats(): DiscoveryStats {
    return {
      peers: this.#peers.size,
      kept: this.#kept.size,
      checking: this.#checks.size,
      queued: this.#queued.size,
      refused: this.#refused,
      waitingForRoom: this.#overflow.size,
      browser: this.#browser?.stats,
      mdns: this.#mdns?.stats,
      wideArea: this.#wideArea?.stats,
      seeds: this.#seeds?.stats ?? [],
      seedQueries: this.#mdns?.stats.transport.seedQueries ?? 0,
    };
  }

  /** The TXT of this node's announcement on its own type, or on the public type (no realm there). */
  #txt(name: string, publicType = false): TxtAttributes {
    const o = this.#o;
    return {
      [TXT_KEYS.node]: name,
      [TXT_KEYS.udpPort]: String(o.udpPort),
      [TXT_KEYS.tcpPort]: String(o.tcpPort),
      [TXT_KEYS.instanceId]: o.instanceId,
      ...(o.realm && !publicType ? { [TXT_KEYS.realm]: o.realm } : {}),
      ...extraTxt(o, name),
    };
  }

  /**
   * Publishes (again) on the public type under `name`, in the background; a conflict there is
   * logged and costs only this announcement.
   */
  #publishPublic(mdns: Mdns, name: string): void {
    const type = this.#publicType;
    if (!type) return;
    const previous = this.#publicPublished;
    const o = this.#o;
    const lost = (error: unknown) => {
      if (this.#state === "stopped") return;
      this.#logger.warn(
        `discovery: cannot announce '${name}' on ${type} (${
          error instanceof Error ? error.message : String(error)
        }): Python PeerLink 1.2 nodes will not find this node`,
      );
    };
    this.#publicPublished = (async () => {
      await (await previous?.catch(() => undefined))?.unpublish();
      if (this.#state === "stopped") return undefined;
      return await mdns.publish({
        instance: name,
        type,
        port: o.udpPort,
        txt: this.#txt(name, true),
        onConflict: lost,
      });
    })();
    this.#publicPublished.catch(lost);
  }

  /** The browse callbacks of one source, all feeding this peer table. */
  #handlers(source: PeerSource): BrowseHandlers {
    return {
      onUp: (i) => this.#seen(source, i),
      onUpdate: (i) => this.#seen(source, i),
      onSeen: (i) => this.#heardFrom(source, i),
      onDown: (i, reason) => this.#gone(source, i.name, reason),
    };
  }

  /**
   * Starts browsing (mDNS, and the wide-area domain and seeds when configured), then publishes
   * this node (probing its name, then announcing) and, with a TSIG key, registers it in the
   * wide-area domain under the settled name.
   *
   * @throws NameConflictError when the name is taken and `allowRename` is not set; NetError
   *   when the mDNS socket cannot be bound; WideAreaError when the wide-area registration is
   *   refused (nothing is then left registered or announced).
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new MdnsStateError("Discovery.start(): already started; create a new Discovery.");
    this.#state = "starting";
    const o = this.#o;
    const mdns = new Mdns({
      runtime: o.runtime,
      clock: this.#clock,
      logger: this.#logger,
      interfaces: o.interfaces,
      port: o.mdnsPort,
      random: o.random,
      maxQueryIntervalMs: DISCOVERY_MAX_QUERY_INTERVAL_MS,
      limits: mdnsLimitsOf(this.#limits),
      seeds: this.#seedList.length > 0 ? this.#seedList : undefined,
    });
    this.#mdns = mdns;
    try {
      await mdns.start();
      this.#browser = mdns.browse(this.#type, this.#handlers("mdns"));
      if (this.#publicType) this.#publicBrowser = mdns.browse(this.#publicType, this.#handlers("public"));
      if (this.#wide) {
        this.#wideArea = new WideArea(this.#wide, {
          runtime: o.runtime,
          clock: this.#clock,
          logger: this.#logger,
          type: this.#type,
          handlers: this.#handlers("dns"),
          resolvConf: o.resolvConf,
        });
        await this.#wideArea.start();
      }
      if (this.#seedList.length > 0) {
        this.#seeds = new Seeds({
          seeds: this.#seedList,
          runtime: o.runtime,
          clock: this.#clock,
          logger: this.#logger,
          type: this.#type,
          pollIntervalMs: this.#wide?.pollInterval ?? WIDE_AREA_POLL_INTERVAL,
          handlers: this.#handlers("seed"),
          port: o.mdnsPort,
        });
        this.#seeds.start();
      }
      // A client only (announce: false) browses and is never published or registered.
      if (o.announce !== false) {
        this.#published = await mdns.publish({
          instance: o.name,
          type: this.#type,
          port: o.udpPort,
          txt: this.#txt(o.name),
          allowRename: o.allowRename,
          txtFor: (name) => this.#txt(name),
          onNameChange: (name) => this.#renamed(name),
          onConflict: (error) => this.#logger.error(`${error.message} This node is no longer announced.`),
        });
        this.#name = this.#published.instance;
        this.#publishPublic(mdns, this.#name);
        // Registered only now: the name is settled (probed, or renamed after a conflict).
        await this.#wideArea?.register(this.#name, o.udpPort, this.#txt(this.#name));
      }
    } catch (error) {
      this.#state = "stopped";
      this.#browser = undefined;
      this.#publicBrowser = undefined;
      await Promise.allSettled([this.#wideArea?.stop(), this.#seeds?.stop()]);
      await mdns.stop();
      throw error;
    }
    if (this.#state !== "starting") return; // stopped meanwhile
    this.#state = "running";
    this.#notifyWaiters();
  }

  /** The mDNS name changed after a conflict: tell the node, and follow it in the wide-area domain. */
  #renamed(name: string): void {
    this.#name = name;
    this.#o.onRename?.(name);
    if (this.#publicPublished && this.#mdns) this.#publishPublic(this.#mdns, name);
    if (this.#state !== "running" || !this.#wideArea) return;
    this.#wideArea.register(name, this.#o.udpPort, this.#txt(name)).catch((err) =>
      this.#logger.error(`wide-area: registering the new name '${name}' failed: ${String(err)}`)
    );
  }

  /**
   * Sends goodbyes, removes the wide-area registration, stops browsing and closes the sockets.
   * Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#state === "stopped" || this.#state === "new") {
      this.#state = "stopped";
      return;
    }
    this.#state = "stopped";
    this.#browser?.stop();
    this.#publicBrowser?.stop();
    await Promise.allSettled([this.#wideArea?.stop(), this.#seeds?.stop(), this.#mdns?.stop()]);
    this.#peers.clear();
    this.#candidates.clear();
    this.#heard.clear();
    this.#kept.clear();
    for (const check of this.#checks.values()) check.valid = false;
    this.#checks.clear();
    this.#queued.clear();
    this.#overflow.clear();
    this.#sorted = undefined;
    this.#notifyWaiters();
  }

  /**
   * Known peers, without this node, with fresh `lastSeen`. Costs a copy of a cached list:
   * take one snapshot for a fan-out rather than one lookup per peer.
   *
   * @returns A new array (sorted by name) of frozen peers; the caller may sort or change the array.
   */
  peers(): PeerInfo[] {
    this.#sorted ??= [...this.#peers.values()].sort(byName);
    return this.#sorted.slice();
  }

  /**
   * The peer with exactly this name: a map lookup, cheap enough for every call. A node looks
   * up every peer it calls, so this also marks the peer as in use: from now on the mDNS cache
   * keeps its records (see the module documentation).
   *
   * @param name Node name (exact, case-sensitive).
   * @returns The peer (frozen, with fresh `lastSeen`), or undefined.
   */
  resolve(name: string): PeerInfo | undefined {
    const peer = this.#peers.get(name);
    if (peer && !this.#kept.has(name)) this.#keep(name, true);
    return peer;
  }

  /**
   * Waits until at least `count` peers are known.
   *
   * @param count Number of peers.
   * @param options `timeout` in ms (default 3000) and an abort `signal`.
   * @returns The known peers.
   * @throws PeerLinkError (code `"TIMEOUT"`) listing the peers found, or the signal's reason.
   */
  waitForPeers(count: number, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<PeerInfo[]> {
    const timeout = options.timeout ?? 3000;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.#peers.size >= count) {
          done(() => resolve(this.peers()));
          return true;
        }
        if (this.#state === "stopped") {
          done(() => reject(new PeerLinkError("waitForPeers: discovery stopped.", "NODE_STOPPED")));
          return true;
        }
        return false;
      };
      const onAbort = () => done(() => reject(options.signal?.reason ?? new Error("aborted")));
      const timer = this.#clock.setTimeout(() => {
        const known = [...this.#peers.keys()].sort();
        done(() =>
          reject(
            new PeerLinkError(
              `waitForPeers: found ${known.length} of ${count} peer${
                count === 1 ? "" : "s"
              } within ${timeout} ms. Known: [${
                known.map((n) => `'${n}'`).join(", ")
              }]. Are the others running on this network${
                this.#o.realm ? " with the same secret" : ""
              }? Raise the timeout for slow networks.`,
              "TIMEOUT",
            ),
          )
        );
      }, timeout);
      const done = (settle: () => void) => {
        this.#clock.clearTimeout(timer);
        this.#waiters.delete(waiter);
        options.signal?.removeEventListener("abort", onAbort);
        settle();
      };
      const waiter = () => void check();
      if (options.signal?.aborted) return onAbort();
      if (check()) return;
      this.#waiters.add(waiter);
      options.signal?.addEventListener("abort", onAbort);
    });
  }

  /**
   * Subscribes to peers arriving or leaving.
   *
   * @param event `"peer-up"` or `"peer-down"`.
   * @param fn Listener.
   * @returns Unsubscribe function.
   */
  on(event: "peer-up", fn: (p: PeerInfo) => void): () => void;
  on(event: "peer-down", fn: (p: PeerInfo, reason: PeerDownReason) => void): () => void;
  on(event: "peer-up" | "peer-down", fn: Listener<[PeerInfo]> | Listener<[PeerInfo, PeerDownReason]>): () => void {
    if (event === "peer-up") {
      const f = fn as Listener<[PeerInfo]>;
      this.#up.add(f);
      return () => this.#up.delete(f);
    }
    if (event === "peer-down") {
      const f = fn as Listener<[PeerInfo, PeerDownReason]>;
      this.#down.add(f);
      return () => this.#down.delete(f);
    }
    throw new TypeError(`Discovery.on: unknown event ${JSON.stringify(event)}; use "peer-up" or "peer-down".`);
  }

  /**
   * A call to this peer failed in a way that suggests it is gone: check on it now. Seen by
   * mDNS: query it (twice, one second apart) and report it down (`"expired"`) when nothing
   * answers within 2 s. Seen through a domain or a seed: poll that source again at once.
   *
   * @param name Node name.
   */
  reportUnreachable(name: string): void {
    const peer = this.#peers.get(name);
    const mdns = this.#mdns;
    if (!peer || !mdns || this.#state !== "running") return;
    const source = peer.via?.[0] ?? "mdns";
    if (source === "dns") return this.#wideArea?.pollSoon();
    if (source === "seed") return this.#seeds?.pollSoon();
    if (this.#verifying.has(name)) return;
    this.#verifying.add(name);
    this.#logger.debug(`discovery: checking whether '${name}' is still there`);
    const type = source === "public" ? this.#publicType : this.#type;
    mdns.verify(`${name}.${type}.local`).then(
      (alive) => {
        if (!alive) this.#logger.debug(`discovery: '${name}' did not answer; reported down`);
      },
      (err) => this.#logger.debug(`discovery: checking '${name}' failed: ${String(err)}`),
    ).finally(() => this.#verifying.delete(name));
  }

  #isOwn(i: ServiceInstance, info: PeerInfo): boolean {
    return info.instanceId === this.#o.instanceId || i.name === this.#name && i.host === this.#mdns?.hostName;
  }

  #realmMatches(info: PeerInfo): boolean {
    const theirs = info.txt[TXT_KEYS.realm];
    if (!this.#o.realm) return theirs === undefined;
    return theirs === undefined || theirs === this.#o.realm;
  }

  /** True while a polled source may not bring back a run of a peer that said goodbye. */
  #hasDeparted(instanceId: string): boolean {
    const until = this.#departed.get(instanceId);
    if (until === undefined) return false;
    if (until > this.#clock.now()) return true;
    this.#departed.delete(instanceId);
    return false;
  }

  #seen(source: PeerSource, i: ServiceInstance): void {
    if (this.#state === "stopped") return;
    this.#noteHeard(source, i);
    const info = toPeerInfo(i, source);
    if (!info || this.#isOwn(i, info)) return;
    if (source !== "mdns" && this.#hasDeparted(info.instanceId)) return;
    if (!this.#realmMatches(info)) {
      this.#logger.debug(`discovery: ignoring '${info.name}' from another realm`);
      return;
    }
    if (!this.#o.acceptPeer) return this.#offer(source, info);
    // In line behind the others; a name already waiting keeps its place with its newest instance.
    this.#queued.set(`${source}|${info.name}`, { source, instance: i });
    this.#startChecks();
  }

  /** Starts waiting `acceptPeer` checks while fewer than `maxPendingChecks` run (one at a time per key). */
  #startChecks(): void {
    for (const [key, { source, instance }] of this.#queued) {
      if (this.#checks.size >= this.#limits.maxPendingChecks || this.#state === "stopped") return;
      if (this.#checks.has(key)) continue; // its running check settles first, then this one starts
      this.#queued.delete(key);
      const info = toPeerInfo(instance, source);
      if (info) this.#check(source, key, info);
    }
  }

  #check(source: PeerSource, key: string, info: PeerInfo): void {
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = this.#o.acceptPeer!(info);
    } catch (err) {
      this.#logger.warn(`discovery: acceptPeer threw for '${info.name}': ${String(err)}; ignoring the peer`);
      return;
    }
    const check: Check = { lastSeen: info.lastSeen, valid: true };
    this.#checks.set(key, check);
    Promise.resolve(verdict).then(
      (ok) => {
        // Ignored when the source dropped the name, or a newer announcement waits for its own check.
        if (!check.valid || this.#queued.has(key) || this.#state === "stopped") return;
        if (ok) this.#offer(source, { ...info, lastSeen: Math.max(info.lastSeen, check.lastSeen) }, true);
        else this.#logger.debug(`discovery: acceptPeer rejected '${info.name}' (${source})`);
      },
      (err) => this.#logger.warn(`discovery: acceptPeer failed for '${info.name}': ${String(err)}; ignoring the peer`),
    ).finally(() => {
      if (this.#checks.get(key) === check) this.#checks.delete(key);
      this.#startChecks();
    });
  }

  /** Remembers the newest time a source heard from a name (announcements can overtake an `acceptPeer`). */
  #noteHeard(source: PeerSource, i: ServiceInstance): void {
    const key = `${source}|${i.name}`;
    if ((this.#heard.get(key) ?? -Infinity) < i.lastSeen) this.#heard.set(key, i.lastSeen);
  }

  /** A source heard from an instance again, unchanged: only `lastSeen` moves. */
  #heardFrom(source: PeerSource, i: ServiceInstance): void {
    if (this.#state === "stopped") return;
    this.#noteHeard(source, i);
    const key = `${source}|${i.name}`;
    const candidates = this.#candidates.get(i.name);
    const candidate = candidates?.get(source);
    const lastSeen = this.#heard.get(key)!;
    if (!candidates || !candidate) {
      const check = this.#checks.get(key);
      if (check) check.lastSeen = Math.max(check.lastSeen, lastSeen);
      const queued = this.#queued.get(key);
      if (queued) queued.instance = i;
      else if (this.#overflow.has(i.name) && this.#peers.size < this.#limits.maxPeers) this.#seen(source, i);
      return;
    }
    if (candidate.lastSeen >= lastSeen) return;
    candidates.set(source, { ...candidate, lastSeen });
    const prev = this.#peers.get(i.name);
    if (!prev || prev.lastSeen >= lastSeen) return;
    this.#store(frozen({ ...prev, lastSeen }));
  }

  #store(info: PeerInfo): void {
    this.#peers.set(info.name, info);
    this.#sorted = undefined;
  }

  /**
   * An admitted view of a peer from one source (`accepted`: through `acceptPeer`, whose records
   * are then kept), unless the table is full and the name is new.
   */
  #offer(source: PeerSource, candidate: PeerInfo, accepted = false): void {
    const name = candidate.name;
    if (!this.#peers.has(name) && this.#peers.size >= this.#limits.maxPeers) return this.#refuse(name);
    this.#overflow.delete(name);
    const lastSeen = Math.max(candidate.lastSeen, this.#heard.get(`${source}|${name}`) ?? -Infinity);
    let candidates = this.#candidates.get(name);
    if (!candidates) this.#candidates.set(name, candidates = new Map());
    candidates.set(source, { ...candidate, lastSeen });
    this.#publish(name, candidates);
    if (accepted) this.#keep(name, true);
  }

  #refuse(name: string): void {
    if (!this.#overflow.has(name)) this.#refused++;
    this.#overflow.add(name);
    this.#refusals.update(
      { refused: this.#refused },
      (since) =>
        `discovery: the peer table is full (${this.#peers.size} peers, limits.maxPeers); refused ${since.refused} new ` +
        `name${since.refused === 1 ? "" : "s"} since the last report, the listed peers stay. A host on the LAN may ` +
        "be flooding it with fake services; on a LAN this large raise limits.maxPeers.",
    );
  }

  /** Asks the mDNS cache to keep (or no longer keep) a listed peer's records, on the types it browses. */
  #keep(name: string, kept: boolean): void {
    if (!kept && !this.#kept.delete(name)) return;
    let held = false;
    for (const [browser, type] of [[this.#browser, this.#type], [this.#publicBrowser, this.#publicType]] as const) {
      if (browser && type && browser.keep(`${name}.${serviceTypeName(type)}`, kept)) held = true;
    }
    if (kept && held) this.#kept.add(name);
  }

  /** Reports the best source's view of a peer (down `"replaced"` and up when it is another run or place). */
  #publish(name: string, candidates: Map<PeerSource, PeerInfo>): void {
    const via = SOURCE_ORDER.filter((s) => candidates.has(s));
    const best = candidates.get(via[0])!;
    let lastSeen = best.lastSeen;
    for (const c of candidates.values()) lastSeen = Math.max(lastSeen, c.lastSeen);
    const info = frozen({ ...best, lastSeen, via });
    const prev = this.#peers.get(name);
    this.#store(info);
    if (prev) {
      const replaced = prev.instanceId !== info.instanceId || prev.address !== info.address ||
        prev.udpPort !== info.udpPort || prev.tcpPort !== info.tcpPort;
      if (!replaced) return;
      this.#emitDown(prev, "replaced");
    }
    for (const fn of [...this.#up]) this.#call(() => fn(info));
    this.#notifyWaiters();
  }

  #gone(source: PeerSource, name: string, reason: DownReason): void {
    const key = `${source}|${name}`;
    this.#queued.delete(key);
    const check = this.#checks.get(key);
    if (check) check.valid = false;
    this.#heard.delete(key);
    const candidates = this.#candidates.get(name);
    const removed = candidates?.get(source);
    if (!candidates) this.#overflow.delete(name); // a name refused while the table was full
    if (!candidates || !removed) return;
    candidates.delete(source);
    if (reason === "goodbye" && removed.instanceId) {
      // That run of the peer left: what other sources still list of it is stale (its public
      // announcement's goodbye may come a moment later).
      this.#departed.set(removed.instanceId, this.#clock.now() + this.#departedMs);
      if (this.#departed.size > MAX_DEPARTED) this.#departed.delete(this.#departed.keys().next().value!);
      for (const polled of ["dns", "seed", "public"] as const) {
        if (candidates.get(polled)?.instanceId === removed.instanceId) {
          candidates.delete(polled);
          const stale = this.#checks.get(`${polled}|${name}`);
          if (stale) stale.valid = false;
        }
      }
    }
    if (candidates.size > 0) return this.#publish(name, candidates);
    this.#candidates.delete(name);
    this.#overflow.delete(name);
    this.#keep(name, false);
    const prev = this.#peers.get(name);
    if (!prev) return;
    this.#peers.delete(name);
    this.#sorted = undefined;
    this.#emitDown(prev, reason);
  }

  #emitDown(peer: PeerInfo, reason: PeerDownReason): void {
    for (const fn of [...this.#down]) this.#call(() => fn(peer, reason));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error(`discovery: event listener threw: ${err instanceof Error ? err.stack ?? err.message : err}`);
    }
  }

  #notifyWaiters(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** The mDNS part of discovery limits. */
function mdnsLimitsOf(limits: DiscoveryLimits): MdnsLimits {
  const { maxPeers: _peers, maxPendingChecks: _checks, ...mdns } = limits;
  return mdns;
}
