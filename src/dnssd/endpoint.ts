/**
 * Numeric endpoints of the wide-area options: `server` (`host[:port]`) and `seeds`. Names are
 * not resolved: a DNS-SD client that needs DNS to find its DNS server would depend on itself.
 *
 * @module
 */
import { formatEndpoint } from "../net.ts";
import { ipv4ToInt, parseIpv6 } from "../mdns/interfaces.ts";
import { WideAreaError } from "./errors.ts";

/** A numeric address and port. */
export interface Endpoint {
  /** IPv4 or IPv6 address (an IPv6 link-local one with its `%scope`). */
  address: string;
  /** UDP/TCP port. */
  port: number;
}

/**
 * True for a numeric IPv4 or IPv6 address (IPv6 may carry a `%scope`).
 *
 * @param text Candidate.
 * @returns Whether it is one.
 */
export function isNumericAddress(text: string): boolean {
  return ipv4ToInt(text) !== undefined || (text.includes(":") && parseIpv6(text) !== undefined);
}

/**
 * Parses `address`, `address:port`, `[ipv6]` or `[ipv6]:port`.
 *
 * @param text The endpoint text.
 * @param defaultPort Port when none is given.
 * @param what The option, for the error message (e.g. `"wideArea.server"`).
 * @returns The endpoint.
 * @throws WideAreaError (`DNS_CONFIG`) naming the option.
 *
 * @example
 * ```ts
 * import { parseEndpoint } from "./endpoint.ts";
 * console.log(parseEndpoint("10.0.0.53", 53, "wideArea.server")); // { address: "10.0.0.53", port: 53 }
 * console.log(parseEndpoint("[fd00::53]:5300", 53, "wideArea.server")); // { address: "fd00::53", port: 5300 }
 * ```
 */
export function parseEndpoint(text: string, defaultPort: number, what: string): Endpoint {
  const value = typeof text === "string" ? text.trim() : "";
  let address = value;
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  const withPort = /^([^:]+):(\d+)$/.exec(value);
  if (bracketed) {
    address = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (withPort) {
    address = withPort[1];
    port = Number(withPort[2]);
  }
  if (!isNumericAddress(address) || !(port >= 1 && port <= 65535)) {
    throw new WideAreaError(
      "DNS_CONFIG",
      `${what} ${
        JSON.stringify(text)
      } is not a numeric address with an optional port (e.g. "10.0.0.53", "10.0.0.53:5300", "[fd00::53]:53"). Host names are not resolved: give the address.`,
    );
  }
  return { address, port };
}

/**
 * An endpoint for messages: `10.0.0.53:53`, `[fd00::53]:53`.
 *
 * @param e The endpoint.
 * @returns The text.
 */
export function endpointText(e: Endpoint): string {
  return formatEndpoint(e.address, e.port);
}
