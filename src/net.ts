/**
 * The abstract socket interface the PeerLink core is written against.
 *
 * The core (`src/`) never touches `Deno.*`, `Bun.*` or `node:*` networking; it only
 * sees a {@linkcode SocketRuntime}. One adapter per runtime lives in `runtimes/`,
 * and an in-memory network in `src/testing/` implements the same interface for
 * deterministic unit tests.
 *
 * @module
 */
import { PeerLinkError } from "./errors.ts";

/** An IP endpoint. */
export interface NetAddr {
  /** Numeric IPv4 or IPv6 address, e.g. `"192.168.1.7"` or `"fe80::1"`. */
  address: string;
  /** Port number, 0-65535. */
  port: number;
  /** Address family. */
  family: "IPv4" | "IPv6";
}

/** One received datagram. */
export interface Datagram {
  /** Payload bytes. The receiver may keep them; adapters never reuse the buffer. */
  data: Uint8Array;
  /** Sender's numeric address. */
  address: string;
  /** Sender's port. */
  port: number;
}

/** Options for {@linkcode SocketRuntime.bindDatagram}. */
export interface DatagramBindOptions {
  /** Local address to bind, `"0.0.0.0"` (IPv4 any) or `"::"` (IPv6 any) for all interfaces. */
  address: string;
  /** Local port; 0 lets the OS choose. */
  port: number;
  /** Set SO_REUSEADDR (and SO_REUSEPORT where needed) so several sockets can share a port such as 5353. */
  reuseAddress?: boolean;
}

/** A bound UDP socket. Created by {@linkcode SocketRuntime.bindDatagram}. */
export interface DatagramSocket {
  /** The bound local address and port (the real port when 0 was asked for). */
  readonly localAddress: NetAddr;
  /**
   * Sends one datagram. Resolves when the datagram was handed to the OS.
   * Rejects with a {@linkcode NetError} (e.g. code `"CLOSED"`).
   */
  send(data: Uint8Array, address: string, port: number): Promise<void>;
  /** Joins a multicast group (IPv4 or IPv6) on the interface with the given local address (IPv4) or name/index (IPv6). */
  joinMulticast(group: string, interfaceAddress?: string): Promise<void>;
  /** Leaves a group joined with {@linkcode DatagramSocket.joinMulticast}. */
  leaveMulticast(group: string, interfaceAddress?: string): Promise<void>;
  /** Selects the interface (by local address) that outgoing multicast leaves from. */
  setMulticastInterface(interfaceAddress: string): Promise<void>;
  /** Sets the multicast TTL / hop limit (mDNS uses 255). */
  setMulticastTTL(ttl: number): Promise<void>;
  /** Enables or disables receiving our own multicast on this host. */
  setMulticastLoopback(enabled: boolean): Promise<void>;
  /** Closes the socket and drops its memberships. Idempotent. */
  close(): Promise<void>;
}

/** Options for {@linkcode SocketRuntime.listen}. */
export interface ListenOptions {
  /** Local address, `"0.0.0.0"` for all IPv4 interfaces. */
  address: string;
  /** Local port; 0 lets the OS choose. */
  port: number;
}

/** A listening TCP socket. Created by {@linkcode SocketRuntime.listen}. */
export interface StreamListener {
  /** The bound local address and port. */
  readonly localAddress: NetAddr;
  /** Stops accepting. Connections already accepted stay open. Idempotent. */
  close(): Promise<void>;
}

/** Options for {@linkcode SocketRuntime.connect}. */
export interface ConnectOptions {
  /** Remote numeric address. */
  address: string;
  /** Remote port. */
  port: number;
  /** Give up after this many milliseconds with a {@linkcode NetError} of code `"TIMED_OUT"`. */
  timeoutMs?: number;
}

/** A connected TCP stream, accepted or dialled. */
export interface StreamConnection {
  /** Our end. */
  readonly localAddress: NetAddr;
  /** The other end. */
  readonly remoteAddress: NetAddr;
  /**
   * Reads the next chunk of bytes. The chunk is the caller's to keep (never a buffer the
   * runtime reuses). Only one read may be pending at a time.
   *
   * Semantics every adapter follows (checked by tests/support/conformance.ts):
   * - remote end of stream (the peer called `closeWrite()` or `close()`): resolves `null`,
   *   after all bytes sent before it; again `null` on every later read;
   * - local {@linkcode StreamConnection.close}: a pending read, and every later read,
   *   rejects with a {@linkcode NetError} of code `"CLOSED"`;
   * - connection reset or other failure: rejects with the matching {@linkcode NetError}.
   */
  read(): Promise<Uint8Array | null>;
  /**
   * Writes bytes. Resolves once the runtime has accepted them and its buffer is below
   * its high-water mark (backpressure): awaiting every write bounds memory.
   */
  write(data: Uint8Array): Promise<void>;
  /** Half-close: sends FIN after pending writes; reading stays possible. */
  closeWrite(): Promise<void>;
  /**
   * Closes both directions at once and releases the socket. Idempotent. A pending read
   * rejects with code `"CLOSED"`, as do later `read()` and `write()` calls; the peer's reads
   * then see end of stream (`null`), or a reset if unread data was discarded.
   */
  close(): Promise<void>;
}

