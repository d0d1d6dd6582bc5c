/**
 * The Deno socket adapter: {@linkcode SocketRuntime} on Deno's own networking API.
 *
 * - UDP: `Deno.listenDatagram` (unstable `net` API: `--unstable-net`, or `"unstable": ["net"]`
 *   in deno.json) with `joinMulticastV4` / `joinMulticastV6` membership handles.
 *   https://docs.deno.com/api/deno/~/Deno.listenDatagram
 *   https://docs.deno.com/api/deno/~/Deno.DatagramConn
 *   https://docs.deno.com/api/deno/~/Deno.UdpListenOptions
 *   https://docs.deno.com/api/deno/~/Deno.MulticastV4Membership
 *   https://docs.deno.com/api/deno/~/Deno.MulticastV6Membership
 * - TCP: `Deno.listen`, `Deno.connect` (with its `signal` option) and `Deno.TcpConn`.
 *   https://docs.deno.com/api/deno/~/Deno.listen
 *   https://docs.deno.com/api/deno/~/Deno.connect
 *   https://docs.deno.com/api/deno/~/Deno.ConnectOptions
 *   https://docs.deno.com/api/deno/~/Deno.TcpConn
 *   https://docs.deno.com/api/deno/~/Deno.Conn (read / write / closeWrite)
 * - Interfaces: `listInterfaces()` from runtimes/_interfaces.ts (node:os, which Deno implements;
 *   needs `--allow-sys`), shared by all adapters.
 *
 * Deno has no IP_MULTICAST_IF and only an IPv4 multicast TTL setter, and it sets TTL and
 * loopback through membership handles; {@linkcode denoRuntime} and the methods of
 * `DenoDatagramSocket` below document how this adapter bridges those gaps. Without the unstable net API use `autoRuntime()`
 * (runtimes/auto.ts), which falls back to `nodeRuntime()` (Deno's `node:dgram`).
 *
 * The Deno types are declared here, minimally, so `tsc` checks this file without Deno's lib.
 *
 * @module
 */
import {
  addressFamily,
  type ConnectOptions,
  type Datagram,
  type DatagramBindOptions,
  type DatagramSocket,
  formatEndpoint,
  type ListenOptions,
  type NetAddr,
  NetError,
  type NetworkInterface,
  type SocketRuntime,
  type StreamConnection,
  type StreamListener,
} from "../src/net.ts";
import { toNetError } from "../src/net_errors.ts";
import { createLogger, debugOnce, type Logger } from "../src/log.ts";
import { listInterfaces } from "./_interfaces.ts";

// ---------------------------------------------------------------------------------------
// The slice of the Deno namespace this adapter uses (see the links above).

interface DenoAddr {
  transport: string;
  hostname: string;
  port: number;
}

interface DenoMulticastV4Membership {
  leave(): Promise<void>;
  setLoopback(loopback: boolean): Promise<void>;
  setTTL(ttl: number): Promise<void>;
}

interface DenoMulticastV6Membership {
  leave(): Promise<void>;
  setLoopback(loopback: boolean): Promise<void>;
}

interface DenoDatagramConn {
  readonly addr: DenoAddr;
  joinMulticastV4(address: string, networkInterface: string): Promise<DenoMulticastV4Membership>;
  joinMulticastV6(address: string, networkInterface: number): Promise<DenoMulticastV6Membership>;
  receive(p?: Uint8Array): Promise<[Uint8Array, DenoAddr]>;
  send(p: Uint8Array, addr: DenoAddr): Promise<number>;
  close(): void;
}

interface DenoTcpConn {
  readonly localAddr: DenoAddr;
  readonly remoteAddr: DenoAddr;
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}

interface DenoTcpListener {
  readonly addr: DenoAddr;
  accept(): Promise<DenoTcpConn>;
  close(): void;
}

interface DenoNet {
  listenDatagram?(options: {
    transport: "udp";
    hostname: string;
    port: number;
    reuseAddress?: boolean;
    loopback?: boolean;
  }): DenoDatagramConn;
  listen(options: { transport: "tcp"; hostname: string; port: number }): DenoTcpListener;
  connect(options: { transport: "tcp"; hostname: string; port: number; signal?: AbortSignal }): Promise<DenoTcpConn>;
}

// ---------------------------------------------------------------------------------------

