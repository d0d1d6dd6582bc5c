/**
 * What the Node adapter's event handling shares: addresses and buffers from Node's events
 * as the core wants them, the call of a user handler from an event, and starting a socket
 * or server that reports failure through an 'error' event.
 *
 * @module
 */
import type { EventEmitter } from "node:events";
import { addressFamily, type NetAddr } from "../../src/net.ts";
import { createLogger } from "../../src/log.ts";

/** The adapter's logger. */
export const log = createLogger("peerlink node adapter");

/**
 * `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) -> `1.2.3.4`, so peers compare equal.
 *
 * @param address An address Node reported.
 * @returns The plain address.
 */
export function unmapAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * An endpoint Node reported as the core's {@linkcode NetAddr}.
 *
 * @param address Address (possibly IPv4-mapped, or missing on a closed socket).
 * @param port Port (missing on a closed socket).
 * @returns The endpoint.
 */
export function netAddr(address: string | undefined, port: number | undefined): NetAddr {
  const plain = unmapAddress(address ?? "");
  return { address: plain, port: port ?? 0, family: addressFamily(plain) };
}

/**
 * Hands on received bytes as a Uint8Array without copying when the Buffer owns its whole
 * ArrayBuffer (Node allocates one per read). A view into a larger buffer (a pool, or a
 * runtime's reused receive buffer) is copied, so the receiver may keep the bytes safely
 * and a small message never pins a large buffer.
 *
 * @param chunk A received Buffer.
 * @returns Bytes the receiver may keep.
 */
export function ownedBytes(chunk: Uint8Array): Uint8Array {
  if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) {
    return new Uint8Array(chunk.buffer, 0, chunk.byteLength);
  }
  return new Uint8Array(chunk);
}

/**
 * Calls a user handler from a Node event; an exception is logged, never thrown into the
 * event emitter, where it would take the socket (or the process) down.
 *
 * @param what Names the handler in the log line, e.g. `"datagram"`.
 * @param fn Calls the handler.
 * @returns False when the handler threw.
 */
export function deliver(what: string, fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    log.error(`${what} handler threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    return false;
  }
}

/**
 * Starts a node:dgram socket or node:net server: resolves when `start` calls back, rejects
 * with the first 'error' before that. Afterwards an 'error' listener stays attached (Node
 * treats an 'error' event without one as an uncaught exception); it logs at debug level,
 * since such errors surface where they matter, in send and write callbacks.
 *
 * @param emitter The socket or server.
 * @param label Names it in the debug line, e.g. `"UDP 0.0.0.0:5353"`.
 * @param start Binds or listens, calling `ready` once done.
 * @returns Resolves once started.
 */
export function started(emitter: EventEmitter, label: string, start: (ready: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    emitter.once("error", reject);
    start(() => {
      emitter.off("error", reject);
      emitter.on("error", (error: Error) => log.debug(`${label}: ${error.message}`));
      resolve();
    });
  });
}
