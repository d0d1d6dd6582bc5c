/**
 * The Bun adapter: {@linkcode SocketRuntime} on `Bun.udpSocket`, `Bun.listen` and
 * `Bun.connect`.
 *
 * Bun's sockets are push-based (one set of handlers per listener or dial, called with
 * each event). This adapter turns them into the pull-based {@linkcode StreamConnection}
 * the core expects: a bounded read queue that pauses the socket when the reader falls
 * behind, and writes that keep whatever Bun did not accept and finish it on `drain`.
 *
 * Upstream API docs this adapter relies on:
 * - UDP: https://bun.sh/docs/api/udp and https://bun.sh/reference/bun/udpSocket
 *   (`send()` returns false under backpressure, then `drain` fires;
 *   `addMembership`/`dropMembership`/`setMulticastInterface`/`setMulticastTTL`/
 *   `setMulticastLoopback`: https://bun.sh/reference/bun/udp/BaseUDPSocket).
 * - TCP: https://bun.sh/docs/api/tcp (`write()` returns the bytes written and Bun keeps
 *   no copy of the rest; `drain` says when to retry), `shutdown()`:
 *   https://bun.sh/reference/bun/TCPSocket/shutdown, `pause()`/`resume()`:
 *   https://bun.sh/reference/bun/TCPSocket/pause, `allowHalfOpen`/`exclusive`:
 *   https://bun.sh/reference/bun/TCPSocketListenOptions and
 *   https://bun.sh/reference/bun/TCPSocketConnectOptions.
 *
 * Bun limits, measured on Bun 1.4.5 (Linux), each worked around or documented in the file
 * it concerns:
 * - `Bun.udpSocket` has no documented reuse option; the undocumented `flags` field sets
 *   SO_REUSEADDR and SO_REUSEPORT (udp.ts, with the measurements).
 * - The UDP `error` handler gets `(error)` alone, and without one an ICMP port-unreachable
 *   for an earlier send crashes the process (udp.ts). Bun also sets IP_RECVERR, so such an
 *   error can instead fail the next `send()` (to any destination) without sending it; sends
 *   are retried past it (send_queue.ts).
 * - `Bun.connect` cannot be cancelled: a connect that hits `timeoutMs` rejects on time, but
 *   the kernel keeps retrying the SYN in the background (connect.ts).
 * - `Bun.connect` reports ENETUNREACH/EHOSTUNREACH/ETIMEDOUT as ECONNREFUSED, so those
 *   arrive as `CONNECTION_REFUSED` (connect.ts; https://github.com/oven-sh/bun/pull/37093).
 *
 * The Bun types are declared in api.ts, so `deno check` and `tsc` type-check the adapter
 * without @types/bun.
 *
 * @module
 */
import { NetError, type SocketRuntime } from "../../src/net.ts";
import { listInterfaces } from "../_shared/interfaces.ts";
import type { BunNet } from "./api.ts";
import { connect } from "./connect.ts";
import { listen } from "./listener.ts";
import { bindDatagram } from "./udp.ts";

function describeRuntime(): string {
  const g = globalThis as {
    Deno?: { version?: { deno?: string } };
    process?: { versions?: { node?: string } };
  };
  if (g.Deno?.version?.deno) return `Deno ${g.Deno.version.deno}`;
  if (g.process?.versions?.node) return `Node ${g.process.versions.node}`;
  return "not Bun";
}

/** The Bun global, or a tagged error that says what to use instead. */
function bunGlobal(): BunNet {
  const bun = (globalThis as unknown as { Bun?: Partial<BunNet> }).Bun;
  if (
    !bun || typeof bun.udpSocket !== "function" || typeof bun.listen !== "function" ||
    typeof bun.connect !== "function"
  ) {
    throw new NetError(
      "UNSUPPORTED",
      `UNSUPPORTED: bunRuntime() from runtimes/bun/mod.ts needs Bun (Bun.udpSocket, Bun.listen, Bun.connect), ` +
        `but this is ${describeRuntime()}. Use autoRuntime() from runtimes/auto.ts, which picks the adapter ` +
        `for the running runtime, or nodeRuntime() from runtimes/node/mod.ts.`,
    );
  }
  return bun as BunNet;
}

/**
 * Creates the Bun socket adapter.
 *
 * @returns A {@linkcode SocketRuntime} on `Bun.udpSocket`, `Bun.listen` and `Bun.connect`.
 * @throws {NetError} code `"UNSUPPORTED"` when not running under Bun (use `autoRuntime()`).
 *
 * @example
 * ```ts
 * import { bunRuntime } from "@peerlink/peerlink/runtimes";
 * const runtime = bunRuntime();
 * const socket = await runtime.bindDatagram({ address: "0.0.0.0", port: 0 }, (m) => {
 *   console.log(`${m.data.length} bytes from ${m.address}:${m.port}`);
 * });
 * await socket.close();
 * ```
 */
export function bunRuntime(): SocketRuntime {
  const bun = bunGlobal();
  return {
    name: "bun",
    bindDatagram: (options, onMessage) => bindDatagram(bun, options, onMessage),
    listen: (options, onConnection) => listen(bun, options, onConnection),
    connect: (options) => connect(bun, options),
    networkInterfaces: listInterfaces,
  };
}
