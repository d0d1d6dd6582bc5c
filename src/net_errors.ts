/**
 * Socket errors with one wording everywhere: a runtime's error (Node/Bun `err.code` like
 * `"EADDRINUSE"`, Deno `Deno.errors.AddrInUse` by name) mapped to a {@linkcode NetError}
 * whose message says what failed, where, and what to do, plus the errors every adapter and
 * the in-memory network raise themselves (closed socket, write after `closeWrite()`,
 * connect timeout, bad multicast TTL). Pure: used by every adapter in `runtimes/` and by
 * `src/testing/`.
 *
 * @module
 */
import { formatEndpoint, NetError, type NetErrorCode } from "./net.ts";

const BY_ERRNO: Record<string, NetErrorCode> = {
  EADDRINUSE: "ADDR_IN_USE",
  EADDRNOTAVAIL: "ADDR_NOT_AVAILABLE",
  ENODEV: "ADDR_NOT_AVAILABLE",
  ECONNREFUSED: "CONNECTION_REFUSED",
  ECONNRESET: "CONNECTION_RESET",
  EPIPE: "CONNECTION_RESET",
  ECONNABORTED: "CONNECTION_RESET",
  ETIMEDOUT: "TIMED_OUT",
  EHOSTUNREACH: "UNREACHABLE",
  ENETUNREACH: "UNREACHABLE",
  // A socket option the system (or an emulator such as qemu-user) does not implement.
  ENOPROTOOPT: "UNSUPPORTED",
  EOPNOTSUPP: "UNSUPPORTED",
  ERR_SOCKET_DGRAM_NOT_RUNNING: "CLOSED",
  ERR_SOCKET_CLOSED: "CLOSED",
  ERR_STREAM_DESTROYED: "CLOSED",
  ERR_STREAM_WRITE_AFTER_END: "CLOSED",
};

const BY_DENO_NAME: Record<string, NetErrorCode> = {
  AddrInUse: "ADDR_IN_USE",
  AddrNotAvailable: "ADDR_NOT_AVAILABLE",
  ConnectionRefused: "CONNECTION_REFUSED",
  ConnectionReset: "CONNECTION_RESET",
  ConnectionAborted: "CONNECTION_RESET",
  BrokenPipe: "CONNECTION_RESET",
  TimedOut: "TIMED_OUT",
  BadResource: "CLOSED",
  Interrupted: "CLOSED",
  NotConnected: "CLOSED",
};

const ADVICE: Record<NetErrorCode, string> = {
  ADDR_IN_USE: "address already in use. Choose another port, or stop the process that holds it.",
  ADDR_NOT_AVAILABLE: "address not available on this host. Use an address of a local interface.",
  CONNECTION_REFUSED: "connection refused. Nothing listens there: is the peer running?",
  CONNECTION_RESET: "connection reset by the peer.",
  TIMED_OUT: "timed out. Check that the peer is reachable.",
  UNREACHABLE: "host or network unreachable. Check the interface and route.",
  CLOSED: "the socket is closed. Open a new one.",
  UNSUPPORTED: "not supported by this runtime or system.",
  OTHER: "failed.",
};

/** The stable code for a runtime error, or `"OTHER"`. */
export function netErrorCode(cause: unknown): NetErrorCode {
  if (cause instanceof NetError) return cause.code;
  const e = cause as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (e && typeof e.code === "string" && BY_ERRNO[e.code]) return BY_ERRNO[e.code];
  if (e && typeof e.name === "string" && BY_DENO_NAME[e.name]) return BY_DENO_NAME[e.name];
  const message = e && typeof e.message === "string" ? e.message : String(cause);
  for (const errno of Object.keys(BY_ERRNO)) if (message.includes(errno)) return BY_ERRNO[errno];
  if (/address already in use/i.test(message)) return "ADDR_IN_USE";
  if (/connection refused/i.test(message)) return "CONNECTION_REFUSED";
  if (/no such device/i.test(message)) return "ADDR_NOT_AVAILABLE";
  return "OTHER";
}

/**
 * Wraps a runtime error as a {@linkcode NetError}.
 *
 * @param cause The runtime's error.
 * @param action What was attempted, e.g. `"UDP bind"`, `"TCP connect"`.
 * @param address Endpoint address.
 * @param port Endpoint port.
 * @returns A NetError like `ADDR_IN_USE: UDP bind 0.0.0.0:5353: address already in use. Choose another port, ...`
 *
 * @example
 * ```ts
 * import { toNetError } from "./net_errors.ts";
 * const err = toNetError({ code: "ECONNREFUSED" }, "TCP connect", "127.0.0.1", 9);
 * console.log(err.code); // "CONNECTION_REFUSED"
 * ```
 */
