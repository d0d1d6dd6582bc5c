/**
 * The PeerLink version: the one place it is written. `deno.json` and `package.json` carry the
 * same string (tests/dist/dist_version.test.ts checks that they agree), `peerlink --version` prints it,
 * and nodes report it in their `info` reply.
 *
 * @module
 */

/**
 * This release of PeerLink for TypeScript, as a semantic version.
 *
 * @example
 * ```ts
 * import { VERSION } from "@peerlink/peerlink";
 *
 * console.log(`peerlink ${VERSION}`);
 * ```
 */
export const VERSION = "0.1.0";
