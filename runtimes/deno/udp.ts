/**
 * UDP on Deno: `Deno.listenDatagram` (unstable `net` API) as a {@linkcode DatagramSocket}.
 * https://docs.deno.com/api/deno/~/Deno.listenDatagram
 * https://docs.deno.com/api/deno/~/Deno.DatagramConn
 * https://docs.deno.com/api/deno/~/Deno.UdpListenOptions
 *
 * Deno binds with multicast loopback off; this adapter binds with it on, the OS default
 * Node and Bun keep. Group membership, TTL and loopback live in memberships.ts; the
 * stand-in for IP_MULTICAST_IF in multicast.ts.
 *
 * @module
 */
import type { Datagram, DatagramBindOptions, DatagramSocket, NetAddr } from "../../src/net.ts";
import { closedError, invalidTtlError } from "../../src/net_errors.ts";
import { isMulticastIPv4 } from "../../src/ipv4.ts";
import { type DenoDatagramConn, type DenoNet, toNetAddr } from "./api.ts";
import { closeQuietly, denoNetError, operationError } from "./errors.ts";
import { isWildcard } from "./interfaces.ts";
import { Memberships } from "./memberships.ts";
import { MulticastCompanions } from "./multicast.ts";
import { receiveLoop } from "./receive.ts";

/**
 * Binds a UDP socket.
 *
 * @param deno The Deno global (with `listenDatagram`).
 * @param options Address, port, reuseAddress.
 * @param onMessage Receives every datagram.
 * @returns The bound socket; rejects with a {@linkcode NetError} naming the endpoint.
 */
export function bindDatagram(
  deno: DenoNet,
  options: DatagramBindOptions,
  onMessage: (message: Datagram) => void,
): Promise<DatagramSocket> {
  const reuseAddress = options.reuseAddress ?? false;
  let conn: DenoDatagramConn;
  try {
    // loopback: true matches the OS default that Node and Bun keep; Deno's default is off.
    conn = deno.listenDatagram!({
      transport: "udp",
      hostname: options.address,
      port: options.port,
      reuseAddress,
      loopback: true,
    });
  } catch (cause) {
    return Promise.reject(denoNetError(cause, "UDP bind", options.address, options.port));
  }
  return Promise.resolve(new DenoDatagramSocket(deno, conn, onMessage, reuseAddress));
}

class DenoDatagramSocket implements DatagramSocket {
  readonly localAddress: NetAddr;
  readonly #conn: DenoDatagramConn;
  readonly #memberships: Memberships;
  readonly #companions: MulticastCompanions;
  readonly #loop: Promise<void>;
  #closed = false;
  #closing?: Promise<void>;
  #multicastInterface?: string;

  constructor(deno: DenoNet, conn: DenoDatagramConn, onMessage: (m: Datagram) => void, reuseAddress: boolean) {
    this.#conn = conn;
    this.localAddress = toNetAddr(conn.addr);
    const isClosed = () => this.#closed;
    const reported = { done: false };
    this.#memberships = new Memberships(conn, isClosed);
    this.#companions = new MulticastCompanions({
      deno,
      local: this.localAddress,
      reuseAddress,
      onMessage,
      isClosed,
      reported,
    });
    this.#loop = receiveLoop(conn, onMessage, isClosed, reported);
  }

  /**
   * Sends one datagram. IPv4 multicast goes through the companion socket of the interface
   * chosen with {@linkcode DenoDatagramSocket.setMulticastInterface}, when there is one.
   *
   * @param data Payload.
   * @param address Numeric destination address.
   * @param port Destination port.
   */
  async send(data: Uint8Array, address: string, port: number): Promise<void> {
    if (this.#closed) throw closedError("UDP send to", address, port);
    let conn = this.#conn;
    if (this.#multicastInterface !== undefined && isMulticastIPv4(address)) {
      const { ttl, loopback } = this.#memberships;
      conn = await this.#companions.connFor(this.#multicastInterface, address, ttl, loopback) ?? conn;
    }
    try {
      await conn.send(data, { transport: "udp", hostname: address, port });
    } catch (cause) {
      throw operationError(cause, this.#closed, "UDP send to", address, port);
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
    return this.#memberships.join(group, interfaceAddress ?? this.#multicastInterface);
  }

  /**
   * Leaves a group joined with {@linkcode DenoDatagramSocket.joinMulticast} (same group and
   * interface argument). Leaving a group that is not joined is a no-op.
   *
   * @param group The group address.
   * @param interfaceAddress The interface it was joined on.
   */
  leaveMulticast(group: string, interfaceAddress?: string): Promise<void> {
    return this.#memberships.leave(group, interfaceAddress ?? this.#multicastInterface);
  }

  /**
   * Chooses the interface for multicast. Deno has no IP_MULTICAST_IF, so this adapter:
   * - remembers it as the default interface of later {@linkcode DenoDatagramSocket.joinMulticast} calls;
   * - for IPv4, when this socket is bound to the wildcard address with `reuseAddress`, sends
   *   IPv4 multicast through a companion socket bound to `interfaceAddress` and this socket's
   *   port (multicast.ts). Unicast to that address and port reaches the same handler.
   *
   * What it cannot do: on a socket bound without `reuseAddress` (the port cannot be shared),
   * for IPv6, and on non-Linux systems, outgoing multicast follows the routing table (or the
   * socket's bound address). Bind one socket per interface address there instead.
   *
   * @param interfaceAddress Local IPv4 address of the interface (IPv6: index, name or address;
   *   remembered for joins only). `"0.0.0.0"` returns to the OS's choice.
   */
  setMulticastInterface(interfaceAddress: string): Promise<void> {
    if (this.#closed) {
      return Promise.reject(closedError("UDP set multicast interface", interfaceAddress, this.localAddress.port));
    }
    if (isWildcard(interfaceAddress)) {
      this.#multicastInterface = undefined;
      return Promise.resolve();
    }
    this.#multicastInterface = interfaceAddress;
    try {
      this.#companions.choose(interfaceAddress, this.#memberships.loopback);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sets the IPv4 multicast TTL (mDNS uses 255). Deno sets it through a membership handle, so
   * it applies to this socket once it has joined any IPv4 group (now or later) and to the
   * companion sockets of {@linkcode DenoDatagramSocket.setMulticastInterface}. Deno has no
   * IPv6 hop-limit setter: IPv6 multicast uses the OS default (1).
   *
   * @param ttl 0-255.
   */
  setMulticastTTL(ttl: number): Promise<void> {
    const invalid = invalidTtlError(ttl, "UDP set multicast TTL");
    return invalid ? Promise.reject(invalid) : this.#memberships.setTTL(ttl);
  }

  /**
   * Enables or disables looping our own multicast back to this host (on by default, like the
   * OS default of Node and Bun). Deno sets it at bind time and through membership handles: a
   * change applies once this socket has joined any group (now or later), and to the companion
   * sockets of {@linkcode DenoDatagramSocket.setMulticastInterface} at their next send.
   *
   * @param enabled Whether to loop back.
   */
  setMulticastLoopback(enabled: boolean): Promise<void> {
    return this.#memberships.setLoopback(enabled);
  }

  /** Closes the socket (and its companions); resolves once the receive loops have ended. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    closeQuietly(this.#conn);
    const loops = [this.#loop, ...this.#companions.close()];
    this.#memberships.clear();
    this.#closing = Promise.all(loops).then(() => undefined);
    return this.#closing;
  }
}
