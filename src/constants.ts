/**
 * Every tunable number of PeerLink in one place. Values that Python PeerLink 1.2 also has
 * keep its meaning; durations here are milliseconds (Python used seconds).
 *
 * Importing this module has no side effects.
 *
 * @module
 */

/**
 * Largest UDP datagram PeerLink sends, in bytes: a 1500-byte Ethernet MTU minus IP and UDP
 * headers, with room to spare for tunnels. Larger datagrams fragment, and fragments are often
 * dropped on WiFi. Transport `"auto"` switches to TCP above it; `"udp"` refuses with
 * `PayloadTooLarge`. Same value as Python PeerLink 1.2.
 *
 * @example
 * ```ts
 * import { MAX_SAFE_UDP_PAYLOAD } from "./constants.ts";
 * const fitsInOneDatagram = (bytes: Uint8Array) => bytes.length <= MAX_SAFE_UDP_PAYLOAD;
 * ```
 */
export const MAX_SAFE_UDP_PAYLOAD = 1200;

/**
 * Largest datagram accepted on receive, in bytes (the IPv4 UDP maximum). Anything that arrives
 * is at most this large; PeerLink itself never sends more than {@linkcode MAX_SAFE_UDP_PAYLOAD}.
 *
 * @example
 * ```ts
 * import { MAX_DATAGRAM } from "./constants.ts";
 * console.log(MAX_DATAGRAM); // 65535
 * ```
 */
export const MAX_DATAGRAM = 65535;

/**
 * Size of the TCP frame header: a 4-byte big-endian unsigned length, then that many bytes.
 *
 * @example
 * ```ts
 * import { TCP_FRAME_HEADER_SIZE } from "./constants.ts";
 * const header = new DataView(new ArrayBuffer(TCP_FRAME_HEADER_SIZE));
 * header.setUint32(0, 42); // big-endian by default
 * ```
 */
export const TCP_FRAME_HEADER_SIZE = 4;

/**
 * Largest message PeerLink sends or accepts over TCP (4 MiB, as Python PeerLink 1.2;
 * configurable per node). It bounds the JSON text of a message and, separately, the total
 * size of the raw binary values (`Uint8Array`) that travel beside the JSON between two
 * PeerLink-TS nodes, so a 4 MiB `Uint8Array` fits and 4 MiB + 1 byte does not. Toward a
 * Python peer binary values travel as base64 inside the JSON and count at their encoded size.
 *
 * @example
 * ```ts
 * import { TCP_MAX_FRAME } from "./constants.ts";
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
 * import { RPC_TIMEOUT } from "./constants.ts";
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
 * import { DISCOVERY_WAIT } from "./constants.ts";
 * console.log(`waiting up to ${DISCOVERY_WAIT} ms for peers`);
 * ```
 */
export const DISCOVERY_WAIT = 3000;

/**
 * How long a discovered peer stays known without a fresh announcement, in milliseconds
 * (120 s, the TTL of mDNS service records).
 *
 * @example
 * ```ts
 * import { PEER_TTL } from "./constants.ts";
 * const expired = (lastSeen: number, now: number) => now - lastSeen > PEER_TTL;
 * ```
 */
export const PEER_TTL = 120_000;

/**
 * First UDP retransmission of an unanswered request, in milliseconds. Later ones back off by
 * {@linkcode UDP_RETRY_BACKOFF} up to {@linkcode UDP_RETRY_MAX_INTERVAL}. Only peers that
 * advertise at-most-once execution (PeerLink-TS) are sent retransmissions; a Python 1.2 peer
 * would run the handler again for each copy.
 *
 * @example
 * ```ts
 * import { UDP_RETRY_INITIAL } from "./constants.ts";
 * console.log(UDP_RETRY_INITIAL); // 100
 * ```
 */
export const UDP_RETRY_INITIAL = 100;

