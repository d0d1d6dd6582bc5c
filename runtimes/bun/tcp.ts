/**
 * TCP connections on Bun: a `Bun.listen` or `Bun.connect` socket as a pull-based
 * {@linkcode StreamConnection}. https://bun.sh/docs/api/tcp
 *
 * Bun's sockets are push-based (one set of handlers per listener or dial, called with
 * each event). Reads go through the shared {@linkcode ChunkQueue}, which pauses the socket
 * (https://bun.sh/reference/bun/TCPSocket/pause) when the reader falls behind. `write()`
 * returns the bytes the kernel accepted and Bun keeps no copy of the rest, so the rest
 * waits here and is written on `drain`. `shutdown()` sends FIN and reading goes on
 * (https://bun.sh/reference/bun/TCPSocket/shutdown).
 *
 * @module
 */
import { addressFamily, formatEndpoint, type NetAddr, NetError, type StreamConnection } from "../../src/net.ts";
import { closedError, toNetError, writeAfterEndError } from "../../src/net_errors.ts";
import { ChunkQueue } from "../../src/chunk_queue.ts";
import type { BunTcpHandler, BunTcpSocket } from "./api.ts";
import { asBytes } from "./handlers.ts";

/** What `socket.data` holds: the connection, or (while dialling) whether the dial was given up. */
export interface SocketSlot {
  connection?: BunStreamConnection;
  abandoned?: boolean;
}

/** Bytes that Bun has not accepted yet, and who waits for them. */
interface PendingWrite {
  data: Uint8Array;
  resolve(): void;
  reject(error: NetError): void;
}

/**
 * Bun handlers that route each event to the connection stored in `socket.data`.
 *
 * @param onOpen Adopts a newly opened socket.
 * @returns One handler set for a listener or for dials.
 */
export function streamHandlers(onOpen: (socket: BunTcpSocket) => void): BunTcpHandler {
  return {
    open: onOpen,
    data: (socket, data) => socket.data?.connection?.onData(data),
    drain: (socket) => socket.data?.connection?.onDrain(),
    end: (socket) => socket.data?.connection?.onEnd(),
    close: (socket, error) => socket.data?.connection?.onClose(error),
    error: (socket, error) => socket.data?.connection?.onError(error),
    // Present so a failed dial rejects only our awaited promise (Bun otherwise also
    // reports it as an unhandled rejection); the error arrives through that promise.
    connectError: () => {},
  };
}

/** One Bun TCP connection, dialled or accepted. */
export class BunStreamConnection implements StreamConnection {
  readonly localAddress: NetAddr;
  readonly remoteAddress: NetAddr;
  readonly #socket: BunTcpSocket;
  readonly #reads: ChunkQueue;
  /** Bun closed the socket (its `close` handler ran). */
  #gone = false;
  /** The runtime reported a failure (reset, broken pipe); reads and writes see it. */
  #failure: NetError | undefined;
  #closedLocally = false;
  readonly #writes: PendingWrite[] = [];
  /** Settles when every write so far is accepted (or failed); closeWrite() waits for it. */
  #lastWrite: Promise<void> = Promise.resolve();
  #writeEnd: Promise<void> | undefined;

