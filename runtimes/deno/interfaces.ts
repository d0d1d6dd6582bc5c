/**
 * Turns the interface argument of the sockets interface (an address, a name, or for IPv6
 * an index) into what Deno's multicast calls take: an IPv4 address for
 * `joinMulticastV4`, an interface index for `joinMulticastV6`.
 *
 * @module
 */
import { NetError } from "../../src/net.ts";
import { isIPv4 } from "../../src/ipv4.ts";
import { findInterface, ipv6InterfaceIndex } from "../_shared/interfaces.ts";

/**
 * Whether `address` means "any interface".
 *
 * @param address An address or interface argument.
 * @returns True for `"0.0.0.0"`, `"::"` and `""`.
 */
export function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::" || address === "";
}

/** The interface name of a scoped address (`fe80::1%eth0` -> `eth0`), else the argument itself. */
function unscoped(iface: string): string {
  return iface.includes("%") ? iface.slice(iface.indexOf("%") + 1) : iface;
}

/**
 * The IPv4 address to join on: an IPv4 address as is, else the first IPv4 address of the
 * interface with that name or (IPv6) address.
 *
 * @param iface The interface argument; absent or wildcard for the OS's choice.
 * @returns An IPv4 address, `"0.0.0.0"` for the OS's choice.
 * @throws {NetError} `ADDR_NOT_AVAILABLE` when no interface with an IPv4 address matches.
 */
export function ipv4InterfaceAddress(iface: string | undefined): string {
  if (iface === undefined || iface === "" || iface === "::") return "0.0.0.0";
  if (isIPv4(iface)) return iface;
  const v4 = findInterface(unscoped(iface))?.addresses.find((a) => a.family === "IPv4");
  if (v4) return v4.address;
  throw new NetError(
    "ADDR_NOT_AVAILABLE",
    `ADDR_NOT_AVAILABLE: multicast interface "${iface}": no IPv4 interface with that address or name. ` +
      "Pass the IPv4 address of a local interface.",
    { address: iface },
  );
}

/**
 * The interface index Deno's joinMulticastV6 wants, from an index, a name, or an address.
 *
 * @param iface The interface argument; absent or wildcard for the OS's choice.
 * @returns The index, 0 for the OS's choice.
 * @throws {NetError} `ADDR_NOT_AVAILABLE` when the interface or its index cannot be found.
 */
export function ipv6InterfaceIndexOf(iface: string | undefined): number {
  if (iface === undefined || iface === "" || iface === "::" || iface === "0.0.0.0") return 0;
  const scoped = unscoped(iface);
  if (/^\d+$/.test(scoped)) return Number(scoped);
  const index = ipv6InterfaceIndex(findInterface(scoped));
  if (index) return index;
  throw new NetError(
    "ADDR_NOT_AVAILABLE",
    `ADDR_NOT_AVAILABLE: IPv6 multicast interface "${iface}": cannot find its interface index. ` +
      'Pass the interface index (e.g. "2") or the name of a local interface.',
    { address: iface },
  );
}
