/**
 * TSIG (RFC 8945) with HMAC-SHA256: signing a DNS message and verifying a signed one, the
 * layer `dns-packet` lacks. A client signs its UPDATE and verifies the server's signed reply;
 * a server (the tests' in-memory one, or a capture of BIND's `nsupdate`) does the reverse.
 *
 * The MAC (section 4.3) covers, in this order: for a reply, the request's MAC (2-byte length
 * and bytes); the message as it was before the TSIG record was appended (ARCOUNT without it,
 * the original id); then the TSIG variables: key name and algorithm name in canonical form
 * (lowercase, uncompressed), class ANY, TTL 0, time signed (48-bit seconds), fudge, error,
 * other length and other data.
 *
 * Verification (sections 5.2 and 5.3) never throws on bad input: it says why a message does
 * not verify (no TSIG, another key, an empty MAC as servers send with BADSIG/BADKEY, a wrong
 * MAC, a time outside the fudge). An exception from a bug is caught too and reported with
 * `internal: true`, so tests can tell a counted bad input from a thrown bug. Truncated MACs
 * (section 5.2.2.1) are not accepted: BIND and every common server send the full 32 bytes.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { nameBytes } from "../mdns/records.ts";
import { readName, walkMessage } from "../mdns/walk.ts";
import { decodeBase64 } from "../wire/base64.ts";
import { WideAreaError } from "./errors.ts";
import { CLASS_ANY, rcodeName, TYPE_TSIG } from "./wire.ts";

/** The only algorithm supported: HMAC-SHA256 (RFC 4635), what `tsig-keygen` makes by default. */
export const TSIG_ALGORITHM = "hmac-sha256";
/** Seconds of clock difference a signature tolerates (RFC 8945 section 10 recommends 300). */
export const TSIG_FUDGE = 300;
/** Length of an HMAC-SHA256 MAC. */
const MAC_LENGTH = 32;

/**
 * A TSIG key as given in the options: its name, algorithm and base64 secret, exactly as in a
 * BIND key statement (`key "pl-key" { algorithm hmac-sha256; secret "..."; };`).
 */
export interface TsigKey {
  /** Key name, e.g. `"pl-key"` (the server knows the key by this name). */
  name: string;
  /** Algorithm; only `"hmac-sha256"` (the default). */
  algorithm?: "hmac-sha256";
  /** The secret, base64 (as `tsig-keygen` prints it). */
  secret: string;
}

/** A checked key, ready to sign with. */
export interface TsigSecret {
  /** Key name, lowercase, without trailing dot. */
  readonly name: string;
  /** Raw secret bytes. */
  readonly secret: Uint8Array;
}

/**
 * Checks a key and decodes its secret.
 *
 * @param key The key from the options.
 * @returns The checked key.
 * @throws WideAreaError (`DNS_CONFIG`) saying what is wrong with it.
 *
 * @example
 * ```ts
 * import { tsigSecret } from "./tsig.ts";
 * const key = tsigSecret({ name: "pl-key", algorithm: "hmac-sha256", secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==" });
 * console.log(key.name, key.secret.length); // pl-key 28
 * ```
 */
export function tsigSecret(key: TsigKey): TsigSecret {
  const fix = 'Give wideArea.tsig as { name, algorithm: "hmac-sha256", secret: "<base64>" } (tsig-keygen prints one).';
  if (typeof key !== "object" || key === null) {
    throw new WideAreaError("DNS_CONFIG", `wideArea.tsig is not an object. ${fix}`);
  }
  const name = typeof key.name === "string" ? key.name.trim().replace(/\.$/, "").toLowerCase() : "";
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name)) {
    throw new WideAreaError("DNS_CONFIG", `wideArea.tsig.name ${JSON.stringify(key.name)} is not a key name. ${fix}`);
  }
  const algorithm = String(key.algorithm ?? TSIG_ALGORITHM).toLowerCase().replace(/\.$/, "");
  if (algorithm !== TSIG_ALGORITHM) {
    throw new WideAreaError(
      "DNS_CONFIG",
      `wideArea.tsig.algorithm ${
        JSON.stringify(key.algorithm)
      } is not supported: use "hmac-sha256" (tsig-keygen -a hmac-sha256).`,
    );
  }
  const secret = typeof key.secret === "string" ? decodeBase64(key.secret.trim()) : undefined;
  if (!secret || secret.length === 0) {
    throw new WideAreaError("DNS_CONFIG", `wideArea.tsig.secret of key "${name}" is not base64. ${fix}`);
  }
  return { name, secret };
}

/** A parsed TSIG record. */
export interface TsigRecord {
  /** Key name (lowercase, no trailing dot). */
  keyName: string;
  /** Algorithm name (lowercase, no trailing dot). */
  algorithm: string;
  /** Time signed, seconds since the Unix epoch. */
  timeSigned: number;
  /** Fudge, seconds. */
  fudge: number;
  /** The MAC (empty in unsigned error replies). */
  mac: Uint8Array;
  /** The id the message was signed with. */
  originalId: number;
  /** TSIG error (0, or 16 BADSIG, 17 BADKEY, 18 BADTIME, 22 BADTRUNC). */
  error: number;
  /** Other data (the server's time in a BADTIME reply). */
  otherData: Uint8Array;
  /** Offset of the TSIG record in the message. */
  start: number;
}

