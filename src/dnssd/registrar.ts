/**
 * Registers a node in a wide-area domain with TSIG-signed DNS UPDATEs (RFC 2136, RFC 6763
 * section 11), keeps it registered, and removes it.
 *
 * - Register: one UPDATE, with the prerequisites "instance name not in use" and "host name not
 *   in use", adds PTR, SRV, TXT and A/AAAA. The server applies it whole or not at all, so a
 *   refusal leaves nothing registered; it fails with a {@linkcode WideAreaError} naming the
 *   server, the zone and the rcode. When the name is in use (YXDOMAIN) by a registration whose
 *   `expires` has passed (its node died), that one is replaced, under the prerequisite that
 *   its TXT is still exactly what we read; a live one fails with `DNS_NAME_IN_USE`.
 * - Refresh: every half TTL, an UPDATE replaces the TXT (a new `expires`) and the address
 *   records (addresses may have changed), on the prerequisite that the TXT is still ours. A
 *   refresh that fails is retried; one that finds the registration gone registers again.
 * - Stop: an UPDATE deletes the instance and host names and our PTR, again only if the TXT is
 *   still ours (another node may have taken the name over meanwhile).
 *
 * Operations run one at a time.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import { nameKey } from "../mdns/names.ts";
import type { TxtRecordRR } from "../mdns/records.ts";
import type { TxtAttributes } from "../mdns/txt.ts";
import type { DnsClient, SignedReply } from "./client.ts";
import { WideAreaError } from "./errors.ts";
import { leaseOf, type RegistrationRecords, registrationRecords } from "./service_records.ts";
import type { TsigSecret } from "./tsig.ts";
import { addRecord, deleteName, deleteRecord, deleteRrset, nameNotInUse, rrsetIsExactly } from "./update.ts";
import { rcodeName, typeCode } from "./wire.ts";

const RCODE_YXDOMAIN = 6;
const RCODE_NXRRSET = 8;

/** Options of {@linkcode Registrar}. */
export interface RegistrarOptions {
  /** A client of the server that takes the updates. */
  client: DnsClient;
  /** The key updates are signed with. */
  key: TsigSecret;
  /** The zone apex, without trailing dot. */
  zone: string;
  /** TTL of the records, seconds; refreshed every half TTL. */
  ttl: number;
  /** Time source for refreshes. */
  clock: Clock;
  /** Diagnostics. */
  logger: Logger;
  /** Seconds since the Unix epoch (the `expires` stamps). */
  epochSeconds: () => number;
}

/** What to register. */
export interface RegistrationRequest {
  /** Node name. */
  instance: string;
  /** Service type without domain, e.g. `"_peerlink._tcp"`. */
  type: string;
  /** Domain. */
  domain: string;
  /** SRV port (the RPC UDP port). */
  port: number;
  /** TXT attributes. */
  txt: TxtAttributes;
  /** The addresses to register, read at every registration and refresh. */
  addresses: () => readonly string[];
}

/**
 * Registers one node; see the module documentation.
 *
 * @example
 * ```ts ignore
 * const registrar = new Registrar({ client, key, zone: "lab.example", ttl: 120, clock, logger, epochSeconds });
 * await registrar.register({ instance: "Worker", type: "_peerlink._tcp", domain: "lab.example", port, txt, addresses });
 * // ...
 * await registrar.stop();
 * ```
 */
export class Registrar {
  readonly #o: RegistrarOptions;
  #request: RegistrationRequest | undefined;
  #current: RegistrationRecords | undefined;
  #timer: TimerId | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #stopped = false;

  /**
   * @param options Client, key, zone, TTL, clock, logger.
   */
  constructor(options: RegistrarOptions) {
    this.#o = options;
  }

  /** The registered records, while registered. */
  get registered(): RegistrationRecords | undefined {
    return this.#current;
  }

