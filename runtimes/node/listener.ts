/**
 * The TCP listener on `node:net`: `createServer` with `allowHalfOpen` (the peer's FIN must
 * not close our side). https://nodejs.org/api/net.html#netcreateserveroptions-connectionlistener
 *
 * @module
 */
import * as net from "node:net";
import { formatEndpoint } from "../../src/net.ts";
import type { ListenOptions, NetAddr, StreamConnection, StreamListener } from "../../src/net.ts";
import { toNetError } from "../../src/net_errors.ts";
import { deliver, netAddr, started } from "./events.ts";
import { NodeStreamConnection } from "./tcp.ts";

/**
 * Listens for TCP connections.
 *
 * @param options Address and port.
 * @param onConnection Receives each accepted connection.
 * @returns The listener; rejects with a {@linkcode NetError} naming the endpoint.
 */
export async function listen(
  options: ListenOptions,
  onConnection: (connection: StreamConnection) => void,
): Promise<StreamListener> {
  const { address, port } = options;
  const server = net.createServer({ allowHalfOpen: true });
  server.on("connection", (socket: net.Socket) => {
    const connection = new NodeStreamConnection(socket);
    // A handler that threw took no ownership: close the connection rather than leak it.
    if (!deliver("connection", () => onConnection(connection))) void connection.close();
  });
  try {
    await started(
      server,
      `TCP ${formatEndpoint(address, port)}`,
      (ready) => server.listen({ host: address, port }, ready),
    );
  } catch (error) {
    server.close();
    throw toNetError(error, "TCP listen on", address, port);
  }
  return new NodeStreamListener(server);
}

class NodeStreamListener implements StreamListener {
  readonly localAddress: NetAddr;
  #server: net.Server;
  #closed = false;

  constructor(server: net.Server) {
    this.#server = server;
    const bound = server.address() as net.AddressInfo;
    this.localAddress = netAddr(bound.address, bound.port);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // server.close() stops accepting at once; its callback would wait for every accepted
      // connection to end, which the interface does not promise, so it is not awaited.
      this.#server.close();
    }
    return Promise.resolve();
  }
}
