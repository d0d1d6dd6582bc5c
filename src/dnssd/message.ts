/**
 * Reading a unicast DNS reply: its header (id, opcode, rcode, TC) and its records, through the
 * mDNS layer's bounded decoder (`decodeSections`), which never throws and keeps only class IN
 * records (so EDNS OPT and TSIG records are not in the sections; `tsig.ts` reads TSIG from the
 * raw bytes).
 *
 * @module
 */
import { decodeSections } from "../mdns/packet.ts";
import type { MdnsQuestion, MdnsRecord } from "../mdns/records.ts";
import { type DnsHeader, readHeader } from "./wire.ts";

/** Largest reply accepted over TCP: the 2-byte length prefix allows no more. */
export const MAX_TCP_REPLY = 65_535;

/** A decoded reply. */
export interface DnsReply extends DnsHeader {
  /** Questions (class IN or ANY). */
  questions: MdnsQuestion[];
  /** Answer section (prerequisites of an UPDATE reply). */
  answers: MdnsRecord[];
  /** Authority section. */
  authorities: MdnsRecord[];
  /** Additional section, without OPT and TSIG. */
  additionals: MdnsRecord[];
}

/**
 * Decodes a reply. Never throws.
 *
 * @param bytes The message.
 * @returns The reply, or why it cannot be read.
 *
 * @example
 * ```ts
 * import { decodeReply } from "./message.ts";
 * const r = decodeReply(new Uint8Array(5));
 * if (!r.ok) console.log(r.reason); // "shorter than a DNS header"
 * ```
 */
export function decodeReply(bytes: Uint8Array): { ok: true; reply: DnsReply } | { ok: false; reason: string } {
  const header = readHeader(bytes);
  if (!header) return { ok: false, reason: "shorter than a DNS header" };
  if (bytes.length > MAX_TCP_REPLY) return { ok: false, reason: `larger than ${MAX_TCP_REPLY} bytes` };
  const decoded = decodeSections(bytes);
  if (!decoded.ok) return decoded;
  const m = decoded.message;
  return {
    ok: true,
    reply: {
      ...header,
      questions: m.questions,
      answers: m.answers,
      authorities: m.authorities,
      additionals: m.additionals,
    },
  };
}
