/**
 * The Node adapter: {@linkcode SocketRuntime} on `node:dgram` and `node:net`.
 *
 * It is also the fallback under Deno (when the unstable net API is off) and works under
 * Bun, so it keeps to the parts of those modules that all three runtimes implement.
 *
 * Upstream docs relied on:
 * - https://nodejs.org/api/dgram.html (createSocket reuseAddr, bind, send, addMembership,
 *   dropMembership, setMulticastInterface, setMulticastTTL, setMulticastLoopback)
 * - https://nodejs.org/api/net.html (createServer/connect with allowHalfOpen, Socket
 *   pause/resume, write callback, end, destroy, 'end'/'close'/'error' events)
 * - https://nodejs.org/api/stream.html#writablewritechunk-encoding-callback
 *
 * @module
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
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
  type SocketRuntime,
  type StreamConnection,
  type StreamListener,
} from "../src/net.ts";
import { toNetError } from "../src/net_errors.ts";
import { createLogger } from "../src/log.ts";
import { listInterfaces } from "./_interfaces.ts";

/**
 * Bytes a connection may hold unread before it stops reading from the OS
 * (socket.pause()); reading resumes once the queue drains below half of it.
 */
const READ_QUEUE_HIGH_WATER = 1024 * 1024;

const log = createLogger("peerlink node adapter");

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) -> `1.2.3.4`, so peers compare equal. */
function unmapAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

function netAddr(address: string | undefined, port: number | undefined): NetAddr {
  const plain = unmapAddress(address ?? "");
  return { address: plain, port: port ?? 0, family: addressFamily(plain) };
}

/**
 * Hands on received bytes as a Uint8Array without copying when the Buffer owns its whole
 * ArrayBuffer (Node allocates one per read). A view into a larger buffer (a pool, or a
 * runtime's reused receive buffer) is copied, so the receiver may keep the bytes safely
 * and a small message never pins a large buffer.
 */
function ownedBytes(chunk: Uint8Array): Uint8Array {
  if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) {
    return new Uint8Array(chunk.buffer, 0, chunk.byteLength);
  }
  return new Uint8Array(chunk);
}

function closedError(action: string, address?: string, port?: number): NetError {
  const where = address !== undefined && port !== undefined ? ` ${formatEndpoint(address, port)}` : "";
  return new NetError("CLOSED", `CLOSED: ${action}${where}: the socket is closed. Open a new one.`, { address, port });
}

/**
 * node:dgram names an IPv6 multicast interface by a scoped wildcard, `"::%eth0"`; libuv
 * reads the scope with if_nametoindex() (so an index must become its name first, else it
 * silently means "any"). An interface name or index is turned into that form.
 */
function ipv6Interface(iface: string | undefined): string | undefined {
  if (iface === undefined || iface === "" || iface.includes(":")) return iface;
  if (/^\d+$/.test(iface)) {
    const index = Number(iface);
    const owner = listInterfaces().find((i) => i.addresses.some((a) => a.family === "IPv6" && a.scopeId === index));
    if (!owner) {
      throw new NetError(
        "ADDR_NOT_AVAILABLE",
        `ADDR_NOT_AVAILABLE: IPv6 multicast interface index ${index}: no interface with IPv6 has it. ` +
          'Pass the name of a local interface (e.g. "eth0").',
        { address: iface },
      );
    }
    return `::%${owner.name}`;
  }
  return `::%${iface}`;
}

