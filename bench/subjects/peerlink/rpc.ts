/**
 * PeerLink's side of the call benchmarks: a server node that registers `add` and `upload`
 * (and the stream handlers of `streams.ts`), and a client node that calls it over UDP or TCP.
 *
 * Two layers can be measured: `"node"` is the public API (`new PeerLink(name).start()`, peers
 * found by mDNS, `node.call(...)`), what users run; `"engine"` is the RPC engine alone
 * (`RpcEndpoint` with the server's ports given), to tell the call path's cost from
 * discovery's. Modules of `src/` are imported lazily so that the raw and HTTP baselines still
 * run while `src/` is incomplete.
 *
 * @module
 */
import type { SocketRuntime } from "../../../src/net.ts";
import { type CallClient, clientRole, promiseCalls } from "../../worker/client.ts";
import { measureTransfer, type TransferResult } from "../../worker/measure.ts";
import { num, type RoleFactory } from "../../worker/role.ts";
import { streamCommands, streamHandlers } from "./streams.ts";
import { countingRuntime, emptyCounts, type WireCounts } from "./wire_counter.ts";

/** Which PeerLink layer to measure. */
export type Layer = "node" | "engine";

/** Settings shared by the PeerLink server and client. */
export interface PeerLinkBenchOptions {
  /** `"node"` (default) or `"engine"`. */
  layer: Layer;
  /** Realm isolating this benchmark's nodes from any other run's. */
  realm: string;
  /** Count socket traffic (profile runs only). */
  countWire?: boolean;
  /** Shared secret: every message sealed (the `peerlink_sealed` variant). The realm derives from it. */
  secret?: string;
}

/** A running PeerLink benchmark endpoint. */
export interface PeerLinkEnd {
  /** Its ports. */
  ports: { udpPort: number; tcpPort: number };
  /** Name of the socket adapter PeerLink picked. */
  adapter: string;
  /** Wire counters (zero unless `countWire`). */
  counts: WireCounts;
  /** Engine counters (`node.stats()`), for the profile report. */
  stats(): unknown;
  /** Stops the node. */
  close(): Promise<void>;
}

/** Server node name. */
export const SERVER_NAME = "bench-server";
/** Client node name. */
export const CLIENT_NAME = "bench-client";

const handlers = {
  add: (a: number, b: number) => a + b,
  upload: (data: Uint8Array) => data.byteLength,
  ...streamHandlers,
};

async function socketRuntime(counts: WireCounts, countWire: boolean | undefined): Promise<SocketRuntime> {
  const { autoRuntime } = await import("../../../runtimes/auto.ts");
  const runtime = autoRuntime();
  return countWire ? countingRuntime(runtime, counts) : runtime;
}

/** What a client needs from a started endpoint: one call. */
export type Caller = (fn: string, args: unknown[], transport: "udp" | "tcp", timeout?: number) => Promise<unknown>;

async function startEnd(
  name: string,
  options: PeerLinkBenchOptions,
  peer?: { name: string; udpPort: number; tcpPort: number },
): Promise<PeerLinkEnd & { call: Caller }> {
  const counts = emptyCounts();
  const runtime = await socketRuntime(counts, options.countWire);
  if (options.layer === "engine") {
    const { RpcEndpoint } = await import("../../../src/rpc/endpoint.ts");
    const { LOCAL_CAPABILITIES } = await import("../../../src/wire/capabilities.ts");
    const endpoint = new RpcEndpoint({ runtime, name, handlers, address: "127.0.0.1", secret: options.secret });
    const ports = await endpoint.start();
    const target = peer && { ...peer, address: "127.0.0.1", capabilities: LOCAL_CAPABILITIES };
    return {
      ports,
      adapter: runtime.name,
      counts,
      stats: () => endpoint.stats(),
      close: () => endpoint.stop(),
      call: (fn, args, transport, timeout) => endpoint.call(target!, fn, args, { transport, timeout }),
    };
  }
  const { PeerLink } = await import("../../../mod.ts");
  const node = new PeerLink(
    name,
    options.secret ? { secret: options.secret, runtime } : { realm: options.realm, runtime },
  );
  node.register(handlers);
  await node.start();
  if (peer) await node.waitForPeers(1, { timeout: 15_000 });
  return {
    ports: node.ports!,
    adapter: runtime.name,
    counts,
    stats: () => node.stats(),
    close: () => node.stop(),
    call: (fn, args, transport, timeout) => node.call(peer!.name, fn, args, { transport, timeout }),
  };
}

