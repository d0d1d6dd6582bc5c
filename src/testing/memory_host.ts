/**
 * A virtual host of the in-memory network: one {@linkcode SocketRuntime} with a LAN
 * address, a loopback address, and its own UDP and TCP port tables.
 *
 * @module
 */
import type { TimerId } from "../clock.ts";
import type {
  ConnectOptions,
  Datagram,
  DatagramBindOptions,
  DatagramSocket,
  ListenOptions,
  NetAddr,
  NetworkInterface,
  SocketRuntime,
  StreamConnection,
  StreamListener,
} from "../net.ts";
import type { Fabric } from "./memory_fabric.ts";
import { MemoryDatagramSocket } from "./memory_datagram.ts";
import { closedError, connectTimeoutError } from "../net_errors.ts";
import { netError, netErrorWith, networkClosedError } from "./memory_errors.ts";
import { MemoryStreamConnection, MemoryStreamListener } from "./memory_stream.ts";
import { ANY_IPV4, isIPv4, isLoopbackIPv4, isPort, LOOPBACK_IPV4 } from "../ipv4.ts";

/** First port handed out for port 0 (IANA's dynamic range, 49152-65535). */
export const EPHEMERAL_PORT_FIRST = 49152;

/** How long `connect()` waits for an unreachable host without `timeoutMs`: Linux's SYN retry window (~127 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 127_000;

/** Options for `MemoryNetwork.host()`. */
export interface MemoryHostOptions {
  /** Name of the host's LAN interface in `networkInterfaces()` (default `"mem0"`). */
  interfaceName?: string;
  /** Netmask of the LAN address (default `"255.255.255.0"`). */
  netmask?: string;
}

/** A virtual host: a {@linkcode SocketRuntime} plus what tests need to steer it. */
export interface MemoryHost extends SocketRuntime {
  /** The host's LAN address, e.g. `"10.0.0.1"`. */
  readonly address: string;
  /**
   * Closes every socket, listener and connection opened on this host and rejects pending
   * connects with `CLOSED`, as if its process exited. Peers see their streams end (EOF).
   * The host stays usable.
   *
   * @returns Resolves when everything is closed.
   */
  closeAll(): Promise<void>;
}

interface PendingConnect {
  readonly timer: TimerId;
  readonly reject: (error: unknown) => void;
  readonly retry: () => boolean;
}

/** The implementation of {@linkcode MemoryHost}; its extra methods serve the network. */
export class VirtualHost implements MemoryHost {
  /** Adapter name for logs. */
  readonly name = "memory";
  /** The host's LAN address. */
  readonly address: string;
  readonly #interfaceName: string;
  readonly #netmask: string;
  readonly #fabric: Fabric;
  /** Open UDP sockets in bind order (unicast goes to the last bound, as on Linux). */
  readonly #datagramSockets: MemoryDatagramSocket[] = [];
  readonly #listeners: MemoryStreamListener[] = [];
  readonly #connections = new Set<MemoryStreamConnection>();
  readonly #pendingConnects = new Set<PendingConnect>();
  #nextEphemeral = EPHEMERAL_PORT_FIRST;

  /**
   * Creates a host; use `MemoryNetwork.host()` instead.
   *
   * @param address LAN address (validated by the network).
   * @param options Interface name and netmask.
   * @param fabric The network.
   */
  constructor(address: string, options: MemoryHostOptions, fabric: Fabric) {
    this.address = address;
    this.#interfaceName = options.interfaceName ?? "mem0";
    this.#netmask = options.netmask ?? "255.255.255.0";
    this.#fabric = fabric;
  }

