/**
 * The mDNS querier's sending side (RFC 6762 sections 5 and 7): continuous questions for
 * browsing (first query after 20-120 ms, then 1 s, 2 s, 4 s... up to a cap, so peers that
 * were up before us are found even when a packet is lost), resolution questions (the same
 * schedule, released once answered), one-off refresh and verification queries, known-answer
 * lists from the cache (with the TC bit when they do not fit), and duplicate question
 * suppression (7.3): a planned query counts as sent when another host just asked the same
 * question with no known answer we lack.
 *
 * Questions falling due together are sent in one packet.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { RecordCache } from "./cache.ts";
import { nameKey } from "./names.ts";
import type { MdnsMessage } from "./packet.ts";
import type { MdnsQuestion } from "./records.ts";
import { answers as answersQuestion, type MdnsRecord, recordKey } from "./records.ts";
import { DEFAULT_MDNS_LIMITS } from "./limits.ts";
import type { MdnsOutput } from "./responder.ts";
import { packQueries } from "./split.ts";

/** Default cap of the interval between repeated queries, ms (RFC 6762 5.2 allows up to 60 minutes). */
export const DEFAULT_MAX_QUERY_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Least time between a query and a refresh query for the same question, ms. The members of a
 * large record set (a busy type's PTRs, say a flood of fake ones) reach their refresh points
 * at scattered times, and one query refreshes them all: without this each would send its own.
 */
export const REFRESH_QUERY_INTERVAL_MS = 1000;

/** Options of {@linkcode Querier}. */
export interface QuerierOptions {
  /** Time source. */
  clock: Clock;
  /** Random numbers in [0, 1). */
  random: () => number;
  /** The record cache (for known answers). */
  cache: RecordCache;
  /** Sending. */
  output: MdnsOutput;
  /** Cap of the repeat interval, ms. */
  maxIntervalMs?: number;
  /** Most known answers listed in one query (default `DEFAULT_MDNS_LIMITS.maxKnownAnswers`). */
  maxKnownAnswers?: number;
}

interface Asked {
  question: MdnsQuestion;
  refs: number;
  interval: number;
  nextAt: number;
  timer?: TimerId;
}

interface Outgoing {
  question: MdnsQuestion;
  knownAnswers: boolean;
}

function questionKey(name: string, type: string): string {
  return `${nameKey(name)}|${type}`;
}

/**
 * Schedules and sends queries.
 */
export class Querier {
  readonly #o: QuerierOptions;
  readonly #asked = new Map<string, Asked>();
  readonly #batch = new Map<string, Outgoing>();
  #batchTimer: TimerId | undefined;
  #firstAt: number | undefined;
  readonly #timers = new Set<TimerId>();
  /** When each question was last sent (only those sent within `REFRESH_QUERY_INTERVAL_MS` matter). */
  readonly #lastSent = new Map<string, number>();
  #stopped = false;
  /** Queries sent (packets), for stats. */
  sent = 0;

  /**
   * @param options Clock, randomness, cache and output.
   */
  constructor(options: QuerierOptions) {
    this.#o = options;
  }

  get #maxInterval(): number {
    return this.#o.maxIntervalMs ?? DEFAULT_MAX_QUERY_INTERVAL_MS;
  }

  /**
   * Asks a question repeatedly until released. Asking the same question twice shares it.
   *
   * @param name Name.
   * @param type Type, e.g. `"PTR"`.
   * @returns A release function.
   */
  ask(name: string, type: string): () => void {
    const key = questionKey(name, type);
    let a = this.#asked.get(key);
    if (a) {
      a.refs++;
    } else {
      a = { question: { name, type, qu: false }, refs: 1, interval: 1000, nextAt: 0 };
      this.#asked.set(key, a);
      this.#scheduleAsked(a, this.#firstDelay());
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const cur = this.#asked.get(key);
      if (!cur || --cur.refs > 0) return;
      if (cur.timer !== undefined) this.#clear(cur.timer);
      this.#asked.delete(key);
    };
  }

  /**
   * Delay of a new question's first query: 20-120 ms (RFC 6762 5.2), shared with other
   * questions asked meanwhile so they travel in one packet.
   */
  #firstDelay(): number {
    const now = this.#o.clock.now();
    if (this.#firstAt === undefined || this.#firstAt < now) this.#firstAt = now + 20 + this.#o.random() * 100;
    return this.#firstAt - now;
  }

  /** Questions being asked repeatedly now. */
  get questions(): number {
    return this.#asked.size;
  }

  /** True while a question is being asked. */
  isAsking(name: string, type: string): boolean {
    return this.#asked.has(questionKey(name, type));
  }

  #scheduleAsked(a: Asked, delay: number): void {
    if (a.timer !== undefined) this.#clear(a.timer);
    a.nextAt = this.#o.clock.now() + delay;
    a.timer = this.#set(() => {
      a.timer = undefined;
      this.#queue(a.question, true);
      const interval = a.interval;
      a.interval = Math.min(a.interval * 2, this.#maxInterval);
      this.#scheduleAsked(a, interval);
    }, delay);
  }

  /**
   * Sends one query for `name`/`type` soon (batched), e.g. at a record's refresh point. With
   * known answers (a refresh), nothing is sent when the question went out less than
   * {@linkcode REFRESH_QUERY_INTERVAL_MS} ago: its answers refresh this record too.
   *
   * @param name Name.
   * @param type Type.
   * @param knownAnswers Include known answers (false when we need the answer even if we have it).
   */
  queryOnce(name: string, type: string, knownAnswers = true): void {
    const sent = this.#lastSent.get(questionKey(name, type));
    if (knownAnswers && sent !== undefined && this.#o.clock.now() - sent < REFRESH_QUERY_INTERVAL_MS) return;
    this.#queue({ name, type, qu: false }, knownAnswers);
  }

  /** Asks every continuous question again soon and resets its backoff (new connectivity, RFC 6762 8.3). */
  restart(): void {
    for (const a of this.#asked.values()) {
      a.interval = 1000;
      this.#scheduleAsked(a, this.#firstDelay());
    }
  }

  #queue(question: MdnsQuestion, knownAnswers: boolean): void {
    if (this.#stopped) return;
    const key = questionKey(question.name, question.type);
    const existing = this.#batch.get(key);
    this.#batch.set(key, { question, knownAnswers: knownAnswers && (existing?.knownAnswers ?? true) });
    if (this.#batchTimer === undefined) {
      this.#batchTimer = this.#set(() => {
        this.#batchTimer = undefined;
        this.#sendBatch();
      }, 0);
    }
  }

  #sendBatch(): void {
    const items = [...this.#batch.values()];
    this.#batch.clear();
    if (items.length === 0) return;
    this.#noteSent(items.map((i) => questionKey(i.question.name, i.question.type)));
    const questions = items.map((i) => i.question);
    // One budget for the whole batch: a flood of cached records never makes a query long.
    const budget = this.#o.maxKnownAnswers ?? DEFAULT_MDNS_LIMITS.maxKnownAnswers;
    const known = new Map<string, MdnsRecord>();
    for (const i of items) {
      if (!i.knownAnswers) continue;
      for (const r of this.#o.cache.knownAnswers(i.question, budget - known.size)) known.set(recordKey(r), r);
    }
    const messages: MdnsMessage[] = packQueries(questions, [...known.values()]);
    for (const iface of this.#o.output.interfaces()) {
      for (const m of messages) {
        this.sent++;
        void this.#o.output.multicast(m, iface);
      }
    }
  }

  /** Remembers when questions went out, forgetting those sent too long ago to matter. */
  #noteSent(keys: string[]): void {
    const now = this.#o.clock.now();
    if (this.#lastSent.size > 256) {
      for (const [k, at] of this.#lastSent) if (now - at >= REFRESH_QUERY_INTERVAL_MS) this.#lastSent.delete(k);
    }
    for (const k of keys) this.#lastSent.set(k, now);
  }

  /**
   * Duplicate question suppression (RFC 6762 7.3): another host's query asked what we were
   * about to ask, and listed no known answer we would not list: count ours as sent.
   *
   * @param message The other host's query.
   */
  observeQuery(message: MdnsMessage): void {
    for (const q of message.questions) {
      if (q.qu) continue;
      const key = questionKey(q.name, q.type);
      // Each of their known answers looked up on its own: cost by their list, not by our cache.
      const cache = this.#o.cache;
      const lacking = message.answers.some((r) => {
        if (!answersQuestion(q, r)) return false;
        const ours = cache.get(r);
        return ours === undefined || !cache.isKnownAnswer(ours);
      });
      if (lacking) continue;
      const batched = this.#batch.get(key);
      if (batched?.knownAnswers) this.#batch.delete(key);
      const a = this.#asked.get(key);
      if (a && a.timer !== undefined) {
        const interval = a.interval;
        a.interval = Math.min(a.interval * 2, this.#maxInterval);
        this.#scheduleAsked(a, interval);
      }
    }
  }

  #set(fn: () => void, ms: number): TimerId {
    const id = this.#o.clock.setTimeout(() => {
      this.#timers.delete(id);
      fn();
    }, ms);
    this.#timers.add(id);
    return id;
  }

  #clear(id: TimerId): void {
    this.#o.clock.clearTimeout(id);
    this.#timers.delete(id);
  }

  /** Cancels every timer. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) this.#o.clock.clearTimeout(t);
    this.#timers.clear();
    this.#asked.clear();
    this.#batch.clear();
    this.#lastSent.clear();
    this.#batchTimer = undefined;
  }
}