/**
 * Starts the server node (handlers `add` and `upload`).
 *
 * @param options Layer and realm.
 * @returns The running server.
 */
export function startPeerLinkServer(options: PeerLinkBenchOptions): Promise<PeerLinkEnd> {
  return startEnd(SERVER_NAME, options);
}

/** The measurements of the PeerLink client: `add(1, 2)` calls, `upload(Uint8Array(bytes))` over TCP. */
export interface PeerLinkClient extends Omit<PeerLinkEnd, "close">, CallClient {
  upload(bytes: number, count: number, warmup: number): Promise<TransferResult>;
}

function transportOf(transport: string): "udp" | "tcp" {
  if (transport !== "udp" && transport !== "tcp") {
    throw new Error(`PeerLink client: transport must be "udp" or "tcp", got ${JSON.stringify(transport)}`);
  }
  return transport;
}

/**
 * Starts the client node and waits until it can call the server.
 *
 * @param options Layer and realm.
 * @param server The server's ports (used by the `"engine"` layer; the node finds them by mDNS).
 * @returns The client.
 */
export async function startPeerLinkClient(
  options: PeerLinkBenchOptions,
  server: { udpPort: number; tcpPort: number },
): Promise<PeerLinkClient> {
  const end = await startEnd(CLIENT_NAME, options, { name: SERVER_NAME, ...server });
  const add = (transport: string) => async () => {
    const sum = await end.call("add", [1, 2], transportOf(transport));
    if (sum !== 3) throw new Error(`add(1, 2) answered ${JSON.stringify(sum)}`);
  };
  return {
    ...end,
    ...promiseCalls(add),
    upload(bytes, count, warmup) {
      const payload = new Uint8Array(bytes).fill(7);
      return measureTransfer(
        async () => {
          const got = await end.call("upload", [payload], "tcp", 60_000);
          if (got !== bytes) throw new Error(`upload answered ${JSON.stringify(got)}, expected ${bytes}`);
        },
        bytes,
        count,
        warmup,
      );
    },
    commands: {
      ...streamCommands(end.call, add("tcp")),
      stats: () => ({ counts: { ...end.counts }, stats: end.stats() }),
    },
  };
}

/** The PeerLink end's settings from a worker's config: layer, realm, and `secret` for the sealed variant. */
function benchOptions(config: Record<string, unknown>): PeerLinkBenchOptions {
  return {
    layer: config.layer === "engine" ? "engine" : "node",
    realm: String(config.realm ?? "bench"),
    countWire: config.countWire === true,
    secret: typeof config.secret === "string" ? config.secret : undefined,
  };
}

/**
 * Roles: `peerlink/rpc#server` and `peerlink/rpc#client` (config: `layer`, `realm`, `secret`,
 * `countWire`; the client also the server's `udpPort` and `tcpPort`).
 */
export const roles: Record<string, RoleFactory> = {
  async server(config) {
    const server = await startPeerLinkServer(benchOptions(config));
    return {
      ready: { ...server.ports, adapter: server.adapter },
      handlers: { stats: () => ({ counts: server.counts, stats: server.stats() }) },
      close: () => server.close(),
    };
  },
  async client(config) {
    const ports = { udpPort: num(config, "udpPort"), tcpPort: num(config, "tcpPort") };
    const client = await startPeerLinkClient(benchOptions(config), ports);
    return clientRole(client, { adapter: client.adapter });
  },
};
