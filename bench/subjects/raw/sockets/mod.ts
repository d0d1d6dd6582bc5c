/**
 * Picks the raw baseline sockets of the runtime executing this code.
 *
 * @module
 */
import { currentRuntime } from "../../../worker/protocol.ts";
import type { RawSockets } from "./types.ts";

/**
 * Loads the raw sockets of the current runtime (only that runtime's file is imported).
 *
 * @returns The sockets.
 */
export async function rawSockets(): Promise<RawSockets> {
  switch (currentRuntime()) {
    case "deno":
      return (await import("./deno.ts")).denoRawSockets();
    case "bun":
      return (await import("./bun.ts")).bunRawSockets();
    case "node":
      return (await import("./node.ts")).nodeRawSockets();
  }
}
