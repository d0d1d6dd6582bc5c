/**
 * The sealed envelope: how every RPC message between two nodes that share a secret travels,
 * in a UDP datagram or as the body of a TCP frame (after the usual 4-byte length prefix).
 *
 * ```text
 * offset  size  field
 * 0       1     magic 0xFE                 never the first byte of a plaintext message: JSON
 *                                          starts with "{", a binary frame with 0xFF, and
 *                                          0xFE/0xFF never occur in UTF-8
 * 1       1     version 1
 * 2       1     kind: 1 UDP request, 2 UDP reply, 3 TCP request, 4 TCP reply
 * 3       1     n = sender name length in UTF-8 bytes (1-255)
 * 4       8     timestamp: sender's wall clock, ms since the Unix epoch, u64 big-endian
 * 12      12    nonce: 96 fresh random bits per message (the AES-GCM IV)
 * 24      n     sender name, UTF-8 (a request's `src`; the replying node's name)
 * 24+n    L     ciphertext of the plaintext message (L = its length)
 * 24+n+L  16    AES-GCM tag
 * ```
 *
 * Bytes 0 to 24+n (everything before the ciphertext) are the AES-GCM associated data, so the
 * direction, transport, sender and timestamp are authenticated with the message and cannot
 * be changed or moved to another message. The plaintext is exactly the message PeerLink would
 * otherwise send: a JSON datagram, or a TCP frame body (JSON or a binary frame). Overhead:
 * 40 bytes plus the sender name.
 *
 * The receiver checks, in this order, and drops (counting why) on the first failure: layout
 * and version; the timestamp within the replay window of its own clock; the nonce not seen
 * before (cheap checks first, so floods of stale or replayed copies cost no decryption); the
 * tag; then, in the RPC layer, that the kind matches the message type, that a request's `src`
 * is the sender and its `dst` is this node, and that a reply comes from the peer called.
 *
 * @module
 */
import { readUint32, writeFrameHeader } from "../wire/frames.ts";
import { aesGcmOpen, aesGcmSeal, GCM_TAG_BYTES, type SecretKey } from "./crypto.ts";

/** First byte of a sealed message. */
export const SEAL_MAGIC = 0xfe;
/** Envelope layout version. */
export const SEAL_VERSION = 1;
/** Bytes before the sender name. */
export const SEAL_FIXED_HEADER = 24;
/** AES-GCM tag size. */
export const SEAL_TAG_BYTES = GCM_TAG_BYTES;
/** Nonce (IV) size. */
export const SEAL_NONCE_BYTES = 12;
/** Longest sender name, in UTF-8 bytes. */
export const SEAL_MAX_SENDER_BYTES = 255;

/** The kinds of sealed message (values of {@linkcode SealKind}). */
export interface SealKinds {
  /** A request in a UDP datagram. */
  readonly udpRequest: 1;
  /** A reply in a UDP datagram. */
  readonly udpReply: 2;
  /** A request in a TCP frame. */
  readonly tcpRequest: 3;
  /** A reply in a TCP frame. */
  readonly tcpReply: 4;
}

/** What a sealed message is; part of the authenticated header. */
export const SealKind: SealKinds = Object.freeze({ udpRequest: 1, udpReply: 2, tcpRequest: 3, tcpReply: 4 });

/** One of the {@linkcode SealKind} values. */
export type SealKind = typeof SealKind[keyof typeof SealKind];

