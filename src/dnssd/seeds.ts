/**
 * Seeds: for a network with neither multicast nor a DNS server (a VPN of a few hosts), each
 * configured host is asked directly for `<type>.local` by a unicast DNS-SD query to its port
 * 5353 (RFC 6762 section 5.5), which its PeerLink's mDNS responder answers by unicast (only
 * to hosts in its own `seeds`; see the `seeds` option of `Mdns`). The answers are polled like
 * a wide-area domain (`ServicePoller`); the seed's own address, where it answered, is the
 * peer's address.
 *
 * The kernel hands a unicast datagram for port 5353 to one of the sockets bound to it, so a
 * seed host answers for one PeerLink node (the last one started there).
 *
 * @module
 */
import { type Clock, epochMs } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { SocketRuntime } from "../net.ts";
import type { BrowseHandlers } from "../mdns/browser.ts";
import { MDNS_PORT } from "../mdns/transport.ts";
import { rankAddresses } from "./addresses.ts";
import { DnsClient, type DnsClientStats } from "./client.ts";
import { ServicePoller } from "./poller.ts";

/** Options of {@linkcode Seeds}. */
export interface SeedsOptions {
  /** Numeric addresses of the seed hosts. */
  seeds: readonly string[];
  /** Sockets. */
  runtime: SocketRuntime;
  /** Time source. */
  clock: Clock;
  /** Diagnostics. */
  logger: Logger;
  /** Service type, e.g. `"_peerlink._tcp"`. */
  type: string;
  /** How often each seed is asked, ms. */
  pollIntervalMs: number;
  /** Where instances found at seeds are reported. */
  handlers: BrowseHandlers;
  /** The seeds' mDNS port (default 5353; tests use another). */
  port?: number;
}

/**
 * Polls each seed host. See the module documentation.
 *
 * @example
 * ```ts ignore
 * const seeds = new Seeds({ seeds: ["10.88.0.1"], runtime, clock, logger, type: "_peerlink._tcp",
 *   pollIntervalMs: 10_000, handlers: { onUp: (i) => console.log(i.name, i.addresses[0]) } });
 * seeds.start();
 * ```
 */
export class Seeds {
  readonly #parts: { client: DnsClient; poller: ServicePoller }[];

  /**
   * @param options Seeds, runtime, clock, logger, type, interval, handlers.
   */
  constructor(options: SeedsOptions) {
    const toEpoch = (ms: number) => epochMs(options.clock, ms);
    const interfaces = () => {
      try {
        return options.runtime.networkInterfaces();
      } catch {
        return [];
      }
    };
    this.#parts = options.seeds.map((address) => {
      const client = new DnsClient({
        runtime: options.runtime,
        clock: options.clock,
        logger: options.logger,
        server: { address, port: options.port ?? MDNS_PORT },
      });
      const poller = new ServicePoller({
        client,
        ptrName: `${options.type}.local`,
        clock: options.clock,
        logger: options.logger,
        pollIntervalMs: options.pollIntervalMs,
        toEpoch,
        // The seed answered at its own address: that one works, whatever its A records list
        // (a VPN interface carries no multicast, so its responder may not list it). PeerLink's
        // RPC runs over IPv4, so an IPv6 seed comes after the IPv4 addresses it lists.
        rankAddresses: (addresses) =>
          rankAddresses(
            [...new Set([address, ...addresses])],
            interfaces(),
            address.includes(":") ? undefined : address,
          ),
        handlers: options.handlers,
      });
      return { client, poller };
    });
  }

  /** Per seed, its client's counters (replies dropped by reason...). */
  get stats(): DnsClientStats[] {
    return this.#parts.map((p) => structuredClone(p.client.stats));
  }

  /** Starts asking every seed. */
  start(): void {
    for (const p of this.#parts) p.poller.start();
  }

  /** Asks every seed again soon. */
  pollSoon(): void {
    for (const p of this.#parts) p.poller.pollSoon();
  }

  /** Stops asking and closes the sockets. Idempotent. */
  async stop(): Promise<void> {
    for (const p of this.#parts) p.poller.stop();
    await Promise.all(this.#parts.map((p) => p.client.close()));
  }
}