  /**
   * The host's interfaces: loopback `lo` (127.0.0.1) and one multicast-capable LAN interface.
   *
   * @returns Two interfaces, loopback first as on Linux.
   */
  networkInterfaces(): NetworkInterface[] {
    return [
      {
        name: "lo",
        addresses: [{ address: LOOPBACK_IPV4, family: "IPv4", netmask: "255.0.0.0" }],
        internal: true,
        multicast: false,
      },
      {
        name: this.#interfaceName,
        addresses: [{ address: this.address, family: "IPv4", netmask: this.#netmask }],
        internal: false,
        multicast: true,
      },
    ];
  }

  /**
   * Binds a UDP socket. `0.0.0.0` means all of the host's addresses; port 0 picks a free
   * port from 49152 up. A port already bound (on an overlapping address) fails with
   * `ADDR_IN_USE` unless both sockets ask for `reuseAddress`.
   *
   * @param options Address, port, reuseAddress.
   * @param onMessage Receives each datagram.
   * @returns The socket.
   */
  bindDatagram(options: DatagramBindOptions, onMessage: (message: Datagram) => void): Promise<DatagramSocket> {
    const action = "UDP bind";
    const { address, port } = options ?? {};
    const reuse = options?.reuseAddress === true;
    const failure = this.#checkBind(action, address, port);
    if (failure) return Promise.reject(failure);
    if (typeof onMessage !== "function") {
      return Promise.reject(netErrorWith("OTHER", action, "onMessage must be a function.", address, port));
    }
    const taken = (p: number) =>
      this.#datagramSockets.some((s) =>
        s.localAddress.port === p && overlaps(s.localAddress.address, address) && !(reuse && s.reuseAddress)
      );
    const chosen = port === 0 ? this.#ephemeralPort(taken) : port;
    if (chosen === undefined || taken(chosen)) return Promise.reject(netError("ADDR_IN_USE", action, address, port));
    const socket = new MemoryDatagramSocket(this, this.#fabric, netAddr(address, chosen), reuse, onMessage);
    this.#datagramSockets.push(socket);
    return Promise.resolve(socket);
  }

  /**
   * Listens for TCP connections. A port with a listener on an overlapping address fails
   * with `ADDR_IN_USE`.
   *
   * @param options Address and port (0 picks a free one).
   * @param onConnection Receives each accepted connection.
   * @returns The listener.
   */
  listen(options: ListenOptions, onConnection: (connection: StreamConnection) => void): Promise<StreamListener> {
    const action = "TCP listen";
    const { address, port } = options ?? {};
    const failure = this.#checkBind(action, address, port);
    if (failure) return Promise.reject(failure);
    if (typeof onConnection !== "function") {
      return Promise.reject(netErrorWith("OTHER", action, "onConnection must be a function.", address, port));
    }
    const taken = (p: number) =>
      this.#listeners.some((l) => l.localAddress.port === p && overlaps(l.localAddress.address, address));
    const inUse = (p: number) => taken(p) || [...this.#connections].some((c) => c.localAddress.port === p);
    const chosen = port === 0 ? this.#ephemeralPort(inUse) : port;
    if (chosen === undefined || taken(chosen)) return Promise.reject(netError("ADDR_IN_USE", action, address, port));
    const listener = new MemoryStreamListener(netAddr(address, chosen), onConnection, (l) => {
      this.#listeners.splice(this.#listeners.indexOf(l), 1);
    });
    this.#listeners.push(listener);
    return Promise.resolve(listener);
  }

  /**
   * Opens a TCP connection. No listener on the target port: rejects `CONNECTION_REFUSED`
   * at once. Target host detached (or no host has the address): waits `timeoutMs` on the
   * network clock (default 127 s) and rejects `TIMED_OUT`, unless the host is attached
   * (or created) meanwhile, in which case the connect proceeds then.
   *
   * @param options Address, port, timeoutMs.
   * @returns The connection.
   */
  connect(options: ConnectOptions): Promise<StreamConnection> {
    const action = "TCP connect";
    const { address, port, timeoutMs } = options ?? {};
    if (this.#fabric.isClosed()) return Promise.reject(networkClosedError(action));
    const bad = checkRemote(action, address, port);
    if (bad) return Promise.reject(bad);
    if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs >= 0)) {
      return Promise.reject(
        netErrorWith("OTHER", action, `timeoutMs must be a number >= 0, got ${String(timeoutMs)}.`, address, port),
      );
    }
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const target = this.#route(address);
        if (!target) return false;
        const listener = target.host.#listenerFor(port, target.destination);
        if (!listener) {
          reject(netError("CONNECTION_REFUSED", action, address, port));
          return true;
        }
        const [client, server] = this.#open(target.host, target.source, target.destination, port);
        queueMicrotask(() => {
          if (listener.open) listener.accept(server);
          else void server.close(); // The listener closed before accepting: the dialler sees EOF.
        });
        resolve(client);
        return true;
      };
      if (attempt()) return;
      const limitMs = timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      const pending: PendingConnect = {
        timer: this.#fabric.clock.setTimeout(() => {
          this.#pendingConnects.delete(pending);
          reject(connectTimeoutError(address, port, limitMs));
        }, limitMs),
        reject,
        retry: attempt,
      };
      this.#pendingConnects.add(pending);
    });
  }

  /**
   * Closes everything opened on this host (see {@linkcode MemoryHost.closeAll}).
   *
   * @returns Resolves when everything is closed.
   */
  async closeAll(): Promise<void> {
    for (const pending of [...this.#pendingConnects]) {
      this.#fabric.clock.clearTimeout(pending.timer);
      pending.reject(closedError("TCP connect"));
    }
    this.#pendingConnects.clear();
    this.interruptReads(); // Our own pending reads fail CLOSED even if a peer's close reaches them first.
    await Promise.all([
      ...[...this.#datagramSockets].map((s) => s.close()),
      ...[...this.#listeners].map((l) => l.close()),
      ...[...this.#connections].map((c) => c.close()),
    ]);
  }

  /** Rejects every pending stream read on this host with `CLOSED` (first step of `MemoryNetwork.close()`). */
  interruptReads(): void {
    for (const connection of this.#connections) connection.interruptRead();
  }

  /** Retries connects waiting for an unreachable host (called when a host appears or is attached). */
  retryConnects(): void {
    for (const pending of [...this.#pendingConnects]) {
      if (pending.retry()) {
        this.#fabric.clock.clearTimeout(pending.timer);
        this.#pendingConnects.delete(pending);
      }
    }
  }

  /** Lets stream reads that waited for the link proceed (called when a host is attached). */
  wakeStreams(): void {
    for (const connection of this.#connections) connection.wake();
  }

  /**
   * The socket that receives unicast to `destination:port`: an exact address match beats
   * `0.0.0.0`, and among equals the last bound wins, as on Linux with SO_REUSEADDR.
   *
   * @param port Destination port.
   * @param destination Destination address (the host's LAN address or 127.0.0.1).
   * @returns The receiving socket, if any.
   */
  unicastReceiver(port: number, destination: string): MemoryDatagramSocket | undefined {
    let wildcard: MemoryDatagramSocket | undefined;
    for (let i = this.#datagramSockets.length - 1; i >= 0; i--) {
      const socket = this.#datagramSockets[i];
      if (socket.localAddress.port !== port) continue;
      if (socket.localAddress.address === destination) return socket;
      if (socket.localAddress.address === ANY_IPV4) wildcard ??= socket;
    }
    return wildcard;
  }

  /**
   * The sockets that receive multicast to `group:port` arriving on the interface with
   * address `interfaceAddress`: those bound to that port (on `0.0.0.0` or the group) that
   * joined the group on that interface.
   *
   * @param group Multicast group.
   * @param port Destination port.
   * @param interfaceAddress The arrival interface's address.
   * @returns Receivers in bind order.
   */
  multicastReceivers(group: string, port: number, interfaceAddress: string): MemoryDatagramSocket[] {
    return this.#datagramSockets.filter((s) =>
      s.localAddress.port === port &&
      (s.localAddress.address === ANY_IPV4 || s.localAddress.address === group) &&
      s.isMember(group, interfaceAddress)
    );
  }

  /**
   * Removes a closed socket from the port table.
   *
   * @param socket The socket.
   */
  forgetDatagramSocket(socket: MemoryDatagramSocket): void {
    const index = this.#datagramSockets.indexOf(socket);
    if (index >= 0) this.#datagramSockets.splice(index, 1);
  }

  /** Where a connect to `address` goes: the host, and the source/destination addresses used. */
  #route(address: string): { host: VirtualHost; source: string; destination: string } | undefined {
    if (isLoopbackIPv4(address)) return { host: this, source: LOOPBACK_IPV4, destination: LOOPBACK_IPV4 };
    if (address === this.address) return { host: this, source: this.address, destination: this.address };
    const host = this.#fabric.findHost(address);
    if (!host || !this.#fabric.linkUp(this, host)) return undefined;
    return { host, source: this.address, destination: address };
  }

  #listenerFor(port: number, destination: string): MemoryStreamListener | undefined {
    return this.#listeners.find((l) =>
      l.localAddress.port === port && (l.localAddress.address === ANY_IPV4 || l.localAddress.address === destination)
    );
  }

  #open(
    server: VirtualHost,
    source: string,
    destination: string,
    port: number,
  ): [MemoryStreamConnection, MemoryStreamConnection] {
    const busy = (p: number) =>
      [...this.#connections].some((c) => c.localAddress.port === p) ||
      this.#listeners.some((l) => l.localAddress.port === p);
    const localPort = this.#ephemeralPort(busy) ?? 0;
    const [client, accepted] = MemoryStreamConnection.pair({
      client: netAddr(source, localPort),
      server: netAddr(destination, port),
      highWaterMark: this.#fabric.highWaterMark,
      linkUp: () => this.#fabric.linkUp(this, server),
      onClientClose: (c) => this.#connections.delete(c),
      onServerClose: (c) => server.#connections.delete(c),
    });
    this.#connections.add(client);
    server.#connections.add(accepted);
    return [client, accepted];
  }

  #checkBind(action: string, address: unknown, port: unknown): Error | undefined {
    if (this.#fabric.isClosed()) return networkClosedError(action);
    if (typeof address === "string" && address.includes(":")) {
      return netErrorWith(
        "UNSUPPORTED",
        action,
        "the memory network is IPv4-only. Bind 0.0.0.0 or an IPv4 address of this host.",
        address,
        isPort(port, true) ? port : undefined,
      );
    }
    if (!isPort(port, true)) {
      return netErrorWith("OTHER", action, `port must be an integer 0-65535, got ${String(port)}.`, String(address));
    }
    if (address !== ANY_IPV4 && address !== LOOPBACK_IPV4 && address !== this.address) {
      const shown = isIPv4(address) ? address : String(address);
      return netErrorWith(
        "ADDR_NOT_AVAILABLE",
        action,
        `host ${this.address} has no address ${shown}. Bind ${ANY_IPV4}, ${this.address} or ${LOOPBACK_IPV4}.`,
        shown,
        port,
      );
    }
    return undefined;
  }

  /** The next free port from 49152 up (wrapping), or undefined when all are taken. */
  #ephemeralPort(taken: (port: number) => boolean): number | undefined {
    const span = 65536 - EPHEMERAL_PORT_FIRST;
    for (let i = 0; i < span; i++) {
      const port = this.#nextEphemeral;
      this.#nextEphemeral = port === 65535 ? EPHEMERAL_PORT_FIRST : port + 1;
      if (!taken(port)) return port;
    }
    return undefined;
  }
}

function netAddr(address: string, port: number): NetAddr {
  return { address, port, family: "IPv4" };
}

/** Whether two bind addresses collide: equal, or either is the wildcard. */
function overlaps(a: string, b: string): boolean {
  return a === b || a === ANY_IPV4 || b === ANY_IPV4;
}

function checkRemote(action: string, address: unknown, port: unknown): Error | undefined {
  if (typeof address === "string" && address.includes(":")) {
    return netErrorWith("UNSUPPORTED", action, "the memory network is IPv4-only. Use an IPv4 address.", address);
  }
  if (!isIPv4(address)) return netErrorWith("OTHER", action, `${String(address)} is not a numeric IPv4 address.`);
  if (!isPort(port, false)) {
    return netErrorWith("OTHER", action, `port must be an integer 1-65535, got ${String(port)}.`, address);
  }
  return undefined;
}