  /**
   * Registers the node and starts refreshing it.
   *
   * @param request Name, type, domain, port, TXT, addresses.
   * @throws WideAreaError: `DNS_REFUSED`, `DNS_NAME_IN_USE`, `DNS_NO_ANSWER`, `DNS_CONFIG`.
   */
  register(request: RegistrationRequest): Promise<void> {
    this.#request = request;
    return this.#serial(() => this.#register(request));
  }

  /** Stops refreshing and deletes the registration (failures are logged). Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#serial(() => this.#remove()).catch(() => {});
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(op, op);
    this.#chain = run.catch(() => {});
    return run;
  }

  #records(request: RegistrationRequest): RegistrationRecords {
    const addresses = request.addresses();
    if (addresses.length === 0) {
      throw new WideAreaError(
        "DNS_CONFIG",
        `nothing to register in ${request.domain}.: this host has no address other subnets can reach (only loopback and link-local). Give wideArea.addresses.`,
        { zone: `${this.#o.zone}.` },
      );
    }
    return registrationRecords({
      ...request,
      addresses,
      ttl: this.#o.ttl,
      expires: this.#o.epochSeconds() + this.#o.ttl,
    });
  }

  #update(
    prerequisites: Parameters<DnsClient["update"]>[1],
    updates: Parameters<DnsClient["update"]>[2],
  ): Promise<SignedReply> {
    return this.#o.client.update(this.#o.zone, prerequisites, updates, this.#o.key);
  }

  async #register(request: RegistrationRequest): Promise<void> {
    const set = this.#records(request);
    const result = await this.#update(
      [nameNotInUse(set.instanceName), nameNotInUse(set.hostName)],
      [addRecord(set.ptr), ...set.unique.map(addRecord)],
    );
    if (succeeded(result)) return this.#registered(set, "registered");
    if (result.reply.rcode === RCODE_YXDOMAIN) return await this.#takeOver(set, request);
    throw this.#refused(`registering '${request.instance}'`, result);
  }

  /** The name is in use: replace it if its registration has lapsed, else fail. */
  async #takeOver(set: RegistrationRecords, request: RegistrationRequest): Promise<void> {
    const reply = await this.#o.client.query(set.instanceName, "TXT");
    const txts = reply.answers.filter((r): r is TxtRecordRR =>
      r.type === "TXT" && nameKey(r.name) === nameKey(set.instanceName)
    );
    const lease = txts.length === 1 ? leaseOf(txts[0]) : undefined;
    const now = this.#o.epochSeconds();
    if (lease === undefined || lease > now) {
      const holder = txts.length === 0
        ? `its host name ${set.hostName}. is taken`
        : lease === undefined
        ? "it is registered by something other than PeerLink (no expires stamp)"
        : `another node holds it for ${lease - now} s more (it refreshes its registration while it runs)`;
      throw new WideAreaError(
        "DNS_NAME_IN_USE",
        `the name '${request.instance}' is already in use in zone ${this.#o.zone}. at DNS server ${this.#o.client.server} (YXDOMAIN): ${holder}. Choose another node name, or stop the other node.`,
        { server: this.#o.client.server, zone: `${this.#o.zone}.`, rcode: "YXDOMAIN" },
      );
    }
    const result = await this.#update(
      rrsetIsExactly(txts),
      [deleteName(set.instanceName), deleteName(set.hostName), addRecord(set.ptr), ...set.unique.map(addRecord)],
    );
    if (succeeded(result)) {
      return this.#registered(set, `took over the lapsed registration (expired ${now - lease} s ago)`);
    }
    if (result.reply.rcode === RCODE_NXRRSET) {
      throw new WideAreaError(
        "DNS_NAME_IN_USE",
        `the name '${request.instance}' changed hands in zone ${this.#o.zone}. at DNS server ${this.#o.client.server} while we replaced its lapsed registration (NXRRSET): another node registered it. Choose another node name.`,
        { server: this.#o.client.server, zone: `${this.#o.zone}.`, rcode: "NXRRSET" },
      );
    }
    throw this.#refused(`replacing the lapsed registration of '${request.instance}'`, result);
  }

