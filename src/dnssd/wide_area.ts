/**
 * A node's wide-area DNS-SD: finds the DNS server and the domain(s), browses them by polling
 * (one {@linkcode ServicePoller} per domain) and, with a TSIG key, registers the node
 * (a {@linkcode Registrar}) once its mDNS name is settled. `Discovery` owns one and feeds its
 * events into the same peer table as mDNS.
 *
 * @module
 */
import { type Clock, epochMs } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { SocketRuntime } from "../net.ts";
import type { BrowseHandlers } from "../mdns/browser.ts";
import type { TxtAttributes } from "../mdns/txt.ts";
import { rankAddresses, routableAddresses } from "./addresses.ts";
import { DnsClient, type DnsClientStats } from "./client.ts";
import { discoverDomains } from "./domains.ts";
import { type Endpoint, parseEndpoint } from "./endpoint.ts";
import { WideAreaError } from "./errors.ts";
import type { ResolvedWideArea } from "./options.ts";
import { ServicePoller } from "./poller.ts";
import { Registrar } from "./registrar.ts";
import { readResolvConf, RESOLV_CONF } from "./resolv_conf.ts";
import { tsigSecret } from "./tsig.ts";
import { findZone } from "./zone.ts";

/** What a {@linkcode WideArea} needs from its node. */
export interface WideAreaContext {
  /** Sockets. */
  runtime: SocketRuntime;
  /** Time source. */
  clock: Clock;
  /** Diagnostics. */
  logger: Logger;
  /** The service type browsed and registered, e.g. `"_peerlink._tcp"` (realm types as on mDNS). */
  type: string;
  /** Where instances found in the domain are reported. */
  handlers: BrowseHandlers;
  /** The resolver settings file (default /etc/resolv.conf; tests give their own). */
  resolvConf?: string;
}

/** Counters and state, for diagnostics and tests. */
export interface WideAreaStats {
  /** The DNS server, `address:port`. */
  server?: string;
  /** Domains browsed. */
  browsing: string[];
  /** The registered instance name, while registered. */
  registered?: string;
  /** The DNS client's counters. */
  client?: DnsClientStats;
}

/**
 * Wide-area browsing and registration of one node. See the module documentation.
 *
 * @example
 * ```ts ignore
 * const wide = new WideArea(checkWideAreaOptions({ domain: "lab.example.", server: "10.0.0.53" }, []).wideArea!, {
 *   runtime, clock, logger, type: "_peerlink._tcp", handlers: { onUp: (i) => console.log(i.name) },
 * });
 * await wide.start();
 * await wide.register("Worker", 50001, { node: "Worker" });
 * await wide.stop();
 * ```
 */
export class WideArea {
  readonly #o: ResolvedWideArea;
  readonly #ctx: WideAreaContext;
  #client: DnsClient | undefined;
  #pollers: ServicePoller[] = [];
  #browsing: string[] = [];
  #registerIn: string | undefined;
  #registrar: Registrar | undefined;
  #stopped = false;

  /**
   * @param options Checked options (`checkWideAreaOptions`).
   * @param context Runtime, clock, logger, service type and event handlers.
   */
  constructor(options: ResolvedWideArea, context: WideAreaContext) {
    this.#o = options;
    this.#ctx = context;
  }

  /** Counters and state. */
  get stats(): WideAreaStats {
    return {
      server: this.#client?.server,
      browsing: [...this.#browsing],
      registered: this.#registrar?.registered?.instanceName,
      client: this.#client ? structuredClone(this.#client.stats) : undefined,
    };
  }

  /**
   * Finds the server and the domains and starts browsing.
   *
   * @throws WideAreaError (`DNS_CONFIG`) when there is no server to use.
   */
  async start(): Promise<void> {
    const { runtime, clock, logger } = this.#ctx;
    const resolv = this.#o.server === undefined || this.#o.domain === "auto"
      ? readResolvConf(this.#ctx.resolvConf ?? RESOLV_CONF)
      : undefined;
    const server = this.#server(resolv?.nameservers[0]);
    const client = new DnsClient({ runtime, clock, logger, server });
    this.#client = client;
    if (this.#o.domain === "auto") {
      const found = await discoverDomains(client, resolv?.search ?? []);
      this.#browsing = found.browse;
      this.#registerIn = found.register;
      logger.debug(
        `wide-area: search domains [${resolv?.search.join(", ")}] name browse domains [${found.browse.join(", ")}]${
          found.register ? `, registration domain ${found.register}` : ""
        }`,
      );
      if (found.browse.length === 0) {
        logger.info(`wide-area: the network announces no browse domain (b._dns-sd._udp under the search domains)`);
      }
    } else {
      this.#browsing = [this.#o.domain];
      this.#registerIn = this.#o.domain;
    }
    if (this.#stopped) return;
    for (const domain of this.#browsing) {
      const poller = new ServicePoller({
        client,
        ptrName: `${this.#ctx.type}.${domain}`,
        clock,
        logger,
        pollIntervalMs: this.#o.pollInterval,
        toEpoch: (ms) => epochMs(clock, ms),
        rankAddresses: (addresses) => rankAddresses(addresses, this.#interfaces()),
        handlers: this.#ctx.handlers,
      });
      this.#pollers.push(poller);
      poller.start();
    }
  }

  #server(nameserver: string | undefined): Endpoint {
    if (this.#o.server !== undefined) return parseEndpoint(this.#o.server, 53, "wideArea.server");
    if (nameserver === undefined) {
      throw new WideAreaError(
        "DNS_CONFIG",
        `wideArea.server is not set and ${
          this.#ctx.resolvConf ?? RESOLV_CONF
        } lists no nameserver: give the DNS server, e.g. wideArea: { server: "10.0.0.53" }.`,
      );
    }
    return parseEndpoint(nameserver, 53, `the nameserver of ${this.#ctx.resolvConf ?? RESOLV_CONF}`);
  }

  #interfaces() {
    try {
      return this.#ctx.runtime.networkInterfaces();
    } catch {
      return [];
    }
  }

  /**
   * Registers the node (with a TSIG key and a registration domain; otherwise only browses).
   *
   * @param instance The node's settled name.
   * @param port Its RPC UDP port (the SRV port).
   * @param txt Its TXT attributes, as announced by mDNS.
   * @throws WideAreaError: a refused update, a name in use, no answer; nothing stays registered.
   */
  async register(instance: string, port: number, txt: TxtAttributes): Promise<void> {
    const client = this.#client;
    if (!this.#o.tsig || !client || this.#stopped) return;
    const domain = this.#registerIn;
    if (domain === undefined) {
      this.#ctx.logger.info("wide-area: no registration domain found (dr._dns-sd._udp); browsing only");
      return;
    }
    await this.#registrar?.stop();
    const zone = await findZone(client, domain);
    const registrar = new Registrar({
      client,
      key: tsigSecret(this.#o.tsig),
      zone,
      ttl: this.#o.ttl,
      clock: this.#ctx.clock,
      logger: this.#ctx.logger,
      epochSeconds: () => Math.floor(epochMs(this.#ctx.clock) / 1000),
    });
    this.#registrar = registrar;
    const addresses = () => this.#o.addresses ?? routableAddresses(this.#interfaces());
    await registrar.register({ instance, type: this.#ctx.type, domain, port, txt, addresses });
  }

  /** Polls every domain again soon (a call to a peer failed). */
  pollSoon(): void {
    for (const p of this.#pollers) p.pollSoon();
  }

  /** Deletes the registration (bounded by the client's timeout), stops browsing. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const p of this.#pollers) p.stop();
    await this.#registrar?.stop();
    await this.#client?.close();
  }
}
