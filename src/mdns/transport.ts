/**
 * The mDNS sockets: one UDP socket bound to `0.0.0.0:5353` and, where a chosen interface has
 * IPv6, one bound to `[::]:5353` (IPv6 only), both with address reuse (so several processes
 * on one host can run mDNS). The IPv4 socket is a member of 224.0.0.251 on every IPv4 link,
 * the IPv6 one of ff02::fb on every IPv6 link (see `interfaces.ts`); multicast TTL / hop limit
 * 255 and loopback on. It polls the interface list and joins or leaves as links appear or
 * vanish (WiFi reconnects), decodes every datagram safely, applies the RFC 6762 section 11
 * source checks, recognises the copies of our own multicasts that loopback returns, and
 * serialises sends (each IPv4 multicast first selects its interface; IPv6 multicast names
 * its interface in the destination, `ff02::fb%eth0`).
 *
 * IPv4 comes first: without it `start()` fails. IPv6 is best effort: when its socket cannot
 * be made (IPv6 disabled, port taken) or a link cannot be joined, that is logged at debug
 * level, IPv4 carries on, and the next poll tries again.
 *
 * Nothing here throws to the caller after `start()`: failures are counted and logged.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import { type DatagramSocket, NetError, type SocketRuntime } from "../net.ts";
import { InternalErrors } from "../internal_errors.ts";
import { decodeMessage, type MdnsMessage } from "./packet.ts";
import {
  diffInterfaces,
  interfaceFor,
  isLinkLocal,
  linkId,
  type MdnsInterface,
  parseIpv6,
  selectLinks,
} from "./interfaces.ts";

/** The mDNS IPv4 group. */
export const MDNS_GROUP = "224.0.0.251";
/** The mDNS IPv6 group (link-local scope). */
export const MDNS_GROUP_V6 = "ff02::fb";
/** The mDNS port. */
export const MDNS_PORT = 5353;

/** A received, decoded, source-checked message. */
export interface Received {
  /** The message. */
  message: MdnsMessage;
  /** Sender address. */
  address: string;
  /** Sender port. */
  port: number;
  /** The interface it belongs to. */
  iface: MdnsInterface;
  /**
   * True for a query to be answered by unicast with its id echoed (RFC 6762 6.7): from a port
   * other than 5353 (a "legacy" one-shot querier), or from an off-link seed.
   */
  legacy: boolean;
  /** True for a direct query from a configured seed on another subnet (see `seeds`). */
  offLink?: boolean;
}

/** Counters of the transport. */
export interface TransportStats {
  /** Datagrams received. */
  received: number;
  /** Datagrams handed on as messages. */
  accepted: number;
  /** Of those, the ones that came over IPv6. */
  acceptedIpv6: number;
  /** Datagrams dropped, by reason. */
  dropped: Record<string, number>;
  /** Datagrams sent. */
  sent: number;
  /** Of those, the ones sent over IPv6. */
  sentIpv6: number;
  /** Sends that failed. */
  sendErrors: number;
  /** Direct queries accepted from configured seeds on other subnets. */
  seedQueries: number;
  /**
   * Datagrams whose handling hit a bug (the decoder or a handler of the message threw): not
   * bad input, never counted in `dropped`; logged once with the stack. Should stay 0.
   */
  internalErrors: number;
}

/** Options of {@linkcode MdnsTransport}. */
export interface TransportOptions {
  /** Sockets. */
  runtime: SocketRuntime;
  /** Time source (interface polling). */
  clock: Clock;
  /** Diagnostics. */
  logger: Logger;
  /** Interface names or addresses to restrict to (a name selects both families, an address its own). */
  interfaces?: readonly string[];
  /** UDP port (default 5353; tests may use another). */
  port?: number;
  /** Interface polling period in ms (default 3000; 0 disables). */
  pollIntervalMs?: number;
  /** Called for every accepted message. */
  onMessage: (received: Received) => void;
  /** Called after links appeared or vanished (memberships already updated). */
  onInterfacesChanged?: (added: MdnsInterface[], removed: MdnsInterface[]) => void;
  /**
   * Addresses of hosts on other subnets whose direct (unicast) queries are answered, by
   * unicast (RFC 6762 section 5.5). Every other off-link datagram is dropped (section 11).
   */
  seeds?: readonly string[];
}

