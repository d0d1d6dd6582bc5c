/**
 * Helpers for the security, fuzz and load tests: endpoints on an in-memory LAN, and a runtime
 * wrapper that records what a node sends (so a test can replay or tamper with it).
 */
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import type { Datagram, DatagramSocket, SocketRuntime, StreamConnection } from "../../src/net.ts";
import { RpcEndpoint, type RpcEndpointOptions, type RpcPeer } from "../../src/rpc/endpoint.ts";
import { LOCAL_CAPABILITIES } from "../../src/wire/capabilities.ts";

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
export interface SecurePair {
  network: MemoryNetwork;
  clock: FakeClock | undefined;
  host: RpcEndpoint;
  worker: RpcEndpoint;
  /** How the worker reaches the host. */
  peer: RpcPeer;
  /** What the worker sent. */
  recorded: Recorded;
  close(): Promise<void>;
}

/** Starts a {@linkcode SecurePair}. */
export async function securePair(
  options: {
    host?: Partial<RpcEndpointOptions>;
    worker?: Partial<RpcEndpointOptions>;
    fake?: boolean;
    seed?: number;
  } = {},
): Promise<SecurePair> {
  const clock = options.fake ? new FakeClock() : undefined;
  const network = new MemoryNetwork({ seed: options.seed ?? 5, clock });
  const host = new RpcEndpoint({ runtime: network.host("10.0.0.2"), name: "Host", clock, ...options.host });
  const { runtime, recorded } = recordingRuntime(network.host("10.0.0.1"));
  const worker = new RpcEndpoint({ runtime, name: "Worker", clock, ...options.worker });
  const { udpPort, tcpPort } = await host.start();
  await worker.start();
  const peer = { name: "Host", address: "10.0.0.2", udpPort, tcpPort, capabilities: LOCAL_CAPABILITIES };
  return {
    network,
    clock,
    host,
    worker,
    peer,
    recorded,
    async close() {
      await worker.stop();
      await host.stop();
      await network.close();
    },
  };
}

/** Lets pending promise chains (Web Crypto, in-memory delivery) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
