/**
 * Raw baseline sockets on Node: `node:dgram` and `node:net`.
 *
 * Docs: https://nodejs.org/api/dgram.html and https://nodejs.org/api/net.html
 *
 * @module
 */
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { LOOPBACK, type RawSockets, type RawTcpConnection, type TcpDataHandler } from "./types.ts";

function wrap(socket: Socket, onData: TcpDataHandler): RawTcpConnection {
  socket.setNoDelay(true);
  const connection: RawTcpConnection = {
    write: (data) => void socket.write(data),
    drained: async () => {
      if (socket.writableNeedDrain) await once(socket, "drain");
    },
    close: () => socket.destroy(),
  };
  socket.on("data", (chunk: Uint8Array) => onData(connection, chunk));
  socket.on("error", () => socket.destroy());
  return connection;
}

/**
 * Creates the raw sockets of Node.
 *
 * @returns The sockets.
 */
export function nodeRawSockets(): RawSockets {
  return {
    api: "node:dgram / node:net",
    openUdp(onMessage) {
      const socket = createSocket("udp4");
      socket.on("message", (data, info) => onMessage(data, info.port, info.address));
      return new Promise((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(0, LOOPBACK, () => {
          socket.off("error", reject);
          socket.on("error", () => {});
          resolve({
            port: socket.address().port,
            send: (data, port, address) => socket.send(data, port, address),
            close: () => socket.close(),
          });
        });
      });
    },
    listenTcp(onData, hostname = LOOPBACK) {
      const sockets = new Set<Socket>();
      const server = createServer({ noDelay: true }, (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        wrap(socket, onData);
      });
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, hostname, () => {
          const address = server.address();
          resolve({
            port: typeof address === "object" && address ? address.port : 0,
            close: () => {
              server.close();
              for (const socket of sockets) socket.destroy();
            },
          });
        });
      });
    },
    connectTcp(port, onData, hostname = LOOPBACK) {
      return new Promise((resolve, reject) => {
        const socket = connect({ host: hostname, port, noDelay: true });
        socket.once("error", reject);
        socket.once("connect", () => {
          socket.off("error", reject);
          resolve(wrap(socket, onData));
        });
      });
    },
  };
}
