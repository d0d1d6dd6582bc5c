/**
 * Dialling TCP on Bun: `Bun.connect` with `allowHalfOpen` (the peer's FIN must not close
 * our side; we may still answer). https://bun.sh/reference/bun/TCPSocketConnectOptions
 *
 * Bun limits, measured on Bun 1.4.5 (Linux):
 * - `Bun.connect` cannot be cancelled: it takes no AbortSignal and hands out no socket
 *   before `open`. A connect that hits `timeoutMs` rejects with `TIMED_OUT` on time, but
 *   the kernel keeps retrying the SYN in the background (Linux: about 2 minutes) and that
 *   pending attempt keeps the process alive; if it connects late it is closed at once.
 * - `Bun.connect` reports ENETUNREACH/EHOSTUNREACH/ETIMEDOUT as ECONNREFUSED, so those
 *   arrive here as `CONNECTION_REFUSED` (https://github.com/oven-sh/bun/pull/37093).
 *
 * @module
 */
import type { ConnectOptions, StreamConnection } from "../../src/net.ts";
import { connectTimeoutError, toNetError } from "../../src/net_errors.ts";
import type { BunNet, BunTcpSocket } from "./api.ts";
import { BunStreamConnection, type SocketSlot, streamHandlers } from "./tcp.ts";

/** One handler set for every dial: `open` adopts the socket or, after a timeout, drops it. */
const dialHandlers = streamHandlers((socket) => {
  const slot = socket.data;
  if (!slot || slot.abandoned) {
    socket.terminate();
    return;
  }
  slot.connection = new BunStreamConnection(socket);
});

/**
 * Opens a TCP connection.
 *
 * @param bun The Bun global.
 * @param options Address, port, timeoutMs.
 * @returns The connection; rejects `TIMED_OUT` after `timeoutMs`, or with the mapped error.
 */
export async function connect(bun: BunNet, options: ConnectOptions): Promise<StreamConnection> {
  const { address, port, timeoutMs } = options;
  const slot: SocketSlot = {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const dial = bun.connect({ hostname: address, port, allowHalfOpen: true, data: slot, socket: dialHandlers });
    let socket: BunTcpSocket;
    if (timeoutMs === undefined) {
      socket = await dial;
    } else {
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          slot.abandoned = true; // a late `open` closes the socket at once
          reject(connectTimeoutError(address, port, timeoutMs));
        }, Math.max(0, timeoutMs));
      });
      dial.catch(() => {}); // after a timeout the dial's own failure is of no interest
      socket = await Promise.race([dial, expired]);
    }
    slot.connection ??= new BunStreamConnection(socket);
    return slot.connection;
  } catch (error) {
    throw toNetError(error, "TCP connect to", address, port);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
