/**
 * mDNS message encoding and safe decoding on dns-packet 5.6.1.
 *
 * Gaps of dns-packet handled here:
 * - The QU bit (top bit of a question's class) is neither decoded (class reads as
 *   `"UNKNOWN_32769"`) nor encodable: we read it from the raw bytes and set it after encoding.
 * - Malformed input can throw from deep inside dns-packet, and some rdata is read without
 *   checking its length: every message first passes the bounded {@linkcode walkMessage}
 *   check, records of types we do not interpret are handed to dns-packet as an opaque type,
 *   and anything that still throws is a bug: reported as a drop reason with the exception
 *   (`internal`), which the transport counts as an internal error. {@linkcode decodeMessage}
 *   never throws.
 *
 * @module
 */
import dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";
import type { MdnsQuestion, MdnsRecord, SrvData } from "./records.ts";
import { TYPE_CODES } from "./records.ts";
import { validateName } from "./names.ts";
import { walkMessage } from "./walk.ts";
import { faultPoint } from "../faults.ts";
import { isBadInput } from "../internal_errors.ts";
import { PeerLinkError } from "../errors.ts";

/** Largest mDNS message accepted (RFC 6762 section 17: 9000 bytes including IP and UDP headers). */
export const MAX_MESSAGE_SIZE = 9000;

/** A decoded or to-be-encoded mDNS message. */
export interface MdnsMessage {
  /** Query ID: 0 for multicast, echoed for legacy unicast replies. */
  id: number;
  /** True for a response (QR bit). */
  response: boolean;
  /** The TC bit: in a query, more known answers follow (RFC 6762 section 7.2). */
  truncated?: boolean;
  /** Questions. */
  questions: MdnsQuestion[];
  /** Answer section. */
  answers: MdnsRecord[];
  /** Authority section (proposed records in probes). */
  authorities: MdnsRecord[];
  /** Additional section. */
  additionals: MdnsRecord[];
}

/**
 * Result of {@linkcode decodeMessage}: a message, or why it was dropped. `internal` is set
 * when the decoder itself failed (a bug in PeerLink, not bad input): the exception it caught.
 */
export type DecodeResult = { ok: true; message: MdnsMessage } | { ok: false; reason: string; internal?: unknown };

