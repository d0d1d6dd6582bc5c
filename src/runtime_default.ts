/**
 * The seam between the runtime-free core and the socket adapters: the core never imports
 * `runtimes/`. A node that is given no `SocketRuntime` object asks the resolver that an entry
 * point installed (`mod.ts` and `cli.ts` install `resolveRuntime` from `runtimes/auto.ts`), so
 * the core can be bundled, type-checked and tested without any adapter.
 *
 * @module
 */
import type { SocketRuntime } from "./net.ts";
import type { RuntimeKind } from "./runtime_kind.ts";

/** What the `runtime` option accepts: an adapter object, an adapter name, or `"auto"`. */
export type RuntimeOption = SocketRuntime | RuntimeKind | "auto";

/** Turns a `runtime` option into an adapter (and refuses what is not one). */
export type RuntimeResolver = (option: RuntimeOption) => SocketRuntime;

let resolver: RuntimeResolver | undefined;

/**
 * Installs the resolver of adapter names. Called once by each entry point.
 *
 * @param resolve The resolver (e.g. `resolveRuntime` of `runtimes/auto.ts`).
 *
 * @example
 * ```ts ignore
 * import { resolveRuntime } from "@peerlink/peerlink/runtimes";
 * useRuntimeResolver(resolveRuntime);
 * ```
 */
export function useRuntimeResolver(resolve: RuntimeResolver): void {
  resolver = resolve;
}

/**
 * The adapter for a node's `runtime` option: an adapter object as it is, a name or `"auto"`
 * through the installed resolver.
 *
 * @param option The option (absent means `"auto"`).
 * @returns The adapter.
 * @throws {TypeError} When a name is given and no entry point installed a resolver.
 *
 * @example
 * ```ts
 * import { runtimeFrom } from "./runtime_default.ts";
 * import { MemoryNetwork } from "@peerlink/peerlink/testing";
 * const host = new MemoryNetwork().host("10.0.0.1");
 * console.log(runtimeFrom(host) === host); // true
 * ```
 */
export function runtimeFrom(option: RuntimeOption | undefined): SocketRuntime {
  if (resolver) return resolver(option ?? "auto");
  if (typeof option === "object" && option !== null) return option;
  throw new TypeError(
    `PeerLink: no socket adapter for runtime ${JSON.stringify(option ?? "auto")}: import PeerLink from the ` +
      "package (mod.ts), which wires the Deno, Bun and Node adapters, or pass a SocketRuntime as options.runtime.",
  );
}
