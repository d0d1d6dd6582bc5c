/**
 * The TCP listener on Bun: `Bun.listen` with `exclusive` (no SO_REUSEPORT, so a busy port
 * fails instead of being shared) and `allowHalfOpen` (the peer's FIN must not close our
 * side). https://bun.sh/reference/bun/TCPSocketListenOptions
 *
 * @module
 */
import { addressFamily } from "../../src/net.ts";
import type { ListenOptions, NetAddr, StreamConnection, StreamListener } from "../../src/net.ts";
import { toNetError } from "../../src/net_errors.ts";
import type { BunNet, BunTcpListener } from "./api.ts";
import { deliver } from "./handlers.ts";
import { BunStreamConnection, streamHandlers } from "./tcp.ts";

/**
 * Listens for TCP connections.
 *
 * @param bun The Bun global.
 * @param options Address and port.
 * @param onConnection Receives each accepted connection.
 * @returns The listener; rejects with a {@linkcode NetError} naming the endpoint.
 */
export function listen(
  bun: BunNet,
  options: ListenOptions,
  onConnection: (connection: StreamConnection) => void,
): Promise<StreamListener> {
  const { address, port } = options;
  const handlers = streamHandlers((socket) => {
    const connection = new BunStreamConnection(socket);
    socket.data = { connection };
    deliver(() => onConnection(connection));
  });
  try {
    const server = bun.listen({ hostname: address, port, exclusive: true, allowHalfOpen: true, socket: handlers });
    return Promise.resolve(
      new BunStreamListener(server, { address, port: server.port, family: addressFamily(address) }),
    );
  } catch (error) {
    return Promise.reject(toNetError(error, "TCP listen on", address, port));
  }
}

class BunStreamListener implements StreamListener {
  readonly localAddress: NetAddr;
  readonly #server: BunTcpListener;
  #closed = false;

  constructor(server: BunTcpListener, localAddress: NetAddr) {
    this.#server = server;
    this.localAddress = localAddress;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#server.stop(false); // false: accepted connections stay open
    return Promise.resolve();
  }
}
