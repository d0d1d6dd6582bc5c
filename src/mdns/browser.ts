/**
 * Browsing (RFC 6763 section 4): continuous PTR queries for a service type, resolution of
 * each instance found (SRV, TXT, then the host's addresses, asked for only when responders
 * did not include them), and up/update/down events as the cache changes.
 *
 * Also one-shot resolution of a known instance name ({@linkcode Resolution}).
 *
 * @module
 */
import type { CacheEntry, RecordCache } from "./cache.ts";
import type { MdnsInterface } from "./interfaces.ts";
import { assembleInstance, sameInstance, type ServiceInstance } from "./instance.ts";
import { nameKey, serviceTypeName, splitInstanceName, trimDot, validateLabel } from "./names.ts";
import type { Querier } from "./querier.ts";
import type { MdnsRecord } from "./records.ts";
import type { Logger } from "../log.ts";

/** Why an instance went down: it said goodbye (TTL 0), or its records expired unanswered. */
export type DownReason = "goodbye" | "expired";

/** Callbacks of a browse. */
export interface BrowseHandlers {
  /** An instance became complete (SRV, TXT and an address known). */
  onUp?: (instance: ServiceInstance) => void;
  /** An instance left. */
  onDown?: (instance: ServiceInstance, reason: DownReason) => void;
  /** An instance's host, port, addresses or TXT changed. */
  onUpdate?: (instance: ServiceInstance, previous: ServiceInstance) => void;
  /**
   * An instance was heard from again (an announcement or answer) and nothing users see
   * changed but its `lastSeen`. Lets a consumer keep its own view fresh without reassembling.
   */
  onSeen?: (instance: ServiceInstance) => void;
}

/** What browsers need from the `Mdns` facade. */
export interface BrowseContext {
  /** The record cache. */
  cache: RecordCache;
  /** The querier. */
  querier: Querier;
  /** Our interfaces. */
  interfaces(): readonly MdnsInterface[];
  /** Clock ms to epoch ms. */
  toEpoch(clockMs: number): number;
  /** Diagnostics. */
  logger: Logger;
}

/** Something that watches the cache: it says which records it wants kept and reacts to changes. */
export interface Watcher {
  /** True when the cache should keep this received record for us. */
  interested(record: MdnsRecord): boolean;
  /**
   * The cache changed; `reason` is how records went away, if any did. `touched` holds the
   * name keys of instances and hosts whose records changed (undefined: anything may have).
   */
  refresh(reason: DownReason, touched?: ReadonlySet<string>): void;
}

/**
 * Parses a browse type: `"_http._tcp"`, `"_http._tcp.local."` or a subtype such as
 * `"_printer._sub._http._tcp"`.
 *
 * @param type The type to browse.
 * @returns The PTR name to query and the service type its instances belong to.
 */
export function parseBrowseType(type: string): { ptrName: string; serviceType: string } {
  const m = /^(_[^.]+)\._sub\.(.+)$/i.exec(trimDot(type.trim()));
  if (m) {
    validateLabel(m[1], "subtype");
    const serviceType = serviceTypeName(m[2]);
    return { ptrName: `${m[1]}._sub.${serviceType}`, serviceType };
  }
  const serviceType = serviceTypeName(type);
  return { ptrName: serviceType, serviceType };
}

const alive = (e: CacheEntry) => e.ending !== "goodbye";

/** Keeps the resolution questions (SRV/TXT/A/AAAA) an instance set still needs asked. */
class ResolutionQuestions {
  readonly #querier: Querier;
  readonly #asked = new Map<string, () => void>();

  constructor(querier: Querier) {
    this.#querier = querier;
  }

