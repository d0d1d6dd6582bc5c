/**
 * The querier's record cache (RFC 6762 sections 5.2, 10.1, 10.2): records keyed by name, type
 * and rdata, expiring at their TTL, with refresh points at 80/85/90/95% of the TTL (plus up
 * to 2% jitter), goodbyes (TTL 0) kept for one more second, and the cache-flush bit honoured
 * (other records of the set received more than one second earlier expire in one second).
 *
 * Beyond RFC 6762 5.2, a last refresh point at 97.5% gives a record one more chance on a
 * lossy link (at 30% loss it halves the records that expire although their host is alive);
 * the records of one packet share their jitter, so one query and one answer refresh them all.
 *
 * One timer serves the whole cache: it is never later than the earliest pending event. Adding
 * a record only brings it forward (O(1), as every received record is added); when it fires
 * early, because the record that set it was refreshed since, it finds nothing due and is set
 * again for the real earliest event.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { MdnsQuestion, MdnsRecord } from "./records.ts";
import { answers, recordKey, rrsetKey } from "./records.ts";
import { nameKey } from "./names.ts";

/** Why a record left the cache. */
export type ExpireReason = "expired" | "goodbye" | "flushed" | "unanswered";

/** One cached record. */
export interface CacheEntry {
  /** The record as received (its `ttl` is the original TTL, seconds). */
  readonly record: MdnsRecord;
  /** Unique key: name, type, rdata. */
  readonly key: string;
  /** Record-set key: name, type. */
  readonly rrset: string;
  /** When it was last received, clock ms. */
  receivedAt: number;
  /** When it expires, clock ms. */
  expiresAt: number;
  /** Refresh points still ahead, clock ms, ascending. */
  refreshAt: number[];
  /** Set when its expiry was brought forward, saying why. */
  ending?: ExpireReason;
  /** Address of the host that sent it. */
  readonly source: string;
}

/** Options of {@linkcode RecordCache}. */
export interface RecordCacheOptions {
  /** Time source. */
  clock: Clock;
  /** Random numbers in [0, 1) for refresh jitter. */
  random?: () => number;
  /** Called when an entry leaves the cache. */
  onExpire?: (entry: CacheEntry, reason: ExpireReason) => void;
  /** Called at each refresh point of an entry that is still alive. */
  onRefresh?: (entry: CacheEntry) => void;
  /** Most entries kept; beyond it the entries closest to expiry are evicted (default 4096). */
  maxEntries?: number;
  /** Most entries per record set (default 1024: a large LAN's browse PTRs). */
  maxPerRrset?: number;
  /** Most entries per record set from one sender (default 64): bounds what one hostile host can make us keep. */
  maxPerSource?: number;
}

/** What {@linkcode RecordCache.add} did. */
export interface AddResult {
  /** The entry now in the cache (undefined when the record was a goodbye for an unknown record). */
  entry?: CacheEntry;
  /** True when the record was not in the cache before (or had been marked to end). */
  fresh: boolean;
  /** True when it was a goodbye (TTL 0). */
  goodbye: boolean;
}

const REFRESH_POINTS = [0.8, 0.85, 0.9, 0.95, 0.975];

/**
 * Whether two records with the same {@linkcode recordKey} are also identical as received: same
 * TTL and flush bit, same spelling of names (keys ignore case), same address text.
 */
function sameRecord(a: MdnsRecord, b: MdnsRecord): boolean {
  if (a.name !== b.name || a.ttl !== b.ttl || a.flush !== b.flush) return false;
  switch (a.type) {
    case "A":
    case "AAAA":
    case "PTR":
      return a.data === b.data;
    case "SRV":
      return b.type === "SRV" && a.data.target === b.data.target;
    default:
      return true; // TXT and other rdata: equal keys mean equal bytes
  }
}

/** Longest TTL honoured, s: a hostile or broken sender cannot pin records for longer (and timers stay in range). */
export const MAX_TTL = 86_400;

