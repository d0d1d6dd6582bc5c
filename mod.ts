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

export { ALL_PEERS, PeerLink } from "./src/peerlink.ts";
export type { PeerDownCallback, PeerUpCallback } from "./src/peerlink.ts";
export { SwarmNode, SwarmStartError } from "./src/swarm.ts";
export type { SwarmNodeOptions } from "./src/swarm.ts";
export type {
  CallOptions,
  CallResult,
  OpenStreamOptions,
  PeerDiscovery,
  PeerLinkEvents,
  PeerLinkOptions,
  PeerOptions,
  StopOptions,
  Transport,
  WaitForPeersOptions,
} from "./src/options.ts";
export { DEFAULT_DISCOVERY_LIMITS } from "./src/discovery.ts";
export type {
  DiscoveryLimits,
  DiscoveryOptions,
  DiscoveryStats,
  PeerDownReason,
  PeerInfo,
  PeerSource,
} from "./src/discovery.ts";
export type { WideAreaOptions } from "./src/dnssd/options.ts";
export type { TsigKey } from "./src/dnssd/tsig.ts";
export { WideAreaError } from "./src/dnssd/errors.ts";
export type { WideAreaErrorCode } from "./src/dnssd/errors.ts";
export { parseBindKeyFile } from "./src/dnssd/key_file.ts";
export type { WideAreaStats } from "./src/dnssd/wide_area.ts";
export type { DnsClientStats } from "./src/dnssd/client.ts";
export type {
  AnyFunction,
  PeerHandle,
  RemoteApi,
  RemoteFunction,
  TypedRemoteApi,
  UntypedRemoteFunction,
} from "./src/proxy.ts";
export type { CannotSend, Sendable, StreamItem, Wire, WireObject, WireProblem } from "./src/wire/types.ts";
export { currentPeer, runWithCurrentPeer } from "./src/rpc/context.ts";
export type { CallerInfo, RequestSource } from "./src/rpc/context.ts";
export type { Handler } from "./src/rpc/dispatch.ts";
export type { DuplexStream, StreamHandler } from "./src/streams/duplex.ts";
export type {
  FileEntry,
  GetFileOptions,
  GetFileResult,
  Progress,
  PutAnswer,
  PutFileOptions,
  ShareOptions,
} from "./src/files/mod.ts";
export type { RpcLimits } from "./src/rpc/limits.ts";
export type { NodeStats } from "./src/stats.ts";
export {
  BusyError,
  FILE_STATUS,
  FileError,
  InsecurePeerError,
  NameConflict,
  NameConflictError,
  NodeNotStarted,
  NodeStopped,
  NotSupportedError,
  PayloadTooLarge,
  PeerConnectionError,
  PeerLeftError,
  PeerLinkError,
  PeerNotFound,
  PeerNotFoundError,
  PeerTimeoutError,
  PortInUseError,
  ProtocolError,
  RemoteError,
} from "./src/errors.ts";
export type { FileErrorCode, PeerLinkErrorCode, WireTransport } from "./src/errors.ts";
export { NetError } from "./src/net.ts";
export type { NetErrorCode } from "./src/net.ts";
export {
  DISCOVERY_WAIT,
  MAX_SAFE_UDP_PAYLOAD,
  PEER_TTL,
  RPC_TIMEOUT,
  STOP_GRACE,
  TCP_MAX_FRAME,
} from "./src/constants.ts";
export { derivePort, deriveRealm } from "./src/derive.ts";
export { VERSION } from "./src/version.ts";
export type { Logger } from "./src/log.ts";

// The entry point wires the socket adapters (`runtime: "auto"`); the core never imports them.
import { resolveRuntime } from "./runtimes/auto.ts";
import { useRuntimeResolver } from "./src/runtime_default.ts";
useRuntimeResolver(resolveRuntime);
