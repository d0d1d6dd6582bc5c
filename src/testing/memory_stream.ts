/**
 * TCP streams and listeners of the in-memory network: reliable, ordered, with
 * backpressure. No impairments apply to streams.
 *
 * @module
 */
import type { NetAddr, StreamConnection, StreamListener } from "../net.ts";
import { ChunkQueue } from "../chunk_queue.ts";
import { closedError, writeAfterEndError } from "../net_errors.ts";
import { netError, netErrorWith } from "./memory_errors.ts";

/** Writes are cut into pieces of this size, so a large write interleaves with reads. */
export const WRITE_CHUNK_BYTES = 64 * 1024;
/** The most bytes one read returns, like a socket read buffer; larger writes arrive in pieces. */
export const MAX_READ_BYTES = 64 * 1024;

/** How the two ends of a stream pair are set up. */
export interface StreamPairOptions {
  /** The dialling end's endpoint. */
  client: NetAddr;
  /** The accepting end's endpoint. */
  server: NetAddr;
  /** Unread bytes per direction above which `write()` waits. */
  highWaterMark: number;
  /** True while bytes can travel between the two hosts. */
  linkUp: () => boolean;
  /** Called once when the client end closes. */
  onClientClose: (connection: MemoryStreamConnection) => void;
  /** Called once when the server end closes. */
  onServerClose: (connection: MemoryStreamConnection) => void;
}

/**
 * One end of an in-memory TCP connection.
 *
 * Semantics (the contract of `StreamConnection` in src/net.ts):
 * - `write()` copies the bytes, queues them in 64 KiB pieces, and resolves once all are
 *   queued and the peer's unread bytes are below the high-water mark, so a peer that stops
 *   reading stalls the writer.
 * - `read()` returns up to 64 KiB (small writes may be coalesced), `null` after the peer's
 *   `closeWrite()` or `close()` once the queued bytes are read.
 * - `close()` rejects our pending read with `CLOSED` and our unfinished writes with
 *   `CLOSED`; the peer reads what was already queued, then `null` (EOF). A later write by
 *   the peer rejects with `CONNECTION_RESET`, as a write to a closed TCP socket does (RST).
 */
export class MemoryStreamConnection implements StreamConnection {
  /** Our end. */
  readonly localAddress: NetAddr;
  /** The other end. */
  readonly remoteAddress: NetAddr;
  /**
   * The bytes the peer wrote and we have not read. It "pauses" at the high-water mark: the
   * peer's writers then wait in `#roomWaiters` until reads (or a close) make room.
   */
  readonly #inbound: ChunkQueue;
  #roomWaiters: (() => void)[] = [];
  readonly #onClose: (connection: MemoryStreamConnection) => void;
  #peer: MemoryStreamConnection | undefined;
  #closed = false;
  #writeShut = false;
  #writes: Promise<void> = Promise.resolve();

  /**
   * Creates both ends of a connection.
   *
   * @param options Endpoints, high-water mark, link state and close hooks.
   * @returns `[client, server]`.
   */
  static pair(options: StreamPairOptions): [MemoryStreamConnection, MemoryStreamConnection] {
    const client = new MemoryStreamConnection(options.client, options.server, options, options.onClientClose);
    const server = new MemoryStreamConnection(options.server, options.client, options, options.onServerClose);
    client.#peer = server;
    server.#peer = client;
    return [client, server];
  }