/**
 * Factor by which the UDP retransmission interval grows after each retransmission.
 *
 * @example
 * ```ts
 * import { UDP_RETRY_BACKOFF, UDP_RETRY_INITIAL } from "./constants.ts";
 * const second = UDP_RETRY_INITIAL * UDP_RETRY_BACKOFF; // 150 ms
 * ```
 */
export const UDP_RETRY_BACKOFF = 1.5;

/**
 * Longest interval between two UDP retransmissions, in milliseconds. With the defaults a call
 * is sent about 12 times within {@linkcode RPC_TIMEOUT}, so even at 30% loss each way a call
 * almost never times out while the peer is alive.
 *
 * @example
 * ```ts
 * import { UDP_RETRY_MAX_INTERVAL } from "./constants.ts";
 * console.log(UDP_RETRY_MAX_INTERVAL); // 500
 * ```
 */
export const UDP_RETRY_MAX_INTERVAL = 500;

/**
 * How long a node remembers a call id it has answered (and the answer), in milliseconds, so a
 * retransmitted request is answered from memory instead of running the handler twice.
 * Callers stop retransmitting after {@linkcode UDP_RETRY_WINDOW}, well inside this time.
 *
 * @example
 * ```ts
 * import { REPLY_CACHE_TTL } from "./constants.ts";
 * console.log(REPLY_CACHE_TTL / 1000, "seconds");
 * ```
 */
export const REPLY_CACHE_TTL = 60_000;

/**
 * Longest time a caller keeps retransmitting one UDP request, in milliseconds: half of
 * {@linkcode REPLY_CACHE_TTL}, so every copy reaches the peer while it still remembers the id.
 * A call with a longer timeout keeps waiting after that without sending more copies.
 *
 * @example
 * ```ts
 * import { UDP_RETRY_WINDOW } from "./constants.ts";
 * console.log(UDP_RETRY_WINDOW); // 30000
 * ```
 */
export const UDP_RETRY_WINDOW = 30_000;

/**
 * Most answered call ids a node remembers at once (see {@linkcode REPLY_CACHE_TTL}); the
 * oldest are forgotten first.
 *
 * @example
 * ```ts
 * import { REPLY_CACHE_MAX_ENTRIES } from "./constants.ts";
 * console.log(REPLY_CACHE_MAX_ENTRIES); // 10000
 * ```
 */
export const REPLY_CACHE_MAX_ENTRIES = 10_000;

/**
 * Most bytes of remembered replies a node keeps at once (a reply too large for a datagram is
 * kept until the caller fetches it over TCP); the oldest are forgotten first.
 *
 * @example
 * ```ts
 * import { REPLY_CACHE_MAX_BYTES } from "./constants.ts";
 * console.log(REPLY_CACHE_MAX_BYTES / 2 ** 20, "MiB"); // 32 MiB
 * ```
 */
export const REPLY_CACHE_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Time a caller waits for a TCP connection to open, in milliseconds (the call's own timeout
 * applies too, whichever is shorter).
 *
 * @example
 * ```ts
 * import { CONNECT_TIMEOUT } from "./constants.ts";
 * console.log(CONNECT_TIMEOUT); // 5000
 * ```
 */
export const CONNECT_TIMEOUT = 5000;

/**
 * A caller closes a pooled TCP connection after this many milliseconds without calls.
 *
 * @example
 * ```ts
 * import { TCP_CLIENT_IDLE_TIMEOUT } from "./constants.ts";
 * console.log(TCP_CLIENT_IDLE_TIMEOUT); // 15000
 * ```
 */
export const TCP_CLIENT_IDLE_TIMEOUT = 15_000;

/**
 * A server closes an accepted TCP connection after this many milliseconds without requests
 * (longer than {@linkcode TCP_CLIENT_IDLE_TIMEOUT}, so the caller, which knows when it is
 * done, normally closes first and never races a server-side close).
 *
 * @example
 * ```ts
 * import { TCP_SERVER_IDLE_TIMEOUT } from "./constants.ts";
 * console.log(TCP_SERVER_IDLE_TIMEOUT); // 60000
 * ```
 */
