/**
 * Choosing the interface IPv4 multicast leaves from, which Deno cannot do directly: it has
 * no IP_MULTICAST_IF. https://docs.deno.com/api/deno/~/Deno.listenDatagram
 *
 * The stand-in: a companion socket bound to the interface's address and the main socket's
 * port (possible when the main socket is bound to the wildcard with `reuseAddress`). Linux
 * picks the outgoing interface of multicast from the source address when no
 * IP_MULTICAST_IF is set, so multicast sent through the companion leaves by that interface,
 * from the same port. Bound to a unicast address the companion never receives multicast,
 * but unicast sent to that address and port now lands on it, so it runs its own receive
 * loop into the same handler. TTL and loopback reach it only through a membership handle
 * (see memberships.ts), so it joins each destination group just for that handle.
 *
 * Elsewhere (a socket bound to one address or without `reuseAddress`, IPv6, non-Linux)
 * outgoing multicast follows the routing table; that is said once at debug level.
 *
 * @module
 */
import type { Datagram, NetAddr } from "../../src/net.ts";
import { debugOnce } from "../../src/log.ts";
import { isIPv4 } from "../../src/ipv4.ts";
import type { DenoDatagramConn, DenoMulticastV4Membership, DenoNet } from "./api.ts";
import { closeQuietly, denoNetError } from "./errors.ts";
import { logger } from "./handlers.ts";
import { isWildcard } from "./interfaces.ts";
import { receiveLoop } from "./receive.ts";

/** A companion socket bound to one interface's address and the main socket's port. */
interface Companion {
  conn: DenoDatagramConn;
  loop: Promise<void>;
  /** Groups joined only for a handle that sets TTL and loopback (kernel memberships are per interface). */
  handles: Map<string, DenoMulticastV4Membership>;
  /** The TTL and loopback last applied (loopback is set at bind). */
  appliedTtl?: number;
  appliedLoopback: boolean;
}

/** Everything a companion shares with its main socket. */
export interface CompanionContext {
  deno: DenoNet;
  /** The main socket's bound address and port. */
  local: NetAddr;
  /** Whether the main socket was bound with `reuseAddress` (so its port can be shared). */
  reuseAddress: boolean;
  onMessage: (message: Datagram) => void;
  isClosed: () => boolean;
  reported: { done: boolean };
}

/** The companion sockets of one Deno UDP socket, by interface address. */
export class MulticastCompanions {
  readonly #context: CompanionContext;
  readonly #companions = new Map<string, Companion>();

  /** @param context The main socket's side of things. */
  constructor(context: CompanionContext) {
    this.#context = context;
  }

  /**
   * Makes `interfaceAddress` the source of later IPv4 multicast where this adapter can:
   * opens a companion bound to it, or notes once why multicast follows the routing table.
   *
   * @param interfaceAddress A local address (not the wildcard).
   * @param loopback The loopback setting to bind the companion with.
   * @throws {NetError} When the companion cannot be bound.
   */
  choose(interfaceAddress: string, loopback: boolean): void {
    if (!isIPv4(interfaceAddress) || this.#companions.has(interfaceAddress)) return;
    const { deno, local, reuseAddress, onMessage, isClosed, reported } = this.#context;
    if (!isWildcard(local.address)) {
      if (interfaceAddress !== local.address) noteRouteBased(interfaceAddress, "bound to one address");
      return;
    }
    if (!reuseAddress) {
      noteRouteBased(interfaceAddress, "bound without reuseAddress");
      return;
    }
    let conn: DenoDatagramConn;
    try {
      conn = deno.listenDatagram!({
        transport: "udp",
        hostname: interfaceAddress,
        port: local.port,
        reuseAddress: true,
        loopback,
      });
    } catch (cause) {
      throw denoNetError(cause, "UDP set multicast interface: bind", interfaceAddress, local.port);
    }
    this.#companions.set(interfaceAddress, {
      conn,
      handles: new Map(),
      appliedLoopback: loopback,
      loop: receiveLoop(conn, onMessage, isClosed, reported),
    });
  }

  /**
   * The socket to send multicast to `group` through for `interfaceAddress`, with the
   * current TTL and loopback applied, or `undefined` when there is no companion for it.
   *
   * @param interfaceAddress The chosen interface address.
   * @param group The IPv4 destination group.
   * @param ttl The TTL to apply, if one was set.
   * @param loopback The loopback setting to apply.
   * @returns The companion's socket, or `undefined`.
   */
  async connFor(
    interfaceAddress: string,
    group: string,
    ttl: number | undefined,
    loopback: boolean,
  ): Promise<DenoDatagramConn | undefined> {
    const companion = this.#companions.get(interfaceAddress);
    if (!companion) return undefined;
    await applySettings(companion, group, ttl, loopback);
    return companion.conn;
  }

  /**
   * Closes every companion.
   *
   * @returns Their receive loops, to await.
   */
  close(): Promise<void>[] {
    const loops = [];
    for (const companion of this.#companions.values()) {
      closeQuietly(companion.conn);
      loops.push(companion.loop);
    }
    this.#companions.clear();
    return loops;
  }
}

/**
 * Brings a companion's TTL and loopback up to date through a membership handle of the
 * destination group. A failure is noted once and not retried until the setting changes.
 */
async function applySettings(
  companion: Companion,
  group: string,
  ttl: number | undefined,
  loopback: boolean,
): Promise<void> {
  if ((ttl === undefined || companion.appliedTtl === ttl) && companion.appliedLoopback === loopback) return;
  companion.appliedTtl = ttl;
  companion.appliedLoopback = loopback;
  try {
    let handle = companion.handles.get(group);
    if (!handle) {
      handle = await companion.conn.joinMulticastV4(group, companion.conn.addr.hostname);
      companion.handles.set(group, handle);
    }
    if (ttl !== undefined) await handle.setTTL(ttl);
    await handle.setLoopback(loopback);
  } catch (error) {
    debugOnce(
      logger(),
      `deno-companion-${group}`,
      `multicast to ${group} from ${companion.conn.addr.hostname}: could not apply TTL/loopback (${error}); ` +
        "sending with the current settings",
    );
  }
}

function noteRouteBased(interfaceAddress: string, why: string): void {
  debugOnce(
    logger(),
    `deno-multicast-if-${why}`,
    `setMulticastInterface(${interfaceAddress}): Deno has no IP_MULTICAST_IF and this socket is ${why}; ` +
      "outgoing multicast follows the routing table. Joins use this interface.",
  );
}
