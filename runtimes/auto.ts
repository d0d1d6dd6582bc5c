/**
 * Picks the socket adapter for the running runtime, or resolves one the user named.
 *
 * - Deno: `denoRuntime()` when the unstable net API is on (`Deno.listenDatagram` exists),
 *   else `nodeRuntime()` on Deno's `node:dgram` (which supports multicast), said once at
 *   debug level (`PEERLINK_DEBUG=1`).
 * - Bun: `bunRuntime()`.
 * - Node (and anything else with `node:dgram`): `nodeRuntime()`.
 *
 * @module
 */
import { NetError, type SocketRuntime } from "../src/net.ts";
import { createLogger, debugOnce } from "../src/log.ts";
import { nodeRuntime } from "./node/mod.ts";
import { denoRuntime } from "./deno/mod.ts";
import { bunRuntime } from "./bun/mod.ts";
import { detectRuntime } from "../src/runtime_kind.ts";
import type { RuntimeOption } from "../src/runtime_default.ts";

export { detectRuntime, type RuntimeKind } from "../src/runtime_kind.ts";
export type { RuntimeOption } from "../src/runtime_default.ts";

const log = createLogger("peerlink");

/** Under Deno: the native adapter, or the Node adapter when the unstable net API is off. */
function denoOrFallback(): SocketRuntime {
  const deno = (globalThis as { Deno?: { listenDatagram?: unknown } }).Deno;
  if (typeof deno?.listenDatagram === "function") {
    try {
      return denoRuntime();
    } catch (error) {
      if (!(error instanceof NetError && error.code === "UNSUPPORTED")) throw error;
      debugOnce(log, "deno-fallback", `Deno adapter unavailable (${error.message}); using node:dgram/node:net instead`);
      return nodeRuntime();
    }
  }
  debugOnce(
    log,
    "deno-fallback",
    "Deno runs without the unstable net API (no Deno.listenDatagram): using node:dgram/node:net instead. " +
      'Run with --unstable-net or "unstable": ["net"] in deno.json for the native adapter.',
  );
  return nodeRuntime();
}

/**
 * Creates the adapter for the running runtime.
 *
 * @returns A {@linkcode SocketRuntime} (`name` says which adapter it is).
 * @throws {NetError} code `"UNSUPPORTED"` when no adapter works here.
 *
 * @example
 * ```ts
 * import { autoRuntime } from "@peerlink/peerlink/runtimes";
 * const runtime = autoRuntime();
 * console.log(runtime.name); // "deno", "bun" or "node"
 * ```
 */
export function autoRuntime(): SocketRuntime {
  switch (detectRuntime()) {
    case "deno":
      return denoOrFallback();
    case "bun":
      return bunRuntime();
    case "node":
      return nodeRuntime();
  }
}

function isSocketRuntime(value: unknown): value is SocketRuntime {
  const v = value as Partial<SocketRuntime> | null;
  return typeof v === "object" && v !== null && typeof v.bindDatagram === "function" &&
    typeof v.listen === "function" && typeof v.connect === "function" &&
    typeof v.networkInterfaces === "function";
}

/**
 * Resolves the user's `runtime` option to an adapter.
 *
 * @param option An adapter object (used as is, e.g. an in-memory network host), an adapter
 *   name (`"deno"`, `"bun"`, `"node"`; throws on the wrong runtime), or `"auto"`/absent.
 * @returns The adapter to use.
 * @throws {NetError} code `"UNSUPPORTED"` for a named adapter that cannot run here.
 * @throws {TypeError} for anything else, naming the accepted values.
 *
 * @example
 * ```ts
 * import { resolveRuntime } from "@peerlink/peerlink/runtimes";
 * const runtime = resolveRuntime("node"); // Node adapter, also under Deno and Bun
 * ```
 */
export function resolveRuntime(option?: RuntimeOption): SocketRuntime {
  if (option === undefined || option === "auto") return autoRuntime();
  if (option === "node") return nodeRuntime();
  if (option === "deno") return denoRuntime();
  if (option === "bun") return bunRuntime();
  if (isSocketRuntime(option)) return option;
  const shown = typeof option === "string" ? JSON.stringify(option) : typeof option;
  throw new TypeError(
    `runtime option ${shown} is not valid: pass "auto", "deno", "bun", "node", or an object implementing ` +
      "SocketRuntime (bindDatagram, listen, connect, networkInterfaces).",
  );
}
