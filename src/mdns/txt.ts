/**
 * DNS-SD TXT records (RFC 6763 section 6): validation and encoding of key/value
 * attributes into character strings, and lenient decoding of received ones.
 *
 * dns-packet 5.6.1 writes strings over 255 bytes without complaint, producing a packet no
 * one can decode; everything published goes through {@linkcode encodeTxt} first.
 *
 * @module
 */

import { PeerLinkError } from "../errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Largest TXT rdata we publish: RFC 6763 section 6.1 advises keeping it under 1300 bytes so it fits one packet. */
export const MAX_TXT_RDATA = 1300;

/**
 * Attribute values: a string (`key=value`), `true` for a boolean attribute (`key` alone,
 * RFC 6763 section 6.4), or raw bytes.
 */
export type TxtValue = string | true | Uint8Array;

/** A TXT record as attributes. Keys are case-insensitive. */
export type TxtAttributes = Record<string, TxtValue>;

/** Decoded attributes: keys lowercased, values UTF-8 text or `true` for boolean attributes. */
export type TxtRecord = Record<string, string | true>;

/** Invalid TXT data given to the mDNS layer (code `INVALID_TXT`). */
export class TxtError extends PeerLinkError {
  /**
   * Creates the error.
   *
   * @param message What is wrong and how to fix it.
   */
  constructor(message: string) {
    super(message, "INVALID_TXT");
    this.name = "TxtError";
  }
}

/**
 * Validates attributes and encodes them as TXT character strings.
 *
 * Rules (RFC 6763 section 6): keys are 1+ printable US-ASCII characters except `=`, unique
 * case-insensitively; each `key=value` string is at most 255 bytes; the whole record stays
 * under {@linkcode MAX_TXT_RDATA}. An empty attribute set encodes as one empty string, as
 * section 6.1 requires.
 *
 * @param attributes The attributes, in the order they should appear.
 * @returns The character strings (without length bytes).
 * @throws TxtError naming the offending key.
 *
 * @example
 * ```ts
 * import { encodeTxt } from "@peerlink/peerlink/mdns";
 * const strings = encodeTxt({ node: "Worker", secure: true });
 * // [ bytes of "node=Worker", bytes of "secure" ]
 * ```
 */
export function encodeTxt(attributes: TxtAttributes): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(attributes)) {
    if (key.length === 0) throw new TxtError("TXT key is empty. Keys need at least one character (RFC 6763 6.4).");
    if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(key)) {
      throw new TxtError(
        `TXT key ${JSON.stringify(key)} must be printable US-ASCII without "=" (RFC 6763 6.4). Rename the key.`,
      );
    }
    const lower = key.toLowerCase();
    if (seen.has(lower)) {
      throw new TxtError(`TXT key ${JSON.stringify(key)} appears twice (keys are case-insensitive). Keep one.`);
    }
    seen.add(lower);
    const keyBytes = encoder.encode(key);
    let bytes: Uint8Array;
    if (value === true) {
      bytes = keyBytes;
    } else {
      if (typeof value !== "string" && !(value instanceof Uint8Array)) {
        throw new TxtError(`TXT value of ${JSON.stringify(key)} must be a string, true or a Uint8Array.`);
      }
      const valueBytes = typeof value === "string" ? encoder.encode(value) : value;
      bytes = new Uint8Array(keyBytes.length + 1 + valueBytes.length);
      bytes.set(keyBytes);
      bytes[keyBytes.length] = 0x3d; // "="
      bytes.set(valueBytes, keyBytes.length + 1);
    }
    if (bytes.length > 255) {
      throw new TxtError(
        `TXT entry ${
          JSON.stringify(key)
        } is ${bytes.length} bytes; each key=value string may be at most 255 bytes (RFC 6763 6.1). Shorten the value.`,
      );
    }
    total += bytes.length + 1;
    out.push(bytes);
  }
  if (out.length === 0) out.push(new Uint8Array(0));
  if (total > MAX_TXT_RDATA) {
    throw new TxtError(
      `TXT record is ${total} bytes; keep it under ${MAX_TXT_RDATA} bytes (RFC 6763 6.1) so it fits one packet. Publish less data.`,
    );
  }
  return out;
}

/**
 * Decodes received TXT character strings. Lenient: strings without a key (`=value`) are
 * ignored, the first occurrence of a key wins, keys are lowercased, values decode as UTF-8
 * with replacement characters.
 *
 * @param strings The record's character strings.
 * @returns The attributes.
 */
export function decodeTxt(strings: readonly Uint8Array[]): TxtRecord {
  const out: TxtRecord = Object.create(null);
  for (const s of strings) {
    if (s.length === 0) continue;
    const eq = s.indexOf(0x3d);
    if (eq === 0) continue; // no key: RFC 6763 6.4 says ignore it
    const key = decoder.decode(eq < 0 ? s : s.subarray(0, eq)).toLowerCase();
    if (key in out) continue; // first occurrence wins
    out[key] = eq < 0 ? true : decoder.decode(s.subarray(eq + 1));
  }
  return out;
}
