/**
 * A test-only probe in every decoder of received bytes, so the tests can prove they would
 * see a decoder crash: a test installs a hook that throws (a "fault") for some inputs and
 * checks that its assertions then fail. Without a hook, {@linkcode faultPoint} is one
 * comparison with `undefined`. Not part of the public API.
 *
 * @module
 */

/**
 * Where a decoder calls {@linkcode faultPoint}: the RPC datagram and frame decoders
 * (`src/wire/codec.ts`), the mDNS structure walk (`src/mdns/walk.ts`) and the mDNS decoder
 * after the walk (`src/mdns/packet.ts`).
 */
export type FaultSite = "rpc.datagram" | "rpc.frame" | "mdns.walk" | "mdns.decode";

/** A hook that may throw to simulate a bug in the decoder at `site` for `input`. */
export type FaultHook = (site: FaultSite, input: Uint8Array) => void;

let installed: FaultHook | undefined;

/**
 * Called by a decoder before it decodes `input`: runs the installed hook, if any.
 *
 * @param site The decoder.
 * @param input The bytes it is about to decode.
 */
export function faultPoint(site: FaultSite, input: Uint8Array): void {
  if (installed !== undefined) installed(site, input);
}

/**
 * Installs a hook (tests only), or removes it with `undefined`. Always remove it in a
 * `finally`: it is global to the process.
 *
 * @param hook The hook.
 *
 * @example
 * ```ts
 * import { setFaultHook } from "./faults.ts";
 * setFaultHook((site, input) => {
 *   if (site === "rpc.datagram" && input.length % 100 === 0) throw new TypeError("injected fault");
 * });
 * try {
 *   // ... run the fuzz harness and check that it reports internal errors
 * } finally {
 *   setFaultHook(undefined);
 * }
 * ```
 */
export function setFaultHook(hook: FaultHook | undefined): void {
  installed = hook;
}
