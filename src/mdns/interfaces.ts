/**
 * Choosing the interfaces mDNS runs on, and telling which one a packet came from.
 *
 * Default: every multicast-capable, non-internal interface with an IPv4 address; when there
 * is none, loopback (so two processes on one machine still find each other). The
 * `interfaces` option restricts the choice to names or addresses.
 *
 * With one socket bound to `0.0.0.0` the runtime does not say on which interface a datagram
 * arrived, so the interface is found from the source address: the one whose subnet contains
 * it. A source on no chosen subnet is off-link and ignored (RFC 6762 section 11).
 *
 * @module
 */
import type { InterfaceAddress, NetworkInterface } from "../net.ts";

/** An interface mDNS runs on. */
export interface MdnsInterface {
  /** OS name, e.g. `"eth0"`. */
  name: string;
  /** The IPv4 address used to join the group and to send from. */
  address: string;
  /** Its netmask. */
  netmask: string;
  /** Every address of the interface (published as A/AAAA records on this interface). */
  addresses: InterfaceAddress[];
  /** True for loopback. */
  internal: boolean;
}

/**
 * Picks the interfaces to use.
 *
 * @param all The host's interfaces (`runtime.networkInterfaces()`).
 * @param wanted Names or addresses to restrict to; empty or undefined for the default.
 * @returns The chosen interfaces, in the host's order.
 */
export function selectInterfaces(all: NetworkInterface[], wanted?: readonly string[]): MdnsInterface[] {
  const withV4 = all.filter((i) => i.addresses.some((a) => a.family === "IPv4"));
  let chosen: NetworkInterface[];
  if (wanted && wanted.length > 0) {
    chosen = withV4.filter((i) => wanted.includes(i.name) || i.addresses.some((a) => wanted.includes(a.address)));
  } else {
    chosen = withV4.filter((i) => i.multicast && !i.internal);
    if (chosen.length === 0) chosen = withV4.filter((i) => i.internal);
  }
  return chosen.map((i) => {
    const v4 = i.addresses.find((a) => a.family === "IPv4")!;
    return {
      name: i.name,
      address: v4.address,
      netmask: v4.netmask,
      addresses: [...i.addresses],
      internal: i.internal,
    };
  });
}

/** A stable fingerprint of an interface set, to notice changes when polling. */
export function interfaceKey(i: MdnsInterface): string {
  return `${i.name}|${i.address}|${i.addresses.map((a) => a.address).sort().join(",")}`;
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

function ipv4ToInt(address: string): number | undefined {
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
 * The chosen interface a datagram from `source` belongs to, or `undefined` when the source is
 * not on any of their links (RFC 6762 section 11). Our own addresses count as on-link; so do
 * IPv6 link-local sources when some chosen interface has IPv6.
 *
 * @param source Sender address.
 * @param interfaces Chosen interfaces.
 * @returns The interface, or undefined.
 */
export function interfaceFor(source: string, interfaces: readonly MdnsInterface[]): MdnsInterface | undefined {
  const address = source.startsWith("::ffff:") ? source.slice(7) : source;
  for (const i of interfaces) {
    if (i.addresses.some((a) => a.address === address)) return i;
  }
  if (address.includes(":")) {
    const lower = address.toLowerCase();
    if (/^fe[89ab]/.test(lower)) return interfaces.find((i) => i.addresses.some((a) => a.family === "IPv6"));
    return interfaces.find((i) =>
      i.addresses.some((a) => a.family === "IPv6" && sameV6Prefix(lower, a.address.toLowerCase(), a.netmask))
    );
  }
  return interfaces.find((i) =>
    i.addresses.some((a) => a.family === "IPv4" && sameSubnet(address, a.address, a.netmask))
  );
}

function sameV6Prefix(a: string, b: string, netmask: string): boolean {
  const expand = (s: string): number[] => {
    const [head, tail] = s.split("%")[0].split("::");
    const h = head ? head.split(":") : [];
    const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
    const fill = tail !== undefined ? new Array(Math.max(0, 8 - h.length - t.length)).fill("0") : [];
    return [...h, ...fill, ...t].map((g) => parseInt(g, 16) || 0);
  };
  const x = expand(a);
  const y = expand(b);
  const m = expand(netmask);
  for (let i = 0; i < 8; i++) if (((x[i] ^ y[i]) & m[i]) !== 0) return false;
  return true;
}
