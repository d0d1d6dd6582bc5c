/**
 * A general mDNS/DNS-SD responder and querier (RFC 6762, RFC 6763) for Deno, Bun and Node,
 * written against PeerLink's socket interface. Publish any service type, browse and resolve
 * any type.
 *
 * What it does for you:
 * - Probing with simultaneous-probe tiebreaks; a name conflict rejects `publish()` with
 *   {@linkcode NameConflictError}, or renames to `"Name (2)"` with `allowRename`.
 * - Announcing six times (0, 1, 3, 7, 15, 31 s: RFC 6762 8.3 allows up to eight, doubling),
 *   goodbyes (TTL 0) on `unpublish()` and `stop()`.
 * - Answers with the RFC timing, known-answer and duplicate-answer suppression, a per-record
 *   rate limit, packets split under 1440 bytes, QU and legacy unicast queries,
 *   `_services._dns-sd._udp.local` enumeration.
 * - Browsing with repeated queries at growing intervals (1, 2, 4... s), known-answer lists,
 *   duplicate question suppression, a cache with refresh queries at 80-97.5% of each TTL,
 *   cache-flush handling and immediate "down" events on goodbye.
 * - One socket on `0.0.0.0:5353` and, where an interface has IPv6, one on `[::]:5353` (IPv6
 *   only), shared with other processes (address reuse); every interface is joined in each of
 *   its families (224.0.0.251, ff02::fb) and answered with its own addresses; interfaces that
 *   appear or vanish are noticed by polling.
 * - Any received byte sequence is decoded or dropped and counted, in bounded time.
 * - Bounded state under floods ({@linkcode MdnsLimits}, option `limits`): at most 2048 cached
 *   records and 256 from any one source address, so a host flooding the LAN with fake
 *   services evicts only its own records; records you rely on can be kept
 *   (`Browser.keep()`), and are then evicted only for other kept records. Evictions and
 *   refusals are counted in `stats.cache` and logged at most once a minute.
 *
 * Several processes on one host all bind port 5353 with address reuse, and the kernel gives
 * a unicast datagram sent to port 5353 to only one of them. That is why our own queries and
 * probes never set the QU (unicast response) bit and why answers are multicast except where
 * the RFC requires unicast (QU questions for records multicast recently; legacy queriers on
 * other ports, which own their port alone).
 *
 * IPv4 comes first and must work; IPv6 (ff02::fb) is added on every interface that has an
 * IPv6 address and skipped, with a debug message, where its socket cannot be made. Each link
 * (interface and family) carries the same A and AAAA records of its interface, with its own
 * rate limits and duplicate suppression; a record heard over both families is one cache
 * entry, so browsers see one event.
 *
 * @example
 * ```ts
 * import { Mdns } from "@peerlink/peerlink/mdns";
 * import { autoRuntime } from "@peerlink/peerlink/runtimes";
 *
 * const mdns = new Mdns({ runtime: autoRuntime() });
 * await mdns.start();
 * const published = await mdns.publish({ instance: "Kitchen", type: "_http._tcp", port: 8080, txt: { path: "/" } });
 * const browser = mdns.browse("_http._tcp", {
 *   onUp: (s) => console.log("up", s.name, s.addresses[0], s.port, s.txt),
 *   onDown: (s, reason) => console.log("down", s.name, reason),
 * });
 * // ...
 * browser.stop();
 * await published.unpublish();
 * await mdns.stop();
 * ```
 *
 * @module
 */
export { Mdns } from "./mdns.ts";
export type { MdnsOptions, MdnsStats, Published, PublishRequest, ResolveOptions } from "./mdns.ts";
export type { BrowseHandlers, Browser, BrowserStats, DownReason, Watcher } from "./browser.ts";
export type { CacheStats } from "./cache.ts";
export { DEFAULT_MDNS_LIMITS, type MdnsLimits } from "./limits.ts";
export type { ServiceInstance } from "./instance.ts";
export type { ServiceDescription } from "./service.ts";
export { MdnsStateError, NameConflictError } from "./errors.ts";
export { decodeTxt, encodeTxt, TxtError } from "./txt.ts";
export type { TxtAttributes, TxtRecord, TxtValue } from "./txt.ts";
export { NameError } from "./names.ts";
export { decodeMessage, encodeMessage } from "./packet.ts";
export type { DecodeResult, MdnsMessage } from "./packet.ts";
export type {
  AaaaRecord,
  ARecord,
  MdnsQuestion,
  MdnsRecord,
  OtherRecord,
  PtrRecord,
  RecordBase,
  SrvData,
  SrvRecord,
  TxtRecordRR,
} from "./records.ts";
export type { PublishOptions } from "./responder.ts";
export type { TransportStats } from "./transport.ts";
export type { MdnsInterface } from "./interfaces.ts";