  /** @param socket The opened Bun socket. */
  constructor(socket: BunTcpSocket) {
    this.#socket = socket;
    this.localAddress = netAddr(socket.localAddress, socket.localPort);
    this.remoteAddress = netAddr(socket.remoteAddress, socket.remotePort);
    this.#reads = new ChunkQueue({
      onPause: () => socket.pause(),
      onResume: () => {
        if (!this.#gone) socket.resume();
      },
      remote: this.remoteAddress,
    });
    // RPC frames are written whole; Nagle would only delay small replies.
    socket.setNoDelay?.(true);
  }

  // Bun events -------------------------------------------------------------------------

  /** @param data Bytes Bun received. */
  onData(data: Uint8Array): void {
    if (!this.#closedLocally) this.#reads.push(asBytes(data));
  }

  /** The peer sent FIN. */
  onEnd(): void {
    this.#reads.end();
  }

  /** @param cause What Bun reported. */
  onError(cause: unknown): void {
    this.#failure ??= this.#error(cause);
    this.#reads.fail(this.#failure);
    this.#failWrites(this.#failure);
  }

  /** @param cause The error Bun closed the socket with, if any. */
  onClose(cause: unknown): void {
    this.#gone = true;
    if (cause !== undefined && cause !== null) this.#failure ??= this.#error(cause);
    // A clean close without a prior `end` event still means the peer is done.
    if (this.#failure) this.#reads.fail(this.#failure);
    else this.#reads.end();
    this.#failWrites(
      this.#failure ??
        new NetError(
          "CONNECTION_RESET",
          `CONNECTION_RESET: TCP write to ${this.#endpoint}: the connection closed before all bytes were sent.`,
          { address: this.remoteAddress.address, port: this.remoteAddress.port },
        ),
    );
  }

  /** Bun can take more bytes: writes what waits, in order. */
  onDrain(): void {
    while (this.#writes.length > 0) {
      const head = this.#writes[0];
      const written = this.#socket.write(head.data);
      if (written < 0) {
        this.#failWrites(this.#brokenWrite());
        return;
      }
      if (written < head.data.byteLength) {
        head.data = head.data.subarray(written); // Bun keeps no copy: we keep the rest
        return;
      }
      this.#writes.shift();
      head.resolve();
    }
  }

  // StreamConnection -------------------------------------------------------------------

  read(): Promise<Uint8Array | null> {
    if (this.#closedLocally) return Promise.reject(closedError("TCP read from", ...this.#where()));
    return this.#reads.read();
  }

  write(data: Uint8Array): Promise<void> {
    const refused = this.#writeRefusal();
    if (refused) return Promise.reject(refused);
    if (data.byteLength === 0) return Promise.resolve();
    let rest = data;
    if (this.#writes.length === 0) {
      const written = this.#socket.write(data);
      if (written < 0) return Promise.reject(this.#brokenWrite());
      if (written === data.byteLength) return Promise.resolve();
      rest = data.subarray(written);
    }
    const promise = new Promise<void>((resolve, reject) => {
      this.#writes.push({ data: rest, resolve, reject });
    });
    this.#lastWrite = promise.catch(() => {});
    return promise;
  }

  closeWrite(): Promise<void> {
    if (this.#writeEnd) return this.#writeEnd;
    if (this.#closedLocally) return Promise.reject(closedError("TCP closeWrite to", ...this.#where()));
    this.#writeEnd = this.#lastWrite.then(() => {
      if (this.#closedLocally) throw closedError("TCP closeWrite to", ...this.#where());
      if (this.#writes.length > 0 || this.#failure) throw this.#failure ?? this.#brokenWrite();
      // shutdown() sends FIN after the bytes the kernel holds; reading goes on.
      if (!this.#gone) this.#socket.shutdown();
    });
    return this.#writeEnd;
  }

  close(): Promise<void> {
    if (this.#closedLocally) return Promise.resolve();
    this.#closedLocally = true;
    const closed = closedError("TCP connection with", ...this.#where());
    this.#reads.interrupt(closed);
    this.#reads.clear();
    this.#failWrites(closed);
    // end(): FIN and release; the peer reads end of stream (or a reset if it keeps writing).
    if (!this.#gone) this.#socket.end();
    return Promise.resolve();
  }

  // helpers ----------------------------------------------------------------------------

  get #endpoint(): string {
    return formatEndpoint(this.remoteAddress.address, this.remoteAddress.port);
  }

  #where(): [string, number] {
    return [this.remoteAddress.address, this.remoteAddress.port];
  }

  #error(cause: unknown): NetError {
    return toNetError(cause, "TCP connection with", ...this.#where());
  }

  #writeRefusal(): NetError | undefined {
    if (this.#closedLocally) return closedError("TCP write to", ...this.#where());
    if (this.#writeEnd) return writeAfterEndError(...this.#where());
    if (this.#failure) return this.#failure;
    if (this.#gone) return this.#brokenWrite();
    return undefined;
  }

  #brokenWrite(): NetError {
    return this.#failure ??
      new NetError(
        "CONNECTION_RESET",
        `CONNECTION_RESET: TCP write to ${this.#endpoint}: the connection is closed; the bytes were not sent.`,
        { address: this.remoteAddress.address, port: this.remoteAddress.port },
      );
  }

  #failWrites(error: NetError): void {
    for (const pending of this.#writes.splice(0)) pending.reject(error);
  }
}

function netAddr(address: string, port: number): NetAddr {
  return { address, port, family: addressFamily(address) };
}
