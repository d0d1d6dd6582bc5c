/**
 * Choosing the links mDNS runs on, and telling which one a packet came from.
 *
 * A link is one interface in one address family: IPv4 (group 224.0.0.251) and, where the
 * interface has an IPv6 address, IPv6 (group ff02::fb). Each link has its own membership,
 * its own announcements and answers, and its own duplicate suppression and rate limits.
 *
 * Default: every multicast-capable, non-internal interface with an IPv4 address; when there
 * is none, loopback (so two processes on one machine still find each other). IPv6 is added
 * on every chosen or multicast-capable external interface that has an IPv6 address (never
 * on loopback, where IPv6 multicast is not delivered). The `interfaces` option restricts the
 * choice: a name selects both families of that interface, an address only its own family.
 *
 * With one socket per family bound to the wildcard address, the runtime does not say on
 * which interface a datagram arrived, so the link is found from the source address: IPv4 by
 * subnet; IPv6 link-local (fe80::/10) by the scope the runtime reports (`fe80::1%eth0`), else
 * the first IPv6 link; other IPv6 sources by on-link prefix. A source on no chosen link is
 * off-link and ignored (RFC 6762 section 11).
 *
 * @module
 */
import type { InterfaceAddress, NetworkInterface } from "../net.ts";

/** A link mDNS runs on: one interface in one address family. */
export interface MdnsInterface {
  /** OS name, e.g. `"eth0"`. */
  name: string;
  /** The family of this link: IPv4 uses 224.0.0.251, IPv6 uses ff02::fb. */
  family: "IPv4" | "IPv6";
  /**
   * The address of this link: IPv4, the one used to join the group and to send from; IPv6,
   * the link-local address when there is one (else the first IPv6 address), without scope.
   */
  address: string;
  /** Its netmask. */
  netmask: string;
  /** Every address of the interface (published as A/AAAA records on this link). */
  addresses: InterfaceAddress[];
  /** True for loopback. */
  internal: boolean;
  /** IPv6: the interface index (the scope id of its link-local address), when known. */
  index?: number;
}

/**
 * A stable identifier of a link, e.g. `"eth0/IPv6"`: per-link state is kept under it.
 *
 * @param i The link.
 * @returns Interface name and family.
 */
export function linkId(i: MdnsInterface): string {
  return `${i.name}/${i.family}`;
}

/** An address without its IPv6 scope, lower case: `"FE80::1%eth0"` -> `"fe80::1"`. */
function plain(address: string): string {
  const at = address.indexOf("%");
  return (at < 0 ? address : address.slice(0, at)).toLowerCase();
}

/** Whether `i` is asked for by name, or by one of its addresses of `family`. */
function isWanted(i: NetworkInterface, wanted: readonly string[], family: "IPv4" | "IPv6"): boolean {
  if (wanted.includes(i.name)) return true;
  const asked = new Set(wanted.map(plain));
  return i.addresses.some((a) => a.family === family && asked.has(plain(a.address)));
}

/**
 * Picks the IPv4 links to use.
 *
 * @param all The host's interfaces (`runtime.networkInterfaces()`).
 * @param wanted Names or addresses to restrict to; empty or undefined for the default.
 * @returns The chosen IPv4 links, in the host's order.
 */
export function selectInterfaces(all: NetworkInterface[], wanted?: readonly string[]): MdnsInterface[] {
  const withV4 = all.filter((i) => i.addresses.some((a) => a.family === "IPv4"));
  let chosen: NetworkInterface[];
  if (wanted && wanted.length > 0) {
    chosen = withV4.filter((i) => isWanted(i, wanted, "IPv4"));
  } else {
    chosen = withV4.filter((i) => i.multicast && !i.internal);
    if (chosen.length === 0) chosen = withV4.filter((i) => i.internal);
  }
  return chosen.map((i) => {
    const v4 = i.addresses.find((a) => a.family === "IPv4")!;
    return {
      name: i.name,
      family: "IPv4",
      address: v4.address,
      netmask: v4.netmask,
      addresses: [...i.addresses],
      internal: i.internal,
    };
  });
}

