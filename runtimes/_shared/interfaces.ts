/**
 * Network interface enumeration shared by the adapters: `node:os` networkInterfaces()
 * (which Deno and Bun implement too) plus, on Linux, the interface flags in
 * `/sys/class/net/<name>/flags` to tell which interfaces can do multicast. Also the
 * lookups the adapters' multicast calls need: an interface by name or address, its index,
 * and the `::%<name>` form of an IPv6 interface that node:dgram and Bun take.
 *
 * The flags are used only when sysfs belongs to this process's network namespace (a
 * container or `unshare -n` without a fresh sysfs mount shows the host's); otherwise, and
 * off Linux, multicast capability is guessed from the name.
 *
 * Never throws and never triggers a permission prompt: under Deno without
 * `--allow-sys`/`--allow-read` it returns what it may see (possibly nothing).
 *
 * Upstream docs:
 * - https://nodejs.org/api/os.html#osnetworkinterfaces
 * - https://www.kernel.org/doc/Documentation/ABI/testing/sysfs-class-net (flags)
 * - https://docs.deno.com/api/deno/~/Deno.Permissions.querySync
 *
 * @module
 */
import { networkInterfaces as osNetworkInterfaces } from "node:os";
import { readdirSync, readFileSync } from "node:fs";
import { type InterfaceAddress, NetError, type NetworkInterface } from "../../src/net.ts";

/** Linux `IFF_MULTICAST` from `<linux/if.h>`. */
export const IFF_MULTICAST = 0x1000;

/** The part of Deno's permission API used here, declared locally (no Deno lib needed). */
interface DenoPermissions {
  querySync?(descriptor: { name: string; kind?: string; path?: string }): { state: string };
}

/**
 * Under Deno, whether a permission is already granted (so using it cannot prompt or
 * throw). Outside Deno always true.
 */