export function toNetError(cause: unknown, action: string, address?: string, port?: number): NetError {
  if (cause instanceof NetError) return cause;
  const code = netErrorCode(cause);
  const detail = code === "OTHER" ? ` ${String((cause as Error)?.message ?? cause)}` : "";
  return new NetError(code, `${code}: ${action}${where(address, port)}: ${ADVICE[code]}${detail}`, {
    address,
    port,
    cause,
  });
}

/**
 * The error for an operation on a socket, listener or connection that was closed (by this
 * side, or by the runtime). Every adapter and the in-memory network use it, so the text is
 * the same wherever it comes from.
 *
 * @param action What was attempted, e.g. `"TCP read from"`, `"UDP send to"`.
 * @param address Endpoint address, when there is one.
 * @param port Endpoint port.
 * @returns A `CLOSED` {@linkcode NetError}, e.g. `CLOSED: UDP send to 10.0.0.2:9: the socket is closed. Open a new one.`
 *
 * @example
 * ```ts
 * import { closedError } from "./net_errors.ts";
 * const err = closedError("TCP read from", "127.0.0.1", 4000);
 * console.log(err.code); // "CLOSED"
 * ```
 */
export function closedError(action: string, address?: string, port?: number): NetError {
  return new NetError("CLOSED", `CLOSED: ${action}${where(address, port)}: ${ADVICE.CLOSED}`, { address, port });
}

/**
 * The error for a write after `closeWrite()`: this side already sent its FIN.
 *
 * @param address Remote address.
 * @param port Remote port.
 * @returns A `CLOSED` {@linkcode NetError}.
 *
 * @example
 * ```ts
 * import { writeAfterEndError } from "./net_errors.ts";
 * console.log(writeAfterEndError("127.0.0.1", 4000).message);
 * ```
 */
export function writeAfterEndError(address: string, port: number): NetError {
  return new NetError(
    "CLOSED",
    `CLOSED: TCP write to ${formatEndpoint(address, port)}: closeWrite() was called, this side sends no more bytes. ` +
      "Write everything before closeWrite().",
    { address, port },
  );
}

/**
 * The error for a TCP connect that got no answer within its time limit.
 *
 * @param address Remote address.
 * @param port Remote port.
 * @param timeoutMs The limit that passed.
 * @param cause The runtime's error, if it reported one (e.g. an abort).
 * @returns A `TIMED_OUT` {@linkcode NetError}.
 *
 * @example
 * ```ts
 * import { connectTimeoutError } from "./net_errors.ts";
 * console.log(connectTimeoutError("10.0.0.9", 80, 3000).code); // "TIMED_OUT"
 * ```
 */
export function connectTimeoutError(address: string, port: number, timeoutMs: number, cause?: unknown): NetError {
  return new NetError(
    "TIMED_OUT",
    `TIMED_OUT: TCP connect to ${formatEndpoint(address, port)}: no answer within ${timeoutMs} ms. ` +
      "Check that the peer is running and reachable.",
    { address, port, cause },
  );
}

/**
 * Checks a multicast TTL before it reaches the runtime (which would clamp or ignore it).
 *
 * @param ttl The value passed to `setMulticastTTL`.
 * @param action What was attempted, e.g. `"UDP set multicast TTL"`.
 * @returns An `OTHER` {@linkcode NetError} when `ttl` is not an integer 0-255, else `undefined`.
 *
 * @example
 * ```ts
 * import { invalidTtlError } from "./net_errors.ts";
 * console.log(invalidTtlError(300, "UDP set multicast TTL")?.code); // "OTHER"
 * ```
 */
export function invalidTtlError(ttl: unknown, action: string): NetError | undefined {
  if (typeof ttl === "number" && Number.isInteger(ttl) && ttl >= 0 && ttl <= 255) return undefined;
  return new NetError("OTHER", `OTHER: ${action}: TTL must be an integer 0-255, got ${String(ttl)}.`);
}

/** ` 1.2.3.4:80` for messages, or nothing when the endpoint is not known. */
function where(address: string | undefined, port: number | undefined): string {
  return address !== undefined && port !== undefined ? ` ${formatEndpoint(address, port)}` : "";
}
