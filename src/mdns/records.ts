/**
 * The resource records the mDNS layer works with, their canonical rdata (for cache keys,
 * equality and the RFC 6762 section 8.2 probe tiebreak), and the TTLs we publish.
 *
 * @module
 */
import { nameKey, trimDot } from "./names.ts";

/** TTL of host records (A/AAAA) and SRV/TXT, seconds (RFC 6762 section 10, as Bonjour does). */
export const HOST_TTL = 120;
/** TTL of PTR records, seconds (RFC 6762 section 10). */
export const PTR_TTL = 4500;
/** The DNS-SD service enumeration name (RFC 6763 section 9). */
export const SERVICES_ENUMERATION = "_services._dns-sd._udp.local";

/** Numeric codes of the record types we encode and decode. */
export const TYPE_CODES: Readonly<Record<string, number>> = {
  A: 1,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NSEC: 47,
  ANY: 255,
};

/** SRV rdata. */
export interface SrvData {
  /** Priority (lower first). */
  priority: number;
  /** Weight among equal priorities. */
  weight: number;
  /** Port of the service. */
  port: number;
  /** Host name that has the A/AAAA records. */
  target: string;
}

/** Fields every decoded mDNS resource record has. */
export interface RecordBase {
  /** Owner name, without trailing dot. */
  name: string;
  /** Time to live in seconds; 0 is a goodbye. */
  ttl: number;
  /** The cache-flush bit (RFC 6762 section 10.2): set on unique records. */
  flush: boolean;
}

/** An IPv4 address record. */
export interface ARecord extends RecordBase {
  /** Type. */
  type: "A";
  /** Dotted address. */
  data: string;
}
/** An IPv6 address record. */
export interface AaaaRecord extends RecordBase {
  /** Type. */
  type: "AAAA";
  /** Colon address. */
  data: string;
}
/** A pointer record (DNS-SD browse results, service enumeration). */
export interface PtrRecord extends RecordBase {
  /** Type. */
  type: "PTR";
  /** The name pointed to. */
  data: string;
}
/** A service location record. */
export interface SrvRecord extends RecordBase {
  /** Type. */
  type: "SRV";
  /** Location. */
  data: SrvData;
}
/** A text record: character strings (see `txt.ts`). */
export interface TxtRecordRR extends RecordBase {
  /** Type. */
  type: "TXT";
  /** Character strings without length bytes. */
  data: Uint8Array[];
}
/** Any other type, kept with its raw rdata (used for conflict detection and tiebreaks only). */
export interface OtherRecord extends RecordBase {
  /** Type. */
  type: "OTHER";
  /** Numeric rrtype. */
  rrtype: number;
  /** Raw rdata. */
  data: Uint8Array;
}

/** A resource record. Class is always IN for mDNS; records of other classes are dropped on decode. */
export type MdnsRecord = ARecord | AaaaRecord | PtrRecord | SrvRecord | TxtRecordRR | OtherRecord;

/** A question. */
export interface MdnsQuestion {
  /** Name asked for. */
  name: string;
  /** Type asked for, e.g. `"PTR"`, or `"ANY"`; unknown numeric types appear as `"TYPE<n>"`. */
  type: string;
  /** The unicast-response bit (RFC 6762 section 5.4). */
  qu: boolean;
}

/** The numeric rrtype of a record. */
export function rrtypeOf(record: MdnsRecord): number {
  return record.type === "OTHER" ? record.rrtype : TYPE_CODES[record.type];
}

const encoder = new TextEncoder();

/**
 * A name in uncompressed wire form: length-prefixed labels and the root byte.
 *
 * @param name The name, with or without the trailing dot.
 * @returns Its bytes.
 */
export function nameBytes(name: string): number[] {
  const out: number[] = [];
  const n = trimDot(name);
  if (n.length > 0) {
    for (const label of n.split(".")) {
      const b = encoder.encode(label);
      out.push(b.length, ...b);
    }
  }
  out.push(0);
  return out;
}

function ipv4Bytes(address: string): number[] {
  return address.split(".").map((p) => Number(p) & 0xff);
}

/**
 * Expands an IPv6 address to 16 bytes (handles `::` and an embedded IPv4 tail).
 *
 * @param address The IPv6 address, possibly with a `%zone`.
 * @returns 16 bytes.
 */
export function ipv6Bytes(address: string): number[] {
  let a = address.split("%")[0];
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const b = ipv4Bytes(v4[1]);
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    a = a.slice(0, -v4[1].length) + "0:0";
  }
  const [head, rest] = a.includes("::") ? a.split("::") : [a, undefined];
  const h = head ? head.split(":").map((x) => parseInt(x, 16) || 0) : [];
  const r = rest ? rest.split(":").map((x) => parseInt(x, 16) || 0) : [];
  const groups = rest === undefined ? h : [...h, ...new Array(Math.max(0, 8 - h.length - r.length)).fill(0), ...r];
  if (tail.length) groups.splice(6, 2, ...tail);
  const out: number[] = [];
  for (let i = 0; i < 8; i++) out.push((groups[i] ?? 0) >> 8, (groups[i] ?? 0) & 0xff);
  return out;
}

