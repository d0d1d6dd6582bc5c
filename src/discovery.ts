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
 * fake services never displaces them. Per-name state lives only as long as the name is
 * reported by the browser, which tracks only what the cache holds.
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
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import { PeerLinkError } from "./errors.ts";
import { createLogger, type Logger, ThrottledWarning } from "./log.ts";
import type { SocketRuntime } from "./net.ts";
import { Mdns, type MdnsStats } from "./mdns/mdns.ts";
import type { Browser, BrowserStats, DownReason } from "./mdns/browser.ts";
import type { Published } from "./mdns/mdns.ts";
import type { ServiceInstance } from "./mdns/instance.ts";
import { completeLimits, DEFAULT_MDNS_LIMITS, type MdnsLimits } from "./mdns/limits.ts";
import { serviceTypeName, validateLabel } from "./mdns/names.ts";
import type { TxtAttributes } from "./mdns/txt.ts";

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
}

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
  /** Extra TXT attributes (may not override `node`, `udp_port`, `tcp_port`, `instance_id`, `realm`). */
  txt?: Record<string, string>;
  /** Interface names or addresses (default: every multicast-capable interface, else loopback). */
  interfaces?: string[];
  /** Take `"Name (2)"` when the name is in use instead of failing `start()`. */
  allowRename?: boolean;
  /** Decides whether a discovered peer is reported (e.g. checks a TXT proof for secured realms). */
  acceptPeer?: (peer: PeerInfo) => boolean | Promise<boolean>;
  /** mDNS port (default 5353; tests only). */
  mdnsPort?: number;
  /** Random numbers for mDNS timing (tests pass a seeded one). */
  random?: () => number;
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
   * `stats.refused`, logged at most once a minute) and the listed peers stay; the name is
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

/** Counters of a {@linkcode Discovery}: every table it keeps, each bounded. */
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
  /** Of those, names still reported by mDNS, admitted when heard from again once there is room. */
  waitingForRoom: number;
  /** What the mDNS browser tracks (undefined before `start()`). */
  browser?: BrowserStats;
  /** The mDNS counters: cache, questions, sockets (undefined before `start()`). */
  mdns?: MdnsStats;
}

/** A running `acceptPeer` check; `valid` turns false when the name went away meanwhile. */
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

const RESERVED = new Set<string>(Object.values(TXT_KEYS));

/** Longest interval between repeated browse queries, ms. */
export const DISCOVERY_MAX_QUERY_INTERVAL_MS = 60_000;

/** How often refusals of a full peer table are logged, at most, ms. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

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
 * @returns The peer, or `undefined` when it has no usable address or ports.
 */
export function toPeerInfo(i: ServiceInstance): PeerInfo | undefined {
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
  };
}

