/**
 * The Bun adapter: {@linkcode SocketRuntime} on `Bun.udpSocket`, `Bun.listen` and
 * `Bun.connect`.
 *
 * Bun's sockets are push-based (one set of handlers per listener or dial, called with
 * each event). This file turns them into the pull-based {@linkcode StreamConnection}
 * the core expects: a bounded read queue that pauses the socket when the reader falls
 * behind, and writes that keep whatever Bun did not accept and finish it on `drain`.
 *
 * Upstream API docs this file relies on:
 * - UDP: https://bun.sh/docs/api/udp and https://bun.sh/reference/bun/udpSocket
 *   (`send()` returns false under backpressure, then `drain` fires;
 *   `addMembership`/`dropMembership`/`setMulticastInterface`/`setMulticastTTL`/
 *   `setMulticastLoopback`: https://bun.sh/reference/bun/udp/BaseUDPSocket).
 * - TCP: https://bun.sh/docs/api/tcp (`write()` returns the bytes written and Bun keeps
 *   no copy of the rest; `drain` says when to retry), `shutdown()`:
 *   https://bun.sh/reference/bun/TCPSocket/shutdown, `pause()`/`resume()`:
 *   https://bun.sh/reference/bun/TCPSocket/pause, `allowHalfOpen`/`exclusive`:
 *   https://bun.sh/reference/bun/TCPSocketListenOptions and
 *   https://bun.sh/reference/bun/TCPSocketConnectOptions.
 *
 * Bun limits, measured on Bun 1.4.5 (Linux) and worked around or documented here:
 * - `Bun.udpSocket` has no documented reuse option. Its undocumented `flags` field is the
 *   one Bun's own `node:dgram` passes (LISTEN_REUSE_ADDR = 16, LISTEN_REUSE_PORT = 4,
 *   SOCKET_IPV6_ONLY = 8, as in Bun 1.4's built-in dgram module; SO_REUSEADDR became
 *   opt-in with https://github.com/oven-sh/bun/pull/27246). `reuseAddress` sets both
 *   SO_REUSEADDR and SO_REUSEPORT, as Avahi and Python zeroconf do. Linux admits a new
 *   socket to a bound port only if, against every holder, both set SO_REUSEADDR or both
 *   set SO_REUSEPORT; setting both shares 5353 with either kind (Node's `reuseAddr` and
 *   Deno's `reuseAddress` set SO_REUSEADDR only, checked by binding them side by side).
 * - The UDP `error` handler gets `(error)` alone (the typings say `(socket, error)`), and
 *   without one an ICMP port-unreachable for an earlier send crashes the process. Bun
 *   also sets IP_RECVERR, so such an error can instead fail the next `send()` (to any
 *   destination) without sending it; send() retries past it (STALE_SEND_ERRORS).
 * - `Bun.connect` cannot be cancelled: it takes no AbortSignal and hands out no socket
 *   before `open`. A connect that hits `timeoutMs` rejects with `TIMED_OUT` on time, but
 *   the kernel keeps retrying the SYN in the background (Linux: about 2 minutes) and that
 *   pending attempt keeps the process alive; if it connects late it is closed at once.
 * - `Bun.connect` reports ENETUNREACH/EHOSTUNREACH/ETIMEDOUT as ECONNREFUSED, so those
 *   arrive here as `CONNECTION_REFUSED` (https://github.com/oven-sh/bun/pull/37093).
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
import { createLogger } from "../src/log.ts";
import { listInterfaces } from "./_interfaces.ts";

// ---------------------------------------------------------------------------------------
// The slice of Bun's API used here, declared locally so `deno check` and `tsc` type-check
// this file without @types/bun.

/** A bound `Bun.udpSocket`. https://bun.sh/reference/bun/udp/Socket */
interface BunUdpSocket {
  readonly port: number;
  send(data: Uint8Array, port: number, address: string): boolean;
  addMembership(group: string, interfaceAddress?: string): boolean;
  dropMembership(group: string, interfaceAddress?: string): boolean;
  setMulticastInterface(interfaceAddress: string): boolean;
  setMulticastTTL(ttl: number): number | boolean;
  setMulticastLoopback(enabled: boolean): boolean;
  close(): void;
}

