/**
 * Which JavaScript runtime executes this code. No adapter dependencies: the core uses it to
 * advertise its runtime (TXT `rt`), the entry points to pick a socket adapter.
 *
 * @module
 */

/** A runtime PeerLink has an adapter for. */
export type RuntimeKind = "deno" | "bun" | "node";

/**
 * Tells which runtime executes this code.
 *
 * @returns `"deno"`, `"bun"` or `"node"` (the default for anything else).
 *
 * @example
 * ```ts
 * import { detectRuntime } from "@peerlink/peerlink/runtimes";
 * console.log(detectRuntime()); // "deno" under `deno run`
 * ```
 */
export function detectRuntime(): RuntimeKind {
  const g = globalThis as { Deno?: { version?: { deno?: unknown } }; Bun?: { version?: unknown } };
  // Bun defines no `Deno`; Deno defines no `Bun`. Checking versions guards against a
  // script that merely set a global of that name.
  if (typeof g.Deno?.version?.deno === "string") return "deno";
  if (typeof g.Bun?.version === "string") return "bun";
  return "node";
}
