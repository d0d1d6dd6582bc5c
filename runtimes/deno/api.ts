/**
 * The slice of the Deno namespace the Deno adapter uses, declared here, minimally, so
 * `tsc` checks the adapter without Deno's lib. Links to each API are in `mod.ts`.
 *
 * @module
 */
import { addressFamily, type NetAddr } from "../../src/net.ts";

/** `Deno.NetAddr` of a TCP or UDP socket. */
export interface DenoAddr {
  transport: string;
  hostname: string;
  port: number;
}

/** `Deno.MulticastV4Membership`: TTL and loopback are set through it. */
export interface DenoMulticastV4Membership {
  leave(): Promise<void>;
  setLoopback(loopback: boolean): Promise<void>;
  setTTL(ttl: number): Promise<void>;
}

/** `Deno.MulticastV6Membership`: no hop-limit setter. */
export interface DenoMulticastV6Membership {
  leave(): Promise<void>;
  setLoopback(loopback: boolean): Promise<void>;
}

/** `Deno.DatagramConn` from `Deno.listenDatagram`. */
export interface DenoDatagramConn {
  readonly addr: DenoAddr;
  joinMulticastV4(address: string, networkInterface: string): Promise<DenoMulticastV4Membership>;
  joinMulticastV6(address: string, networkInterface: number): Promise<DenoMulticastV6Membership>;
  receive(p?: Uint8Array): Promise<[Uint8Array, DenoAddr]>;
  send(p: Uint8Array, addr: DenoAddr): Promise<number>;
  close(): void;
}

/** `Deno.TcpConn`. */
export interface DenoTcpConn {
  readonly localAddr: DenoAddr;
  readonly remoteAddr: DenoAddr;
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}

/** `Deno.TcpListener`. */
export interface DenoTcpListener {
  readonly addr: DenoAddr;
  accept(): Promise<DenoTcpConn>;
  close(): void;
}

/** Options of `Deno.listenDatagram` with `transport: "udp"`. */
export interface DenoUdpListenOptions {
  transport: "udp";
  hostname: string;
  port: number;
  reuseAddress?: boolean;
  loopback?: boolean;
}

/** The networking functions of the `Deno` global (`listenDatagram` only with the unstable net API). */
export interface DenoNet {
  listenDatagram?(options: DenoUdpListenOptions): DenoDatagramConn;
  listen(options: { transport: "tcp"; hostname: string; port: number }): DenoTcpListener;
  connect(options: { transport: "tcp"; hostname: string; port: number; signal?: AbortSignal }): Promise<DenoTcpConn>;
}

/**
 * A Deno address as the core's {@linkcode NetAddr}.
 *
 * @param addr Deno's address.
 * @returns The same endpoint with its family.
 */
export function toNetAddr(addr: DenoAddr): NetAddr {
  return { address: addr.hostname, port: addr.port, family: addressFamily(addr.hostname) };
}