/** Handlers of a `Bun.udpSocket`. https://bun.sh/reference/bun/udp/SocketHandler */
interface BunUdpHandler {
  data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
  drain(socket: BunUdpSocket): void;
  /** Bun 1.4 calls it with the error as the only argument. */
  error(...args: unknown[]): void;
}

/** Options of `Bun.udpSocket`. `flags` is undocumented (see the module notes). */
interface BunUdpOptions {
  hostname: string;
  port: number;
  flags?: number;
  socket: BunUdpHandler;
}

/** A TCP socket from `Bun.listen` or `Bun.connect`. https://bun.sh/reference/bun/TCPSocket */
interface BunTcpSocket {
  data: SocketSlot | undefined;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes the kernel accepted; -1 once the socket is closed or shut down for writing. */
  write(data: Uint8Array): number;
  /** Without an argument: FIN (shuts down the write side), reading continues. */
  shutdown(): void;
  /** Graceful close: FIN, then the socket is gone (its `close` handler runs). */
  end(): void;
  /** Immediate close (RST). */
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay?(enabled: boolean): boolean;
}

/** Handlers shared by every socket of one listener or dial. https://bun.sh/reference/bun/SocketHandler */
interface BunTcpHandler {
  open(socket: BunTcpSocket): void;
  data(socket: BunTcpSocket, data: Uint8Array): void;
  drain(socket: BunTcpSocket): void;
  end(socket: BunTcpSocket): void;
  close(socket: BunTcpSocket, error?: unknown): void;
  error(socket: BunTcpSocket, error: unknown): void;
  connectError?(socket: BunTcpSocket, error: unknown): void;
}

/** A `Bun.listen` server. https://bun.sh/reference/bun/TCPSocketListener */
interface BunTcpListener {
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** The `Bun` global, as far as this adapter uses it. */
interface BunNet {
  udpSocket(options: BunUdpOptions): Promise<BunUdpSocket>;
  listen(options: {
    hostname: string;
    port: number;
    exclusive: boolean;
    allowHalfOpen: boolean;
    socket: BunTcpHandler;
  }): BunTcpListener;
  connect(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    data: SocketSlot;
    socket: BunTcpHandler;
  }): Promise<BunTcpSocket>;
}

// ---------------------------------------------------------------------------------------

/** Option bits of `Bun.udpSocket({ flags })`, as Bun 1.4's built-in `node:dgram` passes them. */
const LISTEN_REUSE_PORT = 4;
const SOCKET_IPV6_ONLY = 8;
const LISTEN_REUSE_ADDR = 16;

/**
 * Errors the kernel parks on a UDP socket when an ICMP reply answers an earlier datagram
 * (Bun turns on IP_RECVERR). The next send() reports that old error and sends nothing,
 * even to another, healthy destination; sending again works. Measured on Bun 1.4.5.
 */
const STALE_SEND_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]);
/** Extra attempts after a stale error; a real error for this destination repeats and is reported. */
const STALE_SEND_RETRIES = 2;

/** How long a datagram may wait for socket buffer space before its send() gives up. */
const SEND_STALL_MS = 2_000;
/** Retry interval while the send buffer is full, in case a `drain` event is missed. */
const SEND_RETRY_MS = 20;
/** Datagrams that may wait for buffer space at once; more are refused at once. */
const SEND_QUEUE_LIMIT = 1_024;

/** Unread bytes above which the socket is paused (the kernel window then throttles the peer). */
const READ_HIGH_WATER = 1 << 20;
/** Unread bytes at or below which a paused socket resumes. */
const READ_LOW_WATER = 256 << 10;

const log = createLogger("peerlink bun");

