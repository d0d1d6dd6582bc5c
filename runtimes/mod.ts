/**
 * The socket layer under PeerLink: the interface the runtime-free core is written against
 * ({@linkcode SocketRuntime}), and one adapter per runtime implementing it. A node picks the
 * adapter of the runtime it runs on by itself (`runtime: "auto"`); import this module to name
 * one (`runtime: nodeRuntime()` under Deno or Bun), or to write an adapter of your own (an
 * in-memory network for tests is in `@peerlink/peerlink/testing`).
 *
 * @example Pick the Node adapter explicitly
 * ```ts
 * import { PeerLink } from "@peerlink/peerlink";
 * import { nodeRuntime } from "@peerlink/peerlink/runtimes";
 *
 * const node = new PeerLink("Worker", { runtime: nodeRuntime() });
 * ```
 *
 * @module
 */
export { autoRuntime, detectRuntime, resolveRuntime } from "./auto.ts";
export type { RuntimeKind, RuntimeOption } from "./auto.ts";
export { nodeRuntime } from "./node/mod.ts";
export { denoRuntime } from "./deno/mod.ts";
export { bunRuntime } from "./bun/mod.ts";
export { NetError } from "../src/net.ts";
export type {
  ConnectOptions,
  Datagram,
  DatagramBindOptions,
  DatagramSocket,
  InterfaceAddress,
  ListenOptions,
  NetAddr,
  NetErrorCode,
  NetworkInterface,
  SocketRuntime,
  StreamConnection,
  StreamListener,
} from "../src/net.ts";
