/**
 * The DNS wire format beyond what mDNS needs and `dns-packet` can write: any class (UPDATE
 * uses NONE and ANY, RFC 2136 section 2.4), any opcode, raw rdata, and the header fields of a
 * reply (opcode, rcode, TC). Names are written uncompressed (RFC 2136 and RFC 8945 allow it,
 * and the TSIG MAC is computed over exactly these bytes).
 *
 * Record rdata comes from the mDNS layer's `rdataBytes`, so every record PeerLink publishes is
 * built in one place whatever the transport.
 *
 * @module
 */
import type { MdnsRecord } from "../mdns/records.ts";
import { nameBytes, rdataBytes, rrtypeOf, TYPE_CODES } from "../mdns/records.ts";

/** Class IN. */
export const CLASS_IN = 1;
/** Class NONE (RFC 2136: "name not in use", delete one RR). */
export const CLASS_NONE = 254;
/** Class ANY (RFC 2136: delete an RRset or a name; TSIG records). */
export const CLASS_ANY = 255;
/** Type SOA. */
export const TYPE_SOA = 6;
/** Type OPT (EDNS, RFC 6891). */
export const TYPE_OPT = 41;
/** Type TSIG (RFC 8945). */
export const TYPE_TSIG = 250;
/** Type ANY (a question, or RFC 2136 "any RRset"). */
export const TYPE_ANY = 255;
/** Opcode QUERY. */
export const OPCODE_QUERY = 0;
/** Opcode UPDATE (RFC 2136). */
export const OPCODE_UPDATE = 5;
/** UDP payload size we advertise with EDNS (the DNS flag day 2020 value: no fragmentation). */
export const EDNS_UDP_SIZE = 1232;

const RCODES = [
  "NOERROR",
  "FORMERR",
  "SERVFAIL",
  "NXDOMAIN",
  "NOTIMP",
  "REFUSED",
  "YXDOMAIN",
  "YXRRSET",
  "NXRRSET",
  "NOTAUTH",
  "NOTZONE",
];
const TSIG_ERRORS: Record<number, string> = { 16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC" };

/**
 * The name of a response code or TSIG error (RFC 1035, 2136, 8945).
 *
 * @param code The numeric code.
 * @returns E.g. `"NOTAUTH"`, `"BADSIG"`, or `"RCODE<n>"` for an unknown one.
 *
 * @example
 * ```ts
 * import { rcodeName } from "./wire.ts";
 * console.log(rcodeName(9), rcodeName(16)); // NOTAUTH BADSIG
 * ```
 */
export function rcodeName(code: number): string {
  return RCODES[code] ?? TSIG_ERRORS[code] ?? `RCODE${code}`;
}

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name]),
);

/**
 * A record type by name, as `decodeSections` names question types (`"TYPE<n>"` for types the
 * mDNS layer does not know, SOA included).
 *
 * @param code Numeric type.
 * @returns E.g. `"PTR"`, `"TYPE6"` (SOA).
 */
export function typeName(code: number): string {
  return TYPE_NAMES[code] ?? `TYPE${code}`;
}

/**
 * The numeric code of a record type PeerLink asks for.
 *
 * @param type `"A"`, `"AAAA"`, `"PTR"`, `"SRV"`, `"TXT"` or `"SOA"`.
 * @returns The code.
 */
export function typeCode(type: "A" | "AAAA" | "PTR" | "SRV" | "TXT" | "SOA"): number {
  return type === "SOA" ? TYPE_SOA : TYPE_CODES[type];
}

/** The fixed header fields of a message. */
export interface DnsHeader {
  /** Message id. */
  id: number;
  /** QR bit: a response. */
  response: boolean;
  /** Opcode (0 QUERY, 5 UPDATE). */
  opcode: number;
  /** AA bit. */
  authoritative: boolean;
  /** TC bit: the answer did not fit (retry over TCP). */
  truncated: boolean;
  /** Response code (low 4 bits). */
  rcode: number;
  /** Question (zone) count. */
  qdcount: number;
  /** Additional record count. */
  arcount: number;
}

/**
 * Reads the header of a message.
 *
 * @param bytes The message (at least 12 bytes).
 * @returns The header, or undefined when shorter than a header.
 */
export function readHeader(bytes: Uint8Array): DnsHeader | undefined {
  if (bytes.length < 12) return undefined;
  const flags = (bytes[2] << 8) | bytes[3];
  return {
    id: (bytes[0] << 8) | bytes[1],
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    qdcount: (bytes[4] << 8) | bytes[5],
    arcount: (bytes[10] << 8) | bytes[11],
  };
}

