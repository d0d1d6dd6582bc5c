/**
 * Keys derived from a node's shared secret with Web Crypto (available on Deno, Bun and Node):
 * HKDF-SHA256 over the secret's UTF-8 bytes, with a fixed salt and one `info` label per
 * purpose, so the RPC encryption key and the discovery proof key are independent and neither
 * reveals the other.
 *
 * ```text
 * ikm   = UTF-8(secret)
 * salt  = "PeerLink-TS secret v1"
 * rpc   = HKDF-SHA256(ikm, salt, info = "peerlink rpc aead v1")        -> AES-256-GCM key
 * proof = HKDF-SHA256(ikm, salt, info = "peerlink discovery proof v1") -> HMAC-SHA256 key (256 bits)
 * ```
 *
 * The keys are non-extractable `CryptoKey`s, derived once per node and reused for every
 * message. HKDF does not slow down guessing: anyone who captures one sealed message can try
 * candidate secrets offline, so use a long random secret (for example 20+ random characters
 * from a password manager), not a word.
 *
 * @module
 */

const encoder = new TextEncoder();

/** HKDF salt shared by every PeerLink-TS node (a constant: the secret is the only input that varies). */
export const KEY_SALT = "PeerLink-TS secret v1";
/** HKDF `info` of the RPC encryption key. */
export const RPC_KEY_INFO = "peerlink rpc aead v1";
/** HKDF `info` of the discovery proof key. */
export const PROOF_KEY_INFO = "peerlink discovery proof v1";

/** The keys of one secret. Derive them with {@linkcode deriveKeys}; share the object between an RPC endpoint and discovery. */
export interface SecurityKeys {
  /** AES-256-GCM key sealing every RPC message. */
  readonly rpc: CryptoKey;
  /** HMAC-SHA256 key of the discovery proof. */
  readonly proof: CryptoKey;
}

/**
 * Derives the RPC and discovery keys of `secret`.
 *
 * @param secret The shared secret (a non-empty string; long and random is best).
 * @returns The keys.
 * @throws {TypeError} When `secret` is not a non-empty string.
 *
 * @example
 * ```ts
 * import { deriveKeys } from "./keys.ts";
 * const keys = await deriveKeys("correct horse battery staple, 2 extra words");
 * console.log(keys.rpc.algorithm.name, keys.proof.algorithm.name); // "AES-GCM" "HMAC"
 * ```
 */
export async function deriveKeys(secret: string): Promise<SecurityKeys> {
  if (typeof secret !== "string" || secret.length === 0) {
    throw new TypeError(`secret must be a non-empty string, got ${secret === "" ? "an empty string" : typeof secret}`);
  }
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  const hkdf = (info: string) => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: encoder.encode(KEY_SALT),
    info: encoder.encode(info),
  });
  const [rpc, proof] = await Promise.all([
    crypto.subtle.deriveKey(hkdf(RPC_KEY_INFO), material, { name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]),
    crypto.subtle.deriveKey(hkdf(PROOF_KEY_INFO), material, { name: "HMAC", hash: "SHA-256", length: 256 }, false, [
      "sign",
      "verify",
    ]),
  ]);
  return Object.freeze({ rpc, proof });
}

/**
 * Whether `value` looks like {@linkcode SecurityKeys} (two `CryptoKey`s of the right algorithms).
 *
 * @param value Anything.
 * @returns True for usable keys.
 *
 * @example
 * ```ts
 * import { deriveKeys, isSecurityKeys } from "./keys.ts";
 * console.log(isSecurityKeys(await deriveKeys("s3cret-long-enough")), isSecurityKeys({})); // true false
 * ```
 */
export function isSecurityKeys(value: unknown): value is SecurityKeys {
  if (typeof value !== "object" || value === null) return false;
  const { rpc, proof } = value as Partial<SecurityKeys>;
  return typeof rpc === "object" && rpc !== null && rpc.algorithm?.name === "AES-GCM" &&
    typeof proof === "object" && proof !== null && proof.algorithm?.name === "HMAC";
}