/**
 * A record cache driven by an injected {@linkcode Clock}.
 *
 * @example
 * ```ts
 * import { RecordCache } from "./cache.ts";
 * import { systemClock } from "../clock.ts";
 * const cache = new RecordCache({ clock: systemClock, onExpire: (e, why) => console.log(e.record.name, why) });
 * cache.add({ name: "h.local", type: "A", ttl: 120, flush: true, data: "10.0.0.2" }, "10.0.0.2");
 * cache.close();
 * ```
 */
export class RecordCache {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onExpire: (entry: CacheEntry, reason: ExpireReason) => void;
  readonly #onRefresh: (entry: CacheEntry) => void;
  readonly #maxEntries: number;
  readonly #maxPerRrset: number;
  readonly #maxPerSource: number;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #rrsets = new Map<string, Set<CacheEntry>>();
  readonly #byName = new Map<string, Set<CacheEntry>>();
  /** Entries per `rrset|source`, for {@linkcode RecordCacheOptions.maxPerSource}. */
  readonly #perSource = new Map<string, number>();
  /** Cached SRV targets (name key -> count). */
  readonly #targets = new Map<string, number>();
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  #closed = false;
  #lastJitter: { source: string; at: number; values: number[] } | undefined;

  /**
   * @param options Clock, callbacks and bounds.
   */
  constructor(options: RecordCacheOptions) {
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#onExpire = options.onExpire ?? (() => {});
    this.#onRefresh = options.onRefresh ?? (() => {});
    this.#maxEntries = options.maxEntries ?? 4096;
    this.#maxPerRrset = options.maxPerRrset ?? 1024;
    this.#maxPerSource = options.maxPerSource ?? 64;
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Adds or refreshes a received record. A TTL of 0 marks an existing record to expire in one
   * second (RFC 6762 10.1); the cache-flush bit makes older members of its set expire in one
   * second (10.2). Records of one packet must be added at the same clock time.
   *
   * @param record The record.
   * @param source Sender address.
   * @returns What happened.
   */
  add(received: MdnsRecord, source: string): AddResult {
    if (this.#closed) return { fresh: false, goodbye: received.ttl === 0 };
    const record = received.ttl > MAX_TTL ? { ...received, ttl: MAX_TTL } : received;
    const now = this.#clock.now();
    const key = recordKey(record);
    const existing = this.#entries.get(key);
    if (record.ttl === 0) {
      if (!existing) return { fresh: false, goodbye: true };
      existing.expiresAt = Math.min(existing.expiresAt, now + 1000);
      existing.refreshAt = [];
      existing.ending = "goodbye";
      this.#scheduleAt(existing.expiresAt);
      return { entry: existing, fresh: false, goodbye: true };
    }
    if (record.flush) this.#flushOthers(record, key, now);
    const ttlMs = record.ttl * 1000;
    const jitter = this.#jitterFor(source, now);
    const refreshAt = REFRESH_POINTS.map((p, i) => now + ttlMs * (p + jitter[i]));
    const fresh = !existing || existing.ending !== undefined;
    if (existing && existing.source === source && sameRecord(existing.record, record)) {
      // The usual case, every announcement and answer: refresh the entry in place. The decoded
      // record then dies young instead of replacing a long-lived entry, which keeps the
      // garbage collector's young generation small when many peers announce.
      existing.receivedAt = now;
      existing.expiresAt = now + ttlMs;
      existing.refreshAt = refreshAt;
      existing.ending = undefined;
      this.#scheduleAt(Math.min(existing.expiresAt, refreshAt[0]));
      return { entry: existing, fresh, goodbye: false };
    }
    if (existing) this.#unlink(existing);
    const entry: CacheEntry = {
      record,
      key,
      rrset: rrsetKey(record),
      receivedAt: now,
      expiresAt: now + ttlMs,
      refreshAt,
      source,
    };
    this.#insert(entry);
    this.#scheduleAt(Math.min(entry.expiresAt, refreshAt[0]));
    return { entry, fresh, goodbye: false };
  }

  /**
   * Refresh jitter (up to 2% of the TTL per point) shared by the records of one packet, so
   * their refresh queries go out together and one answer refreshes them all.
   */
  #jitterFor(source: string, now: number): number[] {
    const last = this.#lastJitter;
    if (last && last.source === source && last.at === now) return last.values;
    const values = REFRESH_POINTS.map(() => this.#random() * 0.02);
    this.#lastJitter = { source, at: now, values };
    return values;
  }

  #insert(entry: CacheEntry): void {
    let set = this.#rrsets.get(entry.rrset);
    if (!set) this.#rrsets.set(entry.rrset, set = new Set());
    if (set.size >= this.#maxPerRrset) this.#evictFrom(set);
    const sourceKey = `${entry.rrset}|${entry.source}`;
    if ((this.#perSource.get(sourceKey) ?? 0) >= this.#maxPerSource) {
      this.#evictFrom([...set].filter((e) => e.source === entry.source));
    }
    this.#perSource.set(sourceKey, (this.#perSource.get(sourceKey) ?? 0) + 1);
    if (this.#entries.size >= this.#maxEntries) this.#evictFrom(this.#entries.values());
    set.add(entry);
    this.#entries.set(entry.key, entry);
    const nk = nameKey(entry.record.name);
    let named = this.#byName.get(nk);
    if (!named) this.#byName.set(nk, named = new Set());
    named.add(entry);
    if (entry.record.type === "SRV") {
      const target = nameKey(entry.record.data.target);
      this.#targets.set(target, (this.#targets.get(target) ?? 0) + 1);
    }
  }

  /**
   * True when some cached SRV record points at this host (its addresses are then worth keeping).
   *
   * @param host Host name.
   * @returns Whether it is an SRV target.
   */
  isSrvTarget(host: string): boolean {
    return this.#targets.has(nameKey(host));
  }

  #evictFrom(entries: Iterable<CacheEntry>): void {
    let victim: CacheEntry | undefined;
    for (const e of entries) if (!victim || e.expiresAt < victim.expiresAt) victim = e;
    if (victim) this.#remove(victim, "expired");
  }

  #flushOthers(record: MdnsRecord, key: string, now: number): void {
    const set = this.#rrsets.get(rrsetKey(record));
    if (!set) return;
    for (const other of set) {
      if (other.key === key || other.receivedAt > now - 1000) continue;
      if (other.expiresAt > now + 1000) {
        other.expiresAt = now + 1000;
        other.refreshAt = [];
        other.ending ??= "flushed";
        this.#scheduleAt(other.expiresAt);
      }
    }
  }

  /**
   * Entries of a name and type (`"ANY"` for all types), live ones only.
   *
   * @param name Owner name.
   * @param type Record type or `"ANY"`.
   * @returns Matching entries, most recently received first.
   */
  find(name: string, type: string): CacheEntry[] {
    const q: MdnsQuestion = { name, type, qu: false };
    const out: CacheEntry[] = [];
    for (const e of this.#byName.get(nameKey(name)) ?? []) {
      if (answers(q, e.record)) out.push(e);
    }
    return out.length > 1 ? out.sort((a, b) => b.receivedAt - a.receivedAt) : out;
  }

  /**
   * The cached entry of exactly this record (name, type and rdata; TTL and flags ignored).
   *
   * @param record The record to look up.
   * @returns Its entry, or undefined.
   */
  get(record: MdnsRecord): CacheEntry | undefined {
    return this.#entries.get(recordKey(record));
  }

  /**
   * Known answers for a question (RFC 6762 7.1): records with more than half their TTL left,
   * each with its remaining TTL.
   *
   * @param question The question about to be sent.
   * @returns Records to list in the query's answer section.
   */
  knownAnswers(question: MdnsQuestion): MdnsRecord[] {
    const now = this.#clock.now();
    const out: MdnsRecord[] = [];
    for (const e of this.find(question.name, question.type)) {
      if (e.ending) continue;
      const left = e.expiresAt - now;
      if (left > e.record.ttl * 500) out.push({ ...e.record, ttl: Math.floor(left / 1000), flush: false });
    }
    return out;
  }

  /**
   * Remaining TTL of an entry in whole seconds.
   *
   * @param entry The entry.
   * @returns Seconds left, at least 0.
   */
  remainingTtl(entry: CacheEntry): number {
    return Math.max(0, Math.floor((entry.expiresAt - this.#clock.now()) / 1000));
  }

  /**
   * Brings an entry's expiry forward (e.g. its host stopped answering, RFC 6762 10.5).
   *
   * @param entry The entry.
   * @param inMs Expire after this many ms (0: now).
   * @param reason Reason reported at expiry.
   */
  expireSoon(entry: CacheEntry, inMs: number, reason: ExpireReason): void {
    if (this.#entries.get(entry.key) !== entry) return;
    if (inMs <= 0) {
      this.#remove(entry, reason);
      return;
    }
    entry.expiresAt = Math.min(entry.expiresAt, this.#clock.now() + inMs);
    entry.refreshAt = [];
    entry.ending = reason;
    this.#scheduleAt(entry.expiresAt);
  }

  /** Every live entry. */
  entries(): CacheEntry[] {
    return [...this.#entries.values()];
  }

  /** Drops everything (without callbacks) and cancels the timer. */
  close(): void {
    this.#closed = true;
    this.#entries.clear();
    this.#rrsets.clear();
    this.#byName.clear();
    this.#perSource.clear();
    this.#targets.clear();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #remove(entry: CacheEntry, reason: ExpireReason): void {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#unlink(entry);
    this.#onExpire(entry, reason);
  }

  #unlink(entry: CacheEntry): void {
    this.#entries.delete(entry.key);
    const sourceKey = `${entry.rrset}|${entry.source}`;
    const count = (this.#perSource.get(sourceKey) ?? 1) - 1;
    if (count > 0) this.#perSource.set(sourceKey, count);
    else this.#perSource.delete(sourceKey);
    const set = this.#rrsets.get(entry.rrset);
    set?.delete(entry);
    if (set && set.size === 0) this.#rrsets.delete(entry.rrset);
    const nk = nameKey(entry.record.name);
    const named = this.#byName.get(nk);
    named?.delete(entry);
    if (named && named.size === 0) this.#byName.delete(nk);
    if (entry.record.type === "SRV") {
      const target = nameKey(entry.record.data.target);
      const left = (this.#targets.get(target) ?? 1) - 1;
      if (left > 0) this.#targets.set(target, left);
      else this.#targets.delete(target);
    }
  }

  #nextEvent(): number {
    let next = Infinity;
    for (const e of this.#entries.values()) {
      next = Math.min(next, e.expiresAt, e.refreshAt[0] ?? Infinity);
    }
    return next;
  }

  /** Sets the timer for the earliest pending event (a full scan: only after the timer fired). */
  #schedule(): void {
    if (this.#closed) return;
    const next = this.#nextEvent();
    if (next === this.#timerAt) return;
    this.#setTimer(next);
  }

  /** Brings the timer forward to `at` if it is set later (or not at all). */
  #scheduleAt(at: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    this.#setTimer(at);
  }

  #setTimer(at: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = this.#clock.setTimeout(() => this.#tick(), Math.max(0, at - this.#clock.now()));
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const due: Array<[CacheEntry, "expire" | "refresh"]> = [];
    for (const e of this.#entries.values()) {
      if (e.expiresAt <= now) due.push([e, "expire"]);
      else if ((e.refreshAt[0] ?? Infinity) <= now) {
        while ((e.refreshAt[0] ?? Infinity) <= now) e.refreshAt.shift();
        due.push([e, "refresh"]);
      }
    }
    for (const [e, what] of due) {
      try {
        if (what === "expire") this.#remove(e, e.ending ?? "expired");
        else this.#onRefresh(e);
      } catch {
        // A failing callback must not stop the cache; callers log their own errors.
      }
    }
    this.#schedule();
  }
}
