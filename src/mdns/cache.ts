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
 * One timer serves the whole cache: it is never later than the earliest pending event. Every
 * entry's next event (a refresh point or its expiry) waits in a heap, so adding a record or
 * handling what fell due costs O(log n), not a scan of the cache; a pair left behind by a
 * record refreshed since is skipped when it comes out.
 *
 * Bounded against floods (see `limits.ts`): at most `maxEntries` records, at most
 * `maxPerSource` from one source address over all its records. A new record from a source at
 * its share is refused (what a host already has is refreshed in place, needing no room). In a
 * full cache, a new record from a source below its fair share (the room divided among the
 * sources holding records) evicts the oldest record of the source holding the most; otherwise
 * it is refused. So a flood from one host costs nobody else a record, floods from many hosts
 * end up holding even shares and then stop churning the cache (which keeps a flooded node's
 * work and garbage small), and a host that holds few records always gets in.
 *
 * Records of names the owner asked to keep ({@linkcode RecordCache.keep}: PTRs pointing at a
 * kept instance, its SRV and TXT, and the addresses of hosts its SRV names) are not ordinary:
 * only a kept newcomer may evict one, or take room its own source has no share left for.
 * Evictions and refusals are counted.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { MdnsQuestion, MdnsRecord } from "./records.ts";
import { answers, recordKey, rrtypeOf } from "./records.ts";
import { nameKey } from "./names.ts";
import { DEFAULT_MDNS_LIMITS } from "./limits.ts";
import { SourceGroups } from "./source_groups.ts";
import { DueQueue } from "./due_queue.ts";

/** Why a record left the cache: its TTL ran out, a goodbye, the flush bit, no answer to a check, or room for another. */
export type ExpireReason = "expired" | "goodbye" | "flushed" | "unanswered" | "evicted";

/** One cached record. */
export interface CacheEntry {
  /** The record as received (its `ttl` is the original TTL, seconds). */
  readonly record: MdnsRecord;
  /** Unique key: name, type, rdata. */
  readonly key: string;
  /** When it was last received, clock ms. */
  receivedAt: number;
  /** When it expires, clock ms. */
  expiresAt: number;
  /** Refresh points passed since it was received (all of them once its expiry was brought forward). */
  refreshed: number;
  /** Jitter of its refresh points, fractions of the TTL (shared by the records of one packet). */
  jitter: readonly number[];
  /** Set when its expiry was brought forward, saying why. */
  ending?: ExpireReason;
  /** Address of the host that sent it. */
  readonly source: string;
  /** Name key of what it belongs to: the instance a PTR points at, else its owner name (see {@linkcode ownerKey}). */
  readonly owner: string;
  /** True while it belongs to a kept name ({@linkcode RecordCache.keep}): evicted only for another kept record. */
  kept: boolean;
}

/** Counters of a {@linkcode RecordCache}. */
export interface CacheStats {
  /** Records cached. */
  entries: number;
  /** Of those, records of kept names. */
  kept: number;
  /** Source addresses with records cached. */
  sources: number;
  /** Records of the source holding the most. */
  largestSource: number;
  /** Records evicted to make room for another: a full cache's largest holder's, or for a kept record. */
  evicted: number;
  /** Records refused: no room they were allowed to take. */
  refused: number;
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
  /** Most entries kept (default `DEFAULT_MDNS_LIMITS.maxCacheEntries`, 2048). */
  maxEntries?: number;
  /** Most entries from one sender, over all its records (default `DEFAULT_MDNS_LIMITS.maxEntriesPerSource`, 256). */
  maxPerSource?: number;
}

/** What {@linkcode RecordCache.add} did. */
export interface AddResult {
  /** The entry now in the cache (undefined for a goodbye of an unknown record, or a refused record). */
  entry?: CacheEntry;
  /** True when the record was not in the cache before (or had been marked to end). */
  fresh: boolean;
  /** True when it was a goodbye (TTL 0). */
  goodbye: boolean;
}

const REFRESH_POINTS = [0.8, 0.85, 0.9, 0.95, 0.975];
/** `CacheEntry.refreshed` of an entry with no refresh point left. */
const NO_REFRESH = REFRESH_POINTS.length;

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
 * The name key a record belongs to: for a PTR the instance it points at, for the others their
 * own name (an instance for SRV and TXT, a host for A and AAAA). A change to a record touches
 * this key, and keeping this key keeps the record.
 *
 * @param record A record.
 * @returns The name key.
 */
