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
import { nameKey, serviceTypeName, trimDot, validateLabel } from "./names.ts";
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
  /** Incomplete instances a browser asks questions for at once. */
  maxResolving: number;
}

/** What a browser tracks now: each count is bounded by the records cached. */
export interface BrowserStats {
  /** Complete instances. */
  instances: number;
  /** Instances with a cached PTR, complete or not. */
  tracked: number;
  /** Instances whose records are kept ({@linkcode Browser.keep}). */
  kept: number;
  /** Incomplete instances whose questions are asked. */
  resolving: number;
  /** Incomplete instances waiting for their questions to be asked (over `maxResolving`). */
  waiting: number;
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

/**
 * The resolution questions (SRV, TXT, A, AAAA) that instances still need, asked for at most
 * `max` instances at once; the others wait in arrival order for a free slot. A question
 * several instances need (their host's addresses) is asked once.
 */
class ResolutionQuestions {
  readonly #querier: Querier;
  readonly #max: number;
  /** Asked questions (`name|type`): how many asking instances need each, and how to stop asking. */
  readonly #asked = new Map<string, { refs: number; release: () => void }>();
  /** Instances whose questions are asked, by key. */
  readonly #asking = new Map<string, readonly string[]>();
  /** Instances waiting for a slot, oldest first. */
  readonly #waiting = new Map<string, readonly string[]>();

  constructor(querier: Querier, max: number) {
    this.#querier = querier;
    this.#max = max;
  }

  /** Instances whose questions are being asked. */
  get resolving(): number {
    return this.#asking.size;
  }

  /** Instances waiting for their questions to be asked. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Sets the questions one instance still needs (none: it is complete or gone).
   *
   * @param instance The instance's name key.
   * @param questions `name|type` keys.
   */
  set(instance: string, questions: readonly string[]): void {
    const asked = this.#asking.get(instance);
    if (asked) {
      for (const q of questions) this.#retain(q); // before dropping: a shared question stays asked
      for (const q of asked) this.#drop(q);
      if (questions.length > 0) this.#asking.set(instance, questions);
      else {
        this.#asking.delete(instance);
        this.#promote();
      }
      return;
    }
    this.#waiting.delete(instance);
    if (questions.length === 0) return;
    if (this.#asking.size < this.#max) this.#start(instance, questions);
    else this.#waiting.set(instance, questions);
  }

  releaseAll(): void {
    for (const { release } of this.#asked.values()) release();
    this.#asked.clear();
    this.#asking.clear();
    this.#waiting.clear();
  }

  #start(instance: string, questions: readonly string[]): void {
    this.#asking.set(instance, questions);
    for (const q of questions) this.#retain(q);
  }

  #promote(): void {
    for (const [instance, questions] of this.#waiting) {
      if (this.#asking.size >= this.#max) return;
      this.#waiting.delete(instance);
      this.#start(instance, questions);
    }
  }

  #retain(question: string): void {
    const asked = this.#asked.get(question);
    if (asked) {
      asked.refs++;
      return;
    }
    const i = question.lastIndexOf("|");
    this.#asked.set(question, { refs: 1, release: this.#querier.ask(question.slice(0, i), question.slice(i + 1)) });
  }

  #drop(question: string): void {
    const asked = this.#asked.get(question);
    if (!asked || --asked.refs > 0) return;
    asked.release();
    this.#asked.delete(question);
  }
}

/** The `name|type` questions that would complete an instance. */
function questionsFor(fullName: string, missing: { instance: string[]; host?: string }): string[] {
  const questions = missing.instance.map((t) => `${fullName}|${t}`);
  if (missing.host) questions.push(`${missing.host}|A`, `${missing.host}|AAAA`);
  return questions;
}

