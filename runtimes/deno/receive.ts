/**
 * The receive loop of a Deno UDP socket (the main socket and each companion of
 * `multicast.ts` run one).
 *
 * @module
 */
import { type Datagram, formatEndpoint } from "../../src/net.ts";
import type { DenoAddr, DenoDatagramConn } from "./api.ts";
import { isClosedError } from "./errors.ts";
import { deliver, logger, MAX_CONSECUTIVE_ERRORS } from "./handlers.ts";

/** Largest UDP payload plus headroom: a datagram never arrives truncated. */
const DATAGRAM_BUFFER_BYTES = 65_536;

/**
 * Receives datagrams from `conn` into one reused 64 KiB buffer, hands each to `onMessage`
 * as an exact-size copy, and ends quietly when the socket closes.
 *
 * @param conn The Deno socket.
 * @param onMessage The user's handler.
 * @param isClosed True once the owning socket is closed.
 * @param reported Per socket: whether a handler error was reported already.
 * @returns Resolves when the loop has ended.
 */
export async function receiveLoop(
  conn: DenoDatagramConn,
  onMessage: (message: Datagram) => void,
  isClosed: () => boolean,
  reported: { done: boolean },
): Promise<void> {
  const buffer = new Uint8Array(DATAGRAM_BUFFER_BYTES);
  let errorsInARow = 0;
  while (!isClosed()) {
    let received: [Uint8Array, DenoAddr];
    try {
      received = await conn.receive(buffer);
    } catch (error) {
      if (isClosed() || isClosedError(error)) return;
      // E.g. Windows reports ICMP port-unreachable on recvfrom; one bad datagram is no reason to stop.
      if (++errorsInARow >= MAX_CONSECUTIVE_ERRORS) {
        logger().error(`UDP receive on ${formatEndpoint(conn.addr.hostname, conn.addr.port)} keeps failing: ${error}`);
        return;
      }
      continue;
    }
    errorsInARow = 0;
    const [view, from] = received;
    deliver(onMessage, { data: view.slice(), address: from.hostname, port: from.port }, "onMessage", reported);
  }
}
