/**
 * A bounded structural check of a DNS message, run before dns-packet decodes it.
 *
 * It walks every name, question and record once with hard limits (compression pointers
 * must point backwards, at most {@linkcode MAX_POINTER_JUMPS} per name, names at most 255
 * bytes, every rdata inside the message and consistent with its type), so that a hostile
 * packet costs time linear in its size. It also reports what dns-packet 5.6.1 loses: the raw
 * question class (with the QU bit), each record's numeric type and the offsets of its rdata.
 *
 * @module
 */

import { faultPoint } from "../faults.ts";

/** Most compression pointers followed within one name; real packets use a handful. */
export const MAX_POINTER_JUMPS = 32;

/** One question as found on the wire. */
export interface WalkedQuestion {
  /** Numeric type. */
  type: number;
  /** Raw class including the QU bit. */
  classRaw: number;
  /** Offset of the 2-byte class field. */
  classOffset: number;
}

/** One resource record as found on the wire. */
export interface WalkedRecord {
  /** 0 answers, 1 authorities, 2 additionals. */
  section: 0 | 1 | 2;
  /** Offset of the record's first byte (its owner name). */
  start: number;
  /** Numeric type. */
  type: number;
  /** Offset of the 2-byte type field. */
  typeOffset: number;
  /** Raw class including the cache-flush bit. */
  classRaw: number;
  /** Offset of the rdata. */
  rdataOffset: number;
  /** Length of the rdata. */
  rdataLength: number;
}

/** The walk result. */
export interface WalkResult {
  /** Questions in order. */
  questions: WalkedQuestion[];
  /** Records of all three sections in order. */
  records: WalkedRecord[];
}

/**
 * Thrown internally on malformed input; never escapes {@linkcode walkMessage}. Not an Error
 * subclass: hostile traffic would otherwise pay for a stack trace per packet.
 */
class Malformed {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

function u16(buf: Uint8Array, offset: number): number {
  if (offset + 2 > buf.length) throw new Malformed("truncated");
  return (buf[offset] << 8) | buf[offset + 1];
}

/**
 * Walks a name starting at `offset` and returns the offset just after it in the stream.
 * Follows pointers (backwards only, bounded) to validate the whole name. `onLabel` (used by
 * {@linkcode readName}) sees each label's bytes in order.
 */
function skipName(buf: Uint8Array, offset: number, onLabel?: (label: Uint8Array) => void): number {
  let pos = offset;
  let end = -1; // stream position after the name, fixed at the first pointer
  let limit = offset; // pointers must point before where the current run of labels began
  let jumps = 0;
  let length = 1;
  for (;;) {
    if (pos >= buf.length) throw new Malformed("name runs past the end");
    const len = buf[pos];
    if (len === 0) {
      return end >= 0 ? end : pos + 1;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      const target = u16(buf, pos) & 0x3fff;
      if (end < 0) end = pos + 2;
      if (target >= limit) throw new Malformed("compression pointer does not point backwards");
      if (++jumps > MAX_POINTER_JUMPS) throw new Malformed("too many compression pointers");
      pos = target;
      limit = target;
      continue;
    }
    if (kind !== 0) throw new Malformed("unknown label type");
    length += len + 1;
    if (length > 255) throw new Malformed("name longer than 255 bytes");
    if (pos + 1 + len > buf.length) throw new Malformed("label runs past the end");
    onLabel?.(buf.subarray(pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
}

function checkRdata(buf: Uint8Array, type: number, offset: number, length: number): void {
  const end = offset + length;
  switch (type) {
    case 1: // A
      if (length !== 4) throw new Malformed("A rdata is not 4 bytes");
      return;
    case 28: // AAAA
      if (length !== 16) throw new Malformed("AAAA rdata is not 16 bytes");
      return;
    case 12: // PTR
      if (skipName(buf, offset) !== end) throw new Malformed("PTR rdata length mismatch");
      return;
    case 33: // SRV
      if (length < 7 || skipName(buf, offset + 6) !== end) throw new Malformed("SRV rdata length mismatch");
      return;
    case 16: { // TXT
      let pos = offset;
      while (pos < end) pos += 1 + buf[pos];
      if (pos !== end) throw new Malformed("TXT strings overrun the rdata");
      return;
    }
  }
}

/**
 * Validates a DNS message structurally.
 *
 * @param buf The message bytes.
 * @returns Offsets and raw fields, or a reason string when malformed.
 * @throws Only on a bug in the walk itself (never for malformed input).
 */
export function walkMessage(buf: Uint8Array): WalkResult | string {
  try {
    faultPoint("mdns.walk", buf);
    if (buf.length < 12) return "shorter than a DNS header";
    const qd = u16(buf, 4);
    const rr = [u16(buf, 6), u16(buf, 8), u16(buf, 10)];
    // Cheapest possible question is 5 bytes, record 11: reject impossible counts before walking.
    if (qd * 5 + (rr[0] + rr[1] + rr[2]) * 11 > buf.length - 12) return "record counts exceed the packet size";
    const questions: WalkedQuestion[] = [];
    const records: WalkedRecord[] = [];
    let pos = 12;
    for (let i = 0; i < qd; i++) {
      pos = skipName(buf, pos);
      questions.push({ type: u16(buf, pos), classRaw: u16(buf, pos + 2), classOffset: pos + 2 });
      pos += 4;
      if (pos > buf.length) return "truncated question";
    }
    for (let section = 0; section < 3; section++) {
      for (let i = 0; i < rr[section]; i++) {
        const start = pos;
        pos = skipName(buf, pos);
        const type = u16(buf, pos);
        const classRaw = u16(buf, pos + 2);
        const rdataLength = u16(buf, pos + 8);
        const rdataOffset = pos + 10;
        if (rdataOffset + rdataLength > buf.length) return "rdata runs past the end";
        // Class ANY or NONE with no rdata: a DNS UPDATE deletion or prerequisite (RFC 2136 2.4).
        const klass = classRaw & 0x7fff;
        if (rdataLength > 0 || (klass !== 254 && klass !== 255)) checkRdata(buf, type, rdataOffset, rdataLength);
        records.push({
          section: section as 0 | 1 | 2,
          start,
          type,
          typeOffset: pos,
          classRaw,
          rdataOffset,
          rdataLength,
        });
        pos = rdataOffset + rdataLength;
      }
    }
    return { questions, records };
  } catch (err) {
    if (err instanceof Malformed) return err.message;
    throw err; // not bad input but a bug here: the caller counts it as an internal error
  }
}

const labelDecoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Reads a (possibly compressed) name with the same bounds as {@linkcode walkMessage}.
 *
 * @param buf The message bytes.
 * @param offset Where the name starts.
 * @returns The name (labels joined by dots, no trailing dot, `""` for the root) and the
 *   offset just after it, or a reason string when malformed.
 *
 * @example
 * ```ts
 * import { readName } from "./walk.ts";
 * const bytes = Uint8Array.from([3, 0x6b, 0x65, 0x79, 0]);
 * console.log(readName(bytes, 0)); // { name: "key", end: 5 }
 * ```
 */
export function readName(buf: Uint8Array, offset: number): { name: string; end: number } | string {
  const labels: string[] = [];
  try {
    const end = skipName(buf, offset, (label) => labels.push(labelDecoder.decode(label)));
    return { name: labels.join("."), end };
  } catch (err) {
    if (err instanceof Malformed) return err.message;
    return `unexpected: ${String(err)}`;
  }
}
