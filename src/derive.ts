/**
 * Port and realm derivation, bit-for-bit the same as Python PeerLink 1.2, so a TypeScript node
 * and a Python node with the same name (and secret) agree on ports without configuration.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** First port of the IANA dynamic range; derived ports lie in `[49152, 49152 + 16383)`. */
export const DERIVED_PORT_BASE = 49152;

/** Number of distinct derived ports (Python PeerLink 1.2's `PORT_RANGE`). */
export const DERIVED_PORT_RANGE = 16383;

const RANGE = BigInt(DERIVED_PORT_RANGE);

/**
 * The realm of a shared secret: the first 16 hex characters of `sha256("peerlink|" + secret)`.
 * Nodes of different realms use different ports and never see each other.
 *
 * An empty or missing secret means "no realm" and gives `""`, which {@linkcode derivePort}
 * treats as no realm, exactly as Python PeerLink 1.2 treats `secret=""` and `secret=None`.
 *
 * @param secret The shared secret (UTF-8).
 * @returns 16 lowercase hex characters, or `""` without a secret.
 *
 * @example
 * ```ts
 * import { deriveRealm } from "@peerlink/peerlink";
 * console.log(deriveRealm("hunter2")); // "1d3b40d1060fb2b0"
 * ```
 */
export function deriveRealm(secret?: string | null): string {
  if (!secret) return "";
  return createHash("sha256").update(`peerlink|${secret}`, "utf8").digest("hex").slice(0, 16);
}

/**
 * The stable port of a node: `49152 + (int(md5(key), 16) mod 16383)` where key is `name`, or
 * `realm|name` with a realm, followed by `|salt` when a salt is given. PeerLink uses no salt for
 * the UDP port and salt `"tcp"` for the TCP port.
 *
 * @param name Node name (UTF-8, case-sensitive).
 * @param realm Realm from {@linkcode deriveRealm}; empty or missing means none.
 * @param salt Optional salt, e.g. `"tcp"`.
 * @returns A port in 49152-65534.
 *
 * @example
 * ```ts
 * import { derivePort, deriveRealm } from "@peerlink/peerlink";
 * console.log(derivePort("Worker"));        // 62463 (UDP)
 * console.log(derivePort("Worker", "", "tcp")); // 60231 (TCP)
 * console.log(derivePort("Worker", deriveRealm("hunter2"))); // 53285
 * ```
 */
export function derivePort(name: string, realm?: string | null, salt?: string | null): number {
  let key = realm ? `${realm}|${name}` : name;
  if (salt) key += `|${salt}`;
  const digest = BigInt("0x" + createHash("md5").update(key, "utf8").digest("hex"));
  return DERIVED_PORT_BASE + Number(digest % RANGE);
}
