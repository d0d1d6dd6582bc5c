/**
 * The Deno socket adapter: {@linkcode SocketRuntime} on Deno's own networking API.
 *
 * - UDP: `Deno.listenDatagram` (unstable `net` API: `--unstable-net`, or `"unstable": ["net"]`
 *   in deno.json) with `joinMulticastV4` / `joinMulticastV6` membership handles (udp.ts,
 *   memberships.ts, multicast.ts).
 *   https://docs.deno.com/api/deno/~/Deno.listenDatagram
 *   https://docs.deno.com/api/deno/~/Deno.DatagramConn
 *   https://docs.deno.com/api/deno/~/Deno.UdpListenOptions
 *   https://docs.deno.com/api/deno/~/Deno.MulticastV4Membership
 *   https://docs.deno.com/api/deno/~/Deno.MulticastV6Membership
 * - TCP: `Deno.listen`, `Deno.connect` (with its `signal` option) and `Deno.TcpConn` (tcp.ts,
 *   listener.ts).
 *   https://docs.deno.com/api/deno/~/Deno.listen
 *   https://docs.deno.com/api/deno/~/Deno.connect
 *   https://docs.deno.com/api/deno/~/Deno.ConnectOptions
 *   https://docs.deno.com/api/deno/~/Deno.TcpConn
 *   https://docs.deno.com/api/deno/~/Deno.Conn (read / write / closeWrite)
 * - Interfaces: `listInterfaces()` from runtimes/_shared/interfaces.ts (node:os, which Deno
 *   implements; needs `--allow-sys`), shared by all adapters.
 *
 * Deno has no IP_MULTICAST_IF and only an IPv4 multicast TTL setter, and it sets TTL and
 * loopback through membership handles; {@linkcode denoRuntime} below, memberships.ts and
 * multicast.ts document how this adapter bridges those gaps. Without the unstable net API
 * use `autoRuntime()` (runtimes/auto.ts), which falls back to `nodeRuntime()` (Deno's
 * `node:dgram`).
 *
 * The Deno types are declared in api.ts, minimally, so `tsc` checks the adapter without
 * Deno's lib.
 *
 * @module
 */
import { NetError, type SocketRuntime } from "../../src/net.ts";
import { listInterfaces } from "../_shared/interfaces.ts";
import type { DenoNet } from "./api.ts";
import { listen } from "./listener.ts";
import { connect } from "./tcp.ts";
import { bindDatagram } from "./udp.ts";

/**
 * Creates the Deno adapter: UDP on `Deno.listenDatagram`, TCP on `Deno.listen` / `Deno.connect`.
 *
 * Where Deno's API is narrower than the sockets interface:
 * - `setMulticastInterface` (no IP_MULTICAST_IF in Deno): remembered as the default interface
 *   of later joins; for IPv4 on a wildcard-bound socket with `reuseAddress`, outgoing multicast
 *   goes through a companion socket bound to that interface's address and the same port, which
 *   Linux sends out of that interface. Elsewhere multicast leaves by the routing table.
 * - `setMulticastTTL` / `setMulticastLoopback` act through membership handles: they apply
 *   once the socket joined a group, and to every later join. Loopback starts on (the OS
 *   default Node and Bun keep). IPv6 hop limit cannot be set (OS default 1).
 * - Needs `--allow-net`, and `--allow-sys` for `networkInterfaces()`.
 *
 * @returns A {@linkcode SocketRuntime} named `"deno"`.
 * @throws {NetError} Code `UNSUPPORTED` outside Deno, or under Deno without the unstable net
 *   API (`--unstable-net` / `"unstable": ["net"]`); `autoRuntime()` falls back to the Node
 *   adapter in that case.
 *
 * @example
 * ```ts
 * import { denoRuntime } from "@peerlink/peerlink/runtimes";
 * const runtime = denoRuntime();
 * const socket = await runtime.bindDatagram({ address: "127.0.0.1", port: 0 }, (m) => {
 *   console.log(`${m.data.length} bytes from ${m.address}:${m.port}`);
 * });
 * await socket.close();
 * ```
 */
export function denoRuntime(): SocketRuntime {
  const deno = (globalThis as unknown as { Deno?: DenoNet }).Deno;
  if (!deno || typeof deno.listen !== "function" || typeof deno.connect !== "function") {
    throw new NetError(
      "UNSUPPORTED",
      "UNSUPPORTED: runtimes/deno/mod.ts: the Deno adapter needs Deno; use nodeRuntime() or autoRuntime()",
    );
  }
  if (typeof deno.listenDatagram !== "function") {
    throw new NetError(
      "UNSUPPORTED",
      "UNSUPPORTED: runtimes/deno/mod.ts: Deno.listenDatagram is missing: the Deno adapter needs Deno's unstable " +
        'net API. Run with --unstable-net or add "unstable": ["net"] to deno.json, or use autoRuntime(), ' +
        "which falls back to nodeRuntime() under Deno.",
    );
  }
  return {
    name: "deno",
    bindDatagram: (options, onMessage) => bindDatagram(deno, options, onMessage),
    listen: (options, onConnection) => listen(deno, options, onConnection),
    connect: (options) => connect(deno, options),
    networkInterfaces: listInterfaces,
  };
}