/** Runs a user callback; an exception surfaces as uncaught (as on the other runtimes) instead of reaching Bun's handlers. */
function deliver(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** Bun hands out Buffers; the core gets a plain Uint8Array view of the same bytes. */
function asBytes(data: Uint8Array): Uint8Array {
  // Bun allocates a fresh buffer for every datagram and every TCP chunk and never writes
  // to it again (checked: 35 chunks of an 8 MiB stream kept until the end stayed intact;
  // the conformance suite checks this too), so a view is enough and no copy is needed.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function closedError(action: string, address?: string, port?: number): NetError {
  const where = address !== undefined && port !== undefined ? ` ${formatEndpoint(address, port)}` : "";
  return new NetError("CLOSED", `CLOSED: ${action}${where}: socket is closed.`, { address, port });
}

function describeRuntime(): string {
  const g = globalThis as {
    Deno?: { version?: { deno?: string } };
    process?: { versions?: { node?: string } };
  };
  if (g.Deno?.version?.deno) return `Deno ${g.Deno.version.deno}`;
  if (g.process?.versions?.node) return `Node ${g.process.versions.node}`;
  return "not Bun";
}

/** The Bun global, or a tagged error that says what to use instead. */
function bunGlobal(): BunNet {
  const bun = (globalThis as unknown as { Bun?: Partial<BunNet> }).Bun;
  if (
    !bun || typeof bun.udpSocket !== "function" || typeof bun.listen !== "function" ||
    typeof bun.connect !== "function"
  ) {
    throw new NetError(
      "UNSUPPORTED",
      `UNSUPPORTED: bunRuntime() from runtimes/bun.ts needs Bun (Bun.udpSocket, Bun.listen, Bun.connect), ` +
        `but this is ${describeRuntime()}. Use autoRuntime() from runtimes/auto.ts, which picks the adapter ` +
        `for the running runtime, or nodeRuntime() from runtimes/node.ts.`,
    );
  }
  return bun as BunNet;
}

// --- UDP -------------------------------------------------------------------------------

/** A datagram waiting for send-buffer space. */
interface QueuedDatagram {
  data: Uint8Array;
  address: string;
  port: number;
  deadline: number;
  resolve(): void;
  reject(error: NetError): void;
}

/** Join and leave take an interface address (IPv4) or, for IPv6, a name or index, which Bun wants as `::%<name>`. */
function bunInterface(group: string, interfaceAddress: string | undefined): string | undefined {
  if (interfaceAddress === undefined || addressFamily(group) === "IPv4" || interfaceAddress.includes(":")) {
    return interfaceAddress;
  }
  return `::%${interfaceAddress}`;
}

class BunDatagramSocket implements DatagramSocket {
  readonly localAddress: NetAddr;
  readonly #socket: BunUdpSocket;
  #closed = false;
  /** Joined groups, so close() can drop them and join/leave stay idempotent. */
  readonly #memberships = new Map<string, { group: string; iface: string | undefined }>();
  readonly #waiting: QueuedDatagram[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: BunUdpSocket, localAddress: NetAddr) {
    this.#socket = socket;
    this.localAddress = localAddress;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Uint8Array, address: string, port: number): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("UDP send to", address, port));
    if (this.#waiting.length === 0) {
      try {
        if (this.#sendNow(data, address, port)) return Promise.resolve();
      } catch (error) {
        return Promise.reject(toNetError(error, "UDP send to", address, port));
      }
    }
    // Bun said "not now" (send buffer full) or older datagrams are still waiting: queue
    // behind them so order is kept, and finish on `drain` (bounded in count and time).
    if (this.#waiting.length >= SEND_QUEUE_LIMIT) {
      return Promise.reject(
        new NetError(
          "OTHER",
          `OTHER: UDP send to ${formatEndpoint(address, port)}: ${SEND_QUEUE_LIMIT} datagrams already wait for ` +
            "socket buffer space; this one was not sent. Send more slowly.",
          { address, port },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ data, address, port, deadline: Date.now() + SEND_STALL_MS, resolve, reject });
      this.#armRetry();
    });
  }

  /** Called on Bun's `drain` and on the retry timer: sends what waits, in order. */
  flush(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    while (this.#waiting.length > 0 && !this.#closed) {
      const head = this.#waiting[0];
      let sent: boolean;
      try {
        sent = this.#sendNow(head.data, head.address, head.port);
      } catch (error) {
        this.#waiting.shift();
        head.reject(toNetError(error, "UDP send to", head.address, head.port));
        continue;
      }
      if (sent) {
        this.#waiting.shift();
        head.resolve();
      } else if (Date.now() >= head.deadline) {
        this.#waiting.shift();
        head.reject(
          new NetError(
            "TIMED_OUT",
            `TIMED_OUT: UDP send to ${formatEndpoint(head.address, head.port)}: the socket's send buffer stayed ` +
              `full for ${SEND_STALL_MS} ms; the datagram was not sent. Send more slowly or check the interface.`,
            { address: head.address, port: head.port },
          ),
        );
      } else {
        break;
      }
    }
    if (this.#waiting.length > 0) this.#armRetry();
  }

  /** One Bun send(), retried past errors that belong to earlier datagrams (see STALE_SEND_ERRORS). */
  #sendNow(data: Uint8Array, address: string, port: number): boolean {
    for (let attempt = 0;; attempt++) {
      try {
        return this.#socket.send(data, port, address);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (attempt >= STALE_SEND_RETRIES || typeof code !== "string" || !STALE_SEND_ERRORS.has(code)) throw error;
        log.debug(`UDP send to ${formatEndpoint(address, port)}: ${code} left by an earlier datagram; sending again`);
      }
    }
  }

  #armRetry(): void {
    this.#retryTimer ??= setTimeout(() => this.flush(), SEND_RETRY_MS);
  }

  /** Runs one multicast option call with uniform closed/false/throw handling. */
  #option(action: string, call: () => unknown): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(action));
    try {
      if (call() === false) {
        return Promise.reject(new NetError("OTHER", `OTHER: ${action} failed. Check the group and interface address.`));
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(toNetError(error, action));
    }
  }

  joinMulticast(group: string, interfaceAddress?: string): Promise<void> {
    const key = `${group}|${interfaceAddress ?? ""}`;
    if (!this.#closed && this.#memberships.has(key)) return Promise.resolve(); // already a member
    const iface = bunInterface(group, interfaceAddress);
    return this.#option(
      `UDP joinMulticast(${group}${interfaceAddress ? `, ${interfaceAddress}` : ""})`,
      () => this.#socket.addMembership(group, iface),
    ).then(() => void this.#memberships.set(key, { group, iface }));
  }

  leaveMulticast(group: string, interfaceAddress?: string): Promise<void> {
    const key = `${group}|${interfaceAddress ?? ""}`;
    if (!this.#closed && !this.#memberships.has(key)) return Promise.resolve(); // not a member: nothing to leave
    const iface = bunInterface(group, interfaceAddress);
    return this.#option(
      `UDP leaveMulticast(${group}${interfaceAddress ? `, ${interfaceAddress}` : ""})`,
      () => this.#socket.dropMembership(group, iface),
    ).then(() => void this.#memberships.delete(key));
  }

  setMulticastInterface(interfaceAddress: string): Promise<void> {
    const iface = this.localAddress.family === "IPv6" && !interfaceAddress.includes(":")
      ? `::%${interfaceAddress}`
      : interfaceAddress;
    return this.#option(
      `UDP setMulticastInterface(${interfaceAddress})`,
      () => this.#socket.setMulticastInterface(iface),
    );
  }

  setMulticastTTL(ttl: number): Promise<void> {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      return Promise.reject(
        new NetError("OTHER", `OTHER: UDP setMulticastTTL(${ttl}): the TTL must be an integer from 0 to 255.`),
      );
    }
    return this.#option(`UDP setMulticastTTL(${ttl})`, () => this.#socket.setMulticastTTL(ttl));
  }

  setMulticastLoopback(enabled: boolean): Promise<void> {
    return this.#option(`UDP setMulticastLoopback(${enabled})`, () => this.#socket.setMulticastLoopback(enabled));
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    for (const { group, iface } of this.#memberships.values()) {
      try {
        this.#socket.dropMembership(group, iface);
      } catch {
        // Closing the socket below drops the membership anyway.
      }
    }
    this.#memberships.clear();
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const queued of this.#waiting.splice(0)) {
      queued.reject(closedError("UDP send to", queued.address, queued.port));
    }
    this.#socket.close();
    return Promise.resolve();
  }
}

