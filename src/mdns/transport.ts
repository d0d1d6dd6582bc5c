/**
 * The mDNS socket: one UDP socket bound to `0.0.0.0:5353` with address reuse (so several
 * processes on one host can run mDNS), member of 224.0.0.251 on every chosen interface,
 * multicast TTL 255 and loopback on. It polls the interface list and joins or leaves as
 * interfaces appear or vanish (WiFi reconnects), decodes every datagram safely, applies the
 * RFC 6762 section 11 source checks, recognises the copies of our own multicasts that
 * loopback returns, and serialises sends (each multicast first selects its interface).
 *
 * Nothing here throws to the caller after `start()`: failures are counted and logged.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { DatagramSocket, SocketRuntime } from "../net.ts";
import { decodeMessage, type MdnsMessage } from "./packet.ts";
import { diffInterfaces, interfaceFor, type MdnsInterface, selectInterfaces } from "./interfaces.ts";

/** The mDNS IPv4 group. */
export const MDNS_GROUP = "224.0.0.251";
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
  /** True for a query from a port other than 5353 (a "legacy" one-shot querier, RFC 6762 6.7). */
  legacy: boolean;
}

/** Counters of the transport. */
export interface TransportStats {
  /** Datagrams received. */
  received: number;
  /** Datagrams handed on as messages. */
  accepted: number;
  /** Datagrams dropped, by reason. */
  dropped: Record<string, number>;
  /** Datagrams sent. */
  sent: number;
  /** Sends that failed. */
  sendErrors: number;
}

/** Options of {@linkcode MdnsTransport}. */
export interface TransportOptions {
  /** Sockets. */
  runtime: SocketRuntime;
  /** Time source (interface polling). */
  clock: Clock;
  /** Diagnostics. */
  logger: Logger;
  /** Interface names or addresses to restrict to. */
  interfaces?: readonly string[];
  /** UDP port (default 5353; tests may use another). */
  port?: number;
  /** Interface polling period in ms (default 3000; 0 disables). */
  pollIntervalMs?: number;
  /** Called for every accepted message. */
  onMessage: (received: Received) => void;
  /** Called after interfaces appeared or vanished (memberships already updated). */
  onInterfacesChanged?: (added: MdnsInterface[], removed: MdnsInterface[]) => void;
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

/**
 * One mDNS socket with interface tracking. See the module documentation.
 */
export class MdnsTransport {
  readonly #o: TransportOptions;
  readonly #port: number;
  #socket: DatagramSocket | undefined;
  #interfaces: MdnsInterface[] = [];
  #pollTimer: TimerId | undefined;
  #sendChain: Promise<void> = Promise.resolve();
  #sentCopies = new Map<string, { count: number; until: number }>();
  #stopped = false;
  readonly stats: TransportStats = { received: 0, accepted: 0, dropped: {}, sent: 0, sendErrors: 0 };

  /**
   * @param options Runtime, clock, logger, interface choice and callbacks.
   */
  constructor(options: TransportOptions) {
    this.#o = options;
    this.#port = options.port ?? MDNS_PORT;
  }

  /** The interfaces in use. */
  get interfaces(): readonly MdnsInterface[] {
    return this.#interfaces;
  }

  /** The mDNS port in use. */
  get port(): number {
    return this.#port;
  }

