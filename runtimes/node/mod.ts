/**
 * The Node adapter: {@linkcode SocketRuntime} on `node:dgram` (udp.ts) and `node:net`
 * (tcp.ts, listener.ts).
 *
 * It is also the fallback under Deno (when the unstable net API is off) and works under
 * Bun, so it keeps to the parts of those modules that all three runtimes implement.
 *
 * Upstream docs relied on:
 * - https://nodejs.org/api/dgram.html (createSocket reuseAddr, bind, send, addMembership,
 *   dropMembership, setMulticastInterface, setMulticastTTL, setMulticastLoopback)
 * - https://nodejs.org/api/net.html (createServer/connect with allowHalfOpen, Socket
 *   pause/resume, write callback, end, destroy, 'end'/'close'/'error' events)
 * - https://nodejs.org/api/stream.html#writablewritechunk-encoding-callback
 *
 * Quirks handled: IPv4 peers on a dual-stack socket appear as `::ffff:1.2.3.4` and are
 * unmapped (events.ts); node:dgram wants an IPv6 multicast interface as `::%<name>`, and
 * libuv reads an index there as a name, so an index is turned into its name first
 * (runtimes/_shared/interfaces.ts).
 *
 * @module
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { NetError, type SocketRuntime } from "../../src/net.ts";
import { listInterfaces } from "../_shared/interfaces.ts";
import { listen } from "./listener.ts";
import { connect } from "./tcp.ts";
import { bindDatagram } from "./udp.ts";

/**
 * Creates the Node adapter (`node:dgram` + `node:net`). Works under Node, and under Deno
 * and Bun through their Node compatibility layers.
 *
 * @returns A {@linkcode SocketRuntime} named `"node"`.
 * @throws {NetError} code `"UNSUPPORTED"` when `node:dgram`/`node:net` are unusable here.
 *
 * @example
 * ```ts
 * import { nodeRuntime } from "@peerlink/peerlink/runtimes";
 * const runtime = nodeRuntime();
 * const socket = await runtime.bindDatagram({ address: "127.0.0.1", port: 0 }, (m) => console.log(m));
 * await socket.close();
 * ```
 */
export function nodeRuntime(): SocketRuntime {
  if (typeof dgram.createSocket !== "function" || typeof net.createServer !== "function") {
    throw new NetError(
      "UNSUPPORTED",
      "UNSUPPORTED: runtimes/node/mod.ts needs node:dgram and node:net, which this runtime lacks. " +
        "Use autoRuntime() from runtimes/auto.ts, or pass the adapter for this runtime.",
    );
  }
  return { name: "node", bindDatagram, listen, connect, networkInterfaces: listInterfaces };
}
