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
import { createLogger, type Logger } from "./log.ts";
import type { SocketRuntime } from "./net.ts";
import { Mdns } from "./mdns/mdns.ts";
import type { Browser, DownReason } from "./mdns/browser.ts";
import type { Published } from "./mdns/mdns.ts";
import type { ServiceInstance } from "./mdns/instance.ts";
import { validateLabel } from "./mdns/names.ts";
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
  #name: string;
  #mdns: Mdns | undefined;
  #browser: Browser | undefined;
  #published: Published | undefined;
  #state: "new" | "starting" | "running" | "stopped" = "new";
  /** Reported peers by exact name; values are frozen and replaced (never mutated) on change. */
  readonly #peers = new Map<string, PeerInfo>();
  /** `#peers` sorted by name, built on demand and dropped on every change. */
  #sorted: PeerInfo[] | undefined;
  /**
   * Per name: the newest `lastSeen` the browser reported, also for names not (yet) admitted,
   * so a peer admitted after an asynchronous `acceptPeer` still gets the freshest time.
   */
  readonly #heard = new Map<string, number>();
  /** Per name: a counter that invalidates an `acceptPeer` decision still in flight. */
  readonly #generation = new Map<string, number>();
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
    for (const key of Object.keys(extraTxt(options, options.name))) {
      if (RESERVED.has(key.toLowerCase())) {
        throw new TypeError(`Discovery: TXT key "${key}" is set by PeerLink itself; use another key.`);
      }
    }
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? createLogger("peerlink discovery");
    this.#type = serviceTypeFor(options.realm);
    this.#name = options.name;
  }

  /** The published name: the requested one, or `"Name (2)"`... after an allowed rename. */
  get name(): string {
    return this.#name;
  }

  #txt(name: string): TxtAttributes {
    const o = this.#o;
    return {
      [TXT_KEYS.node]: name,
      [TXT_KEYS.udpPort]: String(o.udpPort),
      [TXT_KEYS.tcpPort]: String(o.tcpPort),
      [TXT_KEYS.instanceId]: o.instanceId,
      ...(o.realm ? { [TXT_KEYS.realm]: o.realm } : {}),
      ...extraTxt(o, name),
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
      // A client only (announce: false) browses and is never published.
      this.#published = o.announce === false ? undefined : await mdns.publish({
        instance: o.name,
        type: this.#type,
        port: o.udpPort,
        txt: this.#txt(o.name),
        allowRename: o.allowRename,
        txtFor: (name) => this.#txt(name),
        onNameChange: (name) => {
          this.#name = name;
          o.onRename?.(name);
        },
        onConflict: (error) => this.#logger.error(`${error.message} This node is no longer announced.`),
      });
      this.#name = this.#published?.instance ?? o.name;
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
    this.#heard.clear();
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
   * The peer with exactly this name: a map lookup, cheap enough for every call.
   *
   * @param name Node name (exact, case-sensitive).
   * @returns The peer (frozen, with fresh `lastSeen`), or undefined.
   */
  resolve(name: string): PeerInfo | undefined {
    return this.#peers.get(name);
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
    this.#noteHeard(i);
    const info = toPeerInfo(i);
    if (!info || this.#isOwn(i, info)) return;
    if (!this.#realmMatches(info)) {
      this.#logger.debug(`discovery: ignoring '${info.name}' from another realm`);
      return;
    }
    const generation = (this.#generation.get(info.name) ?? 0) + 1;
    this.#generation.set(info.name, generation);
    const accept = this.#o.acceptPeer;
    if (!accept) return this.#admit(info);
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = accept(info);
    } catch (err) {
      this.#logger.warn(`discovery: acceptPeer threw for '${info.name}': ${String(err)}; ignoring the peer`);
      return;
    }
    Promise.resolve(verdict).then(
      (ok) => {
        if (this.#generation.get(info.name) !== generation || this.#state === "stopped") return;
        if (ok) this.#admit(info);
        else this.#logger.debug(`discovery: acceptPeer rejected '${info.name}'`);
      },
      (err) => this.#logger.warn(`discovery: acceptPeer failed for '${info.name}': ${String(err)}; ignoring the peer`),
    );
  }

  /** Remembers the newest time a name was heard from (announcements can overtake an `acceptPeer`). */
  #noteHeard(i: ServiceInstance): void {
    if ((this.#heard.get(i.name) ?? -Infinity) < i.lastSeen) this.#heard.set(i.name, i.lastSeen);
  }

  /** The browser heard from an instance again, unchanged: only `lastSeen` moves. */
  #heardFrom(i: ServiceInstance): void {
    if (this.#state === "stopped") return;
    this.#noteHeard(i);
    const prev = this.#peers.get(i.name);
    const lastSeen = this.#heard.get(i.name)!;
    if (!prev || prev.lastSeen >= lastSeen) return;
    this.#store(frozen({ ...prev, lastSeen }));
  }

  #store(info: PeerInfo): void {
    this.#peers.set(info.name, info);
    this.#sorted = undefined;
  }

  #admit(candidate: PeerInfo): void {
    const lastSeen = Math.max(candidate.lastSeen, this.#heard.get(candidate.name) ?? -Infinity);
    const info = frozen({ ...candidate, lastSeen });
    const prev = this.#peers.get(info.name);
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

  #gone(name: string, reason: DownReason): void {
    this.#generation.set(name, (this.#generation.get(name) ?? 0) + 1);
    this.#heard.delete(name);
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
