/**
 * An in-memory network implementing {@linkcode SocketRuntime} for deterministic unit tests
 * of the mDNS and RPC layers, without real sockets.
 *
 * - Virtual hosts by IPv4 address (`network.host("10.0.0.1")`), each with loopback `lo`
 *   (127.0.0.1) and one multicast-capable LAN interface (`mem0`), its own UDP and TCP ports,
 *   `0.0.0.0` binds (all of the host's addresses), port 0 (a free port from 49152 up).
 *   IPv4 only: IPv6 addresses reject with `UNSUPPORTED`.
 * - Datagrams: unicast to `host:port`; multicast to every socket (on every reachable host,
 *   and on the sender's host while its multicast loopback is on, the default) that joined
 *   the group on the arrival interface and is bound to the port on `0.0.0.0` or the group.
 *   (Linux's IP_MULTICAST_ALL quirk, delivering groups joined by another socket of the host,
 *   is not modelled.) Sockets sharing a port with `reuseAddress` all get multicast; unicast
 *   goes to the last bound. The sender address is the outgoing interface's. Payloads are
 *   copied on send and again per delivery.
 * - Impairments apply to datagrams between different hosts only (a host's own traffic is
 *   perfect, like a real loopback): loss, delay range and duplication, drawn per copy from
 *   a PRNG seeded with `seed`, so one seed always gives the same pattern. Change them at
 *   run time with {@linkcode MemoryNetwork.configure}, per host pair with
 *   {@linkcode MemoryNetwork.setLinkRule}. {@linkcode MemoryNetwork.stats} counts them.
 * - Time: a delivery with zero delay happens in a microtask queued by `send()`, so it has
 *   happened by the time `await socket.send(...)` returns, and a test that awaits anything
 *   sees it without touching a clock. Nonzero delays and connect timeouts use the
 *   network's `clock.setTimeout`, so with a `FakeClock` (fake_clock.ts) they happen during
 *   `await clock.advance(ms)`.
 * - TCP streams: reliable and ordered, never impaired, with backpressure (see
 *   `MemoryStreamConnection` in memory_stream.ts): a writer stalls while the reader's unread
 *   bytes are at the high-water mark. `close()` is modelled as a FIN: the peer reads the
 *   queued bytes, then `null`; its later writes reject `CONNECTION_RESET`. Connect to a port
 *   without listener: `CONNECTION_REFUSED` at once; to a detached, partitioned or unknown
 *   host: `TIMED_OUT` after `timeoutMs` on the clock (unless it becomes reachable first).
 * - {@linkcode MemoryNetwork.detach} makes a host vanish (datagrams to and from it are
 *   dropped, stream bytes wait in flight) until {@linkcode MemoryNetwork.attach};
 *   {@linkcode MemoryNetwork.partition} does the same between two groups of hosts.
 * - {@linkcode MemoryNetwork.close} closes every socket and cancels every timer it made;
 *   closing a socket cancels the delivery timers of datagrams in flight to it.
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import type { Fabric } from "./memory_fabric.ts";
import type { MemoryDatagramSocket } from "./memory_datagram.ts";
import { type MemoryHost, type MemoryHostOptions, VirtualHost } from "./memory_host.ts";
import { isIPv4, isLoopbackIPv4, isMulticastIPv4, LOOPBACK_IPV4 } from "../ipv4.ts";
import { mulberry32 } from "./prng.ts";

export type { MemoryHost, MemoryHostOptions } from "./memory_host.ts";

/** Default unread bytes per stream direction above which `write()` waits: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/** Datagram impairments between two hosts. */
export interface Impairments {
  /** Probability in [0, 1] that a datagram copy is lost. */
  loss: number;
  /** Delay range `[min, max]` in milliseconds; each copy gets a uniform draw from it. */
  delayMs: readonly [number, number];
  /** Probability in [0, 1] that a delivered datagram arrives twice (the copy has its own delay). */
  duplicate: number;
}