class NodeDatagramSocket implements DatagramSocket {
  readonly localAddress: NetAddr;
  #socket: dgram.Socket;
  #closing: Promise<void> | undefined;

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    const bound = socket.address();
    this.localAddress = netAddr(bound.address, bound.port);
  }

  send(data: Uint8Array, address: string, port: number): Promise<void> {
    if (this.#closing) return Promise.reject(closedError("UDP send to", address, port));
    return new Promise((resolve, reject) => {
      try {
        this.#socket.send(data, port, address, (error) => {
          if (error) reject(toNetError(error, "UDP send to", address, port));
          else resolve();
        });
      } catch (error) {
        reject(toNetError(error, "UDP send to", address, port));
      }
    });
  }

  #membership(action: "join" | "leave", group: string, interfaceAddress?: string): Promise<void> {
    const what = `UDP ${action} multicast group ${group} on ${interfaceAddress ?? "the default interface"}`;
    if (this.#closing) return Promise.reject(closedError(what));
    try {
      const iface = addressFamily(group) === "IPv6" ? ipv6Interface(interfaceAddress) : interfaceAddress;
      if (action === "join") this.#socket.addMembership(group, iface);
      else this.#socket.dropMembership(group, iface);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(toNetError(error, what));
    }
  }

  /**
   * Joins a multicast group.
   *
   * @param group IPv4 or IPv6 group, e.g. `"224.0.0.251"` or `"ff02::fb"`.
   * @param interfaceAddress IPv4: the local address of the interface. IPv6: the interface
   *   name or index (`"eth0"`, `"2"`), or `"::%eth0"` as node:dgram takes it.
   * @returns Resolves once joined.
   */
  joinMulticast(group: string, interfaceAddress?: string): Promise<void> {
    return this.#membership("join", group, interfaceAddress);
  }

  leaveMulticast(group: string, interfaceAddress?: string): Promise<void> {
    return this.#membership("leave", group, interfaceAddress);
  }

  #option(what: string, apply: () => void): Promise<void> {
    if (this.#closing) return Promise.reject(closedError(what));
    try {
      apply();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(toNetError(error, what));
    }
  }

  /**
   * Selects the interface outgoing multicast leaves from.
   *
   * @param interfaceAddress IPv4 socket: the local address of the interface. IPv6 socket: its
   *   name or index (`"eth0"`, `"2"`), or `"::%eth0"`.
   * @returns Resolves once set.
   */
  setMulticastInterface(interfaceAddress: string): Promise<void> {
    return this.#option(
      `UDP set multicast interface ${interfaceAddress}`,
      () =>
        this.#socket.setMulticastInterface(
          this.localAddress.family === "IPv6" ? ipv6Interface(interfaceAddress) ?? "::" : interfaceAddress,
        ),
    );
  }

  setMulticastTTL(ttl: number): Promise<void> {
    return this.#option(`UDP set multicast TTL ${ttl}`, () => this.#socket.setMulticastTTL(ttl));
  }

  setMulticastLoopback(enabled: boolean): Promise<void> {
    return this.#option(
      `UDP set multicast loopback ${enabled}`,
      () => this.#socket.setMulticastLoopback(enabled),
    );
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // already closed by the runtime
      }
    });
    return this.#closing;
  }
}

