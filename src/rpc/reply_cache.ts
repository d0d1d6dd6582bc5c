/**
 * At-most-once execution: remembers recent call ids, per caller, with their replies, so a
 * retransmitted UDP request (or a reply fetched again over TCP) is answered from memory and
 * the handler never runs twice for one call.
 *
 * Entries live for a fixed time after their reply, so completion order is also expiry order:
 * finished entries join a FIFO queue, and expired or surplus entries are dropped from its front
 * whenever an entry is added. That looks only at the oldest entries, stops at the first one
 * still due, and never re-inserts map keys, so a cache sitting at its cap (a busy UDP server
 * keeps every reply for a minute) costs O(1) per call; no timer is needed. Count and bytes are
 * bounded; running entries are never evicted (the handler limit bounds them).
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { OutgoingMessage } from "../wire/codec.ts";

/** One remembered call. */
export interface CachedCall {
  /** Cache key, see {@linkcode replyCacheKey}. */
  readonly key: string;
  /** `running` until the handler finished. */
  state: "running" | "done";
  /** The reply, once done. */
  reply?: OutgoingMessage;
  /** What to send again to a duplicate UDP request (the reply datagram, or a "fetch over TCP" hint). */
  datagram?: Uint8Array;
  /** Bytes counted against the cache's byte limit. */
  bytes: number;
  /** Expiry time on the cache's clock. */
  expires: number;
  /** Resolvers of duplicates waiting for the reply (TCP). */
  waiters?: Array<(reply: OutgoingMessage) => void>;
}

/**
 * Key of a call: caller name and call id. Ids carry 94 random bits (`call_ids.ts`; Python's
 * are random UUIDs), so a third party cannot guess one to poison another caller's entry.
 *
 * @param src Caller name.
 * @param id Call id.
 * @returns The key.
 *
 * @example
 * ```ts
 * import { replyCacheKey } from "./reply_cache.ts";
 * console.log(replyCacheKey("A", "1") === replyCacheKey("A", "1")); // true
 * ```
 */
export function replyCacheKey(src: string, id: string): string {
  return `${src}\u0000${id}`;
}

/**
 * The cache.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { ReplyCache } from "./reply_cache.ts";
 * const cache = new ReplyCache({ clock: systemClock, ttl: 60_000, maxEntries: 1000, maxBytes: 1 << 20 });
 * const entry = cache.begin("A\u00001");
 * console.log(cache.get("A\u00001") === entry); // true
 * ```
 */
export class ReplyCache {
  readonly #entries = new Map<string, CachedCall>();
  /**
   * Finished entries kept for `ttl`, oldest first, from `#head` on. Entries removed early
   * (expired on lookup, replaced) stay here until they reach the front, where they are skipped.
   */
  #queue: CachedCall[] = [];
  #head = 0;
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #onForget: ((reply: OutgoingMessage) => void) | undefined;
  #bytes = 0;

  /**
   * Creates a {@linkcode ReplyCache}.
   *
   * @param options Clock, entry lifetime, the count and byte bounds, and `onForget`, told about
   *   every remembered reply that leaves the cache (expired, evicted, replaced or cleared).
   */
  constructor(
    options: {
      clock: Clock;
      ttl: number;
      maxEntries: number;
      maxBytes: number;
      onForget?: (reply: OutgoingMessage) => void;
    },
  ) {
    this.#clock = options.clock;
    this.#ttl = options.ttl;
    this.#maxEntries = options.maxEntries;
    this.#maxBytes = options.maxBytes;
    this.#onForget = options.onForget;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of replies held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The live entry for `key`.
   *
   * @param key From {@linkcode replyCacheKey}.
   * @returns The entry, or `undefined` when unknown or expired.
   */
  get(key: string): CachedCall | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.state === "done" && entry.expires <= this.#clock.now()) {
      this.#remove(entry);
      return undefined;
    }
    return entry;
  }

  /**
   * Records that the handler for `key` starts now.
   *
   * @param key From {@linkcode replyCacheKey}.
   * @returns The new entry.
   */
  begin(key: string): CachedCall {
    this.#expire();
    const previous = this.#entries.get(key);
    if (previous) this.#remove(previous);
    const entry: CachedCall = { key, state: "running", bytes: 0, expires: Infinity };
    this.#entries.set(key, entry);
    return entry;
  }

  /**
   * Records the reply, wakes waiting duplicates, and either keeps the entry for `ttl` (UDP:
   * duplicates may still come) or forgets it (TCP: delivery is reliable).
   *
   * @param entry From {@linkcode ReplyCache.begin}.
   * @param reply The reply.
   * @param keep Whether to remember it.
   * @param datagram What to re-send to duplicate datagrams.
   * @param bytes Size to account for.
   */
  complete(entry: CachedCall, reply: OutgoingMessage, keep: boolean, datagram?: Uint8Array, bytes = 0): void {
    const waiters = entry.waiters;
    entry.waiters = undefined;
    entry.state = "done";
    if (keep && this.#entries.get(entry.key) === entry) {
      entry.reply = reply;
      entry.datagram = datagram;
      entry.bytes = bytes;
      entry.expires = this.#clock.now() + this.#ttl;
      this.#bytes += bytes;
      this.#queue.push(entry);
      this.#expire();
    } else {
      this.#remove(entry);
      if (keep) this.#onForget?.(reply); // replaced while it ran: nobody can fetch it
    }
    if (waiters) { for (const wake of waiters) wake(reply); }
  }

  /**
   * Waits for a running entry's reply.
   *
   * @param entry A running entry.
   * @returns The reply once the handler finished.
   */
  wait(entry: CachedCall): Promise<OutgoingMessage> {
    if (entry.state === "done" && entry.reply) return Promise.resolve(entry.reply);
    return new Promise((resolve) => (entry.waiters ??= []).push(resolve));
  }

  /** Forgets everything. */
  clear(): void {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of entries) this.#forgotten(entry);
    this.#queue = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #remove(entry: CachedCall): void {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#entries.delete(entry.key);
    this.#bytes -= entry.bytes;
    this.#forgotten(entry);
  }

  #forgotten(entry: CachedCall): void {
    if (entry.reply) this.#onForget?.(entry.reply);
  }

  /** Drops expired entries, then the oldest finished ones while over a bound. */
  #expire(): void {
    const queue = this.#queue;
    let head = this.#head;
    if (head === queue.length) return;
    const entries = this.#entries;
    let now: number | undefined;
    while (head < queue.length) {
      const entry = queue[head];
      if (entries.get(entry.key) === entry) {
        const over = entries.size > this.#maxEntries || this.#bytes > this.#maxBytes;
        if (!over && entry.expires > (now ??= this.#clock.now())) break;
        entries.delete(entry.key);
        this.#bytes -= entry.bytes;
        this.#forgotten(entry);
      }
      head++;
    }
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head >= 1024 && head * 2 >= queue.length) {
      queue.splice(0, head); // amortized: each entry is moved at most once per halving
      head = 0;
    }
    this.#head = head;
  }
}