/** Options for {@linkcode MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** PRNG seed for impairments (default 1). Same seed, same traffic: same losses, delays, duplicates. */
  seed?: number;
  /** Loss probability (default 0). */
  loss?: number;
  /** Delay range in ms (default `[0, 0]`: delivery in a microtask). */
  delayMs?: readonly [number, number];
  /** Duplication probability (default 0). */
  duplicate?: number;
  /** Clock for delays and connect timeouts (default `systemClock`; tests pass a `FakeClock`). */
  clock?: Clock;
  /** Stream backpressure threshold in bytes (default 1 MiB). */
  highWaterMark?: number;
}

/** Datagram counters, summed over the whole network since creation or {@linkcode MemoryNetwork.resetStats}. */
export interface NetworkStats {
  /** Datagrams accepted by `send()`. */
  sent: number;
  /** Copies handed to a receiver's `onMessage`. */
  delivered: number;
  /** Copies lost to impairments, link rules, a detached host or a partition. */
  dropped: number;
  /** Extra copies made by duplication. */
  duplicated: number;
  /** Datagrams or copies nobody could receive: no such host, nothing bound to the port, or the receiver closed or left the group before arrival. */
  unroutable: number;
}

/** A host-pair selector for {@linkcode MemoryNetwork.setLinkRule}: a host address or `"*"` for any. */
export type LinkEnd = string | MemoryHost;

/**
 * A simulated LAN of virtual hosts. See the module documentation for the exact semantics.
 *
 * @example
 * ```ts
 * import { MemoryNetwork } from "@peerlink/peerlink/testing";
 * const network = new MemoryNetwork({ seed: 7 });
 * const a = network.host("10.0.0.1");
 * const b = network.host("10.0.0.2");
 * const received: string[] = [];
 * const server = await b.bindDatagram({ address: "0.0.0.0", port: 5000 }, (m) => {
 *   received.push(`${new TextDecoder().decode(m.data)} from ${m.address}`);
 * });
 * const client = await a.bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
 * await client.send(new TextEncoder().encode("hi"), "10.0.0.2", 5000); // zero delay: delivered by now
 * console.log(received); // ["hi from 10.0.0.1"]
 * await network.close();
 * ```
 */
export class MemoryNetwork {
  /** The clock delays and timeouts run on. */
  readonly clock: Clock;
  readonly #random: () => number;
  readonly #highWaterMark: number;
  readonly #hosts = new Map<string, VirtualHost>();
  readonly #detached = new Set<string>();
  /** Cut host pairs (both directions), from {@linkcode MemoryNetwork.partition}. */
  readonly #cuts = new Set<string>();
  readonly #rules = new Map<string, Partial<Impairments>>();
  #impairments: Impairments;
  #stats: NetworkStats = emptyStats();
  #closed = false;
  readonly #fabric: Fabric;

  /**
   * Creates an empty network; add hosts with {@linkcode MemoryNetwork.host}.
   *
   * @param options Seed, initial impairments, clock and stream high-water mark.
   */
  constructor(options: MemoryNetworkOptions = {}) {
    const seed = options.seed ?? 1;
    if (!Number.isFinite(seed)) throw new RangeError(`MemoryNetwork: seed must be a finite number, got ${seed}`);
    this.#random = mulberry32(seed);
    this.clock = options.clock ?? systemClock;
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    if (!(this.#highWaterMark >= 1)) {
      throw new RangeError(`MemoryNetwork: highWaterMark must be >= 1 byte, got ${options.highWaterMark}`);
    }
    this.#impairments = validImpairments({ loss: 0, delayMs: [0, 0], duplicate: 0 }, options, "MemoryNetwork");
    this.#fabric = {
      clock: this.clock,
      highWaterMark: this.#highWaterMark,
      isClosed: () => this.#closed,
      route: (host, socket, payload, address, port) => this.#route(host, socket, payload, address, port),
      findHost: (address) => this.#hosts.get(address),
      linkUp: (a, b) => this.#linkUp(a, b),
    };
  }

