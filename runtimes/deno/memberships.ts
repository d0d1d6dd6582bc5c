/**
 * Multicast group memberships of one Deno UDP socket, and the TTL and loopback settings
 * that Deno applies only through them.
 *
 * Deno has no socket-level multicast TTL or loopback setter: `joinMulticastV4` returns a
 * membership handle with `setTTL` and `setLoopback`, `joinMulticastV6` one with
 * `setLoopback` only. So a setting applies once the socket has joined a group, and is
 * replayed on every later join. There is no IPv6 hop-limit setter at all (OS default 1).
 * https://docs.deno.com/api/deno/~/Deno.MulticastV4Membership
 * https://docs.deno.com/api/deno/~/Deno.MulticastV6Membership
 *
 * @module
 */
import { closedError } from "../../src/net_errors.ts";
import type { DenoDatagramConn, DenoMulticastV4Membership, DenoMulticastV6Membership } from "./api.ts";
import { operationError } from "./errors.ts";
import { ipv4InterfaceAddress, ipv6InterfaceIndexOf, isWildcard } from "./interfaces.ts";

type Membership =
  | { v4: true; handle: DenoMulticastV4Membership }
  | { v4: false; handle: DenoMulticastV6Membership };

/** The joined groups of one socket (by group and interface) and the settings replayed on each. */
export class Memberships {
  readonly #conn: DenoDatagramConn;
  readonly #isClosed: () => boolean;
  readonly #joined = new Map<string, Membership>();
  readonly #joining = new Map<string, Promise<void>>();
  #ttl?: number;
  #loopback = true;

  /**
   * @param conn The socket whose memberships these are.
   * @param isClosed True once the socket is closed.
   */
  constructor(conn: DenoDatagramConn, isClosed: () => boolean) {
    this.#conn = conn;
    this.#isClosed = isClosed;
  }

  /** The IPv4 multicast TTL last set, if any. */
  get ttl(): number | undefined {
    return this.#ttl;
  }

  /** Whether our own multicast loops back (on by default, the OS default Node and Bun keep). */
  get loopback(): boolean {
    return this.#loopback;
  }

  /**
   * Joins `group` on `iface`; a second join of the same pair is a no-op (and one under way is awaited).
   *
   * @param group IPv4 or IPv6 group.
   * @param iface The interface argument (see interfaces.ts), absent for the OS's choice.
   * @returns Resolves once joined and the settings applied.
   */
  join(group: string, iface: string | undefined): Promise<void> {
    if (this.#isClosed()) return Promise.reject(closedError(`UDP join multicast group ${group}`));
    const key = membershipKey(group, iface);
    if (this.#joined.has(key)) return Promise.resolve();
    let joining = this.#joining.get(key);
    if (!joining) {
      joining = this.#join(group, iface, key).finally(() => this.#joining.delete(key));
      this.#joining.set(key, joining);
    }
    return joining;
  }

  /**
   * Leaves a group joined with {@linkcode Memberships.join} (same arguments); leaving a
   * group that is not joined is a no-op.
   *
   * @param group The group.
   * @param iface The interface it was joined on.
   */
  async leave(group: string, iface: string | undefined): Promise<void> {
    if (this.#isClosed()) throw closedError(`UDP leave multicast group ${group}`);
    const key = membershipKey(group, iface);
    const membership = this.#joined.get(key);
    if (!membership) return;
    this.#joined.delete(key);
    try {
      await membership.handle.leave();
    } catch (cause) {
      throw operationError(
        cause,
        this.#isClosed(),
        `UDP leave multicast group ${group} on interface ${iface ?? "(default)"}`,
      );
    }
  }

  /**
   * Sets the IPv4 multicast TTL on every IPv4 membership, now and on later joins.
   *
   * @param ttl 0-255, checked by the caller.
   */
  async setTTL(ttl: number): Promise<void> {
    if (this.#isClosed()) throw closedError("UDP set multicast TTL");
    this.#ttl = ttl;
    for (const membership of this.#joined.values()) {
      if (membership.v4) await this.#guard("UDP set multicast TTL", () => membership.handle.setTTL(ttl));
    }
  }

  /**
   * Sets multicast loopback on every membership, now and on later joins.
   *
   * @param enabled Whether to loop back.
   */
  async setLoopback(enabled: boolean): Promise<void> {
    if (this.#isClosed()) throw closedError("UDP set multicast loopback");
    this.#loopback = enabled;
    for (const membership of this.#joined.values()) {
      await this.#guard("UDP set multicast loopback", () => membership.handle.setLoopback(enabled));
    }
  }

  /** Forgets every membership (the socket closed; the kernel dropped them). */
  clear(): void {
    this.#joined.clear();
  }

  async #join(group: string, iface: string | undefined, key: string): Promise<void> {
    try {
      if (!group.includes(":")) {
        const handle = await this.#conn.joinMulticastV4(group, ipv4InterfaceAddress(iface));
        this.#joined.set(key, { v4: true, handle });
        if (this.#ttl !== undefined) await handle.setTTL(this.#ttl);
        await handle.setLoopback(this.#loopback);
      } else {
        const handle = await this.#conn.joinMulticastV6(group, ipv6InterfaceIndexOf(iface));
        this.#joined.set(key, { v4: false, handle });
        await handle.setLoopback(this.#loopback);
      }
    } catch (cause) {
      throw operationError(
        cause,
        this.#isClosed(),
        `UDP join multicast group ${group} on interface ${iface ?? "(default)"}`,
      );
    }
  }

  async #guard(action: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (cause) {
      throw operationError(cause, this.#isClosed(), action);
    }
  }
}

function membershipKey(group: string, iface: string | undefined): string {
  return `${group}|${iface === undefined || isWildcard(iface) ? "" : iface}`;
}
