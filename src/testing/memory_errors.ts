/**
 * Error constructors for the in-memory network, worded like the real adapters' errors
 * (through {@linkcode toNetError}) so tests see the same codes and messages. Closed
 * sockets and connect timeouts use `closedError` and `connectTimeoutError` from
 * `src/net_errors.ts`, as the adapters do.
 *
 * @module
 */
import { NetError, type NetErrorCode } from "../net.ts";
import { toNetError } from "../net_errors.ts";

/** The codes whose standard message {@linkcode netError} borrows from a runtime errno. */
type StandardCode = "ADDR_IN_USE" | "ADDR_NOT_AVAILABLE" | "CONNECTION_REFUSED" | "CONNECTION_RESET" | "UNREACHABLE";

const ERRNO: Record<StandardCode, string> = {
  ADDR_IN_USE: "EADDRINUSE",
  ADDR_NOT_AVAILABLE: "EADDRNOTAVAIL",
  CONNECTION_REFUSED: "ECONNREFUSED",
  CONNECTION_RESET: "ECONNRESET",
  UNREACHABLE: "EHOSTUNREACH",
};

/**
 * A {@linkcode NetError} with the standard message for `code`, e.g.
 * `ADDR_IN_USE: UDP bind 0.0.0.0:5353: address already in use. Choose another port, ...`.
 *
 * @param code Reason code with a standard message.
 * @param action What was attempted, e.g. `"UDP bind"`.
 * @param address Endpoint address.
 * @param port Endpoint port.
 * @returns The error.
 */
export function netError(code: StandardCode, action: string, address?: string, port?: number): NetError {
  return toNetError({ code: ERRNO[code] }, action, address, port);
}

/**
 * A {@linkcode NetError} with a custom explanation, for failures the standard messages do
 * not cover (bad arguments, IPv6 on the IPv4-only memory network).
 *
 * @param code Reason code.
 * @param action What was attempted.
 * @param detail What was wrong and what to do instead.
 * @param address Endpoint address, when there is one.
 * @param port Endpoint port.
 * @returns The error, with message `CODE: action endpoint: detail`.
 */
export function netErrorWith(
  code: NetErrorCode,
  action: string,
  detail: string,
  address?: string,
  port?: number,
): NetError {
  const where = address !== undefined && port !== undefined
    ? ` ${address.includes(":") ? `[${address}]` : address}:${port}`
    : address !== undefined
    ? ` ${address}`
    : "";
  return new NetError(code, `${code}: ${action}${where}: ${detail}`, { address, port });
}

/**
 * The error for any operation after `MemoryNetwork.close()`.
 *
 * @param action What was attempted.
 * @returns A `CLOSED` {@linkcode NetError}.
 */
export function networkClosedError(action: string): NetError {
  return new NetError("CLOSED", `CLOSED: ${action}: the MemoryNetwork was closed. Create a new MemoryNetwork.`);
}