function permitted(descriptor: { name: string; kind?: string; path?: string }): boolean {
  const deno = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno;
  if (!deno) return true;
  try {
    return deno.permissions?.querySync?.(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Whether `/sys/class/net` describes this process's network namespace. sysfs shows the
 * namespace of whoever mounted it, so after `unshare -n` without a fresh sysfs mount it
 * lists the host's interfaces (and their flags). `/proc/self/net/dev` always follows the
 * reading process, so the two name sets must agree before the flags are trusted.
 */
function sysfsMatchesNamespace(): boolean {
  if (
    !permitted({ name: "read", path: "/proc/self/net/dev" }) || !permitted({ name: "read", path: "/sys/class/net" })
  ) {
    return false;
  }
  try {
    const ours = readFileSync("/proc/self/net/dev", "utf8").split("\n").slice(2)
      .map((line) => line.split(":")[0].trim()).filter((name) => name !== "").sort();
    const shown = readdirSync("/sys/class/net").filter((name) => !name.startsWith(".")).sort();
    return ours.length > 0 && ours.join("\n") === shown.join("\n");
  } catch {
    return false;
  }
}

/** Point-to-point tunnel names that never carry LAN multicast (used when flags are unreadable). */
const TUNNEL_NAME = /^(utun|tun|tap-vpn|ppp|ipsec|gif|stf|wg|zt)\d*/;

/**
 * Reads Linux interface flags, or `undefined` where they cannot be read (not Linux, no
 * permission, interface vanished).
 *
 * @param name Interface name, e.g. `"eth0"`.
 * @returns The flags word, e.g. `0x1003`.
 */
export function readInterfaceFlags(name: string): number | undefined {
  if (!/^[\w.:@-]+$/.test(name)) return undefined; // never build odd paths from odd names
  const path = `/sys/class/net/${name}/flags`;
  if (!permitted({ name: "read", path })) return undefined;
  try {
    const value = Number.parseInt(readFileSync(path, "utf8").trim(), 16);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decides multicast capability: the kernel's IFF_MULTICAST flag where readable, else a
 * guess by name (tunnels no, everything else yes; macOS `lo0` does multicast).
 *
 * @param name Interface name.
 * @param flags Its flags word, when known.
 * @returns True when the interface can send and receive multicast.
 */
export function isMulticastCapable(name: string, flags: number | undefined): boolean {
  if (flags !== undefined) return (flags & IFF_MULTICAST) !== 0;
  return !TUNNEL_NAME.test(name);
}

type OsAddress = {
  address: string;
  netmask: string;
  family: string | number;
  internal: boolean;
  scopeid?: number;
};

function toInterfaceAddress(entry: OsAddress): InterfaceAddress {
  // Node 18.0-18.3 reported the family as a number.
  const family = entry.family === "IPv6" || entry.family === 6 ? "IPv6" : "IPv4";
  const out: InterfaceAddress = { address: entry.address, family, netmask: entry.netmask };
  if (family === "IPv6" && typeof entry.scopeid === "number") out.scopeId = entry.scopeid;
  return out;
}

/**
 * Lists the host's network interfaces that are up and have addresses.
 *
 * @returns One entry per interface, in the OS's order; `[]` when the runtime may not look.
 *
 * @example
 * ```ts
 * import { listInterfaces } from "./interfaces.ts";
 * for (const nic of listInterfaces().filter((n) => n.multicast && !n.internal)) {
 *   console.log(nic.name, nic.addresses.map((a) => a.address));
 * }
 * ```
 */
export function listInterfaces(): NetworkInterface[] {
  if (!permitted({ name: "sys", kind: "networkInterfaces" })) return [];
  let table: Record<string, OsAddress[] | undefined>;
  try {
    table = osNetworkInterfaces() as Record<string, OsAddress[] | undefined>;
  } catch {
    return [];
  }
  const flagsReadable = sysfsMatchesNamespace();
  const out: NetworkInterface[] = [];
  for (const [name, entries] of Object.entries(table)) {
    if (!entries || entries.length === 0) continue;
    out.push({
      name,
      addresses: entries.map(toInterfaceAddress),
      // Every address, not some: Deno 2.x marks the link-local fe80::1 internal, which would
      // otherwise make a LAN interface with that address look like loopback.
      internal: entries.every((e) => e.internal),
      multicast: isMulticastCapable(name, flagsReadable ? readInterfaceFlags(name) : undefined),
    });
  }
  return out;
}

/**
 * Finds a local interface by its name (`"eth0"`) or by one of its addresses.
 *
 * @param nameOrAddress Interface name, or an address one of its addresses equals.
 * @returns The interface, or `undefined` when none matches (or the runtime may not look).
 *
 * @example
 * ```ts
 * import { findInterface } from "./interfaces.ts";
 * console.log(findInterface("lo")?.addresses.map((a) => a.address));
 * ```
 */
export function findInterface(nameOrAddress: string): NetworkInterface | undefined {
  const interfaces = listInterfaces();
  return interfaces.find((i) => i.name === nameOrAddress) ??
    interfaces.find((i) => i.addresses.some((a) => a.address === nameOrAddress));
}

/**
 * The interface index of an IPv6-capable interface: the scope id of its link-local address.
 *
 * @param iface The interface.
 * @returns Its index, or `undefined` when it has no scoped IPv6 address.
 */
export function ipv6InterfaceIndex(iface: NetworkInterface | undefined): number | undefined {
  return iface?.addresses.find((a) => a.family === "IPv6" && a.scopeId)?.scopeId;
}

/**
 * An IPv6 multicast interface as `node:dgram` and Bun's UDP sockets take it: a scoped
 * wildcard, `"::%eth0"`. libuv reads the scope with if_nametoindex(), so an index must
 * become its interface name first (else it silently means "any"). Anything with a colon
 * (already `"::%eth0"`, or an address) passes unchanged.
 *
 * @param iface Interface name (`"eth0"`), index (`"2"`), or scoped form; `undefined` for the default.
 * @returns The scoped wildcard, or `iface` unchanged.
 * @throws {NetError} `ADDR_NOT_AVAILABLE` for an index no IPv6 interface has.
 *
 * @example
 * ```ts
 * import { scopedIpv6Interface } from "./interfaces.ts";
 * console.log(scopedIpv6Interface("eth0")); // "::%eth0"
 * ```
 */
export function scopedIpv6Interface(iface: string | undefined): string | undefined {
  if (iface === undefined || iface === "" || iface.includes(":")) return iface;
  if (!/^\d+$/.test(iface)) return `::%${iface}`;
  const index = Number(iface);
  const owner = listInterfaces().find((i) => ipv6InterfaceIndex(i) === index);
  if (!owner) {
    throw new NetError(
      "ADDR_NOT_AVAILABLE",
      `ADDR_NOT_AVAILABLE: IPv6 multicast interface index ${index}: no interface with IPv6 has it. ` +
        'Pass the name of a local interface (e.g. "eth0").',
      { address: iface },
    );
  }
  return `::%${owner.name}`;
}
