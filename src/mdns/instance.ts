/**
 * Assembling a DNS-SD service instance from cached records: SRV (host and port), TXT, and
 * the host's A/AAAA records. Goodbye records count as gone; during the one second a flushed
 * record is kept, the newest SRV with known addresses is used.
 *
 * @module
 */
import type { CacheEntry, RecordCache } from "./cache.ts";
import { interfaceFor, type MdnsInterface, sameSubnet } from "./interfaces.ts";
import { splitInstanceName } from "./names.ts";
import type { SrvRecord, TxtRecordRR } from "./records.ts";
import { decodeTxt, type TxtRecord } from "./txt.ts";

/** A resolved service instance. */
export interface ServiceInstance {
  /** Instance label, e.g. `"Worker"`. */
  name: string;
  /** Full name, e.g. `"Worker._peerlink._tcp.local"`. */
  fullName: string;
  /** Service type, e.g. `"_peerlink._tcp.local"`. */
  type: string;
  /** Target host name from the SRV record. */
  host: string;
  /** Port from the SRV record. */
  port: number;
  /** Addresses, best first: IPv4 before IPv6, the announcing address and on-link ones first. */
  addresses: string[];
  /** TXT attributes (keys lowercased). */
  txt: TxtRecord;
  /** Raw TXT strings. */
  txtRaw: Uint8Array[];
  /** When any of its records was last received, ms since the Unix epoch. */
  lastSeen: number;
  /** Address the SRV record last came from. */
  source: string;
  /** Name of our interface it was seen on, when known. */
  interface?: string;
}

/** What is still missing to complete an instance. */
export interface Missing {
  /** Record types to ask for at the instance name (`"SRV"`, `"TXT"`). */
  instance: string[];
  /** Host name whose addresses are missing. */
  host?: string;
}

const alive = (e: CacheEntry) => e.ending !== "goodbye";

/**
 * Builds an instance from the cache.
 *
 * @param cache The cache.
 * @param fullName Instance full name.
 * @param interfaces Our interfaces (to rank addresses).
 * @param toEpoch Converts a clock time to epoch ms.
 * @returns The instance when complete, and what is missing otherwise.
 */
export function assembleInstance(
  cache: RecordCache,
  fullName: string,
  interfaces: readonly MdnsInterface[],
  toEpoch: (clockMs: number) => number,
): { instance?: ServiceInstance; missing: Missing } {
  const srvs = cache.find(fullName, "SRV").filter(alive);
  const txts = cache.find(fullName, "TXT").filter(alive);
  const missing: Missing = { instance: [] };
  if (srvs.length === 0) missing.instance.push("SRV");
  if (txts.length === 0) missing.instance.push("TXT");
  let chosen: { srv: CacheEntry; addrs: CacheEntry[] } | undefined;
  for (const srv of srvs) {
    const target = (srv.record as SrvRecord).data.target;
    const addrs = [...cache.find(target, "A"), ...cache.find(target, "AAAA")].filter(alive);
    if (addrs.length > 0) {
      chosen = { srv, addrs };
      break;
    }
  }
  if (!chosen) {
    if (srvs.length > 0) missing.host = (srvs[0].record as SrvRecord).data.target;
    return { missing };
  }
  if (txts.length === 0) return { missing };
  const parts = splitInstanceName(fullName);
  const srv = chosen.srv.record as SrvRecord;
  const txt = txts[0].record as TxtRecordRR;
  const source = chosen.srv.source;
  const rank = (address: string): number => {
    const v6 = address.includes(":");
    let score = v6 ? 100 : 0;
    if (address === source) return score;
    score += 10;
    if (!v6 && interfaces.some((i) => sameSubnet(address, i.address, i.netmask))) return score;
    return score + (v6 && /^fe[89ab]/i.test(address) ? 20 : 10);
  };
  const ranked = [...new Set(chosen.addrs.map((e) => e.record.data as string))].map((a) => [rank(a), a] as const);
  const addresses = ranked.sort((x, y) => x[0] - y[0]).map(([, a]) => a);
  // The PTR naming this instance, looked up directly: scanning every PTR of the type would
  // make each packet cost more the more peers there are.
  const ptr = parts && cache.get({ name: parts.type, type: "PTR", ttl: 0, flush: false, data: fullName });
  let lastSeen = ptr ? ptr.receivedAt : -Infinity;
  for (const group of [srvs, txts, chosen.addrs]) for (const e of group) lastSeen = Math.max(lastSeen, e.receivedAt);
  return {
    instance: {
      name: parts?.instance ?? fullName,
      fullName,
      type: parts?.type ?? "",
      host: srv.data.target,
      port: srv.data.port,
      addresses,
      txt: decodeTxt(txt.data),
      txtRaw: txt.data,
      lastSeen: toEpoch(lastSeen),
      source,
      interface: interfaceFor(source, interfaces)?.name,
    },
    missing,
  };
}

/**
 * Whether two assemblies of an instance look the same to users (everything but `lastSeen`,
 * `source` and `interface`): the same as comparing {@linkcode instanceSignature}s, without
 * building them (browsers compare on every packet).
 *
 * @param a One instance.
 * @param b The other.
 * @returns True when host, port, addresses and TXT attributes are equal.
 */
export function sameInstance(a: ServiceInstance, b: ServiceInstance): boolean {
  if (a.host !== b.host || a.port !== b.port || a.addresses.length !== b.addresses.length) return false;
  for (let i = 0; i < a.addresses.length; i++) if (a.addresses[i] !== b.addresses[i]) return false;
  if (sameStrings(a.txtRaw, b.txtRaw)) return true;
  const ka = Object.keys(a.txt);
  if (ka.length !== Object.keys(b.txt).length) return false;
  for (const k of ka) if (!Object.hasOwn(b.txt, k) || a.txt[k] !== b.txt[k]) return false;
  return true;
}

function sameStrings(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

/**
 * A comparable signature of what users see of an instance (not `lastSeen`), to detect updates.
 *
 * @param i The instance.
 * @returns A string that changes when host, port, addresses or TXT change.
 */
export function instanceSignature(i: ServiceInstance): string {
  return JSON.stringify([i.host, i.port, i.addresses, Object.entries(i.txt).sort()]);
}