  /**
   * The virtual host with this LAN address, created (attached) on first use; later calls
   * return the same host. On a closed network, only existing hosts are returned.
   *
   * @param address An IPv4 unicast address, e.g. `"10.0.0.1"` (not loopback or multicast).
   * @param options Interface name and netmask, used when the host is created.
   * @returns The host, a {@linkcode SocketRuntime}.
   */
  host(address: string, options: MemoryHostOptions = {}): MemoryHost {
    const existing = this.#hosts.get(address);
    if (existing) return existing;
    if (this.#closed) throw new Error("MemoryNetwork.host: the network was closed. Create a new MemoryNetwork.");
    if (!isIPv4(address) || isLoopbackIPv4(address) || isMulticastIPv4(address) || address === "0.0.0.0") {
      throw new RangeError(
        `MemoryNetwork.host: ${String(address)} is not a unicast IPv4 address. Use e.g. "10.0.0.1".`,
      );
    }
    const host = new VirtualHost(address, options, this.#fabric);
    this.#hosts.set(address, host);
    for (const other of this.#hosts.values()) other.retryConnects();
    return host;
  }

  /** The current network-wide impairments (a copy). */
  get impairments(): Impairments {
    return { ...this.#impairments, delayMs: [...this.#impairments.delayMs] };
  }

  /**
   * Changes the network-wide impairments; omitted fields keep their value. Applies to
   * datagrams sent from now on.
   *
   * @param impairments Fields to change.
   *
   * @example
   * ```ts
   * import { MemoryNetwork } from "@peerlink/peerlink/testing";
   * const network = new MemoryNetwork({ seed: 1 });
   * network.configure({ loss: 0.2, delayMs: [5, 50] });
   * ```
   */
  configure(impairments: Partial<Impairments>): void {
    this.#impairments = validImpairments(this.#impairments, impairments, "MemoryNetwork.configure");
  }

  /**
   * Overrides impairments for datagrams from `from` to `to` (one direction). Given fields
   * replace the network-wide ones; the most specific rule wins (exact pair, then
   * `from -> *`, then `* -> to`, then `* -> *`). `"*"` matches other hosts only; a rule naming
   * one host on both sides applies to that host's own traffic.
   *
   * @param from Sending host or `"*"`.
   * @param to Receiving host or `"*"`.
   * @param rule Impairments for the pair, e.g. `{ loss: 1 }` to cut the link.
   *
   * @example
   * ```ts
   * import { MemoryNetwork } from "@peerlink/peerlink/testing";
   * const network = new MemoryNetwork();
   * network.setLinkRule("10.0.0.1", "10.0.0.2", { loss: 1 }); // A can no longer reach B; B still reaches A.
   * ```
   */
  setLinkRule(from: LinkEnd, to: LinkEnd, rule: Partial<Impairments>): void {
    const checked = validImpairments(this.#impairments, rule, "MemoryNetwork.setLinkRule");
    const partial: Partial<Impairments> = {};
    if (rule.loss !== undefined) partial.loss = checked.loss;
    if (rule.delayMs !== undefined) partial.delayMs = checked.delayMs;
    if (rule.duplicate !== undefined) partial.duplicate = checked.duplicate;
    this.#rules.set(ruleKey(endName(from), endName(to)), partial);
  }

  /** Removes every rule set with {@linkcode MemoryNetwork.setLinkRule}. */
  clearLinkRules(): void {
    this.#rules.clear();
  }

  /** A snapshot of the datagram counters. */
  get stats(): NetworkStats {
    return { ...this.#stats };
  }

  /** Sets every counter back to 0. */
  resetStats(): void {
    this.#stats = emptyStats();
  }

  /**
   * Unplugs a host: datagrams to and from it are dropped (counted), connects to or from it
   * time out, bytes on its open streams wait in flight. Its sockets stay open and its own
   * (loopback) traffic still works.
   *
   * @param host The host or its address.
   */
  detach(host: LinkEnd): void {
    this.#detached.add(this.#known(host, "detach"));
  }

  /**
   * Plugs a detached host back in: stream bytes in flight arrive, connects waiting for it proceed.
   *
   * @param host The host or its address.
   */
  attach(host: LinkEnd): void {
    if (!this.#detached.delete(this.#known(host, "attach"))) return;
    this.#reconnected();
  }

  /** After links came back: deliver stream bytes that waited, retry connects that waited. */
  #reconnected(): void {
    for (const each of this.#hosts.values()) each.wakeStreams();
    for (const each of this.#hosts.values()) each.retryConnects();
  }

  /**
   * Splits the network: no traffic passes between any host of `side` and any host of
   * `otherSide` (both directions), as if a link between two switches failed. Like
   * {@linkcode MemoryNetwork.detach}, but only between the two sides: datagrams are dropped,
   * connects time out, stream bytes wait in flight. Partitions add up until
   * {@linkcode MemoryNetwork.heal}.
   *
   * @param side Hosts (or addresses) on one side.
   * @param otherSide Hosts on the other side.
   *
   * @example
   * ```ts
   * import { MemoryNetwork } from "@peerlink/peerlink/testing";
   * const network = new MemoryNetwork();
   * const [a, b, c] = ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((ip) => network.host(ip));
   * network.partition([a], [b, c]); // b and c still reach each other
   * network.heal();
   * ```
   */
  partition(side: LinkEnd[], otherSide: LinkEnd[]): void {
    const left = side.map((h) => this.#known(h, "partition"));
    const right = otherSide.map((h) => this.#known(h, "partition"));
    for (const x of left) {
      for (const y of right) {
        if (x !== y) this.#cuts.add(ruleKey(x, y)).add(ruleKey(y, x));
      }
    }
  }

  /** Removes every partition: bytes in flight arrive, waiting connects proceed. Detached hosts stay detached. */
  heal(): void {
    if (this.#cuts.size === 0) return;
    this.#cuts.clear();
    this.#reconnected();
  }

  /**
   * Whether a host is attached.
   *
   * @param host The host or its address.
   * @returns False after {@linkcode MemoryNetwork.detach} until {@linkcode MemoryNetwork.attach}.
   */
  isAttached(host: LinkEnd): boolean {
    return !this.#detached.has(this.#known(host, "isAttached"));
  }

  /**
   * Closes every socket, listener and connection of every host, rejects pending connects
   * and cancels every delivery timer. Later operations on the hosts reject `CLOSED`.
   * Idempotent.
   *
   * @returns Resolves when everything is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Every endpoint closes at once: no pending read sees the EOF of a peer closed a moment earlier.
    for (const host of this.#hosts.values()) host.interruptReads();
    await Promise.all([...this.#hosts.values()].map((host) => host.closeAll()));
  }

  #known(host: LinkEnd, method: string): string {
    const address = endName(host);
    if (!this.#hosts.has(address)) {
      throw new RangeError(`MemoryNetwork.${method}: no host ${address}. Create it with network.host("${address}").`);
    }
    return address;
  }

  #linkUp(a: VirtualHost, b: VirtualHost): boolean {
    return a === b ||
      (!this.#detached.has(a.address) && !this.#detached.has(b.address) &&
        !this.#cuts.has(ruleKey(a.address, b.address)));
  }

  #route(host: VirtualHost, socket: MemoryDatagramSocket, payload: Uint8Array, address: string, port: number): void {
    this.#stats.sent++;
    const sourcePort = socket.localAddress.port;
    if (isMulticastIPv4(address)) {
      const iface = socket.multicastInterface;
      if (iface !== LOOPBACK_IPV4 && socket.multicastTTL > 0) {
        for (const other of this.#hosts.values()) {
          if (other === host) continue;
          for (const receiver of other.multicastReceivers(address, port, other.address)) {
            this.#transmit(host, other, receiver, payload, iface, sourcePort, { group: address, iface: other.address });
          }
        }
      }
      if (socket.multicastLoopback) {
        for (const receiver of host.multicastReceivers(address, port, iface)) {
          this.#transmit(host, host, receiver, payload, iface, sourcePort, { group: address, iface });
        }
      }
      return;
    }
    const bound = socket.localAddress.address;
    const local = isLoopbackIPv4(address) || address === host.address;
    const target = local ? host : this.#hosts.get(address);
    if (!target) {
      this.#stats.unroutable++;
      return;
    }
    if (!this.#linkUp(host, target)) {
      this.#stats.dropped++;
      return;
    }
    const destination = isLoopbackIPv4(address) ? LOOPBACK_IPV4 : address;
    const receiver = target.unicastReceiver(port, destination);
    if (!receiver) {
      this.#stats.unroutable++;
      return;
    }
    const source = bound !== "0.0.0.0" ? bound : isLoopbackIPv4(address) ? LOOPBACK_IPV4 : host.address;
    this.#transmit(host, target, receiver, payload, source, sourcePort, undefined);
  }

  /** Applies impairments to one copy bound for `receiver` and schedules its delivery. */
  #transmit(
    from: VirtualHost,
    to: VirtualHost,
    receiver: MemoryDatagramSocket,
    payload: Uint8Array,
    source: string,
    sourcePort: number,
    multicast: { group: string; iface: string } | undefined,
  ): void {
    if (!this.#linkUp(from, to)) {
      this.#stats.dropped++;
      return;
    }
    const deliver = () => {
      if (!receiver.open || (multicast && !receiver.isMember(multicast.group, multicast.iface))) {
        this.#stats.unroutable++;
      } else if (!this.#linkUp(from, to)) {
        this.#stats.dropped++;
      } else {
        this.#stats.delivered++;
        receiver.deliver({ data: payload.slice(), address: source, port: sourcePort });
      }
    };
    const rules = this.#effective(from, to);
    if (!rules) {
      receiver.schedule(deliver, 0);
      return;
    }
    // Always four draws per copy, so changing one knob does not shift the others' pattern.
    const lost = this.#random() < rules.loss;
    const delay = pickDelay(rules.delayMs, this.#random());
    const twice = this.#random() < rules.duplicate;
    const delayTwice = pickDelay(rules.delayMs, this.#random());
    if (lost) {
      this.#stats.dropped++;
      return;
    }
    receiver.schedule(deliver, delay);
    if (twice) {
      this.#stats.duplicated++;
      receiver.schedule(deliver, delayTwice);
    }
  }

  /** The impairments from `from` to `to`, or undefined for a host's own, perfect traffic. */
  #effective(from: VirtualHost, to: VirtualHost): Impairments | undefined {
    if (from === to) {
      const own = this.#rules.get(ruleKey(from.address, to.address));
      return own ? { ...this.#impairments, ...own } : undefined;
    }
    const rule = this.#rules.get(ruleKey(from.address, to.address)) ?? this.#rules.get(ruleKey(from.address, "*")) ??
      this.#rules.get(ruleKey("*", to.address)) ?? this.#rules.get(ruleKey("*", "*"));
    return rule ? { ...this.#impairments, ...rule } : this.#impairments;
  }
}

function emptyStats(): NetworkStats {
  return { sent: 0, delivered: 0, dropped: 0, duplicated: 0, unroutable: 0 };
}

function endName(end: LinkEnd): string {
  return typeof end === "string" ? end : end.address;
}

function ruleKey(from: string, to: string): string {
  return `${from}>${to}`;
}

function pickDelay([min, max]: readonly [number, number], draw: number): number {
  return min + (max - min) * draw;
}

function validImpairments(base: Impairments, change: Partial<Impairments>, where: string): Impairments {
  const probability = (name: string, value: number | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
      throw new RangeError(`${where}: ${name} must be a probability in [0, 1], got ${String(value)}`);
    }
    return value;
  };
  let delayMs = base.delayMs;
  if (change.delayMs !== undefined) {
    const [min, max] = Array.isArray(change.delayMs) ? change.delayMs : [NaN, NaN];
    if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && max >= min)) {
      throw new RangeError(
        `${where}: delayMs must be [min, max] with 0 <= min <= max (ms), got ${JSON.stringify(change.delayMs)}`,
      );
    }
    delayMs = [min, max];
  }
  return {
    loss: probability("loss", change.loss, base.loss),
    delayMs,
    duplicate: probability("duplicate", change.duplicate, base.duplicate),
  };
}