/**
 * Picks the IPv6 links to use: multicast-capable, non-internal interfaces with an IPv6
 * address (restricted to `wanted` when given). Loopback never: IPv6 multicast is not
 * delivered there, and it has no link-local address.
 *
 * @param all The host's interfaces (`runtime.networkInterfaces()`).
 * @param wanted Names or addresses to restrict to; empty or undefined for the default.
 * @returns The chosen IPv6 links, in the host's order.
 */
export function selectIpv6Interfaces(all: NetworkInterface[], wanted?: readonly string[]): MdnsInterface[] {
  const out: MdnsInterface[] = [];
  for (const i of all) {
    if (i.internal || !i.multicast) continue;
    if (wanted && wanted.length > 0 && !isWanted(i, wanted, "IPv6")) continue;
    const v6 = i.addresses.filter((a) => a.family === "IPv6");
    const main = v6.find((a) => isLinkLocal(a.address)) ?? v6[0];
    if (!main) continue;
    const index = v6.find((a) => isLinkLocal(a.address) && a.scopeId)?.scopeId;
    out.push({
      name: i.name,
      family: "IPv6",
      address: plain(main.address),
      netmask: main.netmask,
      addresses: [...i.addresses],
      internal: i.internal,
      ...(index ? { index } : {}),
    });
  }
  return out;
}

/**
 * Every link to use: the IPv4 ones ({@linkcode selectInterfaces}) first, then the IPv6 ones
 * ({@linkcode selectIpv6Interfaces}).
 *
 * @param all The host's interfaces.
 * @param wanted Names or addresses to restrict to; empty or undefined for the default.
 * @returns The chosen links.
 */
export function selectLinks(all: NetworkInterface[], wanted?: readonly string[]): MdnsInterface[] {
  return [...selectInterfaces(all, wanted), ...selectIpv6Interfaces(all, wanted)];
}

/** A stable fingerprint of an interface set, to notice changes when polling. */
export function interfaceKey(i: MdnsInterface): string {
  return `${i.name}|${i.family}|${i.address}|${i.addresses.map((a) => a.address).sort().join(",")}`;
}

/**
 * Differences between two interface lists, by {@linkcode interfaceKey} (an address change
 * counts as the old one vanishing and a new one appearing).
 *
 * @param before Previous list.
 * @param after Current list.
 * @returns Interfaces that appeared and that vanished.
 */
export function diffInterfaces(
  before: readonly MdnsInterface[],
  after: readonly MdnsInterface[],
): { added: MdnsInterface[]; removed: MdnsInterface[] } {
  const old = new Set(before.map(interfaceKey));
  const now = new Set(after.map(interfaceKey));
  return {
    added: after.filter((i) => !old.has(interfaceKey(i))),
    removed: before.filter((i) => !now.has(interfaceKey(i))),
  };
}

/**
 * A dotted-quad IPv4 address as a number, or `undefined` when it is not one.
 *
 * @param address E.g. `"10.0.0.1"`.
 * @returns The 32-bit value.
 */
export function ipv4ToInt(address: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + part;
}

/**
 * True when `a` and `b` are in the same IPv4 subnet.
 *
 * @param a An address.
 * @param b Another address.
 * @param netmask The subnet mask.
 * @returns Whether they share the network part.
 */
export function sameSubnet(a: string, b: string, netmask: string): boolean {
  const x = ipv4ToInt(a);
  const y = ipv4ToInt(b);
  const m = ipv4ToInt(netmask);
  if (x === undefined || y === undefined || m === undefined) return false;
  return ((x ^ y) & m) === 0;
}

/**
 * The 8 groups of an IPv6 address (scope ignored; an embedded IPv4 tail allowed), or
 * `undefined` when it is not one.
 *
 * @param address E.g. `"fe80::1%eth0"`, `"::ffff:10.0.0.1"`.
 * @returns The groups.
 */