  /**
   * Binds the socket and joins the group on every chosen interface.
   *
   * @throws NetError when the socket cannot be bound.
   */
  async start(): Promise<void> {
    const socket = await this.#o.runtime.bindDatagram(
      { address: "0.0.0.0", port: this.#port, reuseAddress: true },
      (d) => this.#receive(d.data, d.address, d.port),
    );
    this.#socket = socket;
    try {
      await socket.setMulticastTTL(255);
      await socket.setMulticastLoopback(true);
    } catch (err) {
      this.#o.logger.warn(`mDNS: could not set multicast TTL/loopback: ${String(err)}`);
    }
    const chosen = selectInterfaces(this.#safeInterfaces(), this.#o.interfaces);
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
    const { added, removed } = diffInterfaces(
      this.#interfaces,
      selectInterfaces(this.#safeInterfaces(), this.#o.interfaces),
    );
    if (added.length === 0 && removed.length === 0) return;
    for (const iface of removed) {
      this.#interfaces = this.#interfaces.filter((i) => i !== iface);
      try {
        await this.#socket.leaveMulticast(MDNS_GROUP, iface.address);
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

  #safeInterfaces() {
    try {
      return this.#o.runtime.networkInterfaces();
    } catch (err) {
      this.#o.logger.debug(`mDNS: listing interfaces failed: ${String(err)}`);
      return [];
    }
  }

  async #join(iface: MdnsInterface): Promise<boolean> {
    if (!this.#socket) return false;
    try {
      await this.#socket.joinMulticast(MDNS_GROUP, iface.address);
      this.#interfaces = [...this.#interfaces, iface];
      this.#o.logger.debug(`mDNS: joined ${MDNS_GROUP} on ${iface.name} (${iface.address})`);
      return true;
    } catch (err) {
      this.#o.logger.debug(`mDNS: join on ${iface.name} (${iface.address}) failed: ${String(err)}; will retry`);
      return false;
    }
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

  #isOwnCopy(bytes: Uint8Array, address: string, port: number): boolean {
    if (port !== this.#port || !this.#interfaces.some((i) => i.addresses.some((a) => a.address === address))) {
      return false;
    }
    const key = fingerprint(bytes);
    const sent = this.#sentCopies.get(key);
    if (!sent || sent.until < this.#o.clock.now()) return false;
    if (--sent.count <= 0) this.#sentCopies.delete(key);
    return true;
  }

  #receive(data: Uint8Array, address: string, port: number): void {
    try {
      this.stats.received++;
      if (this.#stopped) return;
      const iface = interfaceFor(address, this.#interfaces);
      if (!iface) return this.#drop("off-link source");
      if (this.#isOwnCopy(data, address, port)) return this.#drop("own multicast");
      const decoded = decodeMessage(data);
      if (!decoded.ok) {
        this.#o.logger.debug(`mDNS: dropped datagram from ${address}:${port}: ${decoded.reason}`);
        return this.#drop(`malformed: ${decoded.reason}`);
      }
      const message = decoded.message;
      if (message.response && port !== this.#port) return this.#drop("response not from port 5353");
      this.stats.accepted++;
      this.#o.onMessage({ message, address, port, iface, legacy: !message.response && port !== this.#port });
    } catch (err) {
      this.#drop("handler error");
      this.#o.logger.error(`mDNS: handling a datagram from ${address}:${port} failed: ${String(err)}`);
    }
  }

  /**
   * Multicasts bytes on one interface.
   *
   * @param bytes The encoded message.
   * @param iface The interface.
   * @returns Resolves when handed to the OS or the failure was counted.
   */
  multicast(bytes: Uint8Array, iface: MdnsInterface): Promise<void> {
    return this.#enqueue(async (socket) => {
      await socket.setMulticastInterface(iface.address);
      const now = this.#o.clock.now();
      for (const [k, v] of this.#sentCopies) if (v.until < now) this.#sentCopies.delete(k);
      const key = fingerprint(bytes);
      const entry = this.#sentCopies.get(key);
      if (entry) {
        entry.count++;
        entry.until = now + OWN_COPY_WINDOW_MS;
      } else this.#sentCopies.set(key, { count: 1, until: now + OWN_COPY_WINDOW_MS });
      await socket.send(bytes, MDNS_GROUP, this.#port);
    }, `multicast on ${iface.name}`);
  }

  /**
   * Sends bytes by unicast.
   *
   * @param bytes The encoded message.
   * @param address Destination address.
   * @param port Destination port.
   * @returns Resolves when handed to the OS or the failure was counted.
   */
  unicast(bytes: Uint8Array, address: string, port: number): Promise<void> {
    return this.#enqueue((socket) => socket.send(bytes, address, port), `unicast to ${address}:${port}`);
  }

  #enqueue(send: (socket: DatagramSocket) => Promise<void>, what: string): Promise<void> {
    const run = async () => {
      const socket = this.#socket;
      if (!socket || this.#stopped) return;
      try {
        await send(socket);
        this.stats.sent++;
      } catch (err) {
        this.stats.sendErrors++;
        this.#o.logger.debug(`mDNS: ${what} failed: ${String(err)}`);
      }
    };
    this.#sendChain = this.#sendChain.then(run);
    return this.#sendChain;
  }

  /**
   * Waits for queued sends, then closes the socket and stops polling. Idempotent.
   *
   * @returns Resolves when closed.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.#sendChain;
    this.#stopped = true;
    if (this.#pollTimer !== undefined) this.#o.clock.clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#interfaces = [];
    try {
      await socket?.close();
    } catch {
      // Closing is best effort.
    }
  }
}