/** One address of a network interface. */
export interface InterfaceAddress {
  /** Numeric address. */
  address: string;
  /** Address family. */
  family: "IPv4" | "IPv6";
  /** Netmask in dotted (IPv4) or colon (IPv6) form. */
  netmask: string;
  /** IPv6 scope id (interface index) for link-local addresses. */
  scopeId?: number;
}

/** A network interface, as needed to choose where to announce. */
export interface NetworkInterface {
  /** OS name, e.g. `"eth0"`, `"wlan0"`, `"lo"`. */
  name: string;
  /** Its addresses. */
  addresses: InterfaceAddress[];
  /** True for loopback. */
  internal: boolean;
  /** True when the interface can send and receive multicast. */
  multicast: boolean;
}

/** What the PeerLink core needs from a runtime's networking. One adapter per runtime implements it. */
export interface SocketRuntime {
  /** Adapter name for logs, e.g. `"deno"`, `"bun"`, `"node"`, `"memory"`. */
  readonly name: string;
  /**
   * Binds a UDP socket and delivers each datagram to `onMessage`. Bind failures reject
   * with a {@linkcode NetError} that names the address and port.
   */
  bindDatagram(options: DatagramBindOptions, onMessage: (message: Datagram) => void): Promise<DatagramSocket>;
  /** Listens for TCP connections and hands each accepted one to `onConnection`. */
  listen(options: ListenOptions, onConnection: (connection: StreamConnection) => void): Promise<StreamListener>;
  /** Opens a TCP connection. Refused or unreachable targets reject fast with a typed {@linkcode NetError}. */
  connect(options: ConnectOptions): Promise<StreamConnection>;
  /** Lists the host's network interfaces. */
  networkInterfaces(): NetworkInterface[];
}

/** Machine-readable reason of a {@linkcode NetError}. */
export type NetErrorCode =
  | "ADDR_IN_USE"
  | "ADDR_NOT_AVAILABLE"
  | "CONNECTION_REFUSED"
  | "CONNECTION_RESET"
  | "TIMED_OUT"
  | "UNREACHABLE"
  | "CLOSED"
  | "UNSUPPORTED"
  | "OTHER";

/**
 * A socket failure with a stable {@linkcode NetErrorCode}, the endpoint involved, and a
 * message that says what to do. A {@linkcode PeerLinkError} like every error PeerLink throws,
 * so `catch (e) { if (e instanceof PeerLinkError) ... }` sees socket failures too (a node's
 * `start()` rejects with one when, say, the mDNS socket cannot be bound).
 *
 * @example
 * ```ts
 * import { NetError, PeerLinkError } from "@peerlink/peerlink";
 * const err = new NetError("ADDR_IN_USE", "UDP bind 0.0.0.0:5353: address already in use", { address: "0.0.0.0", port: 5353 });
 * console.log(err.code, err instanceof PeerLinkError); // "ADDR_IN_USE" true
 * ```
 */
export class NetError extends PeerLinkError {
  /** Stable reason code. */
  declare readonly code: NetErrorCode;
  /** The address involved, when known. */
  readonly address?: string;
  /** The port involved, when known. */
  readonly port?: number;

  /**
   * Creates a NetError.
   *
   * @param code Stable reason code.
   * @param message Human-readable message; should say what happened and what to do.
   * @param options Endpoint and underlying cause.
   */
  constructor(
    code: NetErrorCode,
    message: string,
    options: { address?: string; port?: number; cause?: unknown } = {},
  ) {
    super(message, code, { cause: options.cause });
    this.name = "NetError";
    this.address = options.address;
    this.port = options.port;
  }
}

/** Formats an endpoint for messages: `1.2.3.4:80` or `[fe80::1]:80`. */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The address family of a numeric address. */
export function addressFamily(address: string): "IPv4" | "IPv6" {
  return address.includes(":") ? "IPv6" : "IPv4";
}