/**
 * The uncompressed wire rdata of a record, as compared by the probe tiebreak (RFC 6762 8.2).
 *
 * @param record The record.
 * @returns Its rdata bytes.
 */
export function rdataBytes(record: MdnsRecord): Uint8Array {
  switch (record.type) {
    case "A":
      return Uint8Array.from(ipv4Bytes(record.data));
    case "AAAA":
      return Uint8Array.from(ipv6Bytes(record.data));
    case "PTR":
      return Uint8Array.from(nameBytes(record.data));
    case "SRV": {
      const { priority, weight, port, target } = record.data;
      return Uint8Array.from([
        priority >> 8,
        priority & 255,
        weight >> 8,
        weight & 255,
        port >> 8,
        port & 255,
        ...nameBytes(target),
      ]);
    }
    case "TXT": {
      let size = 0;
      for (const s of record.data) size += 1 + s.length;
      const out = new Uint8Array(size);
      let at = 0;
      for (const s of record.data) {
        out[at++] = s.length;
        out.set(s, at);
        at += s.length;
      }
      return out;
    }
    case "OTHER":
      return record.data;
  }
}

/**
 * Bytes as a one-byte string (one character per byte): an exact, compact map key. Cheaper than
 * hex, which doubles the size and builds a string per byte; every received record needs one.
 */
function byteString(bytes: Uint8Array): string {
  if (bytes.length <= 4096) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

/** Scratch space of {@linkcode stringsKey}: TXT rdata is at most a datagram. */
let scratch = new Uint8Array(1500);

/** Character strings (TXT rdata) as one byte string, each prefixed by its length as on the wire. */
function stringsKey(strings: readonly Uint8Array[]): string {
  let size = 0;
  for (const b of strings) size += 1 + b.length;
  if (size > scratch.length) scratch = new Uint8Array(size);
  let at = 0;
  for (const b of strings) {
    scratch[at++] = b.length;
    scratch.set(b, at);
    at += b.length;
  }
  return byteString(scratch.subarray(0, at)); // one string, not one per character string
}

/** Canonical IPv6 keys by address text: hosts re-announce the same few addresses all the time. */
const ipv6Keys = new Map<string, string>();

function ipv6Key(address: string): string {
  let key = ipv6Keys.get(address);
  if (key === undefined) {
    key = byteString(Uint8Array.from(ipv6Bytes(address)));
    if (ipv6Keys.size >= 1024) ipv6Keys.clear(); // bounded memo, like nameKey's
    ipv6Keys.set(address, key);
  }
  return key;
}

/**
 * Key of a record's rdata for equality: names compare case-insensitively, other data exactly.
 *
 * @param record The record.
 * @returns A string equal for equal rdata.
 */
export function rdataKey(record: MdnsRecord): string {
  switch (record.type) {
    case "A":
      return record.data;
    case "AAAA":
      return ipv6Key(record.data);
    case "PTR":
      return nameKey(record.data);
    case "SRV":
      return `${record.data.priority} ${record.data.weight} ${record.data.port} ${nameKey(record.data.target)}`;
    case "TXT":
      return stringsKey(record.data);
    case "OTHER":
      return byteString(record.data);
  }
}

/** Key of a record set: name, type. */
export function rrsetKey(record: MdnsRecord): string {
  return `${nameKey(record.name)}|${rrtypeOf(record)}`;
}

/** Key of one record: name, type and rdata. */
export function recordKey(record: MdnsRecord): string {
  return `${rrsetKey(record)}|${rdataKey(record)}`;
}

/**
 * True when `record` answers `question` (name, and type or ANY).
 *
 * @param question The question.
 * @param record The record.
 * @returns Whether it answers it.
 */
export function answers(question: MdnsQuestion, record: MdnsRecord): boolean {
  if (nameKey(question.name) !== nameKey(record.name)) return false;
  if (question.type === "ANY") return true;
  return record.type === "OTHER" ? question.type === `TYPE${record.rrtype}` : question.type === record.type;
}

/**
 * Compares two records for the probe tiebreak (RFC 6762 8.2): class (always IN), then type,
 * then rdata as unsigned bytes.
 *
 * @param a First record.
 * @param b Second record.
 * @returns Negative, zero or positive.
 */
export function compareRecords(a: MdnsRecord, b: MdnsRecord): number {
  const t = rrtypeOf(a) - rrtypeOf(b);
  if (t !== 0) return t;
  const x = rdataBytes(a);
  const y = rdataBytes(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * Compares two sets of proposed records, lexicographically as RFC 6762 8.2 describes.
 *
 * @param ours Our proposed records for a name.
 * @param theirs The other prober's records for that name.
 * @returns Negative when ours lose, positive when ours win, zero when identical.
 */
export function compareRecordSets(ours: MdnsRecord[], theirs: MdnsRecord[]): number {
  const a = [...ours].sort(compareRecords);
  const b = [...theirs].sort(compareRecords);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareRecords(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
