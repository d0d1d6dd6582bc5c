/**
 * Deno's errors as {@linkcode NetError}s. On top of the shared mapping (`toNetError`):
 * Deno's permission failures, whose fix is a flag, and the errors Deno raises on an
 * operation cut short by our own `close()`, which become `CLOSED`. Also the one error that
 * is ignored: closing a resource Deno already closed.
 *
 * @module
 */
import { formatEndpoint, NetError } from "../../src/net.ts";
import { closedError, toNetError } from "../../src/net_errors.ts";

/**
 * True for the errors Deno raises on an operation cut short by our own close().
 *
 * @param error What Deno threw.
 * @returns Whether it is `BadResource` or `Interrupted`.
 */
export function isClosedError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "BadResource" || name === "Interrupted";
}

/**
 * A runtime error as a NetError, adding Deno's permission failures, whose fix is a flag.
 *
 * @param cause What Deno threw.
 * @param action What was attempted, e.g. `"UDP bind"`.
 * @param address Endpoint address.
 * @param port Endpoint port.
 * @returns The NetError.
 */
export function denoNetError(cause: unknown, action: string, address?: string, port?: number): NetError {
  const name = (cause as { name?: unknown } | null)?.name;
  if (name === "NotCapable" || name === "PermissionDenied") {
    const where = address !== undefined && port !== undefined ? ` ${formatEndpoint(address, port)}` : "";
    return new NetError(
      "OTHER",
      `OTHER: ${action}${where}: permission denied (${(cause as Error).message}). ` +
        "Run Deno with --allow-net (and --allow-sys to list network interfaces).",
      { address, port, cause },
    );
  }
  return toNetError(cause, action, address, port);
}

/**
 * The error for a failed operation on a socket: `CLOSED` when it failed because the
 * socket was closed (by us, now or meanwhile), else the mapped runtime error.
 *
 * @param cause What Deno threw.
 * @param closed Whether this side has closed the socket.
 * @param action What was attempted.
 * @param address Endpoint address.
 * @param port Endpoint port.
 * @returns The NetError to throw.
 */
export function operationError(
  cause: unknown,
  closed: boolean,
  action: string,
  address?: string,
  port?: number,
): NetError {
  if (closed || isClosedError(cause)) return closedError(action, address, port);
  return denoNetError(cause, action, address, port);
}

/**
 * Closes a Deno resource that may be closed already (by the runtime, or by an earlier
 * error), which Deno reports by throwing `BadResource`.
 *
 * @param resource A socket, connection or listener.
 */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}
