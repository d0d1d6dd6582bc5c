/**
 * Browsing by polling (RFC 6763 section 4 over unicast DNS): asks one server for the PTR
 * records of a service type, resolves each instance (SRV, TXT, then the host's A/AAAA unless
 * the replies already carried them) and reports instances coming, changing and going with the
 * mDNS browser's callbacks, so the peer table treats both alike.
 *
 * Used for a wide-area domain (a DNS server, `<type>.<domain>`) and for a seed (its mDNS
 * responder on port 5353, `<type>.local`).
 *
 * - Polls at once, then after 1, 2, 4... seconds up to the poll interval (a node that starts
 *   at the same time as its peers finds them within seconds, not a whole interval).
 * - A poll costs the PTR query and one TXT query per known instance: SRV and addresses are
 *   asked again only when the TXT changed (a registration refresh, a restart), after the
 *   records' TTL, or when a call failed (`pollSoon`).
 * - An instance missing from a successful PTR answer is down with reason `"goodbye"` (its
 *   node deleted it). An instance not confirmed for `max(TTL, 2.5 poll intervals)` (the
 *   server or seed stopped answering), or past its TXT `expires` stamp (its node died and its
 *   records linger), is down with `"expired"`. A failed poll changes nothing by itself.
 * - Bounded: at most `maxInstances` instances per poll, resolved a few at a time.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { BrowseHandlers } from "../mdns/browser.ts";
import { sameInstance, type ServiceInstance } from "../mdns/instance.ts";
import { nameKey } from "../mdns/names.ts";
import { type MdnsRecord, rdataKey, type SrvRecord, type TxtRecordRR } from "../mdns/records.ts";
import { decodeTxt } from "../mdns/txt.ts";
import type { DnsClient } from "./client.ts";
import type { DnsReply } from "./message.ts";
import { LEASE_TXT_KEY, leaseOf } from "./service_records.ts";

/** Most instances resolved per poll. */
export const MAX_POLLED_INSTANCES = 256;
/** Instances resolved at the same time. */
const RESOLVE_CONCURRENCY = 8;
/** First re-poll delay; doubles up to the poll interval. */
const FIRST_REPOLL_MS = 1000;

/** Options of {@linkcode ServicePoller}. */
export interface ServicePollerOptions {
  /** Where to ask. */
  client: DnsClient;
  /** The PTR name browsed, e.g. `"_peerlink._tcp.lab.example"`. */
  ptrName: string;
  /** Time source. */
  clock: Clock;
  /** Diagnostics. */
  logger: Logger;
  /** Longest interval between polls, ms. */
  pollIntervalMs: number;
  /** Clock ms to epoch ms (lastSeen, expires). */
  toEpoch: (clockMs: number) => number;
  /** Orders an instance's addresses, best first. */
  rankAddresses: (addresses: string[]) => string[];
  /** Events, as from the mDNS browser. */
  handlers: BrowseHandlers;
  /** Most instances per poll (default {@linkcode MAX_POLLED_INSTANCES}). */
  maxInstances?: number;
}

interface Known {
  instance: ServiceInstance;
  /** Clock ms until which it counts as present without a new confirmation. */
  validUntil: number;
  /** Smallest TTL of its records, seconds. */
  ttl: number;
  /** When its SRV and addresses were last asked for, clock ms. */
  resolvedAt: number;
}

interface Resolved {
  instance: ServiceInstance;
  ttl: number;
  lease?: number;
  resolvedAt: number;
}

/** A record pool of one poll: answers and additionals of every reply, by name. */
class RecordPool {
  readonly #byName = new Map<string, MdnsRecord[]>();

  add(reply: DnsReply): void {
    for (const r of [...reply.answers, ...reply.additionals]) {
      const key = nameKey(r.name);
      const list = this.#byName.get(key) ?? [];
      if (list.length < 64) list.push(r);
      this.#byName.set(key, list);
    }
  }

  find<T extends MdnsRecord["type"]>(name: string, type: T): Extract<MdnsRecord, { type: T }>[] {
    return (this.#byName.get(nameKey(name)) ?? []).filter((r): r is Extract<MdnsRecord, { type: T }> =>
      r.type === type
    );
  }
}