/** FNV-1a over the bytes plus the length: identifies our own looped-back datagrams. */
function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return `${bytes.length}:${h >>> 0}`;
}

/** How long we wait for the loopback copy of our own multicast. */
const OWN_COPY_WINDOW_MS = 2000;

type Family = "IPv4" | "IPv6";

/** An address without IPv6 scope, lower case. */
function bare(address: string): string {
  const at = address.indexOf("%");
  return (at < 0 ? address : address.slice(0, at)).toLowerCase();
}

/**
 * The mDNS sockets with link tracking. See the module documentation.
 */
export class MdnsTransport {
  readonly #o: TransportOptions;
  readonly #port: number;
  #socket: DatagramSocket | undefined;
  #socket6: DatagramSocket | undefined;
  #binding6: Promise<DatagramSocket | undefined> | undefined;
  #ipv6Problem = "";
  #interfaces: MdnsInterface[] = [];
  /** Derived from `#interfaces` when it changes, not per datagram: the links of each family and our own addresses. */
  #links: Record<Family, MdnsInterface[]> = { IPv4: [], IPv6: [] };
  #ownAddresses = new Set<string>();
  #pollTimer: TimerId | undefined;
  #sendChain: Promise<void> = Promise.resolve();
  #sentCopies = new Map<string, { count: number; until: number }>();
  /** The system cannot choose the interface of outgoing IPv4 multicast (see #leaveFrom). */
  #routedMulticast = false;
  #stopped = false;
  readonly #seeds: ReadonlySet<string>;
  readonly stats: TransportStats = {
    received: 0,
    accepted: 0,
    acceptedIpv6: 0,
    dropped: {},
    sent: 0,
    sentIpv6: 0,
    sendErrors: 0,
    seedQueries: 0,
    internalErrors: 0,
  };
  readonly #internal: InternalErrors;

  /**
   * @param options Runtime, clock, logger, interface choice and callbacks.
   */
  constructor(options: TransportOptions) {
    this.#o = options;
    this.#port = options.port ?? MDNS_PORT;
    this.#seeds = new Set((options.seeds ?? []).map(bare));
    this.#internal = new InternalErrors(options.logger);
  }

  /** The links in use (IPv4 ones first, then IPv6 ones). */
  get interfaces(): readonly MdnsInterface[] {
    return this.#interfaces;
  }

  /** The mDNS port in use. */
  get port(): number {
    return this.#port;
  }

