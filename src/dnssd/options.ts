/**
 * The wide-area options of a node (`wideArea`, `seeds`), their defaults and their checks.
 *
 * @module
 */
import { validateName } from "../mdns/names.ts";
import { isNumericAddress, parseEndpoint } from "./endpoint.ts";
import { WideAreaError } from "./errors.ts";
import { type TsigKey, tsigSecret } from "./tsig.ts";

/** Default TTL of a registration, seconds (as mDNS service records). */
export const WIDE_AREA_TTL = 120;
/** Default interval between polls of a domain or a seed, ms. */
export const WIDE_AREA_POLL_INTERVAL = 10_000;

/**
 * Wide-area DNS-SD (RFC 6763 over unicast DNS): browse, and register in, a DNS domain served
 * by a real DNS server, beside mDNS on the LAN. Peers on other subnets, VLANs or VPNs then
 * find each other through the server.
 *
 * @example
 * ```ts
 * import type { WideAreaOptions } from "./options.ts";
 * const wideArea: WideAreaOptions = {
 *   domain: "lab.example.",
 *   server: "10.0.0.53",
 *   tsig: { name: "pl-key", algorithm: "hmac-sha256", secret: "base64 from tsig-keygen" },
 * };
 * ```
 */
export interface WideAreaOptions {
  /**
   * The DNS domain to browse and register in, e.g. `"lab.example."`; the server must be
   * authoritative for it (or a zone above it). `"auto"`: the browse domains the network
   * announces (`b._dns-sd._udp` and `lb._dns-sd._udp` under the system's search domains,
   * RFC 6763 section 11), registering in the one `dr._dns-sd._udp` (else `r._dns-sd._udp`) names.
   */
  domain: string;
  /**
   * The DNS server for updates and queries, `host[:port]` with a numeric host
   * (`"10.0.0.53"`, `"10.0.0.53:5300"`, `"[fd00::53]:53"`). Default: the first `nameserver`
   * of /etc/resolv.conf.
   */
  server?: string;
  /**
   * The TSIG key that signs updates (the server's `allow-update { key "<name>"; }`). Without
   * it the node only browses the domain and is not registered.
   */
  tsig?: TsigKey;
  /** TTL of the registration, seconds (10 to 604800, default 120); refreshed every half TTL. */
  ttl?: number;
  /** How often the domain is browsed, ms (at least 100; default 10 000). */
  pollInterval?: number;
  /**
   * The addresses registered as the node's A/AAAA records: the ones other subnets can reach.
   * Default: every non-loopback, non-link-local address of the host.
   */
  addresses?: string[];
}

/** Wide-area options with defaults applied and checked. */
export interface ResolvedWideArea extends Omit<WideAreaOptions, "ttl" | "pollInterval"> {
  /** TTL, seconds. */
  ttl: number;
  /** Poll interval, ms. */
  pollInterval: number;
}

function config(message: string): WideAreaError {
  return new WideAreaError("DNS_CONFIG", message);
}

/**
 * Checks `wideArea` and `seeds` and applies defaults.
 *
 * @param wideArea The `wideArea` option, if any.
 * @param seeds The `seeds` option, if any.
 * @returns The resolved wide-area options (undefined without `wideArea`) and the seeds.
 * @throws WideAreaError (`DNS_CONFIG`) naming the option that is wrong and how to fix it.
 *
 * @example
 * ```ts
 * import { checkWideAreaOptions } from "./options.ts";
 * const { wideArea } = checkWideAreaOptions({ domain: "lab.example." }, undefined);
 * console.log(wideArea?.ttl, wideArea?.pollInterval); // 120 10000
 * ```
 */
export function checkWideAreaOptions(
  wideArea: WideAreaOptions | undefined,
  seeds: readonly string[] | undefined,
): { wideArea?: ResolvedWideArea; seeds: string[] } {
  if (seeds !== undefined) {
    if (!Array.isArray(seeds)) throw config('seeds must be an array of addresses, e.g. ["10.9.0.5", "fd7a::5"].');
    for (const seed of seeds) {
      if (typeof seed !== "string" || !isNumericAddress(seed)) {
        throw config(
          `seeds: ${JSON.stringify(seed)} is not a numeric IPv4 or IPv6 address (host names are not resolved).`,
        );
      }
    }
  }
  const checkedSeeds = [...new Set(seeds ?? [])];
  if (wideArea === undefined) return { seeds: checkedSeeds };
  if (typeof wideArea !== "object" || wideArea === null) {
    throw config('wideArea must be an object, e.g. { domain: "lab.example.", server: "10.0.0.53" }.');
  }
  const domain = typeof wideArea.domain === "string" ? wideArea.domain.trim().replace(/\.$/, "") : "";
  if (domain === "") {
    throw config('wideArea.domain is missing: give the DNS domain to use, e.g. "lab.example.", or "auto".');
  }
  if (domain !== "auto") {
    try {
      validateName(domain);
    } catch (err) {
      throw config(
        `wideArea.domain ${JSON.stringify(wideArea.domain)} is not a domain name: ${(err as Error).message}`,
      );
    }
  }
  if (wideArea.server !== undefined) parseEndpoint(wideArea.server, 53, "wideArea.server");
  if (wideArea.tsig !== undefined) tsigSecret(wideArea.tsig);
  const ttl = wideArea.ttl ?? WIDE_AREA_TTL;
  if (!Number.isInteger(ttl) || ttl < 10 || ttl > 604_800) {
    throw config(`wideArea.ttl must be a whole number of seconds from 10 to 604800, got ${String(wideArea.ttl)}.`);
  }
  const pollInterval = wideArea.pollInterval ?? WIDE_AREA_POLL_INTERVAL;
  if (typeof pollInterval !== "number" || !Number.isFinite(pollInterval) || pollInterval < 100) {
    throw config(`wideArea.pollInterval must be at least 100 ms, got ${String(wideArea.pollInterval)}.`);
  }
  for (const address of wideArea.addresses ?? []) {
    if (typeof address !== "string" || !isNumericAddress(address)) {
      throw config(`wideArea.addresses: ${JSON.stringify(address)} is not a numeric IPv4 or IPv6 address.`);
    }
  }
  return { wideArea: { ...wideArea, domain, ttl, pollInterval }, seeds: checkedSeeds };
}
