/**
 * The slice of Bun's API the Bun adapter uses, declared here so `deno check` and `tsc`
 * type-check the adapter without @types/bun. Links to each API are in `mod.ts`.
 *
 * @module
 */
import type { SocketSlot } from "./tcp.ts";

/** A bound `Bun.udpSocket`. https://bun.sh/reference/bun/udp/Socket */
export interface BunUdpSocket {
  readonly port: number;
  send(data: Uint8Array, port: number, address: string): boolean;
  addMembership(group: string, interfaceAddress?: string): boolean;
  dropMembership(group: string, interfaceAddress?: string): boolean;
  setMulticastInterface(interfaceAddress: string): boolean;
  setMulticastTTL(ttl: number): number | boolean;
  setMulticastLoopback(enabled: boolean): boolean;
  close(): void;
}

/** Handlers of a `Bun.udpSocket`. https://bun.sh/reference/bun/udp/SocketHandler */
export interface BunUdpHandler {
  data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
  drain(socket: BunUdpSocket): void;
  /** Bun 1.4 calls it with the error as the only argument. */
  error(...args: unknown[]): void;
}

/** Options of `Bun.udpSocket`. `flags` is undocumented (see udp.ts). */
export interface BunUdpOptions {
  hostname: string;
  port: number;
  flags?: number;
  socket: BunUdpHandler;
}

/** A TCP socket from `Bun.listen` or `Bun.connect`. https://bun.sh/reference/bun/TCPSocket */
export interface BunTcpSocket {
  data: SocketSlot | undefined;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes the kernel accepted; -1 once the socket is closed or shut down for writing. */
  write(data: Uint8Array): number;
  /** Without an argument: FIN (shuts down the write side), reading continues. */
  shutdown(): void;
  /** Graceful close: FIN, then the socket is gone (its `close` handler runs). */
  end(): void;
  /** Immediate close (RST). */
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay?(enabled: boolean): boolean;
}

/** Handlers shared by every socket of one listener or dial. https://bun.sh/reference/bun/SocketHandler */
export interface BunTcpHandler {
  open(socket: BunTcpSocket): void;
  data(socket: BunTcpSocket, data: Uint8Array): void;
  drain(socket: BunTcpSocket): void;
  end(socket: BunTcpSocket): void;
  close(socket: BunTcpSocket, error?: unknown): void;
  error(socket: BunTcpSocket, error: unknown): void;
  connectError?(socket: BunTcpSocket, error: unknown): void;
}

/** A `Bun.listen` server. https://bun.sh/reference/bun/TCPSocketListener */
export interface BunTcpListener {
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** The `Bun` global, as far as this adapter uses it. */
export interface BunNet {
  udpSocket(options: BunUdpOptions): Promise<BunUdpSocket>;
  listen(options: {
    hostname: string;
    port: number;
    exclusive: boolean;
    allowHalfOpen: boolean;
    socket: BunTcpHandler;
  }): BunTcpListener;
  connect(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    data: SocketSlot;
    socket: BunTcpHandler;
  }): Promise<BunTcpSocket>;
}
