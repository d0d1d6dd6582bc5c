/**
 * The `Mdns` facade: one transport, responder, querier and cache working together.
 * See `mod.ts` for the public documentation.
 *
 * @module
 */
import { type Clock, epochMs, systemClock } from "../clock.ts";
import { createLogger, type Logger, ThrottledWarning } from "../log.ts";
import type { SocketRuntime } from "../net.ts";
import { type BrowseContext, type BrowseHandlers, Browser, Resolution, type Watcher } from "./browser.ts";
import { type CacheStats, ownerKey, RecordCache } from "./cache.ts";
import { MdnsStateError } from "./errors.ts";
import { PeerLinkError } from "../errors.ts";
import type { ServiceInstance } from "./instance.ts";
import type { MdnsInterface } from "./interfaces.ts";
import { completeLimits, DEFAULT_MDNS_LIMITS, type MdnsLimits } from "./limits.ts";
import { serviceTypeName, validateLabel } from "./names.ts";
import { encodeMessage, type MdnsMessage } from "./packet.ts";
import { Querier } from "./querier.ts";
import type { MdnsRecord } from "./records.ts";
import { type MdnsOutput, type PublishOptions, type Registration, Responder } from "./responder.ts";
import { normalizeService, type ServiceDescription } from "./service.ts";
import { MdnsTransport, type Received, type TransportStats } from "./transport.ts";

/** Options of {@linkcode Mdns}. */
export interface MdnsOptions {
  /** Socket runtime (an adapter from `runtimes/`, or a `MemoryNetwork` host in tests). */
  runtime: SocketRuntime;
  /** Time source (default: the system clock). */
  clock?: Clock;
  /** Diagnostics (default: a quiet `[mdns]` logger). */
  logger?: Logger;
  /**
   * Interface names or addresses to use (default: every multicast-capable one, else
   * loopback). A name selects IPv4 and IPv6 on it, an address only its own family.
   */
  interfaces?: readonly string[];
  /** Random numbers in [0, 1) (default `Math.random`); tests pass a seeded one. */
  random?: () => number;
  /** Host name for our A/AAAA records, e.g. `"kitchen-pi.local"` (default: random `pl-xxxxxxxx.local`, unique per process). */
  hostName?: string;
  /** UDP port (default 5353). */
  port?: number;
  /** How often to re-read the interface list, ms (default 3000; 0 disables). */
  pollIntervalMs?: number;
  /** Cap of the interval between repeated browse queries, ms (default 60 minutes, RFC 6762 5.2). */
  maxQueryIntervalMs?: number;
  /**
   * Hosts on other subnets (numeric addresses) whose direct unicast queries are answered, by
   * unicast (RFC 6762 section 5.5); `stats.transport.seedQueries` counts them. Default none:
   * off-link packets are ignored (section 11).
   */
  seeds?: readonly string[];
  /** Bounds on what other hosts can make this node keep (see {@linkcode MdnsLimits}); each has a default. */
  limits?: Partial<MdnsLimits>;
}

/** What to publish: a service plus rename policy and callbacks. */
export interface PublishRequest extends ServiceDescription, PublishOptions {}

/** A published service. */
export interface Published {
  /** Current instance label (changes when renamed after a conflict). */
  readonly instance: string;
  /** Current full name. */
  readonly fullName: string;
  /** Service type, e.g. `"_peerlink._tcp.local"`. */
  readonly type: string;
  /** Withdraws it with goodbye records. */
  unpublish(): Promise<void>;
}

/** Counters for diagnostics. */
export interface MdnsStats {
  /** Socket counters: received, accepted, dropped by reason, sent, send errors, internal errors. */
  transport: TransportStats;
  /** Records cached. */
  cacheSize: number;
  /** The cache's counters: entries, kept ones, sources, evictions and refusals. */
  cache: CacheStats;
  /** Questions being asked repeatedly (browses and resolutions). */
  questions: number;
  /** Truncated queries from other hosts held while their known answers arrive. */
  heldQueries: number;
  /** Query packets sent. */
  queriesSent: number;
  /** Full names currently published. */
  published: string[];
}

/** Options of {@linkcode Mdns.resolve}. */
export interface ResolveOptions {
  /** Give up after this many ms (default 3000). */
  timeout?: number;
  /** Cancels the resolution. */
  signal?: AbortSignal;
}

/** How often the cache's evictions and refusals under a flood are logged, at most, ms. */
const PRESSURE_LOG_INTERVAL_MS = 60_000;

