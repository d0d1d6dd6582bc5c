/**
 * What the Bun adapter's event handlers share: the logger, the view of the bytes Bun hands
 * out, and the call of a user handler from inside a Bun event.
 *
 * @module
 */
import { createLogger } from "../../src/log.ts";

/** The adapter's logger. */
export const log = createLogger("peerlink bun");

/**
 * Runs a user callback; an exception surfaces as uncaught (as on the other runtimes)
 * instead of reaching Bun's handlers.
 *
 * @param fn Calls the user's handler.
 */
export function deliver(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/**
 * Bun hands out Buffers; the core gets a plain Uint8Array view of the same bytes.
 *
 * @param data A Buffer from a Bun `data` event.
 * @returns A Uint8Array over the same memory.
 */
export function asBytes(data: Uint8Array): Uint8Array {
  // Bun allocates a fresh buffer for every datagram and every TCP chunk and never writes
  // to it again (checked: 35 chunks of an 8 MiB stream kept until the end stayed intact;
  // the conformance suite checks this too), so a view is enough and no copy is needed.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
