/**
 * Helpers for the security, fuzz and load tests: endpoints on an in-memory LAN, and a runtime
 * wrapper that records what a node sends (so a test can replay or tamper with it).
 */
import type { Datagram, DatagramSocket, SocketRuntime, StreamConnection } from "../../src/net.ts";
import type { RpcEndpointOptions } from "../../src/rpc/endpoint.ts";
import { type RpcPair, rpcPair } from "./rpc_pair.ts";

/** What a {@linkcode recordingRuntime} saw leave the host. */
export interface Recorded {
  /** Datagrams sent, with their destination. */
  datagrams: { data: Uint8Array; address: string; port: number }[];
  /** Byte chunks written on TCP connections the host opened, per connection. */
  streams: Uint8Array[][];
}

/**
 * Wraps a runtime so that every datagram sent and every TCP write of dialled connections is
 * copied into `recorded`.
 */
export function recordingRuntime(inner: SocketRuntime): { runtime: SocketRuntime; recorded: Recorded } {
  const recorded: Recorded = { datagrams: [], streams: [] };
  const runtime: SocketRuntime = {
    name: `recording ${inner.name}`,
    networkInterfaces: () => inner.networkInterfaces(),
    listen: (options, onConnection) => inner.listen(options, onConnection),
    async bindDatagram(options, onMessage: (message: Datagram) => void): Promise<DatagramSocket> {
      const socket = await inner.bindDatagram(options, onMessage);
      return {
        get localAddress() {
          return socket.localAddress;
        },
        send(data, address, port) {
          recorded.datagrams.push({ data: data.slice(), address, port });
          return socket.send(data, address, port);
        },
        joinMulticast: (group, iface) => socket.joinMulticast(group, iface),
        leaveMulticast: (group, iface) => socket.leaveMulticast(group, iface),
        setMulticastInterface: (iface) => socket.setMulticastInterface(iface),
        setMulticastTTL: (ttl) => socket.setMulticastTTL(ttl),
        setMulticastLoopback: (on) => socket.setMulticastLoopback(on),
        close: () => socket.close(),
      };
    },
    async connect(options): Promise<StreamConnection> {
      const connection = await inner.connect(options);
      const writes: Uint8Array[] = [];
      recorded.streams.push(writes);
      return {
        get localAddress() {
          return connection.localAddress;
        },
        get remoteAddress() {
          return connection.remoteAddress;
        },
        read: () => connection.read(),
        write(data) {
          writes.push(data.slice());
          return connection.write(data);
        },
        closeWrite: () => connection.closeWrite(),
        close: () => connection.close(),
      };
    },
  };
  return { runtime, recorded };
}

/** Concatenates chunks. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A host ("Host", 10.0.0.2) and a caller ("Worker", 10.0.0.1) on one in-memory LAN. */
export interface SecurePair extends RpcPair {
  /** What the worker sent. */
  recorded: Recorded;
}

/** Starts a {@linkcode SecurePair}: an {@linkcode rpcPair} whose worker's traffic is recorded. */
export async function securePair(
  options: {
    host?: Partial<RpcEndpointOptions>;
    worker?: Partial<RpcEndpointOptions>;
    fake?: boolean;
    seed?: number;
  } = {},
): Promise<SecurePair> {
  let recorded: Recorded | undefined;
  const pair = await rpcPair({
    ...options,
    seed: options.seed ?? 5,
    workerRuntime: (runtime) => {
      const recording = recordingRuntime(runtime);
      recorded = recording.recorded;
      return recording.runtime;
    },
  });
  return { ...pair, recorded: recorded! };
}

/** Lets pending promise chains (Web Crypto, in-memory delivery) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
