/**
 * Maps a runtime's socket error (Node/Bun `err.code` like `"EADDRINUSE"`, Deno
 * `Deno.errors.AddrInUse` by name) to a {@linkcode NetError} whose message says what
 * failed, where, and what to do. Pure: used by every adapter in `runtimes/`.
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
  CLOSED: "socket is closed.",
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
  const where = address !== undefined && port !== undefined ? ` ${formatEndpoint(address, port)}` : "";
  const detail = code === "OTHER" ? ` ${String((cause as Error)?.message ?? cause)}` : "";
  return new NetError(code, `${code}: ${action}${where}: ${ADVICE[code]}${detail}`, { address, port, cause });
}