/**
 * Polls one server for one service type. See the module documentation.
 *
 * @example
 * ```ts ignore
 * const poller = new ServicePoller({ client, ptrName: "_peerlink._tcp.lab.example", clock, logger,
 *   pollIntervalMs: 10_000, toEpoch, rankAddresses: (a) => a,
 *   handlers: { onUp: (i) => console.log("up", i.name), onDown: (i, why) => console.log("down", i.name, why) } });
 * poller.start();
 * ```
 */
export class ServicePoller {
  readonly #o: ServicePollerOptions;
  readonly #known = new Map<string, Known>();
  #timer: TimerId | undefined;
  #expiryTimer: TimerId | undefined;
  #interval = FIRST_REPOLL_MS;
  #polling: Promise<void> | undefined;
  #again = false;
  #full = false;
  #stopped = true;
  /** Polls that got a usable PTR answer / that failed. */
  readonly counts = { polls: 0, failures: 0 };

  /**
   * @param options Client, name, timing, ranking and handlers.
   */
  constructor(options: ServicePollerOptions) {
    this.#o = options;
  }

  /** The instances seen and still valid. */
  get instances(): ServiceInstance[] {
    return [...this.#known.values()].map((k) => k.instance);
  }

  /** Starts polling (the first poll at once). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops polling; instances are forgotten without events. Idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    if (this.#expiryTimer !== undefined) this.#o.clock.clearTimeout(this.#expiryTimer);
    this.#timer = this.#expiryTimer = undefined;
    this.#known.clear();
  }

  /** Polls again soon, resolving every instance afresh (a call to a peer failed: is it still there?). */
  pollSoon(): void {
    if (this.#stopped) return;
    this.#full = true;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#polling = this.#poll().catch((err) => this.#o.logger.error(`wide-area: poll failed: ${String(err)}`))
        .finally(() => {
          this.#polling = undefined;
          const next = this.#again ? 0 : this.#interval;
          this.#again = false;
          this.#interval = Math.min(this.#interval * 2, this.#o.pollIntervalMs);
          this.#schedule(next);
        });
    }, ms);
  }