export const TCP_SERVER_IDLE_TIMEOUT = 60_000;

/**
 * Deepest nesting of arrays and objects accepted in a message (args, kwargs or result). Deeper
 * values are refused by the sender with a `TypeError` and dropped by the receiver.
 *
 * @example
 * ```ts
 * import { MAX_NESTING_DEPTH } from "./constants.ts";
 * console.log(MAX_NESTING_DEPTH); // 100
 * ```
 */
export const MAX_NESTING_DEPTH = 100;

/**
 * Longest call id, caller name, target name or function name accepted in a request, in
 * characters. Python PeerLink 1.2 sends 36-character UUIDs and mDNS names are at most 63 bytes.
 *
 * @example
 * ```ts
 * import { MAX_NAME_LENGTH } from "./constants.ts";
 * const ok = (name: string) => name.length <= MAX_NAME_LENGTH;
 * ```
 */
export const MAX_NAME_LENGTH = 256;

/**
 * Most raw binary segments one TCP frame may carry (one per `Uint8Array` value).
 *
 * @example
 * ```ts
 * import { MAX_BINARY_SEGMENTS } from "./constants.ts";
 * console.log(MAX_BINARY_SEGMENTS); // 65536
 * ```
 */
export const MAX_BINARY_SEGMENTS = 65_536;

/**
 * Replay window of sealed messages (nodes with a secret), in milliseconds: a message stamped
 * further than this from the receiver's wall clock is dropped, so nodes' clocks must agree
 * within it (NTP keeps them within milliseconds).
 *
 * @example
 * ```ts
 * import { REPLAY_WINDOW } from "./constants.ts";
 * console.log(REPLAY_WINDOW); // 30000
 * ```
 */
export const REPLAY_WINDOW = 30_000;

/**
 * Most nonces of sealed messages a node remembers to refuse replays (about 100 bytes each).
 * Beyond it the oldest are forgotten and the accepted window shrinks instead (see
 * `src/security/replay.ts`).
 *
 * @example
 * ```ts
 * import { REPLAY_CACHE_MAX_ENTRIES } from "./constants.ts";
 * console.log(REPLAY_CACHE_MAX_ENTRIES); // 100000
 * ```
 */
export const REPLAY_CACHE_MAX_ENTRIES = 100_000;

/**
 * Most handlers running at once on a node; further calls are answered with `BusyError`.
 *
 * @example
 * ```ts
 * import { MAX_CONCURRENT_HANDLERS } from "./constants.ts";
 * console.log(MAX_CONCURRENT_HANDLERS); // 1024
 * ```
 */
export const MAX_CONCURRENT_HANDLERS = 1024;

/**
 * Most handlers running at once for one caller address; further calls from it are answered
 * with `BusyError`, so one peer cannot take every handler slot.
 *
 * @example
 * ```ts
 * import { MAX_HANDLERS_PER_CALLER } from "./constants.ts";
 * console.log(MAX_HANDLERS_PER_CALLER); // 256
 * ```
 */
export const MAX_HANDLERS_PER_CALLER = 256;

/**
 * Most calls a node has pending toward one peer; a further `call()` fails at once with
 * `BusyError` instead of queueing without bound.
 *
 * @example
 * ```ts
 * import { MAX_PENDING_CALLS_PER_PEER } from "./constants.ts";
 * console.log(MAX_PENDING_CALLS_PER_PEER); // 16384
 * ```
 */
export const MAX_PENDING_CALLS_PER_PEER = 16_384;

/**
 * Most accepted TCP connections open at once. At the limit a new connection first displaces
 * the longest-idle connection that has nothing in flight; if none can go, it is refused with
 * a `BusyError` frame.
 *
 * @example
 * ```ts
 * import { MAX_TCP_CONNECTIONS } from "./constants.ts";
 * console.log(MAX_TCP_CONNECTIONS); // 256
 * ```
 */