async function bindDatagram(
  bun: BunNet,
  options: DatagramBindOptions,
  onMessage: (message: Datagram) => void,
): Promise<DatagramSocket> {
  const { address, port } = options;
  const family = addressFamily(address);
  // Handlers exist before the wrapper does; they find it through this holder.
  const holder: { socket?: BunDatagramSocket } = {};
  // Both reuse options, so the port is shared with SO_REUSEADDR and SO_REUSEPORT holders alike.
  let flags = options.reuseAddress ? LISTEN_REUSE_ADDR | LISTEN_REUSE_PORT : 0;
  // An IPv6 socket carries IPv6 only, so an IPv4 and an IPv6 socket can both hold 5353.
  if (family === "IPv6") flags |= SOCKET_IPV6_ONLY;
  let socket: BunUdpSocket;
  try {
    socket = await bun.udpSocket({
      hostname: address,
      port,
      flags,
      socket: {
        data(_socket, data, fromPort, fromAddress) {
          if (holder.socket?.closed) return;
          deliver(() => onMessage({ data: asBytes(data), address: fromAddress, port: fromPort }));
        },
        drain() {
          holder.socket?.flush();
        },
        error(...args) {
          // Asynchronous errors, e.g. an ICMP port-unreachable for an earlier send:
          // normal on a LAN, and fatal to the process if not handled here.
          const error = args[args.length - 1] as { code?: string; message?: string } | undefined;
          log.debug(`UDP ${formatEndpoint(address, port)}: ignored ${error?.code ?? error?.message ?? String(error)}`);
        },
      },
    });
  } catch (error) {
    throw toNetError(error, "UDP bind", address, port);
  }
  holder.socket = new BunDatagramSocket(socket, { address, port: socket.port, family });
  return holder.socket;
}

