/**
 * Keys derived from a node's shared secret with `node:crypto` (available on Deno, Bun and Node):
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
 * The keys are opaque {@linkcode SecretKey}s (their bytes cannot be read back), derived once
 * per node and reused for every message. HKDF does not slow down guessing: anyone who captures one sealed message can try
 * candidate secrets offline, so use a long random secret (for example 20+ random characters
 * from a password manager), not a word.
 *
 * @module
 */
import { deriveSecretKey, isSecretKey, type SecretKey } from "./crypto.ts";

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
  readonly rpc: SecretKey;
  /** HMAC-SHA256 key of the discovery proof. */
  readonly proof: SecretKey;
}

/**
 * Derives the RPC and discovery keys of `secret`.
 *
 * @param secret The shared secret (a non-empty string; long and random is best).
 * @returns The keys (asynchronous for callers that derive them off the hot path; the work is synchronous).
 * @throws {TypeError} When `secret` is not a non-empty string (as a rejected promise).
 *
 * @example
 * ```ts
 * import { deriveKeys } from "./keys.ts";
 * const keys = await deriveKeys("correct horse battery staple, 2 extra words");
 * console.log(keys.rpc.algorithm.name, keys.proof.algorithm.name); // "AES-GCM" "HMAC"
 * ```
 */
export function deriveKeys(secret: string): Promise<SecurityKeys> {
  try {
    return Promise.resolve(deriveKeysSync(secret));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * {@linkcode deriveKeys}, synchronously.
 *
 * @param secret The shared secret.
 * @returns The keys.
 * @throws {TypeError} When `secret` is not a non-empty string.
 *
 * @example
 * ```ts
 * import { deriveKeysSync } from "./keys.ts";
 * console.log(deriveKeysSync("a long random shared secret").rpc.extractable); // false
 * ```
 */
export function deriveKeysSync(secret: string): SecurityKeys {
  if (typeof secret !== "string" || secret.length === 0) {
    throw new TypeError(`secret must be a non-empty string, got ${secret === "" ? "an empty string" : typeof secret}`);
  }
  const ikm = encoder.encode(secret);
  return Object.freeze({
    rpc: deriveSecretKey(ikm, KEY_SALT, RPC_KEY_INFO, "AES-GCM"),
    proof: deriveSecretKey(ikm, KEY_SALT, PROOF_KEY_INFO, "HMAC"),
  });
}

/**
 * Whether `value` is {@linkcode SecurityKeys} made by {@linkcode deriveKeys}.
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
  return isSecretKey(rpc, "AES-GCM") && isSecretKey(proof, "HMAC");
}