/** Outcome of {@linkcode verifyMessage}. */
export type TsigVerdict =
  | {
    /** It verifies. */
    ok: true;
    /** The TSIG (its `error` may still be non-zero: a signed BADTIME reply). */
    tsig: TsigRecord;
  }
  | {
    /** It does not verify. */
    ok: false;
    /** Why, e.g. `"unsigned"`, `"bad MAC"`, `"unsigned BADSIG"`. */
    reason: string;
    /** The TSIG, when there was a readable one. */
    tsig?: TsigRecord;
    /** True when the verifier itself failed (a bug), not the input. */
    internal?: boolean;
  };

/** Options of {@linkcode signMessage}. */
export interface SignOptions {
  /** Now, seconds since the Unix epoch. */
  now: number;
  /** When signing a reply: the request's MAC. */
  requestMac?: Uint8Array;
  /** Fudge, seconds (default {@linkcode TSIG_FUDGE}). */
  fudge?: number;
  /** TSIG error to send (servers only). */
  error?: number;
  /** Other data (servers: their time with BADTIME). */
  otherData?: Uint8Array;
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u48(n: number): number[] {
  const high = Math.floor(n / 2 ** 32);
  const low = n % 2 ** 32;
  return [...u16(high), ...u16(Math.floor(low / 0x10000)), ...u16(low & 0xffff)];
}

/** The TSIG variables of section 4.3.3 (in the MAC) for these fields. */
function variables(keyName: string, t: Omit<TsigRecord, "keyName" | "mac" | "originalId" | "start">): Uint8Array {
  return Uint8Array.from([
    ...nameBytes(keyName.toLowerCase()),
    ...u16(CLASS_ANY),
    0,
    0,
    0,
    0,
    ...nameBytes(t.algorithm.toLowerCase()),
    ...u48(t.timeSigned),
    ...u16(t.fudge),
    ...u16(t.error),
    ...u16(t.otherData.length),
    ...t.otherData,
  ]);
}

function computeMac(secret: Uint8Array, parts: Uint8Array[]): Uint8Array {
  const hmac = createHmac("sha256", secret);
  for (const part of parts) hmac.update(part);
  return new Uint8Array(hmac.digest());
}

function prefixOf(requestMac: Uint8Array | undefined): Uint8Array[] {
  return requestMac ? [Uint8Array.from(u16(requestMac.length)), requestMac] : [];
}

/**
 * Signs a message: appends a TSIG record (and counts it in ARCOUNT).
 *
 * @param message The complete message without TSIG.
 * @param key The key.
 * @param options Time, and the request MAC when signing a reply.
 * @returns The signed bytes and the MAC (a client keeps it to verify the reply).
 *
 * @example
 * ```ts
 * import { signMessage, tsigSecret, verifyMessage } from "./tsig.ts";
 * import { encodeDnsMessage } from "./wire.ts";
 * const key = tsigSecret({ name: "pl-key", secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==" });
 * const now = Math.floor(Date.now() / 1000);
 * const signed = signMessage(encodeDnsMessage({ id: 7, questions: [{ name: "lab.example", type: 6 }] }), key, { now });
 * console.log(verifyMessage(signed.bytes, key, { now }).ok); // true
 * ```
 */
export function signMessage(
  message: Uint8Array,
  key: TsigSecret,
  options: SignOptions,
): { bytes: Uint8Array; mac: Uint8Array } {
  const fields = {
    algorithm: TSIG_ALGORITHM,
    timeSigned: Math.floor(options.now),
    fudge: options.fudge ?? TSIG_FUDGE,
    error: options.error ?? 0,
    otherData: options.otherData ?? new Uint8Array(0),
  };
  const mac = computeMac(key.secret, [...prefixOf(options.requestMac), message, variables(key.name, fields)]);
  const rdata = [
    ...nameBytes(TSIG_ALGORITHM),
    ...u48(fields.timeSigned),
    ...u16(fields.fudge),
    ...u16(mac.length),
    ...mac,
    message[0],
    message[1],
    ...u16(fields.error),
    ...u16(fields.otherData.length),
    ...fields.otherData,
  ];
  const record = [
    ...nameBytes(key.name),
    ...u16(TYPE_TSIG),
    ...u16(CLASS_ANY),
    0,
    0,
    0,
    0,
    ...u16(rdata.length),
    ...rdata,
  ];
  const out = new Uint8Array(message.length + record.length);
  out.set(message);
  out.set(record, message.length);
  const arcount = ((message[10] << 8) | message[11]) + 1;
  out[10] = (arcount >> 8) & 0xff;
  out[11] = arcount & 0xff;
  return { bytes: out, mac };
}

/**
 * Finds and parses the TSIG record of a message (it must be the last additional record).
 *
 * @param bytes The message.
 * @returns `{ tsig }` (`undefined` when unsigned), or `{ reason }` when malformed.
 */
export function findTsig(bytes: Uint8Array): { tsig: TsigRecord | undefined } | { reason: string } {
  const walked = walkMessage(bytes);
  if (typeof walked === "string") return { reason: `malformed: ${walked}` };
  const records = walked.records;
  const at = records.findIndex((r) => r.type === TYPE_TSIG);
  if (at < 0) return { tsig: undefined };
  const r = records[at];
  if (at !== records.length - 1 || r.section !== 2) return { reason: "TSIG is not the last additional record" };
  const owner = readName(bytes, r.start);
  if (typeof owner === "string") return { reason: `TSIG key name: ${owner}` };
  const ttl = bytes.subarray(r.typeOffset + 4, r.typeOffset + 8);
  if (r.classRaw !== CLASS_ANY || ttl.some((b) => b !== 0)) return { reason: "TSIG class is not ANY or TTL not 0" };
  const end = r.rdataOffset + r.rdataLength;
  const algorithm = readName(bytes, r.rdataOffset);
  if (typeof algorithm === "string") return { reason: `TSIG algorithm name: ${algorithm}` };
  let pos = algorithm.end;
  const need = (n: number) => pos + n <= end;
  const read16 = () => {
    const v = (bytes[pos] << 8) | bytes[pos + 1];
    pos += 2;
    return v;
  };
  if (!need(10)) return { reason: "TSIG rdata too short" };
  const timeSigned = read16() * 2 ** 32 + read16() * 0x10000 + read16();
  const fudge = read16();
  const macLength = read16();
  if (!need(macLength + 6)) return { reason: "TSIG MAC runs past the record" };
  const mac = bytes.slice(pos, pos + macLength);
  pos += macLength;
  const originalId = read16();
  const error = read16();
  const otherLength = read16();
  if (pos + otherLength !== end) return { reason: "TSIG other data does not end the record" };
  if (end !== bytes.length) return { reason: "bytes after the TSIG record" }; // the MAC would not cover them
  return {
    tsig: {
      keyName: owner.name.toLowerCase(),
      algorithm: algorithm.name.toLowerCase(),
      timeSigned,
      fudge,
      mac,
      originalId,
      error,
      otherData: bytes.slice(pos, end),
      start: r.start,
    },
  };
}

/** The message as it was signed: without the TSIG record, ARCOUNT one less, the original id. */
function unsignedPart(bytes: Uint8Array, tsig: TsigRecord): Uint8Array {
  const part = bytes.slice(0, tsig.start);
  const arcount = ((part[10] << 8) | part[11]) - 1;
  part[0] = (tsig.originalId >> 8) & 0xff;
  part[1] = tsig.originalId & 0xff;
  part[10] = (arcount >> 8) & 0xff;
  part[11] = arcount & 0xff;
  return part;
}

/**
 * Verifies a signed message: a request (server side) or, with `requestMac`, a reply.
 *
 * @param bytes The received message.
 * @param key The key it must be signed with.
 * @param options Now (seconds since the Unix epoch) and, for a reply, the request's MAC.
 * @returns `ok` with the TSIG, or why it does not verify. Never throws.
 */
export function verifyMessage(
  bytes: Uint8Array,
  key: TsigSecret,
  options: { now: number; requestMac?: Uint8Array },
): TsigVerdict {
  try {
    const found = findTsig(bytes);
    if ("reason" in found) return { ok: false, reason: found.reason };
    const tsig = found.tsig;
    if (!tsig) return { ok: false, reason: "unsigned" };
    if (tsig.keyName !== key.name) return { ok: false, reason: `signed with another key ("${tsig.keyName}")`, tsig };
    if (tsig.algorithm !== TSIG_ALGORITHM) return { ok: false, reason: `algorithm ${tsig.algorithm}`, tsig };
    if (tsig.mac.length === 0) return { ok: false, reason: `unsigned ${rcodeName(tsig.error)}`, tsig };
    if (tsig.mac.length !== MAC_LENGTH) {
      return { ok: false, reason: `MAC of ${tsig.mac.length} bytes (only full ${MAC_LENGTH}-byte MACs)`, tsig };
    }
    const expected = computeMac(key.secret, [
      ...prefixOf(options.requestMac),
      unsignedPart(bytes, tsig),
      variables(tsig.keyName, tsig),
    ]);
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(tsig.mac))) return { ok: false, reason: "bad MAC", tsig };
    const skew = Math.abs(options.now - tsig.timeSigned);
    if (skew > tsig.fudge) {
      return { ok: false, reason: `signed ${skew} s away from our clock (fudge ${tsig.fudge} s)`, tsig };
    }
    return { ok: true, tsig };
  } catch (err) {
    return { ok: false, reason: `internal error: ${err instanceof Error ? err.message : String(err)}`, internal: true };
  }
}
