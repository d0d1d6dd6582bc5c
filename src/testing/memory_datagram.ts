/**
 * A UDP socket on a virtual host of the in-memory network.
 *
 * @module
 */
import type { TimerId } from "../clock.ts";
import type { Datagram, DatagramSocket, NetAddr } from "../net.ts";
import type { Fabric } from "./memory_fabric.ts";
import type { VirtualHost } from "./memory_host.ts";
import { closedError, invalidTtlError } from "../net_errors.ts";
import { netErrorWith, networkClosedError } from "./memory_errors.ts";
import { ANY_IPV4, isIPv4, isLoopbackIPv4, isMulticastIPv4, isPort, LOOPBACK_IPV4 } from "../ipv4.ts";

/** The largest UDP payload over IPv4 (65535 - 20 byte IP header - 8 byte UDP header). */
export const MAX_UDP_PAYLOAD = 65507;

/** Linux's default multicast TTL (IP_MULTICAST_TTL): 1, enough for one LAN. */
const DEFAULT_MULTICAST_TTL = 1;

/**
 * A bound UDP socket of a {@linkcode VirtualHost}. Deliveries come from the network
 * (`MemoryNetwork`), which calls {@linkcode MemoryDatagramSocket.schedule} and
 * {@linkcode MemoryDatagramSocket.deliver}.
 */
export class MemoryDatagramSocket implements DatagramSocket {
  /** The bound address (possibly `0.0.0.0`) and the real port. */
  readonly localAddress: NetAddr;
  /** Whether the socket was bound with `reuseAddress`. */
  readonly reuseAddress: boolean;
  readonly #host: VirtualHost;
  readonly #fabric: Fabric;
  readonly #onMessage: (message: Datagram) => void;
  readonly #memberships = new Set<string>();
  readonly #timers = new Set<TimerId>();
  #open = true;
  #multicastInterface: string | undefined;
  #ttl = DEFAULT_MULTICAST_TTL;
  #loopback = true;

  /**
   * Creates a bound socket (the host has checked the port).
   *
   * @param host The owning host.
   * @param fabric The network.
   * @param localAddress The bound endpoint.
   * @param reuseAddress Whether other sockets may share the port.
   * @param onMessage Receives every delivered datagram.
   */
  constructor(
    host: VirtualHost,
    fabric: Fabric,
    localAddress: NetAddr,
    reuseAddress: boolean,
    onMessage: (message: Datagram) => void,
  ) {
    this.#host = host;
    this.#fabric = fabric;
    this.localAddress = localAddress;
    this.reuseAddress = reuseAddress;
    this.#onMessage = onMessage;
  }

  /** False once closed. */
  get open(): boolean {
    return this.#open;
  }

  /** The local address outgoing multicast leaves from: the chosen one, else the host's LAN address. */
  get multicastInterface(): string {
    return this.#multicastInterface ?? this.#host.address;
  }

  /** The multicast TTL; 0 keeps multicast on this host. */
  get multicastTTL(): number {
    return this.#ttl;
  }

  /** Whether this host's own members receive our multicast (default true, as on real sockets). */
  get multicastLoopback(): boolean {
    return this.#loopback;
  }

  /**
   * Whether the socket joined `group` on the interface with local address `interfaceAddress`.
   *
   * @param group IPv4 multicast group.
   * @param interfaceAddress The host's LAN address or `127.0.0.1`.
   * @returns True when joined and open.
   */
  isMember(group: string, interfaceAddress: string): boolean {
    return this.#open && this.#memberships.has(membershipKey(group, interfaceAddress));
  }

