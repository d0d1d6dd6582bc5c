/**
 * Finding the zone a domain belongs to (RFC 2136 section 4: an UPDATE names its zone): ask
 * the server for the domain's SOA; the SOA's owner, in the answer or (for a name below the
 * apex) in the authority section, is the zone apex.
 *
 * @module
 */
import { nameKey } from "../mdns/names.ts";
import type { DnsClient } from "./client.ts";
import { WideAreaError } from "./errors.ts";
import { rcodeName, TYPE_SOA } from "./wire.ts";

/**
 * The zone apex of `domain`, as the server sees it.
 *
 * @param client A client of the server.
 * @param domain The domain, e.g. `"peers.lab.example"`.
 * @returns The apex without trailing dot, e.g. `"lab.example"`.
 * @throws WideAreaError: `DNS_CONFIG` when the server has no zone for it, `DNS_NO_ANSWER`.
 */
export async function findZone(client: DnsClient, domain: string): Promise<string> {
  const reply = await client.query(domain, "SOA");
  const isSoa = (r: { type: string; rrtype?: number }) => r.type === "OTHER" && r.rrtype === TYPE_SOA;
  const soa = reply.answers.find((r) => isSoa(r) && nameKey(r.name) === nameKey(domain)) ??
    reply.authorities.find(isSoa);
  if ((reply.rcode === 0 || reply.rcode === 3) && soa && isUnder(domain, soa.name)) return nameKey(soa.name);
  throw new WideAreaError(
    "DNS_CONFIG",
    `DNS server ${client.server} has no zone for the domain ${domain}. (its SOA query answered ${
      rcodeName(reply.rcode)
    }${soa ? ` with the SOA of ${soa.name}.` : " without an SOA"}). Give a domain the server is authoritative for.`,
    { server: client.server, zone: `${domain}.`, rcode: rcodeName(reply.rcode) },
  );
}

/**
 * True when `name` is `zone` or below it (label-wise; the root zone counts as no zone).
 *
 * @param name A name.
 * @param zone A zone apex.
 * @returns Whether the zone holds the name.
 */
export function isUnder(name: string, zone: string): boolean {
  const n = nameKey(name);
  const z = nameKey(zone);
  return z !== "" && (n === z || n.endsWith(`.${z}`));
}
