/**
 * Two started RPC endpoints on an in-memory LAN: "Worker" (10.0.0.1) calls "Host" (10.0.0.2).
 * Shared by the rpc, security and fuzz tests.
 */
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import type { SocketRuntime } from "../../src/net.ts";
import { RpcEndpoint, type RpcEndpointOptions, type RpcPeer } from "../../src/rpc/endpoint.ts";
import { LOCAL_CAPABILITIES, NO_CAPABILITIES } from "../../src/wire/capabilities.ts";

/** The two endpoints, their network and how the worker reaches the host. */
export interface RpcPair {
  network: MemoryNetwork;
  clock: FakeClock | undefined;
  host: RpcEndpoint;
  worker: RpcEndpoint;
  /** How the worker reaches the host. */
  peer: RpcPeer;
  close(): Promise<void>;
}

/** How to build an {@linkcode RpcPair}. */
export interface RpcPairOptions {
  /** Options of the "Host" endpoint (handlers, limits, secret, ...). */
  host?: Partial<RpcEndpointOptions>;
  /** Options of the "Worker" endpoint. */
  worker?: Partial<RpcEndpointOptions>;
  /** Reuse this network (and its clock) instead of making one. */
  network?: MemoryNetwork;
  /** Run on a FakeClock. */
  fake?: boolean;
  /** Seed of a new network. */
  seed?: number;
  /** Datagram loss of a new network. */
  loss?: number;
  /** Stream high-water mark of a new network. */
  highWaterMark?: number;
  /** The worker sees the host as a Python 1.2 peer (no extensions). */
  python?: boolean;
  /** Wraps the worker's runtime, e.g. to record what it sends. */
  workerRuntime?: (runtime: SocketRuntime) => SocketRuntime;
}

/** Starts an {@linkcode RpcPair}. */
export async function rpcPair(options: RpcPairOptions = {}): Promise<RpcPair> {
  const given = options.network?.clock;
  const clock = given instanceof FakeClock ? given : !options.network && options.fake ? new FakeClock() : undefined;
  const network = options.network ??
    new MemoryNetwork({
      seed: options.seed ?? 1,
      loss: options.loss ?? 0,
      clock,
      highWaterMark: options.highWaterMark,
    });
  const host = new RpcEndpoint({ runtime: network.host("10.0.0.2"), name: "Host", clock, ...options.host });
  const workerRuntime = network.host("10.0.0.1");
  const worker = new RpcEndpoint({
    runtime: options.workerRuntime?.(workerRuntime) ?? workerRuntime,
    name: "Worker",
    clock,
    ...options.worker,
  });
  const { udpPort, tcpPort } = await host.start();
  await worker.start();
  const capabilities = options.python ? NO_CAPABILITIES : LOCAL_CAPABILITIES;
  const peer = { name: "Host", address: "10.0.0.2", udpPort, tcpPort, capabilities };
  return {
    network,
    clock,
    host,
    worker,
    peer,
    async close() {
      await worker.stop();
      await host.stop();
      await network.close();
    },
  };
}