  /** Asks exactly the given `name|type` questions. */
  sync(wanted: Set<string>): void {
    for (const [k, release] of this.#asked) {
      if (!wanted.has(k)) {
        release();
        this.#asked.delete(k);
      }
    }
    for (const k of wanted) {
      if (this.#asked.has(k)) continue;
      const i = k.lastIndexOf("|");
      this.#asked.set(k, this.#querier.ask(k.slice(0, i), k.slice(i + 1)));
    }
  }

  releaseAll(): void {
    this.sync(new Set());
  }
}

function wantedFor(fullName: string, missing: { instance: string[]; host?: string }, into: Set<string>): void {
  for (const t of missing.instance) into.add(`${fullName}|${t}`);
  if (missing.host) {
    into.add(`${missing.host}|A`);
    into.add(`${missing.host}|AAAA`);
  }
}

function safely(logger: Logger, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    logger.error(`mDNS: ${what} callback threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  }
}

/**
 * A running browse. Create with `Mdns.browse()`.
 */
export class Browser implements Watcher {
  /** The PTR name browsed. */
  readonly type: string;
  readonly #serviceType: string;
  readonly #ctx: BrowseContext;
  readonly #handlers: BrowseHandlers;
  readonly #up = new Map<string, ServiceInstance>();
  /** Per instance key: the questions it still needs (also marks instances assembled at least once). */
  readonly #wanted = new Map<string, string[]>();
  /** Per instance key: the name key of its SRV target host. */
  readonly #hostOf = new Map<string, string>();
  readonly #resolution: ResolutionQuestions;
  readonly #release: () => void;
  readonly #onStop: (b: Browser) => void;
  #stopped = false;

  /**
   * Creates a browser; use `Mdns.browse()` instead of calling this directly.
   *
   * @param ctx Cache, querier and interfaces.
   * @param type Type or subtype to browse.
   * @param handlers Event callbacks.
   * @param onStop Called once by {@linkcode Browser.stop}.
   */
  constructor(ctx: BrowseContext, type: string, handlers: BrowseHandlers, onStop: (b: Browser) => void) {
    const parsed = parseBrowseType(type);
    this.type = parsed.ptrName;
    this.#serviceType = parsed.serviceType;
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#onStop = onStop;
    this.#resolution = new ResolutionQuestions(ctx.querier);
    this.#release = ctx.querier.ask(this.type, "PTR");
  }

  /**
   * True for PTRs of the browsed name and SRV/TXT of instances of its type.
   *
   * @param record A received record.
   * @returns Whether to cache it for this browse.
   */
  interested(record: MdnsRecord): boolean {
    if (record.type === "PTR") return nameKey(record.name) === nameKey(this.type);
    if (record.type === "SRV" || record.type === "TXT") {
      const parts = splitInstanceName(record.name);
      return parts !== undefined && nameKey(parts.type) === nameKey(this.#serviceType);
    }
    return false;
  }

  /**
   * The complete instances now, with fresh `lastSeen`.
   *
   * @returns The instances.
   */
  instances(): ServiceInstance[] {
    const out: ServiceInstance[] = [];
    for (const fullName of this.#instanceNames().values()) {
      const { instance } = assembleInstance(this.#ctx.cache, fullName, this.#ctx.interfaces(), this.#ctx.toEpoch);
      if (instance) out.push(instance);
    }
    return out;
  }

  #instanceNames(): Map<string, string> {
    const names = new Map<string, string>();
    for (const e of this.#ctx.cache.find(this.type, "PTR")) {
      if (alive(e) && e.record.type === "PTR") names.set(nameKey(e.record.data), e.record.data);
    }
    return names;
  }

  /** The live PTR of this browse pointing at the instance with this name key, if cached. */
  #ptrTo(key: string): string | undefined {
    const e = this.#ctx.cache.get({ name: this.type, type: "PTR", ttl: 0, flush: false, data: key });
    return e && alive(e) && e.record.type === "PTR" ? e.record.data : undefined;
  }

  /**
   * Recomputes instances and fires events. Only instances whose own records or host records
   * were touched are looked at, with map lookups, so a packet costs little however many
   * peers there are (every node on the LAN sends some, and each one reaches every browser).
   *
   * @param reason Reason reported for instances that disappeared.
   * @param touched Name keys of changed instances and hosts; undefined recomputes all.
   */
  refresh(reason: DownReason, touched?: ReadonlySet<string>): void {
    if (this.#stopped) return;
    const events: Array<() => void> = [];
    let wantedChanged = false;
    const update = (key: string, fullName: string | undefined) => {
      wantedChanged = this.#update(key, fullName, reason, events) || wantedChanged;
    };
    if (touched) {
      // A PTR that appears or goes (goodbye, expiry, eviction) touches its instance's key.
      const viaHost: string[] = [];
      this.#hostOf.forEach((host, key) => { // forEach: no entry array per instance and packet
        if (touched.has(host) && !touched.has(key)) viaHost.push(key);
      });
      for (const key of touched) update(key, this.#ptrTo(key));
      for (const key of viaHost) update(key, this.#ptrTo(key));
    } else {
      const names = this.#instanceNames();
      for (const [key, fullName] of names) update(key, fullName);
      for (const key of [...this.#up.keys(), ...this.#wanted.keys()]) if (!names.has(key)) update(key, undefined);
    }
    if (wantedChanged) this.#resolution.sync(new Set([...this.#wanted.values()].flat()));
    for (const e of events) safely(this.#ctx.logger, "browse", e);
  }

  /**
   * Reassembles one instance (or notes that it is gone) and queues its event.
   *
   * @returns Whether the questions it needs changed.
   */
  #update(key: string, fullName: string | undefined, reason: DownReason, events: Array<() => void>): boolean {
    const prev = this.#up.get(key);
    if (fullName === undefined) {
      if (prev) {
        this.#up.delete(key);
        events.push(() => this.#handlers.onDown?.(prev, reason));
      }
      this.#hostOf.delete(key);
      return this.#wanted.delete(key);
    }
    const { instance, missing } = assembleInstance(
      this.#ctx.cache,
      fullName,
      this.#ctx.interfaces(),
      this.#ctx.toEpoch,
    );
    const wanted = new Set<string>();
    wantedFor(fullName, missing, wanted);
    const before = this.#wanted.get(key);
    const changed = before === undefined || before.length !== wanted.size || before.some((k) => !wanted.has(k));
    if (changed) this.#wanted.set(key, [...wanted]);
    const target = instance?.host ?? missing.host;
    if (target) this.#hostOf.set(key, nameKey(target));
    else this.#hostOf.delete(key);
    if (instance) {
      this.#up.set(key, instance);
      if (!prev) events.push(() => this.#handlers.onUp?.(instance));
      else if (!sameInstance(prev, instance)) events.push(() => this.#handlers.onUpdate?.(instance, prev));
      else if (prev.lastSeen !== instance.lastSeen) events.push(() => this.#handlers.onSeen?.(instance));
    } else if (prev) {
      this.#up.delete(key);
      events.push(() => this.#handlers.onDown?.(prev, reason));
    }
    return changed;
  }

  /** Stops querying. Instances stay in the cache until they expire. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#release();
    this.#resolution.releaseAll();
    this.#onStop(this);
  }
}

/**
 * One-shot resolution of an instance by full name: asks SRV and TXT (then addresses) until
 * complete.
 */
export class Resolution implements Watcher {
  /** The instance's full name. */
  readonly fullName: string;
  readonly #ctx: BrowseContext;
  readonly #resolution: ResolutionQuestions;
  readonly #done: (instance: ServiceInstance) => void;

  /**
   * @param ctx Cache, querier and interfaces.
   * @param fullName Instance full name.
   * @param done Called once with the complete instance.
   */
  constructor(ctx: BrowseContext, fullName: string, done: (instance: ServiceInstance) => void) {
    this.fullName = fullName;
    this.#ctx = ctx;
    this.#done = done;
    this.#resolution = new ResolutionQuestions(ctx.querier);
  }

  /** SRV/TXT of the instance. */
  interested(record: MdnsRecord): boolean {
    return (record.type === "SRV" || record.type === "TXT") && nameKey(record.name) === nameKey(this.fullName);
  }

  /** Checks for completion; asks what is missing. */
  refresh(): void {
    const { instance, missing } = assembleInstance(
      this.#ctx.cache,
      this.fullName,
      this.#ctx.interfaces(),
      this.#ctx.toEpoch,
    );
    if (instance) {
      this.#resolution.releaseAll();
      this.#done(instance);
      return;
    }
    const wanted = new Set<string>();
    wantedFor(this.fullName, missing, wanted);
    this.#resolution.sync(wanted);
  }

  /** Stops asking. */
  stop(): void {
    this.#resolution.releaseAll();
  }
}