export function parseIpv6(address: string): number[] | undefined {
  let text = plain(address);
  const groups: number[] = [];
  const dotted = text.lastIndexOf(":") >= 0 && text.includes(".") ? text.slice(text.lastIndexOf(":") + 1) : "";
  if (dotted) {
    const v4 = ipv4ToInt(dotted);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, text.length - dotted.length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s === "" ? [] : s.split(":"));
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  for (const g of [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail]) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
    groups.push(parseInt(g, 16));
  }
  return groups;
}

/**
 * True for an IPv6 link-local address (fe80::/10).
 *
 * @param address An address, with or without scope.
 * @returns Whether it is link-local.
 */
export function isLinkLocal(address: string): boolean {
  const g = parseIpv6(address);
  return g !== undefined && (g[0] & 0xffc0) === 0xfe80;
}

/**
 * True when `a` and `b` share the prefix given by an IPv6 netmask.
 *
 * @param a An IPv6 address.
 * @param b Another.
 * @param netmask The mask in colon form, e.g. `"ffff:ffff:ffff:ffff::"`.
 * @returns Whether they are on the same prefix (false when any of them does not parse).
 */
export function sameIpv6Prefix(a: string, b: string, netmask: string): boolean {
  const x = parseIpv6(a);
  const y = parseIpv6(b);
  const m = parseIpv6(netmask);
  if (!x || !y || !m) return false;
  for (let i = 0; i < 8; i++) if (((x[i] ^ y[i]) & m[i]) !== 0) return false;
  return true;
}

/** The IPv4 address inside `::ffff:a.b.c.d`, else the address itself. */
function unmapped(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/**
 * The chosen link a datagram from `source` belongs to, or `undefined` when the source is not
 * on any of them (RFC 6762 section 11). Our own addresses count as on-link.
 *
 * IPv4 sources (also `::ffff:a.b.c.d`) belong to the IPv4 link whose subnet holds them.
 * IPv6 sources belong to an IPv6 link (or, in a list without any, to an interface with
 * IPv6 addresses): a link-local source (fe80::/10) to the link its scope names
 * (`fe80::1%eth0` or `fe80::1%2`), to the first one when it has no scope; any other source
 * to the link with an address on the same prefix.
 *
 * @param source Sender address, as the runtime reports it.
 * @param interfaces Chosen links.
 * @returns The link, or undefined.
 */
export function interfaceFor(source: string, interfaces: readonly MdnsInterface[]): MdnsInterface | undefined {
  const address = source.includes(":") ? unmapped(source) : source;
  if (!address.includes(":")) {
    // Loops, not filter/find: this runs for every received datagram.
    let onSubnet: MdnsInterface | undefined;
    for (const i of interfaces) {
      if (i.family === "IPv6") continue;
      for (const a of i.addresses) {
        if (a.address === address) return i; // our own address wins over a subnet match
        if (!onSubnet && a.family === "IPv4" && sameSubnet(address, a.address, a.netmask)) onSubnet = i;
      }
    }
    return onSubnet;
  }
  if (!parseIpv6(address)) return undefined;
  const links = interfaces.some((i) => i.family === "IPv6")
    ? interfaces.filter((i) => i.family === "IPv6")
    : interfaces.filter((i) => i.addresses.some((a) => a.family === "IPv6"));
  const at = address.indexOf("%");
  const scope = at < 0 ? "" : address.slice(at + 1);
  const bare = plain(address);
  const scoped = scope === ""
    ? links
    : links.filter((i) => i.name === scope || (/^\d+$/.test(scope) && (i.index ?? scopeIndex(i)) === Number(scope)));
  const own = scoped.find((i) => i.addresses.some((a) => a.family === "IPv6" && plain(a.address) === bare));
  if (own) return own;
  if (isLinkLocal(bare)) return scoped[0];
  return scoped.find((i) =>
    i.addresses.some((a) =>
      a.family === "IPv6" && !isLinkLocal(a.address) && sameIpv6Prefix(bare, a.address, a.netmask)
    )
  );
}

function scopeIndex(i: MdnsInterface): number | undefined {
  return i.addresses.find((a) => a.family === "IPv6" && a.scopeId)?.scopeId;
}
