/**
 * The TCP listener on Deno: `Deno.listen` and an accept loop that hands each connection to
 * the user's handler. https://docs.deno.com/api/deno/~/Deno.listen
 *
 * @module
 */
import { formatEndpoint } from "../../src/net.ts";
import type { ListenOptions, NetAddr, StreamConnection, StreamListener } from "../../src/net.ts";
import { type DenoNet, type DenoTcpConn, type DenoTcpListener, toNetAddr } from "./api.ts";
import { closeQuietly, denoNetError, isClosedError } from "./errors.ts";
import { deliver, logger, MAX_CONSECUTIVE_ERRORS } from "./handlers.ts";
import { DenoStreamConnection } from "./tcp.ts";

/** Pause after an accept error such as EMFILE, so the loop does not spin. */
const ACCEPT_RETRY_MS = 50;

/**
 * Listens for TCP connections.
 *
 * @param deno The Deno global.
 * @param options Address and port.
 * @param onConnection Receives each accepted connection.
 * @returns The listener; rejects with a {@linkcode NetError} naming the endpoint.
 */
export function listen(
  deno: DenoNet,
  options: ListenOptions,
  onConnection: (connection: StreamConnection) => void,
): Promise<StreamListener> {
  let listener: DenoTcpListener;
  try {
    listener = deno.listen({ transport: "tcp", hostname: options.address, port: options.port });
  } catch (cause) {
    return Promise.reject(denoNetError(cause, "TCP listen on", options.address, options.port));
  }
  return Promise.resolve(new DenoStreamListener(listener, onConnection));
}

class DenoStreamListener implements StreamListener {
  readonly localAddress: NetAddr;
  readonly #listener: DenoTcpListener;
  readonly #loop: Promise<void>;
  #closed = false;
  #closing?: Promise<void>;
  #wake?: () => void;

  constructor(listener: DenoTcpListener, onConnection: (connection: StreamConnection) => void) {
    this.#listener = listener;
    this.localAddress = toNetAddr(listener.addr);
    this.#loop = this.#acceptLoop(onConnection);
  }

  /** Stops accepting; resolves once the accept loop has ended. Accepted connections stay open. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    closeQuietly(this.#listener);
    this.#wake?.();
    this.#closing = this.#loop;
    return this.#closing;
  }

  async #acceptLoop(onConnection: (connection: StreamConnection) => void): Promise<void> {
    const reported = { done: false };
    let errorsInARow = 0;
    while (!this.#closed) {
      let conn: DenoTcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed || isClosedError(error)) return;
        // EMFILE and friends: wait a little rather than spin, and give up on a broken listener.
        if (++errorsInARow >= MAX_CONSECUTIVE_ERRORS) {
          logger().error(
            `TCP accept on ${formatEndpoint(this.localAddress.address, this.localAddress.port)}: ${error}`,
          );
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ACCEPT_RETRY_MS);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        continue;
      }
      errorsInARow = 0;
      if (this.#closed) {
        conn.close();
        return;
      }
      const connection = new DenoStreamConnection(conn);
      // A handler that threw took no ownership: close the connection rather than leak it.
      if (!deliver(onConnection, connection as StreamConnection, "onConnection", reported)) void connection.close();
    }
  }
}
