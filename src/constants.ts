/**
 * The public constants of PeerLink (exported from the package). Values that Python PeerLink
 * 1.2 also has keep its meaning; durations are milliseconds (Python used seconds). Every other
 * tunable number is a limit with its default beside its documentation (`src/rpc/limits.ts`),
 * or a constant of the wire format in `src/wire/`.
 *
 * @module
 */
import { HOST_TTL } from "./mdns/records.ts";

/**
 * Largest UDP datagram PeerLink sends, in bytes: a 1500-byte Ethernet MTU minus IP and UDP
 * headers, with room to spare for tunnels. Larger datagrams fragment, and fragments are often
 * dropped on WiFi. Transport `"auto"` switches to TCP above it; `"udp"` refuses with
 * `PayloadTooLarge`. Same value as Python PeerLink 1.2.
 *
 * @example
 * ```ts
 * import { MAX_SAFE_UDP_PAYLOAD } from "@peerlink/peerlink";
 * const fitsInOneDatagram = (bytes: Uint8Array) => bytes.length <= MAX_SAFE_UDP_PAYLOAD;
 * ```
 */
export const MAX_SAFE_UDP_PAYLOAD = 1200;

/**
 * Largest message PeerLink sends or accepts over TCP (4 MiB, as Python PeerLink 1.2;
 * configurable per node). It bounds the JSON text of a message and, separately, the total
 * size of the raw binary values (`Uint8Array`) that travel beside the JSON between two
 * PeerLink-TS nodes, so a 4 MiB `Uint8Array` fits and 4 MiB + 1 byte does not. Toward a
 * Python peer binary values travel as base64 inside the JSON and count at their encoded size.
 *
 * @example
 * ```ts
 * import { TCP_MAX_FRAME } from "@peerlink/peerlink";
 * console.log(TCP_MAX_FRAME === 4 * 1024 * 1024); // true
 * ```
 */
export const TCP_MAX_FRAME = 4 * 1024 * 1024;

/**
 * Default time a call waits for its reply before it fails with `PeerTimeoutError`, in
 * milliseconds (Python PeerLink 1.2: 5 seconds).
 *
 * @example
 * ```ts
 * import { RPC_TIMEOUT } from "@peerlink/peerlink";
 * const deadline = Date.now() + RPC_TIMEOUT;
 * ```
 */
export const RPC_TIMEOUT = 5000;

/**
 * Default time `waitForPeers()` waits for discovery, in milliseconds (Python PeerLink 1.2:
 * 3 seconds to let mDNS settle).
 *
 * @example
 * ```ts
 * import { DISCOVERY_WAIT } from "@peerlink/peerlink";
 * console.log(`waiting up to ${DISCOVERY_WAIT} ms for peers`);
 * ```
 */
export const DISCOVERY_WAIT = 3000;

/**
 * Default grace period of `stop()`, in milliseconds: how long a stopping node lets the handlers
 * that are running finish and their replies leave before it says goodbye and closes.
 *
 * @example
 * ```ts
 * import { STOP_GRACE } from "@peerlink/peerlink";
 * console.log(`stop() waits at most ${STOP_GRACE} ms for running handlers`);
 * ```
 */
export const STOP_GRACE = 5000;

/**
 * How long a discovered peer stays known without a fresh announcement, in milliseconds: the
 * TTL of the mDNS records PeerLink publishes (120 s, as Bonjour; Python PeerLink 1.2 prunes
 * after 60 s). A peer that says goodbye, or stops answering calls, is dropped sooner.
 *
 * @example
 * ```ts
 * import { PEER_TTL } from "@peerlink/peerlink";
 * const expired = (lastSeen: number, now: number) => now - lastSeen > PEER_TTL;
 * ```
 */
export const PEER_TTL: number = HOST_TTL * 1000;
