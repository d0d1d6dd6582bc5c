/**
 * TCP connections on Deno: `Deno.connect` (with its `signal` option) and `Deno.TcpConn`
 * as a {@linkcode StreamConnection}.
 * https://docs.deno.com/api/deno/~/Deno.connect
 * https://docs.deno.com/api/deno/~/Deno.ConnectOptions
 * https://docs.deno.com/api/deno/~/Deno.TcpConn
 * https://docs.deno.com/api/deno/~/Deno.Conn (read / write / closeWrite)
 *
 * Deno's reads are pull-based already, so no chunk queue is needed: each `read()` is one
 * `conn.read()` into a buffer sized for what is arriving. `conn.write()` may write part of
 * its bytes and resolves once the kernel took them, which is the backpressure.
 *
 * @module
 */
import type { ConnectOptions, NetAddr, StreamConnection } from "../../src/net.ts";
import { closedError, connectTimeoutError, writeAfterEndError } from "../../src/net_errors.ts";
import { type DenoNet, type DenoTcpConn, toNetAddr } from "./api.ts";
import { closeQuietly, denoNetError, operationError } from "./errors.ts";

/** Size of a TCP read buffer while messages are small. */
const READ_CHUNK_BYTES = 64 * 1024;
/** Largest TCP read buffer, reached while reads keep filling the buffer (a big frame streams in). */
const MAX_READ_CHUNK_BYTES = 1024 * 1024;
/** Reads smaller than this are copied out so a small message does not pin a 64 KiB buffer. */
const COPY_BELOW_BYTES = 16 * 1024;

/**
 * Opens a TCP connection.
 *
 * @param deno The Deno global.
 * @param options Address, port, timeoutMs.
 * @returns The connection; rejects `TIMED_OUT` after `timeoutMs`, or with the mapped error.
 */
export async function connect(deno: DenoNet, options: ConnectOptions): Promise<StreamConnection> {
  const { address, port, timeoutMs } = options;
  // Our own timer rather than AbortSignal.timeout(): it is cleared at once, so no timer
  // outlives the call (Deno's test sanitizer would report it). Aborting drops the attempt.
  const controller = new AbortController();
  const timer = timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0
    ? setTimeout(() => controller.abort(), timeoutMs)
    : undefined;
  try {
    const conn = await deno.connect({ transport: "tcp", hostname: address, port, signal: controller.signal });
    return new DenoStreamConnection(conn);
  } catch (cause) {
    if (controller.signal.aborted) throw connectTimeoutError(address, port, timeoutMs!, cause);
    throw denoNetError(cause, "TCP connect to", address, port);
  } finally {
    clearTimeout(timer);
  }
}

/** One Deno TCP connection, dialled or accepted. */
export class DenoStreamConnection implements StreamConnection {
  readonly localAddress: NetAddr;
  readonly remoteAddress: NetAddr;
  readonly #conn: DenoTcpConn;
  #closed = false;
  #writeClosed?: Promise<void>;
  /** Writes run one after another so that two concurrent writes never interleave bytes. */
  #writeChain: Promise<unknown> = Promise.resolve();
  /** Size of the next read buffer; grows x4 after a full read, back to 64 KiB after a small one. */
  #readSize = READ_CHUNK_BYTES;
  /** A read buffer whose bytes were copied out, so the next read can reuse it. */
  #spare: Uint8Array | undefined;

  /** @param conn The connected Deno socket. */
  constructor(conn: DenoTcpConn) {
    this.#conn = conn;
    // RPC frames are written whole: Nagle would only add latency (same as the Bun and Node adapters).
    conn.setNoDelay?.(true);
    this.localAddress = toNetAddr(conn.localAddr);
    this.remoteAddress = toNetAddr(conn.remoteAddr);
  }

  /**
   * Reads the next chunk. Resolves `null` at the peer's end of stream; rejects with code
   * `CLOSED` when closed locally, even mid-read. A chunk handed out is never reused; a read
   * small for its buffer is copied out and the buffer reused. Buffers grow from 64 KiB up to
   * 1 MiB while reads fill them, so a big frame streams in with fewer, larger reads (each
   * read costs an op round trip), and a chunk never pins more than 4x its size.
   */
  async read(): Promise<Uint8Array | null> {
    const { address, port } = this.remoteAddress;
    for (;;) {
      if (this.#closed) throw closedError("TCP read from", address, port);
      const buffer = this.#spare ?? new Uint8Array(this.#readSize);
      this.#spare = undefined;
      let count: number | null;
      try {
        count = await this.#conn.read(buffer);
      } catch (cause) {
        throw operationError(cause, this.#closed, "TCP read from", address, port);
      }
      if (count === null) return null;
      if (count === 0) {
        this.#spare = buffer; // Deno documents 0-byte reads that are not EOF.
        continue;
      }
      const small = count < COPY_BELOW_BYTES;
      if (count === buffer.length) this.#readSize = Math.min(MAX_READ_CHUNK_BYTES, buffer.length * 4);
      else if (small) this.#readSize = READ_CHUNK_BYTES;
      if (!small && count >= buffer.length / 4) return buffer.subarray(0, count);
      if (buffer.length === this.#readSize) this.#spare = buffer;
      return buffer.slice(0, count);
    }
  }

  /**
   * Writes all bytes, looping over Deno's partial writes; each `conn.write` resolves once the
   * kernel took the bytes, so awaiting it is the backpressure.
   *
   * @param data Bytes to send.
   */
  write(data: Uint8Array): Promise<void> {
    const { address, port } = this.remoteAddress;
    if (this.#closed) return Promise.reject(closedError("TCP write to", address, port));
    if (this.#writeClosed) return Promise.reject(writeAfterEndError(address, port));
    const run = this.#writeChain.then(() => this.#writeAll(data));
    this.#writeChain = run.catch(() => undefined);
    return run;
  }

  /** Half-closes after the writes already queued: the peer reads end of stream; reading goes on. */
  closeWrite(): Promise<void> {
    const { address, port } = this.remoteAddress;
    if (this.#closed) return Promise.reject(closedError("TCP closeWrite to", address, port));
    this.#writeClosed ??= this.#writeChain.then(async () => {
      try {
        await this.#conn.closeWrite();
      } catch (cause) {
        // Already shut down by the peer's reset: there is nothing left to send.
        if (!this.#closed && (cause as { name?: string })?.name === "NotConnected") return;
        throw operationError(cause, this.#closed, "TCP closeWrite to", address, port);
      }
    });
    return this.#writeClosed;
  }

  /** Closes both directions; a pending read rejects with code `CLOSED`. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    closeQuietly(this.#conn);
    return Promise.resolve();
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    const { address, port } = this.remoteAddress;
    let offset = 0;
    while (offset < data.length) {
      if (this.#closed) throw closedError("TCP write to", address, port);
      try {
        offset += await this.#conn.write(data.subarray(offset));
      } catch (cause) {
        throw operationError(cause, this.#closed, "TCP write to", address, port);
      }
    }
  }
}