  /**
   * Runs `deliver` after `delayMs` on the network clock (0: in a microtask), unless the
   * socket closes first; closing cancels the timer so no timer outlives the socket.
   *
   * @param deliver The delivery.
   * @param delayMs Delay; 0 or less delivers in a microtask.
   */
  schedule(deliver: () => void, delayMs: number): void {
    if (!this.#open) return;
    if (delayMs <= 0) {
      queueMicrotask(deliver);
      return;
    }
    const clock = this.#fabric.clock;
    const id = clock.setTimeout(() => {
      this.#timers.delete(id);
      deliver();
    }, delayMs);
    this.#timers.add(id);
  }

  /**
   * Hands a datagram to the socket's `onMessage`. An exception thrown by `onMessage`
   * propagates, as an uncaught error in a real runtime's socket callback would.
   *
   * @param message The datagram (its bytes are the receiver's own copy).
   */
  deliver(message: Datagram): void {
    if (this.#open) this.#onMessage(message);
  }

  /**
   * Sends one datagram. Resolves at once: delivery happens later (see `MemoryNetwork`).
   * The payload is copied, so the caller may reuse its buffer.
   *
   * @param data Payload, at most 65,507 bytes.
   * @param address Destination IPv4 address, unicast or multicast.
   * @param port Destination port, 1-65535.
   * @returns Resolves when queued; rejects with a `NetError` (`CLOSED`, `UNREACHABLE`, ...).
   */
  send(data: Uint8Array, address: string, port: number): Promise<void> {
    const action = "UDP send";
    if (this.#fabric.isClosed()) return Promise.reject(networkClosedError(action));
    if (!this.#open) return Promise.reject(closedError(action, address, port));
    if (!(data instanceof Uint8Array)) {
      return Promise.reject(netErrorWith("OTHER", action, "data must be a Uint8Array.", address, port));
    }
    if (data.length > MAX_UDP_PAYLOAD) {
      return Promise.reject(
        netErrorWith(
          "OTHER",
          action,
          `${data.length} bytes > ${MAX_UDP_PAYLOAD}, the largest UDP payload over IPv4. Use a stream for large payloads.`,
          address,
          port,
        ),
      );
    }
    const bad = checkDestination(action, address, port);
    if (bad) return Promise.reject(bad);
    const bound = this.localAddress.address;
    if (isLoopbackIPv4(bound) && !isLoopbackIPv4(address) && !isMulticastIPv4(address)) {
      return Promise.reject(
        netErrorWith(
          "UNREACHABLE",
          action,
          `a socket bound to ${bound} can only reach this host. Bind 0.0.0.0 to reach other hosts.`,
          address,
          port,
        ),
      );
    }
    this.#fabric.route(this.#host, this, data.slice(), address, port);
    return Promise.resolve();
  }

  /**
   * Joins an IPv4 multicast group on one of the host's interfaces. Joining twice is a no-op.
   *
   * @param group Multicast group, e.g. `"224.0.0.251"`.
   * @param interfaceAddress The host's LAN address (default) or `127.0.0.1`.
   * @returns Resolves when joined.
   */
  joinMulticast(group: string, interfaceAddress?: string): Promise<void> {
    return this.#membership("UDP joinMulticast", group, interfaceAddress, true);
  }

  /**
   * Leaves a group; leaving a group not joined is a no-op.
   *
   * @param group Multicast group.
   * @param interfaceAddress The interface it was joined on.
   * @returns Resolves when left.
   */
  leaveMulticast(group: string, interfaceAddress?: string): Promise<void> {
    return this.#membership("UDP leaveMulticast", group, interfaceAddress, false);
  }

  /**
   * Chooses the interface outgoing multicast leaves from. `127.0.0.1` keeps multicast on
   * this host (delivered only through loopback).
   *
   * @param interfaceAddress The host's LAN address, `127.0.0.1`, or `0.0.0.0` for the default.
   * @returns Resolves when set.
   */
  setMulticastInterface(interfaceAddress: string): Promise<void> {
    const action = "UDP setMulticastInterface";
    const failure = this.#checkUsable(action) ?? this.#checkInterface(action, interfaceAddress);
    if (failure) return Promise.reject(failure);
    this.#multicastInterface = interfaceAddress === ANY_IPV4 ? undefined : interfaceAddress;
    return Promise.resolve();
  }

  /**
   * Sets the multicast TTL. 0 keeps multicast on this host; 1 or more reaches every attached host.
   *
   * @param ttl Integer 0-255.
   * @returns Resolves when set.
   */
  setMulticastTTL(ttl: number): Promise<void> {
    const action = "UDP setMulticastTTL";
    const failure = this.#checkUsable(action);
    if (failure) return Promise.reject(failure);
    const invalid = invalidTtlError(ttl, action);
    if (invalid) return Promise.reject(invalid);
    this.#ttl = ttl;
    return Promise.resolve();
  }

  /**
   * Enables or disables receiving our own multicast on this host (sockets of this host,
   * this one included, that joined the group).
   *
   * @param enabled True (the default) to loop multicast back.
   * @returns Resolves when set.
   */
  setMulticastLoopback(enabled: boolean): Promise<void> {
    const failure = this.#checkUsable("UDP setMulticastLoopback");
    if (failure) return Promise.reject(failure);
    this.#loopback = enabled === true;
    return Promise.resolve();
  }

  /**
   * Closes the socket: frees the port, drops memberships, cancels datagrams in flight to
   * it. Idempotent.
   *
   * @returns Resolves when closed.
   */
  close(): Promise<void> {
    if (!this.#open) return Promise.resolve();
    this.#open = false;
    this.#memberships.clear();
    for (const id of this.#timers) this.#fabric.clock.clearTimeout(id);
    this.#timers.clear();
    this.#host.forgetDatagramSocket(this);
    return Promise.resolve();
  }

  #membership(action: string, group: string, interfaceAddress: string | undefined, join: boolean): Promise<void> {
    const failure = this.#checkUsable(action) ?? checkGroup(action, group) ??
      (interfaceAddress === undefined ? undefined : this.#checkInterface(action, interfaceAddress));
    if (failure) return Promise.reject(failure);
    const iface = interfaceAddress === undefined || interfaceAddress === ANY_IPV4
      ? this.#host.address
      : interfaceAddress;
    if (join) this.#memberships.add(membershipKey(group, iface));
    else this.#memberships.delete(membershipKey(group, iface));
    return Promise.resolve();
  }

  #checkUsable(action: string): Error | undefined {
    if (this.#fabric.isClosed()) return networkClosedError(action);
    if (!this.#open) return closedError(action, this.localAddress.address, this.localAddress.port);
    return undefined;
  }

  #checkInterface(action: string, interfaceAddress: string): Error | undefined {
    if (interfaceAddress === ANY_IPV4 || interfaceAddress === LOOPBACK_IPV4) return undefined;
    if (interfaceAddress === this.#host.address) return undefined;
    return netErrorWith(
      "ADDR_NOT_AVAILABLE",
      action,
      `no interface of host ${this.#host.address} has address ${
        String(interfaceAddress)
      }. Use ${this.#host.address} or ${LOOPBACK_IPV4}.`,
    );
  }
}

function membershipKey(group: string, interfaceAddress: string): string {
  return `${group}%${interfaceAddress}`;
}

function checkGroup(action: string, group: string): Error | undefined {
  if (typeof group === "string" && group.includes(":")) {
    return netErrorWith("UNSUPPORTED", action, "the memory network is IPv4-only. Use an IPv4 group.", group);
  }
  if (!isMulticastIPv4(group)) {
    return netErrorWith(
      "OTHER",
      action,
      `${String(group)} is not an IPv4 multicast group (224.0.0.0-239.255.255.255).`,
    );
  }
  return undefined;
}

function checkDestination(action: string, address: string, port: number): Error | undefined {
  if (typeof address === "string" && address.includes(":")) {
    return netErrorWith("UNSUPPORTED", action, "the memory network is IPv4-only. Use an IPv4 address.", address, port);
  }
  if (!isIPv4(address)) {
    return netErrorWith("OTHER", action, `${String(address)} is not a numeric IPv4 address.`);
  }
  if (!isPort(port, false)) {
    return netErrorWith("OTHER", action, `port must be an integer 1-65535, got ${String(port)}.`, address);
  }
  return undefined;
}
