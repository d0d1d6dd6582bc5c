/**
 * Multicast options of a `Bun.udpSocket`: `addMembership`, `dropMembership`,
 * `setMulticastInterface`, `setMulticastTTL`, `setMulticastLoopback`.
 * https://bun.sh/reference/bun/udp/BaseUDPSocket
 *
 * Bun reports some failures by returning false rather than throwing; both become a
 * {@linkcode NetError}. IPv6 interfaces are passed as the scoped wildcard `::%<name>`, as
 * Bun's own `node:dgram` does.
 *
 * @module
 */
import { addressFamily, NetError } from "../../src/net.ts";
import { closedError, invalidTtlError, toNetError } from "../../src/net_errors.ts";
import { scopedIpv6Interface } from "../_shared/interfaces.ts";
import type { BunUdpSocket } from "./api.ts";

/** The multicast side of one Bun UDP socket, with the groups it joined (so close() can drop them). */
export class BunMulticast {
  readonly #socket: BunUdpSocket;
  readonly #family: "IPv4" | "IPv6";
  readonly #isClosed: () => boolean;
  /** Joined groups by group and interface argument: join and leave stay idempotent. */
  readonly #memberships = new Map<string, { group: string; iface: string | undefined }>();

  /**
   * @param socket The Bun socket.
   * @param family The family the socket is bound to.
   * @param isClosed True once the socket is closed.
   */
  constructor(socket: BunUdpSocket, family: "IPv4" | "IPv6", isClosed: () => boolean) {
    this.#socket = socket;
    this.#family = family;
    this.#isClosed = isClosed;
  }

  /**
   * Joins `group`; a second join of the same pair is a no-op.
   *
   * @param group IPv4 or IPv6 group.
   * @param interfaceAddress IPv4: a local address. IPv6: interface name, index or `::%name`.
   */
  join(group: string, interfaceAddress?: string): Promise<void> {
    const key = `${group}|${interfaceAddress ?? ""}`;
    if (!this.#isClosed() && this.#memberships.has(key)) return Promise.resolve(); // already a member
    return this.#option(`UDP joinMulticast(${group}${interfaceAddress ? `, ${interfaceAddress}` : ""})`, () => {
      const iface = this.#interfaceFor(group, interfaceAddress);
      const joined = this.#socket.addMembership(group, iface);
      if (joined !== false) this.#memberships.set(key, { group, iface });
      return joined;
    });
  }

  /**
   * Leaves a group joined with {@linkcode BunMulticast.join}; leaving one not joined is a no-op.
   *
   * @param group The group.
   * @param interfaceAddress The interface argument it was joined with.
   */
  leave(group: string, interfaceAddress?: string): Promise<void> {
    const key = `${group}|${interfaceAddress ?? ""}`;
    if (!this.#isClosed() && !this.#memberships.has(key)) return Promise.resolve(); // not a member
    return this.#option(`UDP leaveMulticast(${group}${interfaceAddress ? `, ${interfaceAddress}` : ""})`, () => {
      const left = this.#socket.dropMembership(group, this.#interfaceFor(group, interfaceAddress));
      if (left !== false) this.#memberships.delete(key);
      return left;
    });
  }

  /**
   * Selects the interface outgoing multicast leaves from.
   *
   * @param interfaceAddress IPv4 socket: a local address. IPv6 socket: interface name or index.
   */
  setInterface(interfaceAddress: string): Promise<void> {
    return this.#option(
      `UDP setMulticastInterface(${interfaceAddress})`,
      () =>
        this.#socket.setMulticastInterface(
          this.#family === "IPv6" ? scopedIpv6Interface(interfaceAddress) ?? "::" : interfaceAddress,
        ),
    );
  }

  /**
   * Sets the multicast TTL / hop limit.
   *
   * @param ttl 0-255.
   */
  setTTL(ttl: number): Promise<void> {
    const invalid = invalidTtlError(ttl, `UDP setMulticastTTL(${ttl})`);
    if (invalid) return Promise.reject(invalid);
    return this.#option(`UDP setMulticastTTL(${ttl})`, () => this.#socket.setMulticastTTL(ttl));
  }

  /**
   * Enables or disables looping our own multicast back.
   *
   * @param enabled Whether to loop back.
   */
  setLoopback(enabled: boolean): Promise<void> {
    return this.#option(`UDP setMulticastLoopback(${enabled})`, () => this.#socket.setMulticastLoopback(enabled));
  }

  /** Drops every membership (before the socket closes; closing would drop them anyway). */
  dropAll(): void {
    for (const { group, iface } of this.#memberships.values()) {
      try {
        this.#socket.dropMembership(group, iface);
      } catch {
        // Closing the socket drops the membership anyway.
      }
    }
    this.#memberships.clear();
  }

  /** Join and leave take an interface address (IPv4) or, for IPv6, a name or index, which Bun wants as `::%<name>`. */
  #interfaceFor(group: string, interfaceAddress: string | undefined): string | undefined {
    return addressFamily(group) === "IPv4" ? interfaceAddress : scopedIpv6Interface(interfaceAddress);
  }

  /** Runs one multicast option call with uniform closed/false/throw handling. */
  #option(action: string, call: () => unknown): Promise<void> {
    if (this.#isClosed()) return Promise.reject(closedError(action));
    try {
      if (call() === false) {
        return Promise.reject(new NetError("OTHER", `OTHER: ${action} failed. Check the group and interface address.`));
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(toNetError(error, action));
    }
  }
}