// --- TCP -------------------------------------------------------------------------------

/** What `socket.data` holds: the connection, or (while dialling) whether the dial was given up. */
interface SocketSlot {
  connection?: BunStreamConnection;
  abandoned?: boolean;
}

/** Bytes that Bun has not accepted yet, and who waits for them. */
interface PendingWrite {
  data: Uint8Array;
  resolve(): void;
  reject(error: NetError): void;
}

class BunStreamConnection implements StreamConnection {
  readonly localAddress: NetAddr;
  readonly remoteAddress: NetAddr;
  readonly #socket: BunTcpSocket;
  readonly #chunks: Uint8Array[] = [];
  #queuedBytes = 0;
  #paused = false;
  #reader: { resolve(chunk: Uint8Array | null): void; reject(error: NetError): void } | undefined;
  /** The peer sent FIN. */
  #ended = false;
  /** Bun closed the socket (its `close` handler ran). */
  #gone = false;
  /** The runtime reported a failure (reset, broken pipe); reads and writes see it. */
  #failure: NetError | undefined;
  #closedLocally = false;
  readonly #writes: PendingWrite[] = [];
  /** Settles when every write so far is accepted (or failed); closeWrite() waits for it. */
  #lastWrite: Promise<void> = Promise.resolve();
  #writeEnd: Promise<void> | undefined;

  constructor(socket: BunTcpSocket) {
    this.#socket = socket;
    this.localAddress = {
      address: socket.localAddress,
      port: socket.localPort,
      family: addressFamily(socket.localAddress),
    };
    this.remoteAddress = {
      address: socket.remoteAddress,
      port: socket.remotePort,
      family: addressFamily(socket.remoteAddress),
    };
    // RPC frames are written whole; Nagle would only delay small replies.
    socket.setNoDelay?.(true);
  }