/** A question (or the zone of an UPDATE). */
export interface WireQuestion {
  /** Name, without trailing dot. */
  name: string;
  /** Numeric type. */
  type: number;
  /** Numeric class (default IN). */
  klass?: number;
}

/** A resource record with its class and raw rdata. */
export interface WireRecord {
  /** Owner name, without trailing dot (`""` is the root). */
  name: string;
  /** Numeric type. */
  type: number;
  /** Numeric class. */
  klass: number;
  /** TTL, seconds. */
  ttl: number;
  /** Rdata bytes (empty for RFC 2136 deletions and prerequisites). */
  rdata: Uint8Array;
}

/** A message to encode. */
export interface WireMessage {
  /** Message id. */
  id: number;
  /** Opcode (default QUERY). */
  opcode?: number;
  /** RD bit (ask a resolver to recurse). */
  recursionDesired?: boolean;
  /** QR bit: a response (servers; the tests' DNS server). */
  response?: boolean;
  /** AA bit. */
  authoritative?: boolean;
  /** TC bit. */
  truncated?: boolean;
  /** Response code. */
  rcode?: number;
  /** Questions (zone section of an UPDATE). */
  questions: WireQuestion[];
  /** Answers (prerequisites of an UPDATE). */
  answers?: WireRecord[];
  /** Authorities (updates of an UPDATE). */
  authorities?: WireRecord[];
  /** Additional records (EDNS OPT). */
  additionals?: WireRecord[];
}

/**
 * A PeerLink record on the wire.
 *
 * @param record The record (its own TTL unless `ttl` is given).
 * @param klass Class (default IN).
 * @param ttl TTL override.
 * @returns The wire record.
 */
export function recordToWire(record: MdnsRecord, klass = CLASS_IN, ttl = record.ttl): WireRecord {
  return { name: record.name, type: rrtypeOf(record), klass, ttl, rdata: rdataBytes(record) };
}

/** The EDNS OPT pseudo-record advertising {@linkcode EDNS_UDP_SIZE}. */
export function ednsOpt(): WireRecord {
  return { name: "", type: TYPE_OPT, klass: EDNS_UDP_SIZE, ttl: 0, rdata: new Uint8Array(0) };
}

/** Appends bytes to a growing list. */
class Writer {
  readonly bytes: number[] = [];

  u16(n: number): void {
    this.bytes.push((n >> 8) & 0xff, n & 0xff);
  }

  u32(n: number): void {
    this.u16(Math.floor(n / 0x10000) & 0xffff);
    this.u16(n & 0xffff);
  }

  name(name: string): void {
    this.bytes.push(...nameBytes(name));
  }

  raw(data: Uint8Array): void {
    for (const b of data) this.bytes.push(b);
  }
}

/**
 * Encodes a DNS message: header, questions, then the three record sections.
 *
 * @param m The message.
 * @returns Its wire bytes.
 *
 * @example
 * ```ts
 * import { encodeDnsMessage, ednsOpt, typeCode } from "./wire.ts";
 * const query = encodeDnsMessage({
 *   id: 0x1234, recursionDesired: true,
 *   questions: [{ name: "_peerlink._tcp.lab.example", type: typeCode("PTR") }],
 *   additionals: [ednsOpt()],
 * });
 * console.log(query.length);
 * ```
 */
export function encodeDnsMessage(m: WireMessage): Uint8Array {
  const w = new Writer();
  const answers = m.answers ?? [];
  const authorities = m.authorities ?? [];
  const additionals = m.additionals ?? [];
  w.u16(m.id);
  w.u16(
    (m.response ? 0x8000 : 0) | ((m.opcode ?? OPCODE_QUERY) << 11) | (m.authoritative ? 0x0400 : 0) |
      (m.truncated ? 0x0200 : 0) | (m.recursionDesired ? 0x0100 : 0) | ((m.rcode ?? 0) & 0xf),
  );
  for (const count of [m.questions.length, answers.length, authorities.length, additionals.length]) w.u16(count);
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.klass ?? CLASS_IN);
  }
  for (const r of [...answers, ...authorities, ...additionals]) {
    w.name(r.name);
    w.u16(r.type);
    w.u16(r.klass);
    w.u32(r.ttl);
    w.u16(r.rdata.length);
    w.raw(r.rdata);
  }
  return Uint8Array.from(w.bytes);
}