  /**
   * Binds the IPv4 socket (and the IPv6 one when a chosen interface has IPv6) and joins the
   * group on every chosen link.
   *
   * @throws NetError when the IPv4 socket cannot be bound.
   */
  async start(): Promise<void> {
    const socket = await this.#o.runtime.bindDatagram(
      { address: "0.0.0.0", port: this.#port, reuseAddress: true },
      (d) => this.#receive("IPv4", d.data, d.address, d.port),
    );
    this.#socket = socket;
    try {
      await socket.setMulticastTTL(255);
      await socket.setMulticastLoopback(true);
    } catch (err) {
      this.#o.logger.warn(`mDNS: could not set multicast TTL/loopback: ${String(err)}`);
    }
    const chosen = this.#select() ?? [];
    if (chosen.length === 0) {
      this.#o.logger.warn(
        `mDNS: no usable interface${
          this.#o.interfaces?.length ? ` among ${this.#o.interfaces.join(", ")}` : ""
        }; will keep looking every few seconds.`,
      );
    }
    for (const iface of chosen) await this.#join(iface);
    this.#schedulePoll();
  }

  /**
   * Re-reads the interface list now (also done periodically).
   *
   * @returns Resolves when memberships are updated.
   */
  async pollInterfaces(): Promise<void> {
    if (this.#stopped || !this.#socket) return;
    // A listing that fails says nothing about the links: keep them (dropping them all would
    // silence the node until the next poll, and lose the probe defences it owes).
    const listed = this.#select();
    if (listed === undefined) return;
    const { added, removed } = diffInterfaces(this.#interfaces, listed);
    if (added.length === 0 && removed.length === 0) return;
    for (const iface of removed) {
      this.#setInterfaces(this.#interfaces.filter((i) => i !== iface));
      try {
        await this.#leave(iface);
      } catch {
        // The interface is gone: the kernel already dropped the membership.
      }
      this.#o.logger.info(`mDNS: interface ${iface.name} (${iface.address}) vanished`);
    }
    const joined: MdnsInterface[] = [];
    for (const iface of added) if (await this.#join(iface)) joined.push(iface);
    try {
      this.#o.onInterfacesChanged?.(joined, removed);
    } catch (err) {
      this.#o.logger.error(`mDNS: interface change handler failed: ${String(err)}`);
    }
  }

  /** The links to use now, or undefined when the system's interface list cannot be read. */
  #select(): MdnsInterface[] | undefined {
    let all;
    try {
      all = this.#o.runtime.networkInterfaces();
    } catch (err) {
      this.#o.logger.debug(`mDNS: listing interfaces failed: ${String(err)}`);
      return undefined;
    }
    return selectLinks(all, this.#o.interfaces);
  }

  /** The IPv6 socket, bound on first use; undefined (logged) when it cannot be made. */
  #ipv6Socket(): Promise<DatagramSocket | undefined> {
    if (this.#socket6) return Promise.resolve(this.#socket6);
    this.#binding6 ??= this.#bindIpv6().finally(() => this.#binding6 = undefined);
    return this.#binding6;
  }

  async #bindIpv6(): Promise<DatagramSocket | undefined> {
    let socket: DatagramSocket;
    try {
      socket = await this.#o.runtime.bindDatagram(
        { address: "::", port: this.#port, reuseAddress: true },
        (d) => this.#receive("IPv6", d.data, d.address, d.port),
      );
    } catch (err) {
      const problem = String(err);
      if (problem !== this.#ipv6Problem) {
        this.#ipv6Problem = problem;
        this.#o.logger.debug(`mDNS: no IPv6 socket on [::]:${this.#port} (${problem}); IPv4 only, will retry`);
      }
      return undefined;
    }
    if (this.#stopped) {
      await socket.close().catch(() => {});
      return undefined;
    }
    this.#ipv6Problem = "";
    this.#socket6 = socket;
    try {
      await socket.setMulticastTTL(255);
    } catch (err) {
      // Deno has no hop-limit setter: the OS default (1) still reaches the whole link.
      this.#o.logger.debug(`mDNS: could not set the IPv6 multicast hop limit: ${String(err)}`);
    }
    try {
      await socket.setMulticastLoopback(true);
    } catch (err) {
      this.#o.logger.debug(`mDNS: could not set IPv6 multicast loopback: ${String(err)}`);
    }
    return socket;
  }