/** Largest UDP payload plus headroom: a datagram never arrives truncated. */
const DATAGRAM_BUFFER_BYTES = 65_536;
/** Size of a TCP read buffer while messages are small. */
const READ_CHUNK_BYTES = 64 * 1024;
/** Largest TCP read buffer, reached while reads keep filling the buffer (a big frame streams in). */
const MAX_READ_CHUNK_BYTES = 1024 * 1024;
/** Reads smaller than this are copied out so a small message does not pin a 64 KiB buffer. */
const COPY_BELOW_BYTES = 16 * 1024;
/** Receive or accept errors in a row after which a loop gives up (a broken socket, not a blip). */
const MAX_CONSECUTIVE_ERRORS = 100;
/** Pause after an accept error such as EMFILE, so the loop does not spin. */
const ACCEPT_RETRY_MS = 50;

let sharedLogger: Logger | undefined;
/** Created on first use: reading PEERLINK_DEBUG at import time could prompt for env access. */
function logger(): Logger {
  return sharedLogger ??= createLogger("peerlink deno");
}

function toNetAddr(addr: DenoAddr): NetAddr {
  return { address: addr.hostname, port: addr.port, family: addressFamily(addr.hostname) };
}

function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::" || address === "";
}

function isIPv4(address: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address);
}

function isIPv4Multicast(address: string): boolean {
  const first = Number(address.split(".")[0]);
  return isIPv4(address) && first >= 224 && first <= 239;
}

/** True for the errors Deno raises on an operation cut short by our own close(). */
function isClosedError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "BadResource" || name === "Interrupted";
}

/** A runtime error as a NetError, adding Deno's permission failures, whose fix is a flag. */
function denoNetError(cause: unknown, action: string, address?: string, port?: number): NetError {
  const name = (cause as { name?: unknown } | null)?.name;
  if (name === "NotCapable" || name === "PermissionDenied") {
    const where = address !== undefined && port !== undefined ? ` ${formatEndpoint(address, port)}` : "";
    return new NetError(
      "OTHER",
      `OTHER: ${action}${where}: permission denied (${(cause as Error).message}). ` +
        "Run Deno with --allow-net (and --allow-sys to list network interfaces).",
      { address, port, cause },
    );
  }
  return toNetError(cause, action, address, port);
}

function closedError(action: string, address?: string, port?: number): NetError {
  const where = address !== undefined && port !== undefined ? ` ${formatEndpoint(address, port)}` : "";
  return new NetError("CLOSED", `CLOSED: ${action}${where}: socket is closed.`, { address, port });
}

/**
 * Calls a user callback; an exception is reported (the first per socket as a warning, later
 * ones at debug level), never thrown, so it cannot end a receive or accept loop.
 *
 * @returns False when the handler threw synchronously.
 */
