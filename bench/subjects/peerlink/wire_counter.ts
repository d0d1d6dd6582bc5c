/**
 * A {@linkcode SocketRuntime} wrapper that counts what PeerLink hands to the sockets:
 * datagrams and TCP writes/reads with their bytes. Used only in `--profile` runs (the timed
 * runs use the plain adapter), to report e.g. "bytes on the wire per call" and "writes per
 * call", which explain where time goes.
 *
 * @module
 */
import type { DatagramSocket, SocketRuntime, StreamConnection } from "../../../src/net.ts";

/** Socket operation counters. */
export interface WireCounts {
  /** Datagrams sent / their bytes. */
  datagramsSent: number;
  datagramBytesSent: number;
  /** Datagrams received / their bytes. */
  datagramsReceived: number;
  datagramBytesReceived: number;
  /** TCP `write()` calls / bytes. */
  tcpWrites: number;
  tcpBytesWritten: number;
  /** TCP `read()` results (chunks) / bytes. */
  tcpReads: number;
  tcpBytesRead: number;
}

/**
 * Fresh zeroed counters.
 *
 * @returns Counters.
 */
export function emptyCounts(): WireCounts {
  return {
    datagramsSent: 0,
    datagramBytesSent: 0,
    datagramsReceived: 0,
    datagramBytesReceived: 0,
    tcpWrites: 0,
    tcpBytesWritten: 0,
    tcpReads: 0,
    tcpBytesRead: 0,
  };
}

function countStream(connection: StreamConnection, counts: WireCounts): StreamConnection {
  return {
    get localAddress() {
      return connection.localAddress;
    },
    get remoteAddress() {
      return connection.remoteAddress;
    },
    async read() {
      const chunk = await connection.read();
      if (chunk) {
        counts.tcpReads++;
        counts.tcpBytesRead += chunk.length;
      }
      return chunk;
    },
    write(data) {
      counts.tcpWrites++;
      counts.tcpBytesWritten += data.length;
      return connection.write(data);
    },
    closeWrite: () => connection.closeWrite(),
    close: () => connection.close(),
  };
}

/**
 * Wraps a socket runtime so every socket it makes counts its traffic into `counts`.
 *
 * @param inner The real adapter.
 * @param counts Counters to add to.
 * @returns The counting adapter.
 */
export function countingRuntime(inner: SocketRuntime, counts: WireCounts): SocketRuntime {
  return {
    name: inner.name,
    networkInterfaces: () => inner.networkInterfaces(),
    async bindDatagram(options, onMessage) {
      // mDNS (port 5353) is discovery, not the call path: not counted.
      if (options.port === 5353) return await inner.bindDatagram(options, onMessage);
      const socket = await inner.bindDatagram(options, (message) => {
        counts.datagramsReceived++;
        counts.datagramBytesReceived += message.data.length;
        onMessage(message);
      });
      const counted: DatagramSocket = {
        get localAddress() {
          return socket.localAddress;
        },
        send(data, address, port) {
          counts.datagramsSent++;
          counts.datagramBytesSent += data.length;
          return socket.send(data, address, port);
        },
        joinMulticast: (group, at) => socket.joinMulticast(group, at),
        leaveMulticast: (group, at) => socket.leaveMulticast(group, at),
        setMulticastInterface: (at) => socket.setMulticastInterface(at),
        setMulticastTTL: (ttl) => socket.setMulticastTTL(ttl),
        setMulticastLoopback: (on) => socket.setMulticastLoopback(on),
        close: () => socket.close(),
      };
      return counted;
    },
    listen: (options, onConnection) => inner.listen(options, (c) => onConnection(countStream(c, counts))),
    connect: async (options) => countStream(await inner.connect(options), counts),
  };
}
