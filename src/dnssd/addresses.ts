/**
 * Which of a host's addresses to register for other subnets, and which of a peer's addresses
 * to call first.
 *
 * @module
 */
import type { NetworkInterface } from "../net.ts";
import { ipv4ToInt, isLinkLocal, sameIpv6Prefix, sameSubnet } from "../mdns/interfaces.ts";

function isIpv4LinkLocal(address: string): boolean {
  const n = ipv4ToInt(address);
  return n !== undefined && n >>> 16 === 0xa9fe; // 169.254.0.0/16
}

/**
 * Addresses other subnets can reach: every address of a non-loopback interface except
 * link-local ones (169.254/16, fe80::/10), IPv4 first.
 *
 * @param interfaces The host's interfaces.
 * @returns The addresses, without IPv6 scope.
 *
 * @example
 * ```ts
 * import { routableAddresses } from "./addresses.ts";
 * const eth0 = { name: "eth0", internal: false, multicast: true, addresses: [
 *   { address: "10.77.0.1", family: "IPv4" as const, netmask: "255.255.255.0" },
 *   { address: "fe80::1", family: "IPv6" as const, netmask: "ffff:ffff:ffff:ffff::" },
 * ] };
 * console.log(routableAddresses([eth0])); // ["10.77.0.1"]
 * ```
 */
export function routableAddresses(interfaces: readonly NetworkInterface[]): string[] {
  const out = new Set<string>();
  for (const i of interfaces) {
    if (i.internal) continue;
    for (const a of i.addresses) {
      const address = a.address.split("%")[0];
      if (a.family === "IPv4" ? isIpv4LinkLocal(address) : isLinkLocal(address)) continue;
      out.add(address);
    }
  }
  return [...out].sort((x, y) => Number(x.includes(":")) - Number(y.includes(":")));
}

/**
 * Orders a peer's addresses, best first: `preferred` (the address a seed was reached at), then
 * addresses on one of our subnets, then IPv4, then other IPv6, link-local last.
 *
 * @param addresses The peer's addresses.
 * @param interfaces Our interfaces.
 * @param preferred An address known to work, if any.
 * @returns A new, ordered array.
 */
export function rankAddresses(
  addresses: readonly string[],
  interfaces: readonly NetworkInterface[],
  preferred?: string,
): string[] {
  const onLink = (address: string) =>
    interfaces.some((i) =>
      !i.internal &&
      i.addresses.some((a) =>
        address.includes(":")
          ? a.family === "IPv6" && !isLinkLocal(a.address) && sameIpv6Prefix(address, a.address, a.netmask)
          : a.family === "IPv4" && sameSubnet(address, a.address, a.netmask)
      )
    );
  const score = (address: string) =>
    address === preferred ? 0 : onLink(address) ? 1 : !address.includes(":") ? 2 : isLinkLocal(address) ? 4 : 3;
  return addresses.map((a) => [score(a), a] as const).sort((x, y) => x[0] - y[0]).map(([, a]) => a);
}