  async #poll(): Promise<void> {
    const { client, ptrName, logger } = this.#o;
    let reply: DnsReply;
    try {
      reply = await client.query(ptrName, "PTR");
    } catch (err) {
      this.counts.failures++;
      logger.debug(`wide-area: browsing ${ptrName} at ${client.server} failed: ${String(err)}`);
      return;
    }
    if (this.#stopped) return;
    if (reply.rcode !== 0 && reply.rcode !== 3) {
      this.counts.failures++;
      logger.debug(`wide-area: ${client.server} answered rcode ${reply.rcode} to PTR ${ptrName}`);
      return;
    }
    this.counts.polls++;
    const pool = new RecordPool();
    pool.add(reply);
    const suffix = `.${nameKey(ptrName)}`;
    const names = new Map<string, string>();
    for (const ptr of pool.find(ptrName, "PTR")) {
      const key = nameKey(ptr.data);
      if (
        key.endsWith(suffix) && key.length > suffix.length &&
        names.size < (this.#o.maxInstances ?? MAX_POLLED_INSTANCES)
      ) {
        names.set(key, ptr.data);
      }
    }
    const full = this.#full;
    this.#full = false;
    const resolved = new Map<string, Resolved | undefined>();
    const queue = [...names.entries()];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        resolved.set(next[0], await this.#resolve(next[1], pool, full ? undefined : this.#known.get(next[0])));
      }
    };
    await Promise.all(Array.from({ length: RESOLVE_CONCURRENCY }, worker));
    if (this.#stopped) return;
    this.#apply(names, resolved);
  }

  /**
   * Resolves one instance from the pool, asking for what is missing; undefined when it cannot.
   * With `known` (its last resolution) and an unchanged TXT, SRV and addresses are reused.
   */
  async #resolve(fullName: string, pool: RecordPool, known?: Known): Promise<Resolved | undefined> {
    const ask = async (name: string, type: "SRV" | "TXT" | "A" | "AAAA") => {
      try {
        pool.add(await this.#o.client.query(name, type));
      } catch (err) {
        this.#o.logger.debug(`wide-area: ${type} ${name}: ${String(err)}`);
      }
    };
    const now = this.#o.clock.now();
    if (pool.find(fullName, "TXT").length === 0) await ask(fullName, "TXT");
    const txt: TxtRecordRR | undefined = pool.find(fullName, "TXT")[0];
    if (!txt) return undefined;
    const lease = leaseOf(txt);
    if (
      known && rdataKey(txt) === rdataKey({ ...txt, data: known.instance.txtRaw }) &&
      now - known.resolvedAt < known.ttl * 1000
    ) {
      const instance = { ...known.instance, lastSeen: this.#o.toEpoch(now) };
      return { instance, ttl: Math.min(known.ttl, txt.ttl), lease, resolvedAt: known.resolvedAt };
    }
    if (pool.find(fullName, "SRV").length === 0) await ask(fullName, "SRV");
    const srv: SrvRecord | undefined = pool.find(fullName, "SRV")[0];
    if (!srv) return undefined;
    const host = srv.data.target;
    if (pool.find(host, "A").length + pool.find(host, "AAAA").length === 0) {
      await Promise.all([ask(host, "A"), ask(host, "AAAA")]);
    }
    const addressRecords = [...pool.find(host, "A"), ...pool.find(host, "AAAA")];
    if (addressRecords.length === 0) return undefined;
    const attributes = decodeTxt(txt.data);
    delete attributes[LEASE_TXT_KEY]; // changes at every refresh; not part of what users see
    const suffix = `.${this.#o.ptrName}`;
    const instance: ServiceInstance = {
      name: fullName.slice(0, fullName.length - suffix.length),
      fullName,
      type: this.#o.ptrName,
      host,
      port: srv.data.port,
      addresses: this.#o.rankAddresses([...new Set(addressRecords.map((r) => r.data))]),
      txt: attributes,
      txtRaw: txt.data,
      lastSeen: this.#o.toEpoch(now),
      source: this.#o.client.server,
    };
    const ttl = Math.min(srv.ttl, txt.ttl, ...addressRecords.map((r) => r.ttl));
    return { instance, ttl, lease, resolvedAt: now };
  }

  #apply(names: Map<string, string>, resolved: Map<string, Resolved | undefined>): void {
    const now = this.#o.clock.now();
    const nowEpoch = this.#o.toEpoch(now);
    const events: Array<() => void> = [];
    for (const [key, known] of [...this.#known]) {
      if (!names.has(key)) {
        this.#known.delete(key);
        events.push(() => this.#o.handlers.onDown?.(known.instance, "goodbye"));
      }
    }
    for (const [key, result] of resolved) {
      if (!result) continue; // listed but not resolvable now: keep what we had until it expires
      const { instance, ttl, lease, resolvedAt } = result;
      let validUntil = now + Math.max(ttl * 1000, 2.5 * this.#o.pollIntervalMs);
      if (lease !== undefined) validUntil = Math.min(validUntil, now + (lease * 1000 - nowEpoch));
      const prev = this.#known.get(key);
      if (validUntil <= now) {
        // Listed, but its node stopped refreshing it: its records only linger in the zone.
        if (prev) {
          this.#known.delete(key);
          events.push(() => this.#o.handlers.onDown?.(prev.instance, "expired"));
        }
        continue;
      }
      this.#known.set(key, { instance, validUntil, ttl, resolvedAt });
      if (!prev) events.push(() => this.#o.handlers.onUp?.(instance));
      else if (!sameInstance(prev.instance, instance)) {
        events.push(() => this.#o.handlers.onUpdate?.(instance, prev.instance));
      } else events.push(() => this.#o.handlers.onSeen?.(instance));
    }
    this.#scheduleExpiry();
    for (const e of events) this.#safely(e);
  }

  #scheduleExpiry(): void {
    if (this.#expiryTimer !== undefined) this.#o.clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    let next = Infinity;
    for (const k of this.#known.values()) next = Math.min(next, k.validUntil);
    if (next === Infinity || this.#stopped) return;
    this.#expiryTimer = this.#o.clock.setTimeout(() => {
      this.#expiryTimer = undefined;
      this.#expire();
    }, Math.max(0, next - this.#o.clock.now()));
  }

  #expire(): void {
    const now = this.#o.clock.now();
    const gone = [...this.#known].filter(([, k]) => k.validUntil <= now);
    for (const [key] of gone) this.#known.delete(key);
    this.#scheduleExpiry();
    for (const [, k] of gone) this.#safely(() => this.#o.handlers.onDown?.(k.instance, "expired"));
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.logger.error(
        `wide-area: browse callback threw: ${err instanceof Error ? err.stack ?? err.message : err}`,
      );
    }
  }
}