function sameQuestions(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((q) => b.includes(q));
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
  /** Name key of the browsed PTR name. */
  readonly #ptrKey: string;
  /** `"." + ` the name key of the service type: how the names of its instances end. */
  readonly #instanceSuffix: string;
  readonly #ctx: BrowseContext;
  readonly #handlers: BrowseHandlers;
  readonly #up = new Map<string, ServiceInstance>();
  /** Per instance key: the questions it still needs (also marks instances assembled at least once). */
  readonly #wanted = new Map<string, string[]>();
  /** Per instance key: the name key of its SRV target host. */
  readonly #hostOf = new Map<string, string>();
  /** Per host name key: the instances whose SRV names it (the inverse of `#hostOf`). */
  readonly #onHost = new Map<string, Set<string>>();
  /** Kept instances: key -> full name (see {@linkcode Browser.keep}). */
  readonly #kept = new Map<string, string>();
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
    this.#ptrKey = nameKey(parsed.ptrName);
    this.#instanceSuffix = `.${nameKey(parsed.serviceType)}`;
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#onStop = onStop;
    this.#resolution = new ResolutionQuestions(ctx.querier, ctx.maxResolving);
    this.#release = ctx.querier.ask(this.type, "PTR");
  }

  /** What this browser tracks now (each bounded by the cache). */
  get stats(): BrowserStats {
    return {
      instances: this.#up.size,
      tracked: this.#wanted.size,
      kept: this.#kept.size,
      resolving: this.#resolution.resolving,
      waiting: this.#resolution.waiting,
    };
  }

  /**
   * Keeps the records of a complete instance in the cache, or stops: the cache then evicts
   * them only to make room for other kept records, however many other hosts flood it. Keep
   * what you rely on (for PeerLink: peers that passed `acceptPeer`, and peers it calls). An
   * instance stops being kept by itself when it goes down, and all when the browser stops.
   *
   * @param fullName The instance's full name, e.g. `"Worker._peerlink._tcp.local"`.
   * @param kept True to keep, false to stop.
   * @returns False when asked to keep an instance that is not up now (nothing is kept then).
   *
   * @example
   * ```ts ignore
   * const browser = mdns.browse("_http._tcp", { onUp: (s) => browser.keep(s.fullName, true) });
   * ```
   */
  keep(fullName: string, kept: boolean): boolean {
    const key = nameKey(fullName);
    if (!kept) {
      const name = this.#kept.get(key);
      if (name !== undefined) {
        this.#kept.delete(key);
        this.#ctx.cache.keep(name, false);
      }
      return true;
    }
    if (this.#stopped || !this.#up.has(key)) return false;
    if (!this.#kept.has(key)) {
      this.#kept.set(key, fullName);
      this.#ctx.cache.keep(fullName, true);
    }
    return true;
  }

  /**
   * True for PTRs of the browsed name and SRV/TXT of instances of its type.
   *
   * @param record A received record.
   * @returns Whether to cache it for this browse.
   */
  interested(record: MdnsRecord): boolean {
    if (record.type === "PTR") return nameKey(record.name) === this.#ptrKey;
    if (record.type === "SRV" || record.type === "TXT") {
      // `<instance>.<type>`: what splitInstanceName accepts, without building its parts (every
      // received record is asked, a flood's too).
      const key = nameKey(record.name);
      return key.length > this.#instanceSuffix.length && key.endsWith(this.#instanceSuffix);
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
    const update = (key: string, fullName: string | undefined) => this.#update(key, fullName, reason, events);
    if (touched) {
      // A PTR that appears or goes (goodbye, expiry, eviction) touches its instance's key.
      const viaHost = new Set<string>();
      for (const key of touched) {
        for (const instance of this.#onHost.get(key) ?? []) if (!touched.has(instance)) viaHost.add(instance);
      }
      for (const key of touched) update(key, this.#ptrTo(key));
      for (const key of viaHost) update(key, this.#ptrTo(key));
    } else {
      const names = this.#instanceNames();
      for (const [key, fullName] of names) update(key, fullName);
      for (const key of [...this.#up.keys(), ...this.#wanted.keys()]) if (!names.has(key)) update(key, undefined);
    }
    for (const e of events) safely(this.#ctx.logger, "browse", e);
  }

  /** Reassembles one instance (or notes that it is gone) and queues its event. */
  #update(key: string, fullName: string | undefined, reason: DownReason, events: Array<() => void>): void {
    const prev = this.#up.get(key);
    if (fullName === undefined) {
      if (prev) this.#down(key, prev, reason, events);
      this.#setHost(key, undefined);
      if (this.#wanted.delete(key)) this.#resolution.set(key, []);
      return;
    }
    const { instance, missing } = assembleInstance(
      this.#ctx.cache,
      fullName,
      this.#ctx.interfaces(),
      this.#ctx.toEpoch,
    );
    const questions = questionsFor(fullName, missing);
    const before = this.#wanted.get(key);
    if (before === undefined || !sameQuestions(before, questions)) {
      this.#wanted.set(key, questions);
      this.#resolution.set(key, questions);
    }
    const target = instance?.host ?? missing.host;
    this.#setHost(key, target === undefined ? undefined : nameKey(target));
    if (instance) {
      this.#up.set(key, instance);
      if (!prev) events.push(() => this.#handlers.onUp?.(instance));
      else if (!sameInstance(prev, instance)) events.push(() => this.#handlers.onUpdate?.(instance, prev));
      else if (prev.lastSeen !== instance.lastSeen) events.push(() => this.#handlers.onSeen?.(instance));
    } else if (prev) this.#down(key, prev, reason, events);
  }

  #down(key: string, prev: ServiceInstance, reason: DownReason, events: Array<() => void>): void {
    this.#up.delete(key);
    this.keep(prev.fullName, false);
    events.push(() => this.#handlers.onDown?.(prev, reason));
  }

  /** Records which host an instance's SRV names (undefined: none), in both directions. */
  #setHost(key: string, host: string | undefined): void {
    const old = this.#hostOf.get(key);
    if (old === host) return;
    if (old !== undefined) {
      const instances = this.#onHost.get(old)!;
      instances.delete(key);
      if (instances.size === 0) this.#onHost.delete(old);
    }
    if (host === undefined) {
      this.#hostOf.delete(key);
      return;
    }
    this.#hostOf.set(key, host);
    let instances = this.#onHost.get(host);
    if (!instances) this.#onHost.set(host, instances = new Set());
    instances.add(key);
  }

  /** Stops querying. Instances stay in the cache until they expire. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#release();
    this.#resolution.releaseAll();
    for (const name of this.#kept.values()) this.#ctx.cache.keep(name, false);
    this.#kept.clear();
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
    this.#resolution = new ResolutionQuestions(ctx.querier, 1);
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
    this.#resolution.set(nameKey(this.fullName), questionsFor(this.fullName, missing));
  }

  /** Stops asking. */
  stop(): void {
    this.#resolution.releaseAll();
  }
}
