/**
 * At-most-once execution: remembers recent call ids, per caller, with their replies, so a
 * retransmitted UDP request (or a reply fetched again over TCP) is answered from memory and
 * the handler never runs twice for one call.
 *
 * Entries live for a fixed time; the map's insertion order is therefore also expiry order,
 * and expired or surplus entries are dropped from the front whenever an entry is added, so no
 * timer is needed. Count and bytes are bounded; running entries are never evicted (the handler
 * limit bounds them).
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
 * Key of a call: caller name and call id. Ids are random UUIDs, so a third party cannot guess
 * one to poison another caller's entry.
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
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  /**
   * Creates a {@linkcode ReplyCache}.
   *
   * @param options Clock, entry lifetime, and the count and byte bounds.
   */
  constructor(options: { clock: Clock; ttl: number; maxEntries: number; maxBytes: number }) {
    this.#clock = options.clock;
    this.#ttl = options.ttl;
    this.#maxEntries = options.maxEntries;
    this.#maxBytes = options.maxBytes;
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
    this.#sweep();
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
      // Re-insert so that insertion order stays expiry order.
      this.#entries.delete(entry.key);
      this.#entries.set(entry.key, entry);
      this.#sweep();
    } else {
      this.#remove(entry);
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
    this.#entries.clear();
    this.#bytes = 0;
  }

  #remove(entry: CachedCall): void {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#entries.delete(entry.key);
    this.#bytes -= entry.bytes;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const entry of this.#entries.values()) {
      const over = this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes;
      if (entry.state === "running") {
        if (!over) break;
        continue;
      }
      if (entry.expires > now && !over) break;
      this.#remove(entry);
    }
  }
}
