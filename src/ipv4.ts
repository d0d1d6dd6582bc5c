/**
 * IPv4 address checks, shared by the in-memory network (which is IPv4-only) and the
 * socket adapters in `runtimes/`.
 *
 * @module
 */

/** The IPv4 wildcard address: bind on all of a host's addresses. */
export const ANY_IPV4 = "0.0.0.0";

/** The loopback address every virtual host has. */
export const LOOPBACK_IPV4 = "127.0.0.1";

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Whether `address` is a canonical dotted-quad IPv4 address such as `"10.0.0.1"`.
 *
 * @param address Text to check.
 * @returns True for canonical IPv4 (no leading zeros, each part 0-255).
 */
export function isIPv4(address: unknown): address is string {
  return typeof address === "string" && DOTTED_QUAD.test(address);
}

/**
 * Whether `address` is an IPv4 multicast group (224.0.0.0/4).
 *
 * @param address An IPv4 address.
 * @returns True for 224.0.0.0 to 239.255.255.255.
 */
export function isMulticastIPv4(address: string): boolean {
  if (!isIPv4(address)) return false;
  const first = Number(address.slice(0, address.indexOf(".")));
  return first >= 224 && first <= 239;
}

/**
 * Whether `address` is an IPv4 loopback address (127.0.0.0/8).
 *
 * @param address An IPv4 address.
 * @returns True for 127.x.y.z.
 */
export function isLoopbackIPv4(address: string): boolean {
  return isIPv4(address) && address.startsWith("127.");
}

/**
 * Whether `port` is a valid port number (an integer 0-65535; 0 only where `allowZero`).
 *
 * @param port Value to check.
 * @param allowZero Accept 0 ("any port", for binds).
 * @returns True when valid.
 */
export function isPort(port: unknown, allowZero: boolean): port is number {
  return typeof port === "number" && Number.isInteger(port) && port >= (allowZero ? 0 : 1) && port <= 65535;
}
