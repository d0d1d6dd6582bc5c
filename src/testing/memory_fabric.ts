/**
 * What the parts of the in-memory network (virtual hosts, sockets, streams) need from the
 * {@linkcode MemoryNetwork} that connects them. Internal to `src/testing/`: tests use the
 * public API of `memory_net.ts`.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { MemoryDatagramSocket } from "./memory_datagram.ts";
import type { VirtualHost } from "./memory_host.ts";

/** The network as seen from inside a virtual host. */
export interface Fabric {
  /** The network's clock: delays and connect timeouts run on it. */
  readonly clock: Clock;
  /** Unread bytes per stream direction above which writers wait. */
  readonly highWaterMark: number;
  /** True once `MemoryNetwork.close()` ran. */
  isClosed(): boolean;
  /** Routes one datagram (payload already copied) from `socket` on `host`; never throws. */
  route(host: VirtualHost, socket: MemoryDatagramSocket, payload: Uint8Array, address: string, port: number): void;
  /** The host that owns `address` (a host's LAN address), if any. */
  findHost(address: string): VirtualHost | undefined;
  /** True when traffic can pass between `a` and `b` (same host, or both attached). */
  linkUp(a: VirtualHost, b: VirtualHost): boolean;
}
