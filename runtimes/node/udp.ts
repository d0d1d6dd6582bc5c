/**
 * UDP on `node:dgram` as a {@linkcode DatagramSocket}. https://nodejs.org/api/dgram.html
 * (createSocket reuseAddr/ipv6Only, bind, send, addMembership, dropMembership,
 * setMulticastInterface, setMulticastTTL, setMulticastLoopback).
 *
 * node:dgram names an IPv6 multicast interface by a scoped wildcard, `"::%eth0"`
 * (`scopedIpv6Interface` in runtimes/_shared/interfaces.ts).
 *
 * @module
 */
import * as dgram from "node:dgram";
import { addressFamily, formatEndpoint } from "../../src/net.ts";
import type { Datagram, DatagramBindOptions, DatagramSocket, NetAddr } from "../../src/net.ts";
import { closedError, invalidTtlError, toNetError } from "../../src/net_errors.ts";
import { scopedIpv6Interface } from "../_shared/interfaces.ts";
import { deliver, netAddr, ownedBytes, started, unmapAddress } from "./events.ts";

/**
 * Binds a UDP socket.
 *
 * @param options Address, port, reuseAddress.
 * @param onMessage Receives every datagram.
 * @returns The bound socket; rejects with a {@linkcode NetError} naming the endpoint.
 */
export async function bindDatagram(
  options: DatagramBindOptions,
  onMessage: (message: Datagram) => void,
): Promise<DatagramSocket> {
  const { address, port } = options;
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
    throw toNetError(error, "UDP bind", address, port);
  }
  socket.on("message", (message: Uint8Array, rinfo: dgram.RemoteInfo) => {
    deliver("datagram", () => {
      onMessage({ data: ownedBytes(message), address: unmapAddress(rinfo.address), port: rinfo.port });
    });
  });
  try {
    await started(socket, `UDP ${formatEndpoint(address, port)}`, (ready) => socket.bind({ address, port }, ready));
  } catch (error) {
    try {
      socket.close();
    } catch {
      // never bound: nothing to close
    }
    throw toNetError(error, "UDP bind", address, port);
  }
  return new NodeDatagramSocket(socket);
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
          this.localAddress.family === "IPv6" ? scopedIpv6Interface(interfaceAddress) ?? "::" : interfaceAddress,
        ),
    );
  }

  setMulticastTTL(ttl: number): Promise<void> {
    const invalid = invalidTtlError(ttl, `UDP set multicast TTL ${ttl}`);
    if (invalid) return Promise.reject(invalid);
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

  #membership(action: "join" | "leave", group: string, interfaceAddress?: string): Promise<void> {
    return this.#option(
      `UDP ${action} multicast group ${group} on ${interfaceAddress ?? "the default interface"}`,
      () => {
        const iface = addressFamily(group) === "IPv6" ? scopedIpv6Interface(interfaceAddress) : interfaceAddress;
        if (action === "join") this.#socket.addMembership(group, iface);
        else this.#socket.dropMembership(group, iface);
      },
    );
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
}