  get #endpoint(): string {
    return formatEndpoint(this.remoteAddress.address, this.remoteAddress.port);
  }

  #error(cause: unknown, action: string): NetError {
    return toNetError(cause, action, this.remoteAddress.address, this.remoteAddress.port);
  }

  // Bun events -------------------------------------------------------------------------

  onData(data: Uint8Array): void {
    if (this.#closedLocally) return;
    const chunk = asBytes(data);
    const reader = this.#reader;
    if (reader) {
      this.#reader = undefined;
      reader.resolve(chunk);
      return;
    }
    this.#chunks.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    if (!this.#paused && this.#queuedBytes > READ_HIGH_WATER) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  onEnd(): void {
    this.#ended = true;
    this.#settleReader();
  }

  onError(cause: unknown): void {
    this.#failure ??= this.#error(cause, "TCP connection with");
    this.#settleReader();
    this.#failWrites(this.#failure);
  }

  onClose(cause: unknown): void {
    this.#gone = true;
    if (cause !== undefined && cause !== null) this.#failure ??= this.#error(cause, "TCP connection with");
    // A clean close without a prior `end` event still means the peer is done.
    if (!this.#failure) this.#ended = true;
    this.#settleReader();
    this.#failWrites(
      this.#failure ??
        new NetError(
          "CONNECTION_RESET",
          `CONNECTION_RESET: TCP write to ${this.#endpoint}: the connection closed before all bytes were sent.`,
          { address: this.remoteAddress.address, port: this.remoteAddress.port },
        ),
    );
  }

  onDrain(): void {
    while (this.#writes.length > 0) {
      const head = this.#writes[0];
      const written = this.#socket.write(head.data);
      if (written < 0) {
        this.#failWrites(this.#brokenWrite());
        return;
      }
      if (written < head.data.byteLength) {
        head.data = head.data.subarray(written); // Bun keeps no copy: we keep the rest
        return;
      }
      this.#writes.shift();
      head.resolve();
    }
  }

  // StreamConnection -------------------------------------------------------------------

  read(): Promise<Uint8Array | null> {
    if (this.#closedLocally) return Promise.reject(closedError("TCP read from", ...this.#where()));
    if (this.#reader) {
      return Promise.reject(
        new NetError("OTHER", `OTHER: TCP read from ${this.#endpoint}: a read() is already pending; await it first.`),
      );
    }
    const chunk = this.#chunks.shift();
    if (chunk) {
      this.#queuedBytes -= chunk.byteLength;
      if (this.#paused && this.#queuedBytes <= READ_LOW_WATER && !this.#gone) {
        this.#paused = false;
        this.#socket.resume();
      }
      return Promise.resolve(chunk);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  write(data: Uint8Array): Promise<void> {
    const refused = this.#writeRefusal();
    if (refused) return Promise.reject(refused);
    if (data.byteLength === 0) return Promise.resolve();
    let rest = data;
    if (this.#writes.length === 0) {
      const written = this.#socket.write(data);
      if (written < 0) return Promise.reject(this.#brokenWrite());
      if (written === data.byteLength) return Promise.resolve();
      rest = data.subarray(written);
    }
    const promise = new Promise<void>((resolve, reject) => {
      this.#writes.push({ data: rest, resolve, reject });
    });
    this.#lastWrite = promise.catch(() => {});
    return promise;
  }

  closeWrite(): Promise<void> {
    if (this.#writeEnd) return this.#writeEnd;
    if (this.#closedLocally) return Promise.reject(closedError("TCP closeWrite to", ...this.#where()));
    this.#writeEnd = this.#lastWrite.then(() => {
      if (this.#closedLocally) throw closedError("TCP closeWrite to", ...this.#where());
      if (this.#writes.length > 0 || this.#failure) throw this.#failure ?? this.#brokenWrite();
      // shutdown() sends FIN after the bytes the kernel holds; reading goes on.
      if (!this.#gone) this.#socket.shutdown();
    });
    return this.#writeEnd;
  }

  close(): Promise<void> {
    if (this.#closedLocally) return Promise.resolve();
    this.#closedLocally = true;
    const closed = closedError("TCP connection with", ...this.#where());
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(closed);
    this.#failWrites(closed);
    this.#chunks.length = 0;
    this.#queuedBytes = 0;
    // end(): FIN and release; the peer reads end of stream (or a reset if it keeps writing).
    if (!this.#gone) this.#socket.end();
    return Promise.resolve();
  }

  // helpers ----------------------------------------------------------------------------

  #where(): [string, number] {
    return [this.remoteAddress.address, this.remoteAddress.port];
  }

  #writeRefusal(): NetError | undefined {
    if (this.#closedLocally) return closedError("TCP write to", ...this.#where());
    if (this.#writeEnd) {
      return new NetError(
        "CLOSED",
        `CLOSED: TCP write to ${this.#endpoint}: closeWrite() was called, this side sends no more bytes.`,
        { address: this.remoteAddress.address, port: this.remoteAddress.port },
      );
    }
    if (this.#failure) return this.#failure;
    if (this.#gone) return this.#brokenWrite();
    return undefined;
  }

  #brokenWrite(): NetError {
    return this.#failure ??
      new NetError(
        "CONNECTION_RESET",
        `CONNECTION_RESET: TCP write to ${this.#endpoint}: the connection is closed; the bytes were not sent.`,
        { address: this.remoteAddress.address, port: this.remoteAddress.port },
      );
  }

  #settleReader(): void {
    const reader = this.#reader;
    if (!reader) return; // a pending reader implies an empty queue
    this.#reader = undefined;
    if (this.#failure) reader.reject(this.#failure);
    else reader.resolve(null);
  }

  #failWrites(error: NetError): void {
    for (const pending of this.#writes.splice(0)) pending.reject(error);
  }
}

/** Bun handlers that route each event to the connection stored in `socket.data`. */
function streamHandlers(onOpen: (socket: BunTcpSocket) => void): BunTcpHandler {
  return {
    open: onOpen,
    data: (socket, data) => socket.data?.connection?.onData(data),
    drain: (socket) => socket.data?.connection?.onDrain(),
    end: (socket) => socket.data?.connection?.onEnd(),
    close: (socket, error) => socket.data?.connection?.onClose(error),
    error: (socket, error) => socket.data?.connection?.onError(error),
    // Present so a failed dial rejects only our awaited promise (Bun otherwise also
    // reports it as an unhandled rejection); the error arrives through that promise.
    connectError: () => {},
  };
}

class BunStreamListener implements StreamListener {
  readonly localAddress: NetAddr;
  readonly #server: BunTcpListener;
  #closed = false;

  constructor(server: BunTcpListener, localAddress: NetAddr) {
    this.#server = server;
    this.localAddress = localAddress;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#server.stop(false); // false: accepted connections stay open
    return Promise.resolve();
  }
}

function listen(
  bun: BunNet,
  options: ListenOptions,
  onConnection: (connection: StreamConnection) => void,
): Promise<StreamListener> {
  const { address, port } = options;
  const handlers = streamHandlers((socket) => {
    const connection = new BunStreamConnection(socket);
    socket.data = { connection };
    deliver(() => onConnection(connection));
  });
  try {
    // exclusive: no SO_REUSEPORT, so a busy port fails instead of being shared.
    const server = bun.listen({ hostname: address, port, exclusive: true, allowHalfOpen: true, socket: handlers });
    return Promise.resolve(
      new BunStreamListener(server, { address, port: server.port, family: addressFamily(address) }),
    );
  } catch (error) {
    return Promise.reject(toNetError(error, "TCP listen on", address, port));
  }
}

/** One handler set for every dial: `open` adopts the socket or, after a timeout, drops it. */
const dialHandlers = streamHandlers((socket) => {
  const slot = socket.data;
  if (!slot || slot.abandoned) {
    socket.terminate();
    return;
  }
  slot.connection = new BunStreamConnection(socket);
});

async function connect(bun: BunNet, options: ConnectOptions): Promise<StreamConnection> {
  const { address, port, timeoutMs } = options;
  const slot: SocketSlot = {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // allowHalfOpen: the peer's FIN must not close our side; we may still answer.
    const dial = bun.connect({ hostname: address, port, allowHalfOpen: true, data: slot, socket: dialHandlers });
    let socket: BunTcpSocket;
    if (timeoutMs === undefined) {
      socket = await dial;
    } else {
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          slot.abandoned = true; // a late `open` closes the socket at once
          reject(
            new NetError(
              "TIMED_OUT",
              `TIMED_OUT: TCP connect ${formatEndpoint(address, port)}: no answer within ${timeoutMs} ms. ` +
                "Check that the peer is running and reachable.",
              { address, port },
            ),
          );
        }, Math.max(0, timeoutMs));
      });
      dial.catch(() => {}); // after a timeout the dial's own failure is of no interest
      socket = await Promise.race([dial, expired]);
    }
    slot.connection ??= new BunStreamConnection(socket);
    return slot.connection;
  } catch (error) {
    throw toNetError(error, "TCP connect", address, port);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------

/**
 * Creates the Bun socket adapter.
 *
 * @returns A {@linkcode SocketRuntime} on `Bun.udpSocket`, `Bun.listen` and `Bun.connect`.
 * @throws {NetError} code `"UNSUPPORTED"` when not running under Bun (use `autoRuntime()`).
 *
 * @example
 * ```ts
 * import { bunRuntime } from "./bun.ts";
 * const runtime = bunRuntime();
 * const socket = await runtime.bindDatagram({ address: "0.0.0.0", port: 0 }, (m) => {
 *   console.log(`${m.data.length} bytes from ${m.address}:${m.port}`);
 * });
 * await socket.close();
 * ```
 */
export function bunRuntime(): SocketRuntime {
  const bun = bunGlobal();
  return {
    name: "bun",
    bindDatagram: (options, onMessage) => bindDatagram(bun, options, onMessage),
    listen: (options, onConnection) => listen(bun, options, onConnection),
    connect: (options) => connect(bun, options),
    networkInterfaces: (): NetworkInterface[] => listInterfaces(),
  };
}