  private constructor(
    local: NetAddr,
    remote: NetAddr,
    options: StreamPairOptions,
    onClose: (connection: MemoryStreamConnection) => void,
  ) {
    this.localAddress = local;
    this.remoteAddress = remote;
    // Bytes (and the end) reach the reader only while the link is up: data in flight to a
    // detached host arrives once it is attached again (see wake()).
    this.#inbound = new ChunkQueue({
      highWaterMark: options.highWaterMark,
      lowWaterMark: options.highWaterMark,
      onResume: () => this.#wakeWriters(),
      maxReadBytes: MAX_READ_BYTES,
      canDeliver: options.linkUp,
      remote,
    });
    this.#onClose = onClose;
  }

  /** False once closed. */
  get open(): boolean {
    return !this.#closed;
  }

  /**
   * Reads the next bytes.
   *
   * @returns Up to 64 KiB, or `null` at end of stream. Rejects `CLOSED` after (or on) our `close()`.
   */
  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.reject(closedError("TCP read from", ...this.#remote()));
    return this.#inbound.read();
  }

  /**
   * Writes bytes (copied at once, so the caller may reuse its buffer).
   *
   * @param data Bytes to send.
   * @returns Resolves when queued and the peer's unread bytes are below the high-water mark.
   */
  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("TCP write to", ...this.#remote()));
    if (this.#writeShut) return Promise.reject(writeAfterEndError(...this.#remote()));
    if (!(data instanceof Uint8Array)) {
      return Promise.reject(netErrorWith("OTHER", "TCP write", "data must be a Uint8Array.", ...this.#remote()));
    }
    if (this.#peer!.#closed) return Promise.reject(this.#resetError());
    const bytes = data.slice();
    const done = this.#writes.then(() => this.#transmit(bytes));
    this.#writes = done.catch(() => {});
    return done;
  }

  /**
   * Half-closes: after the pending writes, the peer reads `null`. We can still read.
   * Idempotent; a no-op after `close()`.
   *
   * @returns Resolves once the end marker is queued.
   */
  closeWrite(): Promise<void> {
    if (this.#closed || this.#writeShut) return Promise.resolve();
    this.#writeShut = true;
    const done = this.#writes.then(() => {
      if (!this.#closed) this.#peer!.#inbound.end();
    });
    this.#writes = done.catch(() => {});
    return done;
  }

  /**
   * Closes both directions. Idempotent.
   *
   * @returns Resolves when closed.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#writeShut = true;
    const peer = this.#peer!;
    this.#inbound.interrupt(closedError("TCP read from", ...this.#remote()));
    this.#inbound.clear();
    this.#wakeWriters(); // the peer's stalled writers see us closed and fail with RESET.
    peer.#inbound.end(); // FIN after the bytes already queued.
    peer.#wakeWriters(); // our own stalled writers fail with CLOSED.
    this.#onClose(this);
    return Promise.resolve();
  }

  /** Rejects a pending read with `CLOSED`, ahead of a `close()` (so a network shutdown never reads as EOF). */
  interruptRead(): void {
    this.#inbound.interrupt(closedError("TCP read from", ...this.#remote()));
  }

  /** Re-checks the pending read, e.g. after the link came back up. */
  wake(): void {
    this.#inbound.pump();
  }

  async #transmit(bytes: Uint8Array): Promise<void> {
    const peer = this.#peer!;
    let offset = 0;
    for (;;) {
      if (this.#closed) throw closedError("TCP write to", ...this.#remote());
      if (peer.#closed) throw this.#resetError();
      if (!peer.#inbound.paused) {
        if (offset >= bytes.length) return;
        const end = Math.min(offset + WRITE_CHUNK_BYTES, bytes.length);
        peer.#inbound.push(bytes.subarray(offset, end));
        offset = end;
      } else {
        await new Promise<void>((resolve) => peer.#roomWaiters.push(resolve));
      }
    }
  }

  /** Wakes the peer's writers waiting for room in our inbound queue; each re-checks why it waited. */
  #wakeWriters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  #remote(): [string, number] {
    return [this.remoteAddress.address, this.remoteAddress.port];
  }

  #resetError(): Error {
    return netError("CONNECTION_RESET", "TCP write to", ...this.#remote());
  }
}

/** A listening TCP socket of a virtual host. */
export class MemoryStreamListener implements StreamListener {
  /** The bound address (possibly `0.0.0.0`) and the real port. */
  readonly localAddress: NetAddr;
  readonly #onConnection: (connection: StreamConnection) => void;
  readonly #onClose: (listener: MemoryStreamListener) => void;
  #open = true;

  /**
   * Creates a listener (the host has checked the port).
   *
   * @param localAddress The bound endpoint.
   * @param onConnection Receives each accepted connection.
   * @param onClose Called once when the listener closes (frees the port).
   */
  constructor(
    localAddress: NetAddr,
    onConnection: (connection: StreamConnection) => void,
    onClose: (listener: MemoryStreamListener) => void,
  ) {
    this.localAddress = localAddress;
    this.#onConnection = onConnection;
    this.#onClose = onClose;
  }

  /** False once closed. */
  get open(): boolean {
    return this.#open;
  }

  /**
   * Hands an accepted connection to the application. An exception thrown by
   * `onConnection` propagates, as in a real runtime's callback.
   *
   * @param connection The server end.
   */
  accept(connection: StreamConnection): void {
    this.#onConnection(connection);
  }

  /**
   * Stops accepting; accepted connections stay open. Idempotent.
   *
   * @returns Resolves when closed.
   */
  close(): Promise<void> {
    if (!this.#open) return Promise.resolve();
    this.#open = false;
    this.#onClose(this);
    return Promise.resolve();
  }
}