function randomHostName(random: () => number): string {
  return `pl-${Math.floor(random() * 0xffffffff).toString(16).padStart(8, "0")}.local`;
}

/**
 * An mDNS/DNS-SD responder and querier on one socket. See `mod.ts` for an example.
 */
export class Mdns {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #transport: MdnsTransport;
  readonly #cache: RecordCache;
  readonly #querier: Querier;
  readonly #responder: Responder;
  readonly #watchers = new Set<Watcher>();
  readonly #ctx: BrowseContext;
  #state: "new" | "starting" | "running" | "stopped" = "new";
  #refreshQueued = false;
  readonly #pressure: ThrottledWarning<"evicted" | "refused">;
  readonly #expiredKeys = new Set<string>();
  /** Settles pending resolve()/verify() calls when stopping. */
  readonly #onStop = new Set<() => void>();

  /**
   * Creates an mDNS responder and querier; call `start()` to open its sockets.
   *
   * @param options Runtime and optional clock, logger, interfaces, randomness, host name, port.
   */
  constructor(options: MdnsOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? createLogger("mdns");
    this.#random = options.random ?? Math.random;
    if (options.hostName !== undefined) validateLabel(options.hostName.replace(/\.local\.?$/i, ""), "host name");
    const hostName = options.hostName
      ? `${options.hostName.replace(/\.local\.?$/i, "")}.local`
      : randomHostName(this.#random);
    this.#transport = new MdnsTransport({
      runtime: options.runtime,
      clock: this.#clock,
      logger: this.#logger,
      interfaces: options.interfaces,
      port: options.port,
      pollIntervalMs: options.pollIntervalMs,
      seeds: options.seeds,
      onMessage: (r) => this.#onMessage(r),
      onInterfacesChanged: (added, removed) => this.#onInterfacesChanged(added, removed),
    });
    const output: MdnsOutput = {
      interfaces: () => this.#transport.interfaces,
      multicast: (m, iface) => this.#encode(m, (bytes) => this.#transport.multicast(bytes, iface)),
      unicast: (m, address, port) => this.#encode(m, (bytes) => this.#transport.unicast(bytes, address, port)),
    };
    const limits = completeLimits(options.limits, DEFAULT_MDNS_LIMITS, "mDNS");
    this.#pressure = new ThrottledWarning(this.#logger, this.#clock, PRESSURE_LOG_INTERVAL_MS);
    this.#cache = new RecordCache({
      clock: this.#clock,
      random: this.#random,
      maxEntries: limits.maxCacheEntries,
      maxPerSource: limits.maxEntriesPerSource,
      onExpire: (e) => this.#queueRefresh(e.record),
      onRefresh: (e) => {
        if (this.#interested(e.record)) this.#querier.queryOnce(e.record.name, e.record.type);
      },
    });
    this.#querier = new Querier({
      clock: this.#clock,
      random: this.#random,
      cache: this.#cache,
      output,
      maxIntervalMs: options.maxQueryIntervalMs,
      maxKnownAnswers: limits.maxKnownAnswers,
    });
    this.#responder = new Responder({
      clock: this.#clock,
      random: this.#random,
      logger: this.#logger,
      output,
      hostName,
      hostNameFixed: options.hostName !== undefined,
      limits,
    });
    this.#ctx = {
      cache: this.#cache,
      querier: this.#querier,
      interfaces: () => this.#transport.interfaces,
      toEpoch: (ms) => epochMs(this.#clock, ms),
      logger: this.#logger,
      maxResolving: limits.maxResolving,
    };
  }

  /** The host name our address records use. */
  get hostName(): string {
    return this.#responder.hostName;
  }

  /** The links in use: each interface once per address family (IPv4 ones first, then IPv6). */
  get interfaces(): readonly MdnsInterface[] {
    return this.#transport.interfaces;
  }

  /** Counters for diagnostics. */
  get stats(): MdnsStats {
    return {
      transport: structuredClone(this.#transport.stats),
      cacheSize: this.#cache.size,
      cache: this.#cache.stats,
      questions: this.#querier.questions,
      heldQueries: this.#responder.heldQueries,
      queriesSent: this.#querier.sent,
      published: this.#responder.registrations.map((r) => r.fullName),
    };
  }

  /**
   * Binds the mDNS sockets and joins the groups on the chosen interfaces (IPv6 where an
   * interface has it and the runtime allows; see `mod.ts`).
   *
   * @throws NetError when the IPv4 socket cannot be bound.
   */
  async start(): Promise<void> {
    if (this.#state !== "new") {
      throw new MdnsStateError("Mdns.start(): already started (or stopped). Create a new Mdns.");
    }
    this.#state = "starting";
    try {
      await this.#transport.start();
    } catch (err) {
      this.#state = "stopped";
      this.#querier.stop();
      this.#cache.close();
      await this.#transport.stop();
      throw err;
    }
    this.#state = "running";
  }

  /**
   * Sends goodbyes for everything published, stops browsing and closes the socket.
   * Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    for (const cleanup of [...this.#onStop]) cleanup();
    this.#onStop.clear();
    for (const w of [...this.#watchers]) if (w instanceof Browser) w.stop();
    this.#watchers.clear();
    await this.#responder.stop();
    this.#querier.stop();
    this.#cache.close();
    await this.#transport.stop();
  }

  #assertRunning(what: string): void {
    if (this.#state !== "running") {
      throw new MdnsStateError(
        `Mdns.${what}: mDNS is ${this.#state === "stopped" ? "stopped" : "not started"}. Call start() first.`,
      );
    }
  }

  /**
   * Publishes a service: probes its name, then announces it.
   *
   * @param request Instance, type, port, TXT, subtypes, and rename policy.
   * @returns The published service, after probing and the first announcement.
   * @throws NameConflictError when the name is in use and `allowRename` is not set;
   *   NameError/TxtError for invalid input.
   */
  async publish(request: PublishRequest): Promise<Published> {
    this.#assertRunning("publish()");
    const service = normalizeService(request);
    const reg: Registration = await this.#responder.publish(service, request);
    const responder = this.#responder;
    return {
      get instance() {
        return reg.service.instance;
      },
      get fullName() {
        return reg.fullName;
      },
      type: service.type,
      unpublish: () => responder.unpublish(reg),
    };
  }

  /**
   * Browses a service type (or subtype, `"_printer._sub._http._tcp"`).
   *
   * @param type The type.
   * @param handlers `onUp`, `onDown`, `onUpdate`.
   * @returns The browser; call `stop()` to end it.
   */
  browse(type: string, handlers: BrowseHandlers = {}): Browser {
    this.#assertRunning("browse()");
    const browser = new Browser(this.#ctx, type, handlers, (b) => this.#watchers.delete(b));
    this.#watchers.add(browser);
    queueMicrotask(() => browser.refresh("expired")); // instances already cached
    return browser;
  }

  /**
   * Resolves one instance by name.
   *
   * @param instance Instance label, e.g. `"Worker"`.
   * @param type Service type, e.g. `"_peerlink._tcp"`.
   * @param options Timeout (default 3000 ms) and abort signal.
   * @returns The instance.
   * @throws Error naming the instance when it does not answer in time.
   */
  resolve(instance: string, type: string, options: ResolveOptions = {}): Promise<ServiceInstance> {
    this.#assertRunning("resolve()");
    validateLabel(instance, "instance name");
    const fullName = `${instance}.${serviceTypeName(type)}`;
    const timeout = options.timeout ?? 3000;
    return new Promise((resolve, reject) => {
      let finished = false;
      const finish = (fn: () => void) => {
        if (finished) return;
        finished = true;
        this.#clock.clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.#onStop.delete(onStop);
        resolution.stop();
        this.#watchers.delete(resolution);
        fn();
      };
      const onStop = () => finish(() => reject(new MdnsStateError(`mDNS stopped while resolving "${fullName}".`)));
      this.#onStop.add(onStop);
      const resolution = new Resolution(this.#ctx, fullName, (i) => finish(() => resolve(i)));
      const onAbort = () =>
        finish(() => reject(options.signal?.reason ?? new DOMException("resolve() was aborted", "AbortError")));
      const timer = this.#clock.setTimeout(
        () =>
          finish(() =>
            reject(
              new PeerLinkError(
                `mDNS: could not resolve "${fullName}" within ${timeout} ms: no complete answer (SRV, TXT and an address). Is it running on this network?`,
                "TIMEOUT",
              ),
            )
          ),
        timeout,
      );
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort);
      this.#watchers.add(resolution);
      resolution.refresh();
    });
  }

  /**
   * Checks that an instance still answers (RFC 6762 10.5): queries its SRV and TXT twice,
   * one second apart, without known answers. If nothing arrives within `timeoutMs`, its
   * records are flushed from the cache and browsers report it down with reason `"expired"`.
   *
   * @param fullName Instance full name.
   * @param timeoutMs How long to wait for an answer (default 2000).
   * @returns True when it answered.
   */
  verify(fullName: string, timeoutMs = 2000): Promise<boolean> {
    this.#assertRunning("verify()");
    const started = this.#clock.now();
    const ask = () => {
      if (this.#state !== "running") return;
      this.#querier.queryOnce(fullName, "SRV", false);
      this.#querier.queryOnce(fullName, "TXT", false);
    };
    ask();
    return new Promise((resolve) => {
      const again = this.#clock.setTimeout(ask, Math.min(1000, timeoutMs / 2));
      const onStop = () => {
        this.#clock.clearTimeout(again);
        this.#clock.clearTimeout(deadline);
        resolve(false);
      };
      this.#onStop.add(onStop);
      const deadline = this.#clock.setTimeout(() => {
        this.#onStop.delete(onStop);
        this.#clock.clearTimeout(again);
        if (this.#state !== "running") return resolve(false);
        const entries = [...this.#cache.find(fullName, "SRV"), ...this.#cache.find(fullName, "TXT")];
        if (entries.some((e) => e.receivedAt >= started && e.ending === undefined)) return resolve(true);
        for (const e of entries) this.#cache.expireSoon(e, 0, "unanswered");
        resolve(false);
      }, timeoutMs);
    });
  }

  async #encode(message: MdnsMessage, send: (bytes: Uint8Array) => Promise<void>): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(message);
    } catch (err) {
      this.#logger.error(`mDNS: could not encode a message: ${String(err)}`);
      return;
    }
    await send(bytes);
  }

  #onMessage(r: Received): void {
    if (this.#state !== "running") return;
    if (r.message.response) {
      this.#responder.handleResponse(r);
      this.#ingest(r);
    } else {
      this.#responder.handleQuery(r);
      // An off-link query is answered by unicast: it says nothing about what the link hears.
      if (!r.offLink) this.#querier.observeQuery(r.message);
    }
  }

  #interested(record: MdnsRecord): boolean {
    if (record.type === "A" || record.type === "AAAA") return this.#cache.isSrvTarget(record.name);
    for (const w of this.#watchers) if (w.interested(record)) return true;
    return false;
  }

  #ingest(r: Received): void {
    if (this.#watchers.size === 0) return;
    const records = [...r.message.answers, ...r.message.additionals];
    let goodbye = false;
    const touched = new Set<string>();
    const add = (rec: MdnsRecord) => {
      const res = this.#cache.add(rec, r.address);
      if (res.entry === undefined) return;
      goodbye ||= res.goodbye;
      touched.add(ownerKey(rec));
    };
    for (const rec of records) {
      if (rec.type !== "A" && rec.type !== "AAAA" && this.#interested(rec)) add(rec);
    }
    for (const rec of records) {
      if ((rec.type === "A" || rec.type === "AAAA") && this.#cache.isSrvTarget(rec.name)) add(rec);
    }
    this.#notePressure();
    if (touched.size === 0) return;
    if (goodbye) this.#logger.debug(`mDNS: goodbye (TTL 0) from ${r.address} touching ${[...touched].join(", ")}`);
    for (const w of [...this.#watchers]) w.refresh(goodbye ? "goodbye" : "expired", touched);
  }

  /**
   * Logs what the cache evicted and refused under a flood: once when it starts, then at most
   * once a minute with the counts since (the totals are in `stats.cache`).
   */
  #notePressure(): void {
    this.#pressure.update(this.#cache.counters, (since) => {
      const { largestSource, sources, entries } = this.#cache.stats;
      return `mDNS: the record cache is under pressure: ${since.evicted} records evicted and ${since.refused} ` +
        `refused since the last report (${entries} cached from ${sources} addresses, the largest share ${largestSource}). ` +
        "A host on the LAN may be flooding it; the bounds are the Mdns/Discovery option `limits`.";
    });
  }

  /** Batches the browsers' refresh after cache expiries (many records often expire together). */
  #queueRefresh(record: MdnsRecord): void {
    this.#expiredKeys.add(ownerKey(record));
    if (this.#refreshQueued) return;
    this.#refreshQueued = true;
    queueMicrotask(() => {
      this.#refreshQueued = false;
      const touched = new Set(this.#expiredKeys);
      this.#expiredKeys.clear();
      if (this.#state !== "running") return;
      for (const w of [...this.#watchers]) w.refresh("expired", touched);
    });
  }

  #onInterfacesChanged(added: MdnsInterface[], removed: MdnsInterface[]): void {
    if (this.#state !== "running") return;
    this.#responder.interfacesChanged(added, removed);
    if (added.length) this.#querier.restart();
  }
}
