/**
 * Bounds of the mDNS layer: what a hostile or broken host on the LAN can make a node keep.
 * Every piece of state a received name can create is bounded by one of these, or by what
 * the cache holds (browsers track only instances whose records are cached, and forget them
 * when the cache lets them go).
 *
 * What a flood of fake services costs a node, with the defaults:
 * - the record cache keeps at most `maxCacheEntries` records, and at most
 *   `maxEntriesPerSource` from any one source address (over all its records): a host that
 *   sends more has the rest refused, and costs nobody else a record. Only when many sources
 *   fill the cache together does a newcomer evict someone else's record: one from a source
 *   below its fair share takes the oldest record of the source holding the most, the others
 *   are refused. Records the owner of the cache keeps (for PeerLink: admitted peers of a node
 *   with a secret, and peers it calls) go only for other kept records. Evictions and
 *   refusals are counted and logged (at most once a minute);
 * - a browser asks questions (SRV, TXT, addresses) for at most `maxResolving` incomplete
 *   instances at once; the others wait their turn;
 * - a query lists at most `maxKnownAnswers` known answers, and a truncated query from
 *   another host is held with at most as many; at most `maxHeldQueries` such queries are
 *   held at once.
 *
 * @module
 */

/** Bounds of an `Mdns` instance (option `limits`). Counts of records, instances or queries. */
export interface MdnsLimits {
  /** Records cached in all (default 2048). */
  maxCacheEntries: number;
  /** Records cached from one source address, over all its records (default 256). */
  maxEntriesPerSource: number;
  /** Incomplete instances a browser asks questions for at once; more wait their turn (default 64). */
  maxResolving: number;
  /** Known answers listed in one of our queries, and kept from another host's truncated query (default 256). */
  maxKnownAnswers: number;
  /** Truncated queries from other hosts held at once while their known answers arrive (default 256). */
  maxHeldQueries: number;
}

/**
 * The defaults. Enough for a LAN of some 300 nodes, a few dozen of them on one host (each
 * PeerLink node is 4-6 records: PTR, SRV, TXT and its addresses). Raise `maxCacheEntries`
 * for a larger LAN: a record held costs about 1.5 KiB with what the browser and peer table
 * keep about it, and a flooded node's heap grows by several times what it holds.
 *
 * @example
 * ```ts
 * import { DEFAULT_MDNS_LIMITS } from "./limits.ts";
 * console.log(DEFAULT_MDNS_LIMITS.maxEntriesPerSource); // 256
 * ```
 */
export const DEFAULT_MDNS_LIMITS: Readonly<MdnsLimits> = Object.freeze({
  maxCacheEntries: 2048,
  maxEntriesPerSource: 256,
  maxResolving: 64,
  maxKnownAnswers: 256,
  maxHeldQueries: 256,
});

/**
 * Completes partial limits with the defaults of `defaults`, checking that each given value is
 * a positive integer.
 *
 * @param given Limits to override.
 * @param defaults The complete defaults (e.g. {@linkcode DEFAULT_MDNS_LIMITS}).
 * @param what Names the limits in errors, e.g. `"mDNS"`.
 * @returns Complete limits.
 * @throws {RangeError} Naming the first limit that is not a positive integer, or that is unknown.
 *
 * @example
 * ```ts
 * import { completeLimits, DEFAULT_MDNS_LIMITS } from "./limits.ts";
 * console.log(completeLimits({ maxCacheEntries: 8192 }, DEFAULT_MDNS_LIMITS, "mDNS").maxCacheEntries); // 8192
 * ```
 */
export function completeLimits<T extends object>(
  given: Partial<T> | undefined,
  defaults: Readonly<T>,
  what: string,
): T {
  const limits = { ...defaults };
  for (const [key, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(defaults, key)) {
      throw new RangeError(`${what} limit ${key} does not exist; known limits: ${Object.keys(defaults).join(", ")}`);
    }
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`${what} limit ${key} must be a positive integer, got ${String(value)}`);
    }
    (limits as Record<string, unknown>)[key] = value;
  }
  return limits;
}