  async #join(iface: MdnsInterface): Promise<boolean> {
    const v6 = iface.family === "IPv6";
    const socket = v6 ? await this.#ipv6Socket() : this.#socket;
    if (!socket || this.#stopped) return false;
    const group = v6 ? MDNS_GROUP_V6 : MDNS_GROUP;
    try {
      // IPv6 memberships name the interface (link-local scope); IPv4 ones use its address.
      await socket.joinMulticast(group, v6 ? iface.name : iface.address);
      this.#setInterfaces([...this.#interfaces, iface]);
      this.#o.logger.debug(`mDNS: joined ${group} on ${iface.name} (${iface.address})`);
      return true;
    } catch (err) {
      this.#o.logger.debug(
        `mDNS: join ${group} on ${iface.name} (${iface.address}) failed: ${String(err)}; will retry`,
      );
      return false;
    }
  }

  #leave(iface: MdnsInterface): Promise<void> | undefined {
    return iface.family === "IPv6"
      ? this.#socket6?.leaveMulticast(MDNS_GROUP_V6, iface.name)
      : this.#socket?.leaveMulticast(MDNS_GROUP, iface.address);
  }

  #schedulePoll(): void {
    const period = this.#o.pollIntervalMs ?? 3000;
    if (period <= 0 || this.#stopped) return;
    this.#pollTimer = this.#o.clock.setTimeout(() => {
      this.#pollTimer = undefined;
      this.pollInterfaces().catch((err) => this.#o.logger.debug(`mDNS: poll failed: ${String(err)}`))
        .finally(() => this.#schedulePoll());
    }, period);
  }

  #drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  #setInterfaces(interfaces: MdnsInterface[]): void {
    this.#interfaces = interfaces;
    this.#links = {
      IPv4: interfaces.filter((i) => i.family === "IPv4"),
      IPv6: interfaces.filter((i) => i.family === "IPv6"),
    };
    this.#ownAddresses = new Set(interfaces.flatMap((i) => i.addresses.map((a) => bare(a.address))));
  }

  #isOwnCopy(bytes: Uint8Array, address: string, port: number): boolean {
    if (port !== this.#port || !this.#ownAddresses.has(bare(address))) return false;
    const key = fingerprint(bytes);
    const sent = this.#sentCopies.get(key);
    if (!sent || sent.until < this.#o.clock.now()) return false;
    if (--sent.count <= 0) this.#sentCopies.delete(key);
    return true;
  }

  /**
   * The link a datagram belongs to and the sender address to report: IPv6 link-local ones
   * always carry the link's scope (`fe80::1%eth0`), whether or not the runtime gave one, so
   * replies can be sent and peers compare equal on every runtime.
   */
  #source(family: Family, address: string): { iface: MdnsInterface; from: string; offLink?: boolean } | string {
    const links = this.#links[family];
    if (this.#seeds.size > 0 && !interfaceFor(address, links) && this.#seeds.has(bare(address))) {
      return { iface: this.#seedLink(family), from: address, offLink: true };
    }
    if (family === "IPv4") {
      const iface = interfaceFor(address, links);
      return iface ? { iface, from: address } : "off-link source";
    }
    // An IPv6-only socket should never see IPv4; refuse it anyway (a dual-stack fallback).
    if (!address.includes(":") || /^::ffff:\d/i.test(address) || !parseIpv6(address)) return "not an IPv6 source";
    const iface = interfaceFor(address, links);
    if (!iface) return "off-link source";
    const plain = bare(address);
    return { iface, from: isLinkLocal(plain) ? `${plain}%${iface.name}` : plain };
  }

  /**
   * The link answers to an off-link seed are made for: every address of our links that a host
   * on another subnet may reach (not IPv6 link-local), so its A/AAAA records list them all.
   */
  #seedLink(family: Family): MdnsInterface {
    const first = this.#interfaces.find((i) => i.family === family) ?? this.#interfaces[0];
    const seen = new Set<string>();
    const addresses = this.#interfaces.flatMap((i) => i.addresses).filter((a) => {
      const key = bare(a.address);
      if (isLinkLocal(key) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return {
      name: "seed",
      family,
      address: first?.address ?? "",
      netmask: first?.netmask ?? "",
      addresses,
      internal: false,
    };
  }

  #receive(family: Family, data: Uint8Array, address: string, port: number): void {
    try {
      this.stats.received++;
      if (this.#stopped) return;
      const source = this.#source(family, address);
      if (typeof source === "string") return this.#drop(source);
      const { iface, from } = source;
      if (this.#isOwnCopy(data, from, port)) return this.#drop("own multicast");
      const decoded = decodeMessage(data);
      if (!decoded.ok) {
        if (decoded.internal !== undefined) return this.#internalError(decoded.internal, address, port);
        this.#o.logger.debug(`mDNS: dropped datagram from ${address}:${port}: ${decoded.reason}`);
        return this.#drop(`malformed: ${decoded.reason}`);
      }
      const message = decoded.message;
      if (source.offLink) {
        // A seed on another subnet may ask; it never announces or probes here.
        if (message.response || message.authorities.length > 0) return this.#drop("off-link source");
        this.stats.seedQueries++;
      }
      if (message.response && port !== this.#port) return this.#drop("response not from port 5353");
      this.stats.accepted++;
      if (family === "IPv6") this.stats.acceptedIpv6++;
      const legacy = !message.response && (port !== this.#port || source.offLink === true);
      this.#o.onMessage({ message, address: from, port, iface, legacy, offLink: source.offLink });
    } catch (err) {
      this.#internalError(err, address, port);
    }
  }

  #internalError(error: unknown, address: string, port: number): void {
    this.#internal.record(error, `handling an mDNS datagram from ${address}:${port}`);
    this.stats.internalErrors = this.#internal.count;
  }

  #noteCopy(bytes: Uint8Array): void {
    const now = this.#o.clock.now();
    for (const [k, v] of this.#sentCopies) if (v.until < now) this.#sentCopies.delete(k);
    const key = fingerprint(bytes);
    const entry = this.#sentCopies.get(key);
    if (entry) {
      entry.count++;
      entry.until = now + OWN_COPY_WINDOW_MS;
    } else this.#sentCopies.set(key, { count: 1, until: now + OWN_COPY_WINDOW_MS });
  }

  /**
   * Multicasts bytes on one link: to 224.0.0.251 from the interface's IPv4 address, or to
   * `ff02::fb%<interface>`.
   *
   * @param bytes The encoded message.
   * @param iface The link.
   * @returns Resolves when handed to the OS or the failure was counted.
   */
  multicast(bytes: Uint8Array, iface: MdnsInterface): Promise<void> {
    if (iface.family === "IPv6") {
      return this.#enqueue("IPv6", async (socket) => {
        this.#noteCopy(bytes);
        await socket.send(bytes, `${MDNS_GROUP_V6}%${iface.name}`, this.#port);
      }, `multicast on ${linkId(iface)}`);
    }
    return this.#enqueue("IPv4", async (socket) => {
      await this.#leaveFrom(socket, iface);
      this.#noteCopy(bytes);
      await socket.send(bytes, MDNS_GROUP, this.#port);
    }, `multicast on ${linkId(iface)}`);
  }

  /**
   * Points outgoing IPv4 multicast at the link. Where the system has no such option
   * (ENOPROTOOPT: qemu-user before 8.1 lacks IP_MULTICAST_IF, as do some sandboxes), the
   * routing table picks the link instead: right for the usual one-link device, and better than
   * a node that can neither announce nor ask. Said once, at warn level.
   */
  async #leaveFrom(socket: DatagramSocket, iface: MdnsInterface): Promise<void> {
    if (this.#routedMulticast) return;
    try {
      await socket.setMulticastInterface(iface.address);
    } catch (err) {
      if (!(err instanceof NetError && err.code === "UNSUPPORTED")) throw err;
      this.#routedMulticast = true;
      this.#o.logger.warn(
        `mDNS: this system cannot choose the interface for multicast (${err.message}); ` +
          "sending on the interface its routing table picks",
      );
    }
  }

  /**
   * Sends bytes by unicast, over the socket of the address's family.
   *
   * @param bytes The encoded message.
   * @param address Destination address (IPv6 link-local ones with their scope, as received).
   * @param port Destination port.
   * @returns Resolves when handed to the OS or the failure was counted.
   */
  unicast(bytes: Uint8Array, address: string, port: number): Promise<void> {
    const family: Family = address.includes(":") ? "IPv6" : "IPv4";
    return this.#enqueue(family, (socket) => socket.send(bytes, address, port), `unicast to ${address}:${port}`);
  }

  #enqueue(family: Family, send: (socket: DatagramSocket) => Promise<void>, what: string): Promise<void> {
    const run = async () => {
      const socket = family === "IPv6" ? this.#socket6 : this.#socket;
      if (this.#stopped) return;
      if (!socket) {
        this.stats.sendErrors++;
        this.#o.logger.debug(`mDNS: ${what} failed: no ${family} socket`);
        return;
      }
      try {
        await send(socket);
        this.stats.sent++;
        if (family === "IPv6") this.stats.sentIpv6++;
      } catch (err) {
        this.stats.sendErrors++;
        this.#o.logger.debug(`mDNS: ${what} failed: ${String(err)}`);
      }
    };
    this.#sendChain = this.#sendChain.then(run);
    return this.#sendChain;
  }

  /**
   * Waits for queued sends, then closes the sockets and stops polling. Idempotent.
   *
   * @returns Resolves when closed.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.#sendChain;
    this.#stopped = true;
    if (this.#pollTimer !== undefined) this.#o.clock.clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    await this.#binding6;
    const sockets = [this.#socket, this.#socket6];
    this.#socket = undefined;
    this.#socket6 = undefined;
    this.#setInterfaces([]);
    for (const socket of sockets) {
      try {
        await socket?.close();
      } catch {
        // Closing is best effort.
      }
    }
  }
}