function bindDatagram(options: DatagramBindOptions, onMessage: (message: Datagram) => void): Promise<DatagramSocket> {
  const { address, port } = options;
  return new Promise((resolve, reject) => {
    let socket: dgram.Socket;
    try {
      const v6 = addressFamily(address) === "IPv6";
      socket = dgram.createSocket({
        type: v6 ? "udp6" : "udp4",
        reuseAddr: options.reuseAddress === true,
        // IPv6 only (as in the Bun adapter): an IPv4 and an IPv6 socket can then share a
        // port such as 5353, each seeing its own family only.
        ipv6Only: v6,
      });
    } catch (error) {
      reject(toNetError(error, "UDP bind", address, port));
      return;
    }
    const onBindError = (error: Error) => {
      try {
        socket.close();
      } catch {
        // never bound: nothing to close
      }
      reject(toNetError(error, "UDP bind", address, port));
    };
    socket.once("error", onBindError);
    socket.on("message", (message: Uint8Array, rinfo: dgram.RemoteInfo) => {
      try {
        onMessage({ data: ownedBytes(message), address: unmapAddress(rinfo.address), port: rinfo.port });
      } catch (error) {
        // A throwing handler must not take the socket (or the process) down.
        log.error(`datagram handler threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      }
    });
    socket.bind({ address, port }, () => {
      socket.off("error", onBindError);
      // Later socket errors surface through send() callbacks; an 'error' listener must stay
      // attached or Node treats the event as an uncaught exception.
      socket.on("error", (error) => log.debug(`UDP ${formatEndpoint(address, port)}: ${error.message}`));
      resolve(new NodeDatagramSocket(socket));
    });
  });
}

/** A pending read() waiting for data, end of stream, an error or close(). */
interface ReadWaiter {
  resolve(chunk: Uint8Array | null): void;
  reject(error: NetError): void;
}

class NodeStreamConnection implements StreamConnection {
  readonly localAddress: NetAddr;
  readonly remoteAddress: NetAddr;
  #socket: net.Socket;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #paused = false;
  #ended = false;
  #error: NetError | undefined;
  #closed = false;
  #writeEnded: Promise<void> | undefined;
  #waiter: ReadWaiter | undefined;
  #pendingWrites = new Set<(error: NetError) => void>();
  #closeEvent: Promise<void>;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    // RPC frames are written whole: Nagle would only add latency (same as the Bun and Deno adapters).
    socket.setNoDelay(true);
    this.localAddress = netAddr(socket.localAddress, socket.localPort);
    this.remoteAddress = netAddr(socket.remoteAddress, socket.remotePort);
    this.#closeEvent = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Uint8Array) => this.#onData(ownedBytes(chunk)));
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (error) => {
      this.#error ??= toNetError(error, "TCP", this.remoteAddress.address, this.remoteAddress.port);
      this.#failWrites(this.#error);
      this.#wake();
    });
    socket.on("close", () => {
      // Closed without 'end' or 'error' (e.g. destroyed by the runtime): no more data will come.
      if (!this.#error && !this.#ended) this.#ended = true;
      this.#failWrites(closedError("TCP write to", this.remoteAddress.address, this.remoteAddress.port));
      this.#wake();
    });
  }

  #onData(chunk: Uint8Array): void {
    const waiter = this.#waiter;
    if (waiter && this.#queue.length === 0) {
      this.#waiter = undefined;
      waiter.resolve(chunk);
      return;
    }
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    if (!this.#paused && this.#queuedBytes >= READ_QUEUE_HIGH_WATER) {
      // Backpressure: stop reading from the OS until the application catches up.
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /** Settles a pending read from the current state, if it can be settled. */
  #wake(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    if (this.#queue.length > 0) {
      this.#waiter = undefined;
      waiter.resolve(this.#shift());
    } else if (this.#error) {
      this.#waiter = undefined;
      waiter.reject(this.#error);
    } else if (this.#ended) {
      this.#waiter = undefined;
      waiter.resolve(null);
    }
  }

  #shift(): Uint8Array {
    const chunk = this.#queue.shift()!;
    this.#queuedBytes -= chunk.length;
    if (this.#paused && this.#queuedBytes < READ_QUEUE_HIGH_WATER / 2) {
      this.#paused = false;
      this.#socket.resume();
    }
    return chunk;
  }

  #failWrites(error: NetError): void {
    for (const fail of this.#pendingWrites) fail(error);
    this.#pendingWrites.clear();
  }

  read(): Promise<Uint8Array | null> {
    const { address, port } = this.remoteAddress;
    if (this.#closed) return Promise.reject(closedError("TCP read from", address, port));
    if (this.#waiter) {
      return Promise.reject(
        new NetError(
          "OTHER",
          `OTHER: TCP read from ${formatEndpoint(address, port)}: a read is already pending. Await it first.`,
          {
            address,
            port,
          },
        ),
      );
    }
    if (this.#queue.length > 0) return Promise.resolve(this.#shift());
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  write(data: Uint8Array): Promise<void> {
    const { address, port } = this.remoteAddress;
    if (this.#closed || this.#writeEnded) return Promise.reject(closedError("TCP write to", address, port));
    if (this.#error) return Promise.reject(this.#error);
    if (data.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = (error: NetError) => reject(error);
      this.#pendingWrites.add(fail);
      // The callback runs once Node has handed these bytes to the OS: the caller may then
      // reuse the buffer, and awaiting every write keeps Node's queue (and memory) bounded.
      this.#socket.write(data, (error) => {
        this.#pendingWrites.delete(fail);
        if (error) reject(this.#error ?? toNetError(error, "TCP write to", address, port));
        else resolve();
      });
    });
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#writeEnded ??= new Promise<void>((resolve, reject) => {
      const fail = (error: NetError) => reject(error);
      this.#pendingWrites.add(fail);
      // end() sends FIN after the queued writes; its callback runs on 'finish'.
      this.#socket.end(() => {
        this.#pendingWrites.delete(fail);
        resolve();
      });
    });
    return this.#writeEnded;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const { address, port } = this.remoteAddress;
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.reject(closedError("TCP read from", address, port));
      this.#failWrites(closedError("TCP write to", address, port));
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#socket.destroy();
    }
    return this.#closeEvent;
  }
}

class NodeStreamListener implements StreamListener {
  readonly localAddress: NetAddr;
  #server: net.Server;
  #closed = false;

  constructor(server: net.Server) {
    this.#server = server;
    const bound = server.address() as net.AddressInfo;
    this.localAddress = netAddr(bound.address, bound.port);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // server.close() stops accepting at once; its callback would wait for every accepted
      // connection to end, which the interface does not promise, so it is not awaited.
      this.#server.close();
    }
    return Promise.resolve();
  }
}

function listen(options: ListenOptions, onConnection: (connection: StreamConnection) => void): Promise<StreamListener> {
  const { address, port } = options;
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true });
    const onListenError = (error: Error) => {
      server.close();
      reject(toNetError(error, "TCP listen on", address, port));
    };
    server.once("error", onListenError);
    server.on("connection", (socket: net.Socket) => {
      const connection = new NodeStreamConnection(socket);
      try {
        onConnection(connection);
      } catch (error) {
        log.error(`connection handler threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        void connection.close();
      }
    });
    server.listen({ host: address, port }, () => {
      server.off("error", onListenError);
      server.on("error", (error) => log.debug(`TCP ${formatEndpoint(address, port)}: ${error.message}`));
      resolve(new NodeStreamListener(server));
    });
  });
}

function connect(options: ConnectOptions): Promise<StreamConnection> {
  const { address, port, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const socket = net.connect({ host: address, port, allowHalfOpen: true });
    const settle = () => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.off("connect", onConnect);
    };
    const onError = (error: Error) => {
      settle();
      socket.destroy();
      reject(toNetError(error, "TCP connect to", address, port));
    };
    const onConnect = () => {
      settle();
      resolve(new NodeStreamConnection(socket));
    };
    socket.once("error", onError);
    socket.once("connect", onConnect);
    if (timeoutMs !== undefined && timeoutMs >= 0) {
      timer = setTimeout(() => {
        settle();
        socket.destroy();
        reject(
          new NetError(
            "TIMED_OUT",
            `TIMED_OUT: TCP connect to ${formatEndpoint(address, port)}: no answer within ${timeoutMs} ms. ` +
              "Check that the peer is running and reachable.",
            { address, port },
          ),
        );
      }, timeoutMs);
    }
  });
}

/**
 * Creates the Node adapter (`node:dgram` + `node:net`). Works under Node, and under Deno
 * and Bun through their Node compatibility layers.
 *
 * @returns A {@linkcode SocketRuntime} named `"node"`.
 * @throws {NetError} code `"UNSUPPORTED"` when `node:dgram`/`node:net` are unusable here.
 *
 * @example
 * ```ts
 * import { nodeRuntime } from "./node.ts";
 * const runtime = nodeRuntime();
 * const socket = await runtime.bindDatagram({ address: "127.0.0.1", port: 0 }, (m) => console.log(m));
 * await socket.close();
 * ```
 */
export function nodeRuntime(): SocketRuntime {
  if (typeof dgram.createSocket !== "function" || typeof net.createServer !== "function") {
    throw new NetError(
      "UNSUPPORTED",
      "UNSUPPORTED: runtimes/node.ts needs node:dgram and node:net, which this runtime lacks. " +
        "Use autoRuntime() from runtimes/auto.ts, or pass the adapter for this runtime.",
    );
  }
  return { name: "node", bindDatagram, listen, connect, networkInterfaces: listInterfaces };
}