function deliver<T>(handler: (value: T) => void, value: T, what: string, reported: { done: boolean }): boolean {
  const report = (error: unknown) => {
    const text = `${what} handler threw: ${(error as Error)?.stack ?? error}`;
    if (reported.done) logger().debug(text);
    else logger().warn(`${text} (further errors from this socket are logged at debug level)`);
    reported.done = true;
  };
  try {
    const result = handler(value) as unknown;
    if (result && typeof (result as Promise<unknown>).then === "function") {
      (result as Promise<unknown>).then(undefined, report);
    }
    return true;
  } catch (error) {
    report(error);
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Network interfaces.

/**
 * The IPv4 address to join on: an IPv4 address as is, else the first IPv4 address of the
 * interface with that name or (IPv6) address.
 */
function ipv4InterfaceAddress(iface: string | undefined): string {
  if (iface === undefined || iface === "" || iface === "::") return "0.0.0.0";
  if (isIPv4(iface)) return iface;
  const name = iface.includes("%") ? iface.slice(iface.indexOf("%") + 1) : iface;
  const interfaces = listInterfaces();
  const match = interfaces.find((i) => i.name === name) ??
    interfaces.find((i) => i.addresses.some((a) => a.address === iface));
  const v4 = match?.addresses.find((a) => a.family === "IPv4");
  if (v4) return v4.address;
  throw new NetError(
    "ADDR_NOT_AVAILABLE",
    `ADDR_NOT_AVAILABLE: multicast interface "${iface}": no IPv4 interface with that address or name. ` +
      "Pass the IPv4 address of a local interface.",
    { address: iface },
  );
}

/** The interface index Deno's joinMulticastV6 wants, from an index, a name, or an address (0 = any). */
function ipv6InterfaceIndex(iface: string | undefined): number {
  if (iface === undefined || iface === "" || iface === "::" || iface === "0.0.0.0") return 0;
  const scoped = iface.includes("%") ? iface.slice(iface.indexOf("%") + 1) : iface;
  if (/^\d+$/.test(scoped)) return Number(scoped);
  const interfaces = listInterfaces();
  const owner = interfaces.find((i) => i.name === scoped) ??
    interfaces.find((i) => i.addresses.some((a) => a.address === scoped));
  // An IPv6-capable interface has a link-local address whose scope id is its index.
  const index = owner?.addresses.find((a) => a.family === "IPv6" && a.scopeId)?.scopeId;
  if (index) return index;
  throw new NetError(
    "ADDR_NOT_AVAILABLE",
    `ADDR_NOT_AVAILABLE: IPv6 multicast interface "${iface}": cannot find its interface index. ` +
      'Pass the interface index (e.g. "2") or the name of a local interface.',
    { address: iface },
  );
}

// ---------------------------------------------------------------------------------------
// UDP.

type Membership =
  | { v4: true; handle: DenoMulticastV4Membership }
  | { v4: false; handle: DenoMulticastV6Membership };

/**
 * Receives datagrams from `conn` into one reused 64 KiB buffer, hands each to `onMessage`
 * as an exact-size copy, and ends quietly when the socket closes.
 */
async function receiveLoop(
  conn: DenoDatagramConn,
  onMessage: (message: Datagram) => void,
  isClosed: () => boolean,
  reported: { done: boolean },
): Promise<void> {
  const buffer = new Uint8Array(DATAGRAM_BUFFER_BYTES);
  let errorsInARow = 0;
  while (!isClosed()) {
    let received: [Uint8Array, DenoAddr];
    try {
      received = await conn.receive(buffer);
    } catch (error) {
      if (isClosed() || isClosedError(error)) return;
      // E.g. Windows reports ICMP port-unreachable on recvfrom; one bad datagram is no reason to stop.
      if (++errorsInARow >= MAX_CONSECUTIVE_ERRORS) {
        logger().error(`UDP receive on ${formatEndpoint(conn.addr.hostname, conn.addr.port)} keeps failing: ${error}`);
        return;
      }
      continue;
    }
    errorsInARow = 0;
    const [view, from] = received;
    deliver(onMessage, { data: view.slice(), address: from.hostname, port: from.port }, "onMessage", reported);
  }
}

/**
 * A socket bound to one interface's address and the main socket's port, used to send
 * multicast out of that interface: Linux picks the outgoing interface of multicast from the
 * source address when no IP_MULTICAST_IF is set, and Deno cannot set IP_MULTICAST_IF.
 * Bound to a unicast address it never receives multicast, but unicast sent to that address
 * and port now lands here, so it runs its own receive loop into the same handler.
 */
interface MulticastSender {
  conn: DenoDatagramConn;
  loop: Promise<void>;
  /** Groups joined only for a handle that sets TTL and loopback (kernel memberships are per interface). */
  handles: Map<string, DenoMulticastV4Membership>;
  /** The TTL and loopback last applied (loopback is set at bind). */
  appliedTtl?: number;
  appliedLoopback: boolean;
}

class DenoDatagramSocket implements DatagramSocket {
  readonly localAddress: NetAddr;
  readonly #deno: DenoNet;
  readonly #conn: DenoDatagramConn;
  readonly #onMessage: (message: Datagram) => void;
  readonly #reuseAddress: boolean;
  readonly #reported = { done: false };
  readonly #memberships = new Map<string, Membership>();
  readonly #joining = new Map<string, Promise<void>>();
  readonly #senders = new Map<string, MulticastSender>();
  readonly #loop: Promise<void>;
  #closed = false;
  #closing?: Promise<void>;
  #multicastInterface?: string;
  #ttl?: number;
  #loopback = true;

  constructor(deno: DenoNet, conn: DenoDatagramConn, onMessage: (m: Datagram) => void, reuseAddress: boolean) {
    this.#deno = deno;
    this.#conn = conn;
    this.#onMessage = onMessage;
    this.#reuseAddress = reuseAddress;
    this.localAddress = toNetAddr(conn.addr);
    this.#loop = receiveLoop(conn, onMessage, () => this.#closed, this.#reported);
  }

  /**
   * Sends one datagram. IPv4 multicast goes through the socket bound to the interface chosen
   * with {@linkcode DenoDatagramSocket.setMulticastInterface}, when there is one.
   *
   * @param data Payload.
   * @param address Numeric destination address.
   * @param port Destination port.
   */
  async send(data: Uint8Array, address: string, port: number): Promise<void> {
    if (this.#closed) throw closedError("UDP send", address, port);
    let conn = this.#conn;
    if (this.#multicastInterface !== undefined && isIPv4Multicast(address)) {
      const sender = this.#senders.get(this.#multicastInterface);
      if (sender) {
        await this.#prepareSender(sender, address);
        conn = sender.conn;
      }
    }
    try {
      await conn.send(data, { transport: "udp", hostname: address, port });
    } catch (cause) {
      if (this.#closed || isClosedError(cause)) throw closedError("UDP send", address, port);
      throw denoNetError(cause, "UDP send", address, port);
    }
  }

  /**
   * Joins a multicast group through a Deno membership handle. Joining a group already joined
   * on the same interface is a no-op.
   *
   * @param group IPv4 or IPv6 group address, e.g. `"224.0.0.251"`.
   * @param interfaceAddress IPv4: the local address of the interface (or its name). IPv6: the
   *   interface index, name, or one of its addresses. Default: the interface set with
   *   {@linkcode DenoDatagramSocket.setMulticastInterface}, else the OS's choice.
   */
  joinMulticast(group: string, interfaceAddress?: string): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(`UDP join multicast group ${group}`));
    const iface = interfaceAddress ?? this.#multicastInterface;
    const key = this.#membershipKey(group, iface);
    if (this.#memberships.has(key)) return Promise.resolve();
    // A second join of the same group while the first is under way waits for it.
    let joining = this.#joining.get(key);
    if (!joining) {
      joining = this.#join(group, iface, key).finally(() => this.#joining.delete(key));
      this.#joining.set(key, joining);
    }
    return joining;
  }

  async #join(group: string, iface: string | undefined, key: string): Promise<void> {
    const action = `UDP join multicast group ${group} on interface ${iface ?? "(default)"}`;
    try {
      if (!group.includes(":")) {
        const handle = await this.#conn.joinMulticastV4(group, ipv4InterfaceAddress(iface));
        this.#memberships.set(key, { v4: true, handle });
        if (this.#ttl !== undefined) await handle.setTTL(this.#ttl);
        await handle.setLoopback(this.#loopback);
      } else {
        const handle = await this.#conn.joinMulticastV6(group, ipv6InterfaceIndex(iface));
        this.#memberships.set(key, { v4: false, handle });
        await handle.setLoopback(this.#loopback);
      }
    } catch (cause) {
      if (this.#closed || isClosedError(cause)) throw closedError(action);
      throw denoNetError(cause, action);
    }
  }

  /**
   * Leaves a group joined with {@linkcode DenoDatagramSocket.joinMulticast} (same group and
   * interface argument). Leaving a group that is not joined is a no-op.
   *
   * @param group The group address.
   * @param interfaceAddress The interface it was joined on.
   */
  async leaveMulticast(group: string, interfaceAddress?: string): Promise<void> {
    if (this.#closed) throw closedError(`UDP leave multicast group ${group}`);
    const key = this.#membershipKey(group, interfaceAddress ?? this.#multicastInterface);
    const membership = this.#memberships.get(key);
    if (!membership) return;
    this.#memberships.delete(key);
    try {
      await membership.handle.leave();
    } catch (cause) {
      throw denoNetError(cause, `UDP leave multicast group ${group} on interface ${interfaceAddress ?? "(default)"}`);
    }
  }

  /**
   * Chooses the interface for multicast. Deno has no IP_MULTICAST_IF, so this adapter:
   * - remembers it as the default interface of later {@linkcode DenoDatagramSocket.joinMulticast} calls;
   * - for IPv4, when this socket is bound to the wildcard address with `reuseAddress`, opens a
   *   companion socket bound to `interfaceAddress` and this socket's port, and sends IPv4
   *   multicast through it: Linux then sends it out of that interface, from the same port.
   *   Unicast to that address and port arrives on the companion and reaches the same handler.
   *
   * What it cannot do: on a socket bound without `reuseAddress` (the port cannot be shared),
   * for IPv6, and on non-Linux systems, outgoing multicast follows the routing table (or the
   * socket's bound address). Bind one socket per interface address there instead.
   *
   * @param interfaceAddress Local IPv4 address of the interface (IPv6: index, name or address;
   *   remembered for joins only). `"0.0.0.0"` returns to the OS's choice.
   */
  setMulticastInterface(interfaceAddress: string): Promise<void> {
    try {
      this.#chooseMulticastInterface(interfaceAddress);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #chooseMulticastInterface(interfaceAddress: string): void {
    if (this.#closed) throw closedError("UDP set multicast interface", interfaceAddress, this.localAddress.port);
    if (isWildcard(interfaceAddress)) {
      this.#multicastInterface = undefined;
      return;
    }
    this.#multicastInterface = interfaceAddress;
    if (!isIPv4(interfaceAddress) || this.#senders.has(interfaceAddress)) return;
    if (!isWildcard(this.localAddress.address)) {
      if (interfaceAddress !== this.localAddress.address) {
        this.#noteRouteBased(interfaceAddress, "bound to one address");
      }
      return;
    }
    if (!this.#reuseAddress) {
      this.#noteRouteBased(interfaceAddress, "bound without reuseAddress");
      return;
    }
    const port = this.localAddress.port;
    let conn: DenoDatagramConn;
    try {
      conn = this.#deno.listenDatagram!({
        transport: "udp",
        hostname: interfaceAddress,
        port,
        reuseAddress: true,
        loopback: this.#loopback,
      });
    } catch (cause) {
      throw denoNetError(cause, "UDP set multicast interface: bind", interfaceAddress, port);
    }
    const sender: MulticastSender = {
      conn,
      handles: new Map(),
      appliedLoopback: this.#loopback,
      loop: receiveLoop(conn, this.#onMessage, () => this.#closed, this.#reported),
    };
    this.#senders.set(interfaceAddress, sender);
  }

  /**
   * Sets the IPv4 multicast TTL (mDNS uses 255). Deno sets it through a membership handle, so
   * it applies to this socket once it has joined any IPv4 group (now or later) and to the
   * companion sockets of {@linkcode DenoDatagramSocket.setMulticastInterface}. Deno has no
   * IPv6 hop-limit setter: IPv6 multicast uses the OS default (1).
   *
   * @param ttl 0-255.
   */
  async setMulticastTTL(ttl: number): Promise<void> {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      throw new NetError("OTHER", `OTHER: UDP set multicast TTL: ${ttl} is not an integer from 0 to 255.`);
    }
    if (this.#closed) throw closedError("UDP set multicast TTL");
    this.#ttl = ttl;
    for (const membership of this.#memberships.values()) {
      if (membership.v4) await this.#guard("UDP set multicast TTL", () => membership.handle.setTTL(ttl));
    }
  }

  /**
   * Enables or disables looping our own multicast back to this host (on by default, like the
   * OS default of Node and Bun). Deno sets it at bind time and through membership handles: a
   * change applies once this socket has joined any group (now or later), and to the companion
   * sockets of {@linkcode DenoDatagramSocket.setMulticastInterface} at their next send.
   *
   * @param enabled Whether to loop back.
   */
  async setMulticastLoopback(enabled: boolean): Promise<void> {
    if (this.#closed) throw closedError("UDP set multicast loopback");
    this.#loopback = enabled;
    for (const membership of this.#memberships.values()) {
      await this.#guard("UDP set multicast loopback", () => membership.handle.setLoopback(enabled));
    }
  }

  /** Closes the socket (and its companions); resolves once the receive loops have ended. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    const loops = [this.#loop];
    for (const conn of [this.#conn, ...[...this.#senders.values()].map((s) => s.conn)]) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    for (const sender of this.#senders.values()) loops.push(sender.loop);
    this.#memberships.clear();
    this.#senders.clear();
    this.#closing = Promise.all(loops).then(() => undefined);
    return this.#closing;
  }

  #membershipKey(group: string, iface: string | undefined): string {
    return `${group}|${iface === undefined || isWildcard(iface) ? "" : iface}`;
  }

  async #guard(action: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (cause) {
      if (this.#closed || isClosedError(cause)) throw closedError(action);
      throw denoNetError(cause, action);
    }
  }

  /**
   * Brings a companion's TTL and loopback up to date. Deno sets both only through a membership
   * handle, so the companion joins the destination group (it cannot receive it: it is bound to
   * a unicast address). A failure is noted once and not retried until the setting changes.
   */
  async #prepareSender(sender: MulticastSender, group: string): Promise<void> {
    const ttl = this.#ttl;
    const loopback = this.#loopback;
    if ((ttl === undefined || sender.appliedTtl === ttl) && sender.appliedLoopback === loopback) return;
    sender.appliedTtl = ttl;
    sender.appliedLoopback = loopback;
    try {
      let handle = sender.handles.get(group);
      if (!handle) {
        handle = await sender.conn.joinMulticastV4(group, sender.conn.addr.hostname);
        sender.handles.set(group, handle);
      }
      if (ttl !== undefined) await handle.setTTL(ttl);
      await handle.setLoopback(loopback);
    } catch (error) {
      debugOnce(
        logger(),
        `deno-companion-${group}`,
        `multicast to ${group} from ${sender.conn.addr.hostname}: could not apply TTL/loopback (${error}); ` +
          "sending with the current settings",
      );
    }
  }

  #noteRouteBased(interfaceAddress: string, why: string): void {
    debugOnce(
      logger(),
      `deno-multicast-if-${why}`,
      `setMulticastInterface(${interfaceAddress}): Deno has no IP_MULTICAST_IF and this socket is ${why}; ` +
        "outgoing multicast follows the routing table. Joins use this interface.",
    );
  }
}

// ---------------------------------------------------------------------------------------
// TCP.

class DenoStreamConnection implements StreamConnection {
  readonly localAddress: NetAddr;
  readonly remoteAddress: NetAddr;
  readonly #conn: DenoTcpConn;
  #closed = false;
  #writeClosed?: Promise<void>;
  /** Writes run one after another so that two concurrent writes never interleave bytes. */
  #writeChain: Promise<unknown> = Promise.resolve();
  /** Size of the next read buffer; grows x4 after a full read, back to 64 KiB after a small one. */
  #readSize = READ_CHUNK_BYTES;
  /** A read buffer whose bytes were copied out, so the next read can reuse it. */
  #spare: Uint8Array | undefined;

  constructor(conn: DenoTcpConn) {
    this.#conn = conn;
    // RPC frames are written whole: Nagle would only add latency (same as the Bun and Node adapters).
    conn.setNoDelay?.(true);
    this.localAddress = toNetAddr(conn.localAddr);
    this.remoteAddress = toNetAddr(conn.remoteAddr);
  }

  /**
   * Reads the next chunk. Resolves `null` at the peer's end of stream; rejects with code
   * `CLOSED` when closed locally, even mid-read. A chunk handed out is never reused; a read
   * small for its buffer is copied out and the buffer reused. Buffers grow from 64 KiB up to
   * 1 MiB while reads fill them, so a big frame streams in with fewer, larger reads (each
   * read costs an op round trip), and a chunk never pins more than 4x its size.
   */
  async read(): Promise<Uint8Array | null> {
    const { address, port } = this.remoteAddress;
    for (;;) {
      if (this.#closed) throw closedError("TCP read", address, port);
      const buffer = this.#spare ?? new Uint8Array(this.#readSize);
      this.#spare = undefined;
      let count: number | null;
      try {
        count = await this.#conn.read(buffer);
      } catch (cause) {
        if (this.#closed || isClosedError(cause)) throw closedError("TCP read", address, port);
        throw denoNetError(cause, "TCP read", address, port);
      }
      if (count === null) return null;
      if (count === 0) {
        this.#spare = buffer; // Deno documents 0-byte reads that are not EOF.
        continue;
      }
      const small = count < COPY_BELOW_BYTES;
      if (count === buffer.length) this.#readSize = Math.min(MAX_READ_CHUNK_BYTES, buffer.length * 4);
      else if (small) this.#readSize = READ_CHUNK_BYTES;
      if (!small && count >= buffer.length / 4) return buffer.subarray(0, count);
      if (buffer.length === this.#readSize) this.#spare = buffer;
      return buffer.slice(0, count);
    }
  }

  /**
   * Writes all bytes, looping over Deno's partial writes; each `conn.write` resolves once the
   * kernel took the bytes, so awaiting it is the backpressure.
   *
   * @param data Bytes to send.
   */
  write(data: Uint8Array): Promise<void> {
    const { address, port } = this.remoteAddress;
    if (this.#closed) return Promise.reject(closedError("TCP write", address, port));
    if (this.#writeClosed) {
      return Promise.reject(
        new NetError("CLOSED", `CLOSED: TCP write ${formatEndpoint(address, port)}: closeWrite() was called.`, {
          address,
          port,
        }),
      );
    }
    const run = this.#writeChain.then(() => this.#writeAll(data));
    this.#writeChain = run.catch(() => undefined);
    return run;
  }

  /** Half-closes after the writes already queued: the peer reads end of stream; reading goes on. */
  closeWrite(): Promise<void> {
    const { address, port } = this.remoteAddress;
    if (this.#closed) return Promise.reject(closedError("TCP closeWrite", address, port));
    this.#writeClosed ??= this.#writeChain.then(async () => {
      try {
        await this.#conn.closeWrite();
      } catch (cause) {
        if (this.#closed || isClosedError(cause)) throw closedError("TCP closeWrite", address, port);
        // Already shut down by the peer's reset: there is nothing left to send.
        if ((cause as { name?: string })?.name === "NotConnected") return;
        throw denoNetError(cause, "TCP closeWrite", address, port);
      }
    });
    return this.#writeClosed;
  }

  /** Closes both directions; a pending read rejects with code `CLOSED`. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    return Promise.resolve();
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    const { address, port } = this.remoteAddress;
    let offset = 0;
    while (offset < data.length) {
      if (this.#closed) throw closedError("TCP write", address, port);
      try {
        offset += await this.#conn.write(data.subarray(offset));
      } catch (cause) {
        if (this.#closed || isClosedError(cause)) throw closedError("TCP write", address, port);
        throw denoNetError(cause, "TCP write", address, port);
      }
    }
  }
}

class DenoStreamListener implements StreamListener {
  readonly localAddress: NetAddr;
  readonly #listener: DenoTcpListener;
  readonly #loop: Promise<void>;
  #closed = false;
  #closing?: Promise<void>;
  #wake?: () => void;

  constructor(listener: DenoTcpListener, onConnection: (connection: StreamConnection) => void) {
    this.#listener = listener;
    this.localAddress = toNetAddr(listener.addr);
    this.#loop = this.#acceptLoop(onConnection);
  }

  /** Stops accepting; resolves once the accept loop has ended. Accepted connections stay open. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    this.#wake?.();
    this.#closing = this.#loop;
    return this.#closing;
  }

  async #acceptLoop(onConnection: (connection: StreamConnection) => void): Promise<void> {
    const reported = { done: false };
    let errorsInARow = 0;
    while (!this.#closed) {
      let conn: DenoTcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed || isClosedError(error)) return;
        // EMFILE and friends: wait a little rather than spin, and give up on a broken listener.
        if (++errorsInARow >= MAX_CONSECUTIVE_ERRORS) {
          logger().error(
            `TCP accept on ${formatEndpoint(this.localAddress.address, this.localAddress.port)}: ${error}`,
          );
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ACCEPT_RETRY_MS);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        continue;
      }
      errorsInARow = 0;
      if (this.#closed) {
        conn.close();
        return;
      }
      const connection = new DenoStreamConnection(conn);
      // A handler that threw took no ownership: close the connection rather than leak it.
      if (!deliver(onConnection, connection as StreamConnection, "onConnection", reported)) void connection.close();
    }
  }
}

// ---------------------------------------------------------------------------------------

class DenoRuntime implements SocketRuntime {
  readonly name = "deno";
  readonly #deno: DenoNet;

  constructor(deno: DenoNet) {
    this.#deno = deno;
  }

  bindDatagram(options: DatagramBindOptions, onMessage: (message: Datagram) => void): Promise<DatagramSocket> {
    const reuseAddress = options.reuseAddress ?? false;
    let conn: DenoDatagramConn;
    try {
      // loopback: true matches the OS default that Node and Bun keep; Deno's default is off.
      conn = this.#deno.listenDatagram!({
        transport: "udp",
        hostname: options.address,
        port: options.port,
        reuseAddress,
        loopback: true,
      });
    } catch (cause) {
      return Promise.reject(denoNetError(cause, "UDP bind", options.address, options.port));
    }
    return Promise.resolve(new DenoDatagramSocket(this.#deno, conn, onMessage, reuseAddress));
  }

  listen(options: ListenOptions, onConnection: (connection: StreamConnection) => void): Promise<StreamListener> {
    let listener: DenoTcpListener;
    try {
      listener = this.#deno.listen({ transport: "tcp", hostname: options.address, port: options.port });
    } catch (cause) {
      return Promise.reject(denoNetError(cause, "TCP listen", options.address, options.port));
    }
    return Promise.resolve(new DenoStreamListener(listener, onConnection));
  }

  async connect(options: ConnectOptions): Promise<StreamConnection> {
    const { address, port, timeoutMs } = options;
    // Our own timer rather than AbortSignal.timeout(): it is cleared at once, so no timer
    // outlives the call (Deno's test sanitizer would report it). Aborting drops the attempt.
    const controller = new AbortController();
    const timer = timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0
      ? setTimeout(() => controller.abort(), timeoutMs)
      : undefined;
    try {
      const conn = await this.#deno.connect({ transport: "tcp", hostname: address, port, signal: controller.signal });
      return new DenoStreamConnection(conn);
    } catch (cause) {
      if (controller.signal.aborted) {
        throw new NetError(
          "TIMED_OUT",
          `TIMED_OUT: TCP connect ${formatEndpoint(address, port)}: no answer within ${timeoutMs} ms. ` +
            "Check that the peer is running and reachable.",
          { address, port, cause },
        );
      }
      throw denoNetError(cause, "TCP connect", address, port);
    } finally {
      clearTimeout(timer);
    }
  }

  networkInterfaces(): NetworkInterface[] {
    return listInterfaces();
  }
}

/**
 * Creates the Deno adapter: UDP on `Deno.listenDatagram`, TCP on `Deno.listen` / `Deno.connect`.
 *
 * Where Deno's API is narrower than the sockets interface:
 * - `setMulticastInterface` (no IP_MULTICAST_IF in Deno): remembered as the default interface
 *   of later joins; for IPv4 on a wildcard-bound socket with `reuseAddress`, outgoing multicast
 *   goes through a companion socket bound to that interface's address and the same port, which
 *   Linux sends out of that interface. Elsewhere multicast leaves by the routing table.
 * - `setMulticastTTL` / `setMulticastLoopback` act through membership handles: they apply
 *   once the socket joined a group, and to every later join. Loopback starts on (the OS
 *   default Node and Bun keep). IPv6 hop limit cannot be set (OS default 1).
 * - Needs `--allow-net`, and `--allow-sys` for `networkInterfaces()`.
 *
 * @returns A {@linkcode SocketRuntime} named `"deno"`.
 * @throws {NetError} Code `UNSUPPORTED` outside Deno, or under Deno without the unstable net
 *   API (`--unstable-net` / `"unstable": ["net"]`); `autoRuntime()` falls back to the Node
 *   adapter in that case.
 *
 * @example
 * ```ts
 * import { denoRuntime } from "./deno.ts";
 * const runtime = denoRuntime();
 * const socket = await runtime.bindDatagram({ address: "127.0.0.1", port: 0 }, (m) => {
 *   console.log(`${m.data.length} bytes from ${m.address}:${m.port}`);
 * });
 * await socket.close();
 * ```
 */
export function denoRuntime(): SocketRuntime {
  const deno = (globalThis as unknown as { Deno?: DenoNet }).Deno;
  if (!deno || typeof deno.listen !== "function" || typeof deno.connect !== "function") {
    throw new NetError(
      "UNSUPPORTED",
      "runtimes/deno.ts: the Deno adapter needs Deno; use nodeRuntime() or autoRuntime()",
    );
  }
  if (typeof deno.listenDatagram !== "function") {
    throw new NetError(
      "UNSUPPORTED",
      "runtimes/deno.ts: Deno.listenDatagram is missing: the Deno adapter needs Deno's unstable net API. " +
        'Run with --unstable-net or add "unstable": ["net"] to deno.json, or use autoRuntime(), ' +
        "which falls back to nodeRuntime() under Deno.",
    );
  }
  return new DenoRuntime(deno);
}
