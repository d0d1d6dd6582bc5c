/**
 * The shape every small-call client has (raw echo, PeerLink, HTTP, gRPC, capnweb), and the
 * role that serves it to the driver, so that each subject writes only how it calls.
 *
 * @module
 */
import {
  type LatencyResult,
  measureConcurrent,
  measureLatency,
  type ThroughputResult,
  type TransferResult,
} from "./measure.ts";
import { num, type Role } from "./role.ts";

/** A client of one subject. `transport` is the subject's own word (`"udp"`, `"tcp"`, ...). */
export interface CallClient {
  /** Sequential round trips. */
  latency(transport: string, count: number, warmup: number): Promise<LatencyResult>;
  /** `total` round trips with `concurrency` in flight. */
  throughput(transport: string, concurrency: number, total: number, warmup: number): Promise<ThroughputResult>;
  /** Uploads of `bytes` each, where the subject has them. */
  upload?(bytes: number, count: number, warmup: number): Promise<TransferResult>;
  /** Extra commands of this subject (streams, stats). */
  commands?: Role["handlers"];
  /** Closes its sockets. */
  close(): Promise<void> | void;
}

/**
 * Latency and throughput from one round trip, for subjects whose calls are promises.
 *
 * @param roundTrip Makes the operation of a transport: one call, resolving with its answer.
 * @returns The two measurements.
 */
export function promiseCalls(
  roundTrip: (transport: string) => () => Promise<unknown>,
): Pick<CallClient, "latency" | "throughput"> {
  return {
    latency: (transport, count, warmup) => measureLatency(roundTrip(transport), count, warmup),
    throughput: (transport, concurrency, total, warmup) =>
      measureConcurrent(roundTrip(transport), concurrency, total, warmup),
  };
}

/**
 * The role of a client: the driver's `latency`, `throughput` and `upload` commands.
 *
 * @param client The client.
 * @param ready Extra fields of its ready message.
 * @returns The role.
 */
export function clientRole(client: CallClient, ready: Record<string, unknown> = {}): Role {
  const transport = (c: Record<string, unknown>) => String(c.transport ?? "");
  const handlers: Role["handlers"] = {
    latency: async (c) => ({ ...(await client.latency(transport(c), num(c, "count"), num(c, "warmup"))) }),
    throughput: async (c) => ({
      ...(await client.throughput(transport(c), num(c, "concurrency"), num(c, "total"), num(c, "warmup"))),
    }),
    ...client.commands,
  };
  const upload = client.upload?.bind(client);
  if (upload) {
    handlers.upload = async (c) => ({ ...(await upload(num(c, "bytes"), num(c, "count"), num(c, "warmup"))) });
  }
  return { ready, handlers, close: () => client.close() };
}