/** The authenticated header of a sealed message. */
export interface EnvelopeHeader {
  /** Message kind. */
  kind: SealKind;
  /** Sender's wall-clock time, ms since the Unix epoch. */
  timestamp: number;
  /** The nonce, as a 12-character string (one char per byte), for the replay cache. */
  nonceKey: string;
  /** Sender name. */
  sender: string;
  /** Header length (associated data); the ciphertext starts here. */
  headerBytes: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Bytes a sealed message adds to its plaintext.
 *
 * @param senderBytes Length of the sender name in UTF-8 bytes.
 * @returns The overhead.
 *
 * @example
 * ```ts
 * import { envelopeOverhead } from "./envelope.ts";
 * console.log(envelopeOverhead(4)); // 44
 * ```
 */
export function envelopeOverhead(senderBytes: number): number {
  return SEAL_FIXED_HEADER + senderBytes + SEAL_TAG_BYTES;
}

/**
 * Whether `bytes` start like a sealed message (the magic byte); a cheap first test.
 *
 * @param bytes A datagram or frame body.
 * @returns True when the first byte is {@linkcode SEAL_MAGIC}.
 *
 * @example
 * ```ts
 * import { isSealed } from "./envelope.ts";
 * console.log(isSealed(new TextEncoder().encode("{}"))); // false
 * ```
 */
export function isSealed(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === SEAL_MAGIC;
}

/**
 * Writes an envelope header.
 *
 * @param target Buffer with room for the header at `offset`.
 * @param offset Where the header starts.
 * @param kind Message kind.
 * @param sender Sender name, UTF-8 (1-255 bytes).
 * @param timestamp Wall-clock ms since the Unix epoch.
 * @param nonce 12 random bytes.
 * @returns The header length.
 *
 * @example
 * ```ts
 * import { SealKind, writeEnvelopeHeader } from "./envelope.ts";
 * const header = new Uint8Array(24 + 1);
 * console.log(writeEnvelopeHeader(header, 0, SealKind.udpRequest, new Uint8Array([65]), Date.now(), new Uint8Array(12))); // 25
 * ```
 */
export function writeEnvelopeHeader(
  target: Uint8Array,
  offset: number,
  kind: SealKind,
  sender: Uint8Array,
  timestamp: number,
  nonce: Uint8Array,
): number {
  target[offset] = SEAL_MAGIC;
  target[offset + 1] = SEAL_VERSION;
  target[offset + 2] = kind;
  target[offset + 3] = sender.length;
  writeFrameHeader(target, offset + 4, Math.floor(timestamp / 0x1_0000_0000));
  writeFrameHeader(target, offset + 8, timestamp >>> 0);
  target.set(nonce, offset + 12);
  target.set(sender, offset + SEAL_FIXED_HEADER);
  return SEAL_FIXED_HEADER + sender.length;
}

/**
 * Parses and checks the header of a sealed message without decrypting anything.
 *
 * @param bytes The sealed message.
 * @returns The header, or a short reason why the bytes are not a valid envelope.
 *
 * @example
 * ```ts
 * import { parseEnvelopeHeader } from "./envelope.ts";
 * console.log(parseEnvelopeHeader(new Uint8Array([0xfe, 9]))); // "too short"
 * ```
 */
export function parseEnvelopeHeader(bytes: Uint8Array): EnvelopeHeader | string {
  if (bytes.length < SEAL_FIXED_HEADER + 1 + SEAL_TAG_BYTES) return "too short";
  if (bytes[0] !== SEAL_MAGIC) return "not sealed";
  if (bytes[1] !== SEAL_VERSION) return `version ${bytes[1]} is not supported`;
  const kind = bytes[2];
  if (kind < SealKind.udpRequest || kind > SealKind.tcpReply) return `unknown kind ${kind}`;
  const senderBytes = bytes[3];
  const headerBytes = SEAL_FIXED_HEADER + senderBytes;
  if (senderBytes === 0 || bytes.length < headerBytes + SEAL_TAG_BYTES) return "bad sender length";
  const timestamp = readUint32(bytes, 4) * 0x1_0000_0000 + readUint32(bytes, 8);
  let sender: string;
  try {
    sender = decoder.decode(bytes.subarray(SEAL_FIXED_HEADER, headerBytes));
  } catch {
    return "sender is not UTF-8";
  }
  const nonceKey = String.fromCharCode(...bytes.subarray(12, 24));
  return { kind: kind as SealKind, timestamp, nonceKey, sender, headerBytes };
}

/**
 * Encrypts `plaintext` under an envelope header already written at the start of `out`, and
 * writes ciphertext and tag right after the header.
 *
 * @param key The AES-256-GCM key.
 * @param out Buffer holding the header (associated data; bytes 12-23 are the nonce) with room
 *   for the plaintext's length plus {@linkcode SEAL_TAG_BYTES} after it.
 * @param headerBytes Length of the header.
 * @param plaintext The message, in one or more parts (sealed as if joined).
 * @returns Total length of the sealed message in `out`.
 *
 * @example
 * ```ts ignore
 * const length = encryptEnvelope(keys.rpc, out, headerBytes, [plaintext]);
 * ```
 */
export function encryptEnvelope(
  key: SecretKey,
  out: Uint8Array,
  headerBytes: number,
  plaintext: readonly Uint8Array[],
): number {
  const header = out.subarray(0, headerBytes);
  return headerBytes + aesGcmSeal(key, header.subarray(12, 24), header, plaintext, out, headerBytes);
}

/**
 * Verifies and decrypts a sealed message.
 *
 * @param key The AES-256-GCM key.
 * @param bytes The whole sealed message.
 * @param header Its parsed header.
 * @returns The plaintext, or `undefined` when the tag does not verify (wrong key, or any byte changed).
 *
 * @example
 * ```ts ignore
 * const header = parseEnvelopeHeader(bytes);
 * const plaintext = typeof header === "string" ? undefined : decryptEnvelope(keys.rpc, bytes, header);
 * ```
 */
export function decryptEnvelope(key: SecretKey, bytes: Uint8Array, header: EnvelopeHeader): Uint8Array | undefined {
  return aesGcmOpen(
    key,
    bytes.subarray(12, 24),
    bytes.subarray(0, header.headerBytes),
    bytes.subarray(header.headerBytes),
  );
}