export function ownerKey(record: MdnsRecord): string {
  return nameKey(record.type === "PTR" ? record.data : record.name);
}

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
  readonly #maxPerSource: number;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #byName = new Map<string, Set<CacheEntry>>();
  /** PTR entries by the instance they point at (other entries belong to their own name). */
  readonly #ptrsTo = new Map<string, Set<CacheEntry>>();
  /** Entries not kept, by source, oldest first: the eviction candidates. */
  readonly #ordinary = new SourceGroups<CacheEntry>();
  /** Entries of kept names, by source, oldest first. */
  readonly #keptEntries = new SourceGroups<CacheEntry>();
  /** Name keys the owner asked to keep. */
  readonly #keptNames = new Set<string>();
  /** Hosts named by kept SRV records (name key -> count): their addresses are kept too. */
  readonly #keptHosts = new Map<string, number>();
  /** Cached SRV targets (name key -> count). */
  readonly #targets = new Map<string, number>();
  #evicted = 0;
  #refused = 0;
  /** Every entry's next event, earliest first (with stale pairs of changed entries, skipped). */
  readonly #due = new DueQueue<CacheEntry>();
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
    this.#maxEntries = options.maxEntries ?? DEFAULT_MDNS_LIMITS.maxCacheEntries;
    this.#maxPerSource = options.maxPerSource ?? DEFAULT_MDNS_LIMITS.maxEntriesPerSource;
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** Evictions and refusals so far (cheap: read on every packet). */
  get counters(): { evicted: number; refused: number } {
    return { evicted: this.#evicted, refused: this.#refused };
  }

  /** Counters: entries, kept ones, sources, evictions and refusals (counting sources walks the cache). */
  get stats(): CacheStats {
    const perSource = new Map<string, number>();
    for (const e of this.#entries.values()) perSource.set(e.source, (perSource.get(e.source) ?? 0) + 1);
    return {
      entries: this.#entries.size,
      kept: this.#keptEntries.size,
      sources: perSource.size,
      largestSource: Math.max(0, ...perSource.values()),
      evicted: this.#evicted,
      refused: this.#refused,
    };
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
      existing.refreshed = NO_REFRESH;
      existing.ending = "goodbye";
      this.#plan(existing);
      return { entry: existing, fresh: false, goodbye: true };
    }
    const ttlMs = record.ttl * 1000;
    const fresh = !existing || existing.ending !== undefined;
    if (existing && existing.source === source && sameRecord(existing.record, record)) {
      // The usual case, every announcement and answer: refresh the entry in place. The decoded
      // record then dies young instead of replacing a long-lived entry, which keeps the
      // garbage collector's young generation small when many peers announce.
      if (record.flush) this.#flushOthers(record, key, now);
      existing.receivedAt = now;
      existing.expiresAt = now + ttlMs;
      existing.refreshed = 0;
      existing.jitter = this.#jitterFor(source, now);
      existing.ending = undefined;
      (existing.kept ? this.#keptEntries : this.#ordinary).touch(existing);
      this.#plan(existing);
      return { entry: existing, fresh, goodbye: false };
    }
    const owner = ownerKey(record);
    const kept = this.#isKept(owner);
    if (existing) this.#unlink(existing);
    if (!this.#makeRoom(source, kept)) {
      if (existing) this.#link(existing); // a refused copy leaves the one we had as it was
      this.#refused++;
      return { fresh: false, goodbye: false };
    }
    if (record.flush) this.#flushOthers(record, key, now);
    const entry: CacheEntry = {
      record,
      key,
      receivedAt: now,
      expiresAt: now + ttlMs,
      refreshed: 0,
      jitter: this.#jitterFor(source, now),
      source,
      owner,
      kept,
    };
    this.#link(entry);
    this.#plan(entry);
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

  /**
   * Makes room for one more record from `source` (see the module documentation). A source at
   * its share gets no more room (its records are refreshed in place, needing none); in a full
   * cache the source holding the most ordinary records gives way to one below its fair share.
   * Kept records go only for a kept newcomer, which may also take room from its own source.
   *
   * @returns False when the newcomer must be refused.
   */
  #makeRoom(source: string, kept: boolean): boolean {
    let victim: CacheEntry | undefined;
    if (this.#ordinary.sizeOf(source) + this.#keptEntries.sizeOf(source) >= this.#maxPerSource) {
      if (kept) victim = this.#ordinary.oldestOf(source) ?? this.#keptEntries.oldestOf(source);
    } else if (this.#entries.size >= this.#maxEntries) {
      if (this.#belowFairShare(source)) victim = this.#ordinary.oldestOfLargest();
      else if (kept) victim = this.#ordinary.oldestOfLargest() ?? this.#keptEntries.oldestOfLargest();
    } else return true;
    if (!victim) return false;
    this.#evicted++;
    this.#remove(victim, "evicted");
    return true;
  }

  /**
   * Whether one more ordinary record keeps `source` within its fair share: the room left by
   * kept records, divided among the sources holding ordinary ones (itself included). In a
   * full cache the largest holder is over it, so the record then has a victim.
   */
  #belowFairShare(source: string): boolean {
    const own = this.#ordinary.sizeOf(source);
    const sharers = this.#ordinary.sources + (own === 0 ? 1 : 0);
    return own + 1 <= (this.#maxEntries - this.#keptEntries.size) / sharers;
  }

  #link(entry: CacheEntry): void {
    this.#entries.set(entry.key, entry);
    addTo(this.#byName, nameKey(entry.record.name), entry);
    if (entry.record.type === "PTR") addTo(this.#ptrsTo, entry.owner, entry);
    (entry.kept ? this.#keptEntries : this.#ordinary).add(entry);
    if (entry.record.type === "SRV") {
      const target = nameKey(entry.record.data.target);
      this.#targets.set(target, (this.#targets.get(target) ?? 0) + 1);
      if (entry.kept) this.#holdHost(target, 1);
    }
  }

  #unlink(entry: CacheEntry): void {
    this.#entries.delete(entry.key);
    deleteFrom(this.#byName, nameKey(entry.record.name), entry);
    if (entry.record.type === "PTR") deleteFrom(this.#ptrsTo, entry.owner, entry);
    (entry.kept ? this.#keptEntries : this.#ordinary).delete(entry);
    if (entry.record.type === "SRV") {
      const target = nameKey(entry.record.data.target);
      const left = (this.#targets.get(target) ?? 1) - 1;
      if (left > 0) this.#targets.set(target, left);
      else this.#targets.delete(target);
      if (entry.kept) this.#holdHost(target, -1);
    }
  }

  /**
   * Keeps the records of a name, or stops keeping them: they are then evicted only to make
   * room for other kept records. For an instance name that is its SRV and TXT, the PTRs that
   * point at it and the addresses of the host its SRV names. The owner keeps what it relies
   * on (for PeerLink: admitted peers of a node with a secret, and peers it calls) and stops
   * when it no longer does; keeping a name costs nothing until records of it arrive.
   *
   * @param name Instance (or host) name.
   * @param kept True to keep, false to stop.
   */
  keep(name: string, kept: boolean): void {
    const key = nameKey(name);
    if (kept === this.#keptNames.has(key)) return;
    if (kept) this.#keptNames.add(key);
    else this.#keptNames.delete(key);
    this.#relevelOwner(key);
  }

  /** True when records of this owner key are kept: a kept name, or a host a kept SRV names. */
  #isKept(owner: string): boolean {
    return this.#keptNames.has(owner) || this.#keptHosts.has(owner);
  }

  #relevelOwner(owner: string): void {
    const kept = this.#isKept(owner);
    const owned = [...this.#ptrsTo.get(owner) ?? []];
    for (const e of this.#byName.get(owner) ?? []) if (e.record.type !== "PTR") owned.push(e);
    for (const entry of owned) {
      if (entry.kept === kept) continue;
      (entry.kept ? this.#keptEntries : this.#ordinary).delete(entry);
      entry.kept = kept;
      (kept ? this.#keptEntries : this.#ordinary).add(entry);
      if (entry.record.type === "SRV") this.#holdHost(nameKey(entry.record.data.target), kept ? 1 : -1);
    }
  }

  /** Counts a kept SRV naming `host` (or one fewer); the host's records follow when that starts or ends. */
  #holdHost(host: string, delta: number): void {
    const before = this.#keptHosts.get(host) ?? 0;
    const after = before + delta;
    if (after > 0) this.#keptHosts.set(host, after);
    else this.#keptHosts.delete(host);
    if ((before > 0) !== (after > 0)) this.#relevelOwner(host);
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

  #flushOthers(record: MdnsRecord, key: string, now: number): void {
    const type = rrtypeOf(record);
    for (const other of this.#byName.get(nameKey(record.name)) ?? []) {
      if (other.key === key || rrtypeOf(other.record) !== type || other.receivedAt > now - 1000) continue;
      if (other.expiresAt > now + 1000) {
        other.expiresAt = now + 1000;
        other.refreshed = NO_REFRESH;
        other.ending ??= "flushed";
        this.#plan(other);
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
   * each with its remaining TTL; at most `max` of them, kept records first, then the most
   * recently received (a responder answers what is left out, which costs a flood's sender
   * its own answers, not us a longer list).
   *
   * @param question The question about to be sent.
   * @param max Most records to list (default: all).
   * @returns Records to list in the query's answer section.
   */
  knownAnswers(question: MdnsQuestion, max = Infinity): MdnsRecord[] {
    if (max <= 0) return [];
    const now = this.#clock.now();
    const kept: MdnsRecord[] = [];
    const others: MdnsRecord[] = [];
    for (const e of this.find(question.name, question.type)) {
      if (!this.isKnownAnswer(e, now)) continue;
      (e.kept ? kept : others).push({ ...e.record, ttl: Math.floor((e.expiresAt - now) / 1000), flush: false });
      if (kept.length >= max) break;
    }
    return [...kept, ...others].slice(0, max);
  }

  /**
   * Whether an entry may be listed as a known answer at `now`: not ending, and more than half
   * its TTL left.
   *
   * @param entry A cached entry.
   * @param now Clock time, ms.
   * @returns True when it is a known answer.
   */
  isKnownAnswer(entry: CacheEntry, now: number = this.#clock.now()): boolean {
    return entry.ending === undefined && entry.expiresAt - now > entry.record.ttl * 500;
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
    entry.refreshed = NO_REFRESH;
    entry.ending = reason;
    this.#plan(entry);
  }

  /** Every live entry. */
  entries(): CacheEntry[] {
    return [...this.#entries.values()];
  }

  /** Drops everything (without callbacks) and cancels the timer. */
  close(): void {
    this.#closed = true;
    this.#entries.clear();
    this.#byName.clear();
    this.#ptrsTo.clear();
    this.#ordinary.clear();
    this.#keptEntries.clear();
    this.#keptNames.clear();
    this.#keptHosts.clear();
    this.#targets.clear();
    this.#due.clear();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #remove(entry: CacheEntry, reason: ExpireReason): void {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#unlink(entry);
    this.#onExpire(entry, reason);
  }

  /** Queues an entry's next event (expiry or refresh) and brings the timer forward to it. */
  #plan(entry: CacheEntry): void {
    if (this.#closed) return;
    const at = nextEventOf(entry);
    this.#due.push(at, entry);
    // Changed entries leave stale pairs behind: past twice the live ones, rebuild.
    if (this.#due.size > 2 * this.#entries.size + 64) this.#rebuildDue();
    if (at < this.#timerAt) this.#setTimer(at);
  }

  #rebuildDue(): void {
    this.#due.clear();
    for (const e of this.#entries.values()) this.#due.push(nextEventOf(e), e);
  }

  /** True when a queued pair is still the entry's next event (not replaced, not removed). */
  #isCurrent(at: number, entry: CacheEntry): boolean {
    return this.#entries.get(entry.key) === entry && nextEventOf(entry) === at;
  }

  /** Sets the timer for the earliest pending event, dropping stale pairs on the way. */
  #schedule(): void {
    if (this.#closed) return;
    for (;;) {
      const top = this.#due.pop();
      if (!top) return this.#setTimer(Infinity);
      if (!this.#isCurrent(top.time, top.item)) continue;
      this.#due.push(top.time, top.item);
      if (top.time !== this.#timerAt) this.#setTimer(top.time);
      return;
    }
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
    while (this.#due.peekTime() <= now) {
      const { time, item: e } = this.#due.pop()!;
      if (!this.#isCurrent(time, e)) continue;
      if (e.expiresAt <= now) due.push([e, "expire"]);
      else {
        while (nextRefreshOf(e) <= now) e.refreshed++;
        due.push([e, "refresh"]);
        this.#due.push(nextEventOf(e), e);
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

/** When an entry next needs attention: its next refresh point, or its expiry. */
function nextEventOf(entry: CacheEntry): number {
  return Math.min(entry.expiresAt, nextRefreshOf(entry));
}

/** An entry's next refresh point, clock ms (Infinity when none is left). */
function nextRefreshOf(entry: CacheEntry): number {
  const i = entry.refreshed;
  if (i >= REFRESH_POINTS.length) return Infinity;
  return entry.receivedAt + entry.record.ttl * 1000 * (REFRESH_POINTS[i] + entry.jitter[i]);
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, set = new Set());
  set.add(value);
}

function deleteFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set?.delete(value)) return;
  if (set.size === 0) map.delete(key);
}