export const MAX_TCP_CONNECTIONS = 256;

/**
 * Most accepted TCP connections open at once from one source address (same rules as
 * {@linkcode MAX_TCP_CONNECTIONS}).
 *
 * @example
 * ```ts
 * import { MAX_TCP_CONNECTIONS_PER_SOURCE } from "./constants.ts";
 * console.log(MAX_TCP_CONNECTIONS_PER_SOURCE); // 64
 * ```
 */
export const MAX_TCP_CONNECTIONS_PER_SOURCE = 64;

/**
 * Time a TCP client has to send a complete frame, in milliseconds: from accepting the
 * connection to its first frame, and from the first byte of any frame to its last (plus the
 * frame's size at {@linkcode TCP_MIN_READ_RATE}). Silent or trickling clients are closed.
 *
 * @example
 * ```ts
 * import { TCP_READ_TIMEOUT } from "./constants.ts";
 * console.log(TCP_READ_TIMEOUT); // 10000
 * ```
 */
export const TCP_READ_TIMEOUT = 10_000;

/**
 * Slowest transfer rate a large TCP frame is given time for, in bytes per second (64 KiB/s:
 * a 4 MiB frame gets {@linkcode TCP_READ_TIMEOUT} plus 64 s).
 *
 * @example
 * ```ts
 * import { TCP_MIN_READ_RATE } from "./constants.ts";
 * console.log(TCP_MIN_READ_RATE); // 65536
 * ```
 */
export const TCP_MIN_READ_RATE = 64 * 1024;

/**
 * Time a reply frame may wait to be accepted by a TCP connection, in milliseconds; a client
 * that stops reading its replies is closed after it.
 *
 * @example
 * ```ts
 * import { TCP_WRITE_TIMEOUT } from "./constants.ts";
 * console.log(TCP_WRITE_TIMEOUT); // 30000
 * ```
 */
export const TCP_WRITE_TIMEOUT = 30_000;

/**
 * Most bytes of partly received TCP frames a node holds over all its connections. Above it,
 * connections with an unfinished frame pause reading until memory is freed (their read
 * deadline keeps running).
 *
 * @example
 * ```ts
 * import { MAX_BUFFERED_BYTES } from "./constants.ts";
 * console.log(MAX_BUFFERED_BYTES / 2 ** 20, "MiB"); // 64 MiB
 * ```
 */
export const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * Most requests of one TCP connection being served at once (running or with the reply not yet
 * written); the server reads no further frames from it until one finishes.
 *
 * @example
 * ```ts
 * import { MAX_REQUESTS_PER_CONNECTION } from "./constants.ts";
 * console.log(MAX_REQUESTS_PER_CONNECTION); // 128
 * ```
 */
export const MAX_REQUESTS_PER_CONNECTION = 128;

/**
 * Largest factor by which a UDP reply may exceed its request when the caller is not
 * authenticated (any caller of a node without a secret). A larger reply is fetched over TCP
 * instead (PeerLink-TS callers do it by themselves; Python callers are told to use TCP), so a
 * spoofed small request cannot reflect a large datagram at a victim.
 *
 * @example
 * ```ts
 * import { MAX_UDP_AMPLIFICATION } from "./constants.ts";
 * console.log(MAX_UDP_AMPLIFICATION); // 3
 * ```
 */
export const MAX_UDP_AMPLIFICATION = 3;

/**
 * Most sealed datagrams being verified at once; more are dropped unverified (a flood of forged
 * datagrams cannot queue unbounded crypto work).
 *
 * @example
 * ```ts
 * import { MAX_PENDING_VERIFICATIONS } from "./constants.ts";
 * console.log(MAX_PENDING_VERIFICATIONS); // 1024
 * ```
 */
export const MAX_PENDING_VERIFICATIONS = 1024;