/** Freezes a peer and what it holds, so the snapshots handed out cannot alter the table. */
function frozen(peer: PeerInfo): PeerInfo {
  Object.freeze(peer.capabilities);
  Object.freeze(peer.txt);
  return Object.freeze(peer);
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
 * import { autoRuntime } from "../runtimes/auto.ts";
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
  readonly #limits: DiscoveryLimits;
  #name: string;
  #mdns: Mdns | undefined;
  #browser: Browser | undefined;
  #published: Published | undefined;
  #state: "new" | "starting" | "running" | "stopped" = "new";
  /** Reported peers by exact name; values are frozen and replaced (never mutated) on change. */
  readonly #peers = new Map<string, PeerInfo>();
  /** `#peers` sorted by name, built on demand and dropped on every change. */
  #sorted: PeerInfo[] | undefined;
  /** Names whose records the mDNS cache keeps: admitted through `acceptPeer`, or called. */
  readonly #kept = new Set<string>();
  /** Running `acceptPeer` checks by name (at most `maxPendingChecks`). */
  readonly #checks = new Map<string, Check>();
  /** Names waiting for a check, oldest first, each with its newest instance. */
  readonly #queued = new Map<string, ServiceInstance>();
  /** Names refused while the table was full, admitted when heard from again once there is room. */
  readonly #overflow = new Set<string>();
  #refused = 0;
  readonly #refusals: ThrottledWarning<"refused">;
  readonly #verifying = new Set<string>();
  readonly #up = new Set<Listener<[PeerInfo]>>();
  readonly #down = new Set<Listener<[PeerInfo, PeerDownReason]>>();
  readonly #waiters = new Set<() => void>();

  /**
   * @param options Runtime, name, ports, instance id and optional realm, TXT, interfaces.
   * @throws TypeError for an invalid name or TXT keys that would override PeerLink's own.
   */
  constructor(options: DiscoveryOptions) {
    validateLabel(options.name, "node name");
    for (const key of Object.keys(options.txt ?? {})) {
      if (RESERVED.has(key.toLowerCase())) {
        throw new TypeError(`Discovery: TXT key "${key}" is set by PeerLink itself; use another key.`);
      }
    }
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? createLogger("peerlink discovery");
    this.#type = serviceTypeFor(options.realm);
    this.#limits = completeLimits(options.limits, DEFAULT_DISCOVERY_LIMITS, "discovery");
    this.#name = options.name;
    this.#refusals = new ThrottledWarning(this.#logger, this.#clock, REFUSAL_LOG_INTERVAL_MS);
  }

  /** The published name: the requested one, or `"Name (2)"`... after an allowed rename. */
  get name(): string {
    return this.#name;
  }

  /** Counters of every table this discovery keeps, and of its mDNS (see {@linkcode DiscoveryStats}). */
  get stats(): DiscoveryStats {
    return {
      peers: this.#peers.size,
      kept: this.#kept.size,
      checking: this.#checks.size,
      queued: this.#queued.size,
      refused: this.#refused,
      waitingForRoom: this.#overflow.size,
      browser: this.#browser?.stats,
      mdns: this.#mdns?.stats,
    };
  }

  #txt(name: string): TxtAttributes {
    const o = this.#o;
    return {
      [TXT_KEYS.node]: name,
      [TXT_KEYS.udpPort]: String(o.udpPort),
      [TXT_KEYS.tcpPort]: String(o.tcpPort),
      [TXT_KEYS.instanceId]: o.instanceId,
      ...(o.realm ? { [TXT_KEYS.realm]: o.realm } : {}),
      ...o.txt,
    };
  }

  /**
   * Starts browsing, then publishes this node (probing its name, then announcing).
   *
   * @throws NameConflictError when the name is taken and `allowRename` is not set; NetError
   *   when the mDNS socket cannot be bound.
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error("Discovery.start(): already started; create a new Discovery.");
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
    });
    this.#mdns = mdns;
    try {
      await mdns.start();
      this.#browser = mdns.browse(this.#type, {
        onUp: (i) => this.#seen(i),
        onUpdate: (i) => this.#seen(i),
        onSeen: (i) => this.#heardFrom(i),
        onDown: (i, reason) => this.#gone(i.name, reason),
      });
      this.#published = await mdns.publish({
        instance: o.name,
        type: this.#type,
        port: o.udpPort,
        txt: this.#txt(o.name),
        allowRename: o.allowRename,
        txtFor: (name) => this.#txt(name),
        onNameChange: (name) => {
          this.#name = name;
        },
        onConflict: (error) => this.#logger.error(`${error.message} This node is no longer announced.`),
      });
      this.#name = this.#published.instance;
    } catch (error) {
      this.#state = "stopped";
      this.#browser = undefined;
      await mdns.stop();
      throw error;
    }
    if (this.#state !== "starting") return; // stopped meanwhile
    this.#state = "running";
    this.#notifyWaiters();
  }

  /** Sends goodbyes, stops browsing and closes the mDNS socket. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === "stopped" || this.#state === "new") {
      this.#state = "stopped";
      return;
    }
    this.#state = "stopped";
    this.#browser?.stop();
    await this.#mdns?.stop();
    this.#peers.clear();
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
    if (peer && !this.#kept.has(name)) this.#keep(name);
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
   * A call to this peer failed in a way that suggests it is gone: query it now (twice, one
   * second apart) and report it down (`"expired"`) when nothing answers within 2 s.
   *
   * @param name Node name.
   */
  reportUnreachable(name: string): void {
    const peer = this.#peers.get(name);
    const mdns = this.#mdns;
    if (!peer || !mdns || this.#state !== "running" || this.#verifying.has(name)) return;
    this.#verifying.add(name);
    this.#logger.debug(`discovery: checking whether '${name}' is still there`);
    mdns.verify(`${name}.${this.#type}.local`).then(
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

  #seen(i: ServiceInstance): void {
    if (this.#state === "stopped") return;
    const info = toPeerInfo(i);
    if (!info || this.#isOwn(i, info)) return;
    if (!this.#realmMatches(info)) {
      this.#logger.debug(`discovery: ignoring '${info.name}' from another realm`);
      return;
    }
    if (!this.#o.acceptPeer) return this.#admit(info);
    // In line behind the others; a name already waiting keeps its place with its newest instance.
    this.#queued.set(info.name, i);
    this.#startChecks();
  }

  /** Starts waiting `acceptPeer` checks while fewer than `maxPendingChecks` run (one at a time per name). */
  #startChecks(): void {
    for (const [name, instance] of this.#queued) {
      if (this.#checks.size >= this.#limits.maxPendingChecks || this.#state === "stopped") return;
      if (this.#checks.has(name)) continue; // its running check settles first, then this one starts
      this.#queued.delete(name);
      const info = toPeerInfo(instance);
      if (info) this.#check(info);
    }
  }

  #check(info: PeerInfo): void {
    const name = info.name;
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = this.#o.acceptPeer!(info);
    } catch (err) {
      this.#logger.warn(`discovery: acceptPeer threw for '${name}': ${String(err)}; ignoring the peer`);
      return;
    }
    const check: Check = { lastSeen: info.lastSeen, valid: true };
    this.#checks.set(name, check);
    Promise.resolve(verdict).then(
      (ok) => {
        // Ignored when the name went away, or a newer announcement of it waits for its own check.
        if (!check.valid || this.#queued.has(name) || this.#state === "stopped") return;
        if (ok) this.#admit({ ...info, lastSeen: Math.max(info.lastSeen, check.lastSeen) }, true);
        else this.#logger.debug(`discovery: acceptPeer rejected '${name}'`);
      },
      (err) => this.#logger.warn(`discovery: acceptPeer failed for '${name}': ${String(err)}; ignoring the peer`),
    ).finally(() => {
      if (this.#checks.get(name) === check) this.#checks.delete(name);
      this.#startChecks();
    });
  }

  /** The browser heard from an instance again, unchanged: only `lastSeen` moves. */
  #heardFrom(i: ServiceInstance): void {
    if (this.#state === "stopped") return;
    const prev = this.#peers.get(i.name);
    if (prev) {
      if (prev.lastSeen < i.lastSeen) this.#store(frozen({ ...prev, lastSeen: i.lastSeen }));
      return;
    }
    const check = this.#checks.get(i.name);
    if (check) check.lastSeen = Math.max(check.lastSeen, i.lastSeen);
    if (this.#queued.has(i.name)) this.#queued.set(i.name, i);
    else if (this.#overflow.has(i.name) && this.#peers.size < this.#limits.maxPeers) this.#seen(i);
  }

  #store(info: PeerInfo): void {
    this.#peers.set(info.name, info);
    this.#sorted = undefined;
  }

  /**
   * Lists a peer that passed the checks (`accepted`: through `acceptPeer`, whose records are
   * then kept), unless the table is full and it is new.
   */
  #admit(candidate: PeerInfo, accepted = false): void {
    const prev = this.#peers.get(candidate.name);
    if (!prev && this.#peers.size >= this.#limits.maxPeers) return this.#refuse(candidate.name);
    this.#overflow.delete(candidate.name);
    const info = frozen(
      prev && prev.lastSeen > candidate.lastSeen ? { ...candidate, lastSeen: prev.lastSeen } : candidate,
    );
    this.#store(info);
    if (accepted) this.#keep(info.name);
    if (prev) {
      const replaced = prev.instanceId !== info.instanceId || prev.address !== info.address ||
        prev.udpPort !== info.udpPort || prev.tcpPort !== info.tcpPort;
      if (!replaced) return;
      this.#emitDown(prev, "replaced");
    }
    for (const fn of [...this.#up]) this.#call(() => fn(info));
    this.#notifyWaiters();
  }

  #refuse(name: string): void {
    if (!this.#overflow.has(name)) this.#refused++;
    this.#overflow.add(name);
    this.#refusals.update(
      { refused: this.#refused },
      (since) =>
        `discovery: the peer table is full (${this.#peers.size} peers, limits.maxPeers); refused ${since.refused} new ` +
        `name${
          since.refused === 1 ? "" : "s"
        } since the last report, the listed peers stay. A host on the LAN may be ` +
        "flooding it with fake services; on a LAN this large raise limits.maxPeers.",
    );
  }

  /** Asks the mDNS cache to keep a listed peer's records. */
  #keep(name: string): void {
    if (this.#browser?.keep(`${name}.${serviceTypeName(this.#type)}`, true)) this.#kept.add(name);
  }

  #gone(name: string, reason: DownReason): void {
    this.#queued.delete(name);
    const check = this.#checks.get(name);
    if (check) check.valid = false;
    this.#overflow.delete(name);
    if (this.#kept.delete(name)) this.#browser?.keep(`${name}.${serviceTypeName(this.#type)}`, false);
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