/** A type number dns-packet does not know, so it keeps the rdata as opaque bytes. */
const OPAQUE_TYPE = 65280;
const CLASS_IN = 1;
const CLASS_ANY = 255;
const TC_FLAG = 1 << 9;
const AA_FLAG = 1 << 10;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name]),
);

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Decodes an mDNS message. Never throws: malformed or pathological input yields a reason.
 * Records of classes other than IN are dropped; types other than A, AAAA, PTR, SRV, TXT are
 * kept as `OTHER` with raw rdata.
 *
 * @param bytes The datagram payload.
 * @returns The message or the reason it was dropped.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "@peerlink/peerlink/mdns";
 * const r = decodeMessage(new Uint8Array([1, 2, 3]));
 * if (!r.ok) console.log(r.reason); // "shorter than a DNS header"
 * ```
 */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  if (bytes.length > MAX_MESSAGE_SIZE) return { ok: false, reason: "larger than 9000 bytes" };
  if (bytes.length < 12) return { ok: false, reason: "shorter than a DNS header" };
  const flags = (bytes[2] << 8) | bytes[3];
  if (((flags >> 11) & 0xf) !== 0) return { ok: false, reason: "opcode is not QUERY" };
  if ((flags & 0xf) !== 0) return { ok: false, reason: "non-zero rcode" };
  return decodeSections(bytes);
}

/**
 * Decodes any DNS message's header flags and sections, whatever its opcode and rcode (the
 * unicast DNS client of `src/dnssd` reads replies with these too). Same guarantees as
 * {@linkcode decodeMessage}: bounded, never throws, only IN records (so an OPT or TSIG record
 * is left out: read it from the raw bytes).
 *
 * @param bytes The message.
 * @returns The message or the reason it cannot be read.
 */
export function decodeSections(bytes: Uint8Array): DecodeResult {
  try {
    const flags = (bytes[2] << 8) | bytes[3];
    const walked = walkMessage(bytes);
    if (typeof walked === "string") return { ok: false, reason: walked };

    faultPoint("mdns.decode", bytes);
    // Types dns-packet cannot check alone (and RFC 2136 deletions: class ANY or NONE without
    // rdata, which would make it read rdata that is not there) are patched to an opaque one, in
    // a private copy; the usual packet has none and is read in place (a copy per datagram is
    // garbage in a flood).
    const opaque = walked.records.filter((r) =>
      !TYPE_NAMES[r.type] || r.type === TYPE_CODES.NSEC || r.type === TYPE_CODES.ANY ||
      (r.rdataLength === 0 && (r.classRaw & 0x7fff) >= 254)
    );
    const input = opaque.length > 0
      ? Buffer.from(bytes)
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const r of opaque) input.writeUInt16BE(OPAQUE_TYPE, r.typeOffset);
    const decoded = dnsPacket.decode(input);
    const questions: MdnsQuestion[] = [];
    (decoded.questions ?? []).forEach((q, i) => {
      const raw = walked.questions[i];
      const klass = raw.classRaw & 0x7fff;
      if (klass !== CLASS_IN && klass !== CLASS_ANY) return;
      questions.push({
        name: q.name,
        type: TYPE_NAMES[raw.type] ?? `TYPE${raw.type}`,
        qu: (raw.classRaw & 0x8000) !== 0,
      });
    });
    const sections: MdnsRecord[][] = [[], [], []];
    const all = [...(decoded.answers ?? []), ...(decoded.authorities ?? []), ...(decoded.additionals ?? [])];
    all.forEach((a, i) => {
      const raw = walked.records[i];
      if ((raw.classRaw & 0x7fff) !== CLASS_IN) return;
      const record = toRecord(a as unknown as DecodedAnswer, raw.type, bytes, raw.rdataOffset, raw.rdataLength);
      if (record) sections[raw.section].push(record);
    });
    return {
      ok: true,
      message: {
        id: decoded.id ?? 0,
        response: decoded.type === "response",
        truncated: (flags & TC_FLAG) !== 0,
        questions,
        answers: sections[0],
        authorities: sections[1],
        additionals: sections[2],
      },
    };
  } catch (err) {
    // The walk refuses malformed input before dns-packet sees it: what still throws is a bug.
    const reason = `decoder error: ${err instanceof Error ? err.message : String(err)}`;
    return isBadInput(err) ? { ok: false, reason } : { ok: false, reason, internal: err };
  }
}

interface DecodedAnswer {
  name: string;
  ttl?: number;
  flush?: boolean;
  data: unknown;
}

function toRecord(
  a: DecodedAnswer,
  type: number,
  bytes: Uint8Array,
  rdataOffset: number,
  rdataLength: number,
): MdnsRecord | undefined {
  const base = { name: a.name, ttl: a.ttl ?? 0, flush: a.flush === true };
  switch (TYPE_NAMES[type]) {
    case "A":
      return typeof a.data === "string" && IPV4.test(a.data) ? { ...base, type: "A", data: a.data } : undefined;
    case "AAAA":
      return typeof a.data === "string" && a.data.includes(":") ? { ...base, type: "AAAA", data: a.data } : undefined;
    case "PTR":
      return typeof a.data === "string" ? { ...base, type: "PTR", data: a.data } : undefined;
    case "SRV": {
      const d = a.data as Partial<SrvData> | undefined;
      if (!d || typeof d.port !== "number" || typeof d.target !== "string") return undefined;
      return {
        ...base,
        type: "SRV",
        data: { priority: d.priority ?? 0, weight: d.weight ?? 0, port: d.port, target: d.target },
      };
    }
    case "TXT": {
      if (!Array.isArray(a.data)) return undefined;
      return { ...base, type: "TXT", data: a.data.map((s: Uint8Array) => Uint8Array.from(s)) };
    }
    default:
      return { ...base, type: "OTHER", rrtype: type, data: bytes.slice(rdataOffset, rdataOffset + rdataLength) };
  }
}

/** Thrown by {@linkcode encodeMessage} for records it cannot put on the wire (code `CANNOT_ENCODE`). */
export class EncodeError extends PeerLinkError {
  /**
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message, "CANNOT_ENCODE");
    this.name = "EncodeError";
  }
}

function toAnswer(r: MdnsRecord): dnsPacket.Answer {
  validateName(r.name);
  const base = { name: r.name, ttl: r.ttl, flush: r.flush, class: "IN" as const };
  switch (r.type) {
    case "A":
    case "AAAA":
      return { ...base, type: r.type, data: r.data.split("%")[0] };
    case "PTR":
      validateName(r.data);
      return { ...base, type: "PTR", data: r.data };
    case "SRV":
      validateName(r.data.target);
      return { ...base, type: "SRV", data: { ...r.data } };
    case "TXT":
      for (const s of r.data) {
        if (s.length > 255) throw new EncodeError(`TXT string of ${s.length} bytes exceeds 255 (RFC 6763 6.1)`);
      }
      return { ...base, type: "TXT", data: r.data.length ? r.data.map((s) => Buffer.from(s)) : [Buffer.alloc(0)] };
    case "OTHER":
      throw new EncodeError(`cannot encode record type ${r.rrtype} of ${r.name}`);
  }
}

/**
 * Encodes an mDNS message. Responses get the AA bit (RFC 6762 section 18.4); questions with
 * `qu` get the unicast-response bit; records with `flush` the cache-flush bit.
 *
 * @param message The message.
 * @returns The wire bytes.
 * @throws NameError, EncodeError for names or records that cannot be encoded.
 *
 * @example
 * ```ts
 * import { encodeMessage } from "@peerlink/peerlink/mdns";
 * const bytes = encodeMessage({
 *   id: 0, response: false, answers: [], authorities: [], additionals: [],
 *   questions: [{ name: "_http._tcp.local", type: "PTR", qu: false }],
 * });
 * ```
 */
export function encodeMessage(message: MdnsMessage): Uint8Array {
  for (const q of message.questions) validateName(q.name);
  let flags = message.response ? AA_FLAG : 0;
  if (message.truncated) flags |= TC_FLAG;
  const encoded = dnsPacket.encode({
    id: message.id,
    type: message.response ? "response" : "query",
    flags,
    questions: message.questions.map((q) => ({
      name: q.name,
      type: (q.type === "ANY" ? "ANY" : q.type) as dnsPacket.RecordType,
      class: "IN" as const,
    })),
    answers: message.answers.map(toAnswer),
    authorities: message.authorities.map(toAnswer),
    additionals: message.additionals.map(toAnswer),
  });
  const out = new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  if (message.questions.some((q) => q.qu)) {
    const walked = walkMessage(out);
    if (typeof walked === "string") throw new EncodeError(`encoded message does not walk: ${walked}`);
    message.questions.forEach((q, i) => {
      if (q.qu) out[walked.questions[i].classOffset] |= 0x80;
    });
  }
  return out;
}

/**
 * The encoded size of a message (dns-packet does not compress names, so this is exact).
 *
 * @param message The message.
 * @returns Its size in bytes.
 */
export function messageSize(message: MdnsMessage): number {
  let size = 12;
  for (const q of message.questions) size += nameSize(q.name) + 4;
  for (const list of [message.answers, message.authorities, message.additionals]) {
    for (const r of list) size += recordSize(r);
  }
  return size;
}

const encoder = new TextEncoder();

function nameSize(name: string): number {
  const n = name.replace(/^\.|\.$/g, "");
  return n.length === 0 ? 1 : encoder.encode(n).length + 2;
}

/**
 * The encoded size of one record.
 *
 * @param r The record.
 * @returns Bytes on the wire.
 */
export function recordSize(r: MdnsRecord): number {
  const head = nameSize(r.name) + 10;
  switch (r.type) {
    case "A":
      return head + 4;
    case "AAAA":
      return head + 16;
    case "PTR":
      return head + nameSize(r.data);
    case "SRV":
      return head + 6 + nameSize(r.data.target);
    case "TXT":
      return head + Math.max(1, r.data.reduce((n, s) => n + s.length + 1, 0));
    case "OTHER":
      return head + r.data.length;
  }
}
