/**
 * Wire extensions a peer understands, advertised in its DNS-SD TXT record so that a Python
 * PeerLink 1.2 peer (which advertises none) is never sent anything it cannot read.
 *
 * TXT entry: `ext=<token>,<token>,...` (key {@linkcode CAPABILITIES_TXT_KEY}). Tokens:
 *
 * | token     | meaning                                                                      |
 * |-----------|------------------------------------------------------------------------------|
 * | `persist` | its TCP server keeps a connection open for many requests, answered by id     |
 * | `bin`     | it accepts binary TCP frames (`binary_frame.ts`)                             |
 * | `dedupe`  | it runs a handler at most once per (caller, call id), so UDP retransmission is safe |
 *
 * Unknown tokens are ignored, so later versions can add some. A missing entry means none:
 * one-shot TCP connections, plain JSON frames with base64 binary, one UDP send per call.
 *
 * @module
 */

/** TXT key of the capability list. */
export const CAPABILITIES_TXT_KEY = "ext";

/** What a peer's RPC server understands beyond Python PeerLink 1.2. */
export interface PeerCapabilities {
  /** Persistent, pipelined TCP connections. */
  persist: boolean;
  /** Binary TCP frames. */
  binary: boolean;
  /** At-most-once execution per call id (retransmitting UDP requests is safe). */
  dedupe: boolean;
  /** Streams in call arguments and results, multiplexed on the persistent connection. */
  stream: boolean;
}

/**
 * Capabilities of a Python PeerLink 1.2 peer (none).
 *
 * @example
 * ```ts
 * import { NO_CAPABILITIES } from "./capabilities.ts";
 * console.log(NO_CAPABILITIES.persist); // false
 * ```
 */
export const NO_CAPABILITIES: Readonly<PeerCapabilities> = Object.freeze({
  persist: false,
  binary: false,
  dedupe: false,
  stream: false,
});

/**
 * Capabilities of this implementation's RPC server.
 *
 * @example
 * ```ts
 * import { formatCapabilities, LOCAL_CAPABILITIES } from "./capabilities.ts";
 * console.log(formatCapabilities(LOCAL_CAPABILITIES)); // "persist,bin,dedupe,stream"
 * ```
 */
export const LOCAL_CAPABILITIES: Readonly<PeerCapabilities> = Object.freeze({
  persist: true,
  binary: true,
  dedupe: true,
  stream: true,
});

/**
 * Renders capabilities as the TXT value.
 *
 * @param capabilities What to advertise.
 * @returns Comma-separated tokens, e.g. `"persist,bin,dedupe"` (empty when none).
 *
 * @example
 * ```ts
 * import { formatCapabilities } from "./capabilities.ts";
 * console.log(formatCapabilities({ persist: true, binary: false, dedupe: true, stream: false })); // "persist,dedupe"
 * ```
 */
export function formatCapabilities(capabilities: Readonly<PeerCapabilities>): string {
  const tokens: string[] = [];
  if (capabilities.persist) tokens.push("persist");
  if (capabilities.binary) tokens.push("bin");
  if (capabilities.dedupe) tokens.push("dedupe");
  if (capabilities.stream) tokens.push("stream");
  return tokens.join(",");
}

/**
 * Parses the TXT value; missing or empty means a Python-compatible peer with no extensions.
 *
 * @param value The `ext` TXT value (string or raw bytes), if present.
 * @returns The capabilities.
 *
 * @example
 * ```ts
 * import { parseCapabilities } from "./capabilities.ts";
 * console.log(parseCapabilities("bin, persist,future-thing")); // { persist: true, binary: true, dedupe: false }
 * console.log(parseCapabilities(undefined).binary); // false
 * ```
 */
export function parseCapabilities(value: string | Uint8Array | null | undefined): PeerCapabilities {
  if (value === undefined || value === null) return { ...NO_CAPABILITIES };
  const text = typeof value === "string" ? value : new TextDecoder().decode(value);
  const tokens = new Set(text.split(",").map((token) => token.trim().toLowerCase()));
  return {
    persist: tokens.has("persist"),
    binary: tokens.has("bin"),
    dedupe: tokens.has("dedupe"),
    stream: tokens.has("stream"),
  };
}
