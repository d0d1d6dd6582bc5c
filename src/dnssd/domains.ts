/**
 * Browse and registration domain discovery (RFC 6763 section 11): under each search domain
 * of the system, the PTR records of `b._dns-sd._udp` and `lb._dns-sd._udp` name the domains
 * to browse, and `dr._dns-sd._udp` (else `r._dns-sd._udp`) the domain to register in.
 *
 * @module
 */
import type { DnsClient } from "./client.ts";
import { nameKey } from "../mdns/names.ts";

/** Domains found for `wideArea.domain: "auto"`. */
export interface DiscoveredDomains {
  /** Domains to browse, without trailing dots, in the order found. */
  browse: string[];
  /** The domain to register in, if the network names one. */
  register?: string;
}

/**
 * Asks the server for the browse and registration domains under each search domain.
 *
 * @param client A client of the system's DNS server.
 * @param searchDomains Search domains (from resolv.conf).
 * @returns What was found; unanswered questions count as nothing found.
 *
 * @example
 * ```ts ignore
 * const { browse, register } = await discoverDomains(client, ["lab.example"]);
 * ```
 */
export async function discoverDomains(client: DnsClient, searchDomains: readonly string[]): Promise<DiscoveredDomains> {
  const ask = async (label: string, domain: string): Promise<string[]> => {
    const name = `${label}._dns-sd._udp.${domain}`;
    try {
      const reply = await client.query(name, "PTR");
      return reply.answers.filter((r) => r.type === "PTR" && nameKey(r.name) === nameKey(name))
        .map((r) => (r.data as string).replace(/\.$/, ""))
        .filter((d) => d !== "");
    } catch {
      return [];
    }
  };
  const browse = new Map<string, string>();
  let register: string | undefined;
  for (const domain of searchDomains) {
    const [b, lb, dr, r] = await Promise.all(["b", "lb", "dr", "r"].map((label) => ask(label, domain)));
    for (const d of [...b, ...lb]) if (!browse.has(nameKey(d))) browse.set(nameKey(d), d);
    register ??= dr[0] ?? r[0];
  }
  return { browse: [...browse.values()], register };
}