  #registered(set: RegistrationRecords, what: string): void {
    this.#current = set;
    this.#o.logger.debug(
      `wide-area: ${what}: ${set.instanceName} -> ${set.hostName} in zone ${this.#o.zone} at ${this.#o.client.server}`,
    );
    this.#schedule(this.#o.ttl * 500);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#serial(() => this.#refresh()).catch((err) => {
        this.#o.logger.warn(`wide-area: refreshing the registration failed: ${describe(err)}; retrying`);
        this.#schedule(Math.min(10_000, Math.max(1000, this.#o.ttl * 100)));
      });
    }, ms);
  }

  async #refresh(): Promise<void> {
    const current = this.#current;
    const request = this.#request;
    if (this.#stopped || !current || !request) return;
    const next = this.#records(request);
    const result = await this.#update(rrsetIsExactly([current.txt]), [
      deleteRrset(next.instanceName, typeCode("TXT")),
      deleteRrset(next.hostName, typeCode("A")),
      deleteRrset(next.hostName, typeCode("AAAA")),
      addRecord(next.ptr),
      ...next.unique.map(addRecord),
    ]);
    if (succeeded(result)) {
      this.#current = next;
      this.#schedule(this.#o.ttl * 500);
      return;
    }
    if (result.reply.rcode === RCODE_NXRRSET) {
      // Deleted by someone, or taken over after we failed to refresh in time: register afresh.
      this.#current = undefined;
      this.#o.logger.warn(
        `wide-area: the registration of '${request.instance}' vanished from the zone; registering again`,
      );
      try {
        await this.#register(request);
      } catch (err) {
        this.#o.logger.error(`wide-area: registering '${request.instance}' again failed: ${describe(err)}`);
      }
      return;
    }
    throw this.#refused(`refreshing '${request.instance}'`, result);
  }

  async #remove(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    if (!current) return;
    try {
      const result = await this.#update(rrsetIsExactly([current.txt]), [
        deleteName(current.instanceName),
        deleteName(current.hostName),
        deleteRecord(current.ptr),
      ]);
      if (succeeded(result)) {
        this.#o.logger.debug(`wide-area: removed ${current.instanceName} from zone ${this.#o.zone}`);
      } else if (result.reply.rcode !== RCODE_NXRRSET) {
        this.#o.logger.warn(describe(this.#refused(`removing '${current.instanceName}'`, result)));
      }
    } catch (err) {
      this.#o.logger.warn(
        `wide-area: could not remove ${current.instanceName} from zone ${this.#o.zone}: ${
          describe(err)
        }; its registration lapses by itself at its expires stamp`,
      );
    }
  }

  #refused(what: string, result: SignedReply): WideAreaError {
    const { reply, tsig } = result;
    const rcode = `${rcodeName(reply.rcode)}${tsig.error ? ` (TSIG error ${rcodeName(tsig.error)})` : ""}`;
    const zone = `${this.#o.zone}.`;
    const key = this.#o.key.name;
    const advice = tsig.error === 18
      ? "Our clock and the server's differ by more than 5 minutes: synchronise the clocks (NTP)."
      : reply.rcode === 9
      ? `The server is not authoritative for ${zone} or does not let key "${key}" update it: give the zone allow-update { key "${key}"; }; (or an update-policy that grants it).`
      : reply.rcode === 5
      ? `The server refuses updates of ${zone} from key "${key}": give the zone allow-update { key "${key}"; };.`
      : reply.rcode === 10
      ? `A name is outside ${zone}: give a wideArea.domain inside the zone.`
      : reply.rcode === 2
      ? "The server failed to apply it (is its zone journal writable?): see its log."
      : "See the server's log.";
    return new WideAreaError(
      "DNS_REFUSED",
      `DNS server ${this.#o.client.server} refused the UPDATE ${what} in zone ${zone}: ${rcode}. ${advice}`,
      { server: this.#o.client.server, zone, rcode },
    );
  }
}

function succeeded(result: SignedReply): boolean {
  return result.reply.rcode === 0 && result.tsig.error === 0;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
