/**
 * Strict base64 (RFC 4648 section 4, with padding) for binary values inside JSON. Uses the
 * native `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64` where the runtime has them
 * (Deno, Bun) and `node:buffer` elsewhere (Node), after a strict syntax check, because
 * `Buffer.from(text, "base64")` silently skips characters that are not base64.
 *
 * @module
 */
import { Buffer } from "node:buffer";

interface NativeBase64 {
  toBase64?: (this: Uint8Array) => string;
}
interface NativeBase64Ctor {
  fromBase64?: (text: string) => Uint8Array;
}

const nativeTo = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFrom = (Uint8Array as unknown as NativeBase64Ctor).fromBase64;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Encodes bytes as standard padded base64.
 *
 * @param bytes Bytes to encode.
 * @returns The base64 text.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "./base64.ts";
 * console.log(encodeBase64(new Uint8Array([104, 105]))); // "aGk="
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  if (nativeTo) return nativeTo.call(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * Decodes standard padded base64, refusing anything else (whitespace, URL-safe alphabet,
 * missing padding) so that one value has exactly one encoding.
 *
 * @param text Base64 text.
 * @returns The bytes, or `undefined` when `text` is not strict base64.
 *
 * @example
 * ```ts
 * import { decodeBase64 } from "./base64.ts";
 * console.log(decodeBase64("aGk=")); // Uint8Array [104, 105]
 * console.log(decodeBase64("a b")); // undefined
 * ```
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  // The native decoder skips whitespace and accepts missing padding, so check syntax first.
  if (text.length % 4 !== 0 || !STRICT_BASE64.test(text)) return undefined;
  if (nativeFrom) return nativeFrom(text);
  const buffer = Buffer.from(text, "base64");
  // Small Buffers are views into Node's shared 8 KiB pool: copy those so that the caller's
  // Uint8Array owns its whole ArrayBuffer (as it would after a native decode).
  if (buffer.byteOffset !== 0 || buffer.buffer.byteLength !== buffer.byteLength) return new Uint8Array(buffer);
  return new Uint8Array(buffer.buffer, 0, buffer.byteLength);
}

/**
 * Length of the base64 text for `byteLength` bytes.
 *
 * @param byteLength Number of bytes.
 * @returns Number of base64 characters (with padding).
 *
 * @example
 * ```ts
 * import { base64Length } from "./base64.ts";
 * console.log(base64Length(1000)); // 1336
 * ```
 */
export function base64Length(byteLength: number): number {
  return Math.ceil(byteLength / 3) * 4;
}
