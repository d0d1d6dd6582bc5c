/**
 * PeerLink: zero-config peer-to-peer RPC for programs on one LAN or WiFi.
 *
 * A program names itself, finds its peers through mDNS/DNS-SD with no configuration, and
 * calls their registered functions. Small calls go over UDP, large ones over TCP with
 * length-prefixed frames. Runs on Deno, Bun and Node, and speaks the wire format of the
 * Python PeerLink 1.2.
 *
 * @example Two nodes
 * ```ts ignore
 * import { PeerLink } from "@peerlink/peerlink";
 *
 * // Program 1
 * const host = new PeerLink("Host").register("add", (a: number, b: number) => a + b);
 * await host.start();
 *
 * // Program 2
 * await using worker = await new PeerLink("Worker").start();
 * await worker.waitForPeers(1, { timeout: 3000 });
 * console.log(await worker.peer("Host").add(1, 2)); // 3
 * ```
 *
 * @module
 */

export { PeerLink } from "./src/peerlink.ts";
export type { PeerDownCallback, PeerUpCallback } from "./src/peerlink.ts";
export { SwarmNode, SwarmStartError } from "./src/swarm.ts";
export type { SwarmNodeOptions } from "./src/swarm.ts";
export type {
  CallOptions,
  CallResult,
  PeerDiscovery,
  PeerLinkEvents,
  PeerLinkOptions,
  PeerOptions,
  Transport,
  WaitForPeersOptions,
} from "./src/options.ts";
export { DEFAULT_DISCOVERY_LIMITS } from "./src/discovery.ts";
export type { DiscoveryLimits, DiscoveryOptions, DiscoveryStats, PeerDownReason, PeerInfo } from "./src/discovery.ts";
export type {
  AnyFunction,
  PeerHandle,
  RemoteApi,
  RemoteFunction,
  TypedRemoteApi,
  UntypedRemoteFunction,
} from "./src/proxy.ts";
export { currentPeer, runWithCurrentPeer } from "./src/rpc/context.ts";
export type { CallerInfo } from "./src/rpc/context.ts";
export type { Handler } from "./src/rpc/dispatch.ts";
export type { RpcStats } from "./src/rpc/endpoint.ts";
export type { RpcLimits } from "./src/rpc/limits.ts";
export {
  BusyError,
  InsecurePeerError,
  NodeStopped,
  PayloadTooLarge,
  PeerConnectionError,
  PeerLinkError,
  PeerNotFound,
  PeerNotFoundError,
  PeerTimeoutError,
  PortInUseError,
  RemoteError,
} from "./src/errors.ts";
export type { PeerLinkErrorCode, WireTransport } from "./src/errors.ts";
export { DISCOVERY_WAIT, MAX_SAFE_UDP_PAYLOAD, PEER_TTL, RPC_TIMEOUT, TCP_MAX_FRAME } from "./src/constants.ts";
export { derivePort, deriveRealm } from "./src/derive.ts";
export { VERSION } from "./src/version.ts";
export type { Logger } from "./src/log.ts";
export { NetError } from "./src/net.ts";
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
} from "./src/net.ts";
export { autoRuntime, detectRuntime, resolveRuntime } from "./runtimes/auto.ts";
export type { RuntimeKind, RuntimeOption } from "./runtimes/auto.ts";
export { nodeRuntime } from "./runtimes/node.ts";
export { denoRuntime } from "./runtimes/deno.ts";
export { bunRuntime } from "./runtimes/bun.ts";
export type { Clock, TimerId } from "./src/clock.ts";
// Parts of `node.stats()`, exported so its type is documented.
export type { DispatchStats } from "./src/rpc/dispatch.ts";
export type { SecurityStats } from "./src/security/channel.ts";
export type { ServeStats } from "./src/rpc/server.ts";
export type { TcpClientStats } from "./src/rpc/tcp_client.ts";
export type { TcpServerStats } from "./src/rpc/tcp_server.ts";
export type { UdpStats } from "./src/rpc/udp.ts";
