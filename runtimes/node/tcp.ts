/**
 * TCP connections on `node:net` as a pull-based {@linkcode StreamConnection}.
 * https://nodejs.org/api/net.html (connect with allowHalfOpen, Socket pause/resume, write
 * callback, end, destroy, 'end'/'close'/'error' events) and
 * https://nodejs.org/api/stream.html#writablewritechunk-encoding-callback
 *
 * Reads go through the shared {@linkcode ChunkQueue}, which pauses the socket while the
 * reader is behind. Each write resolves in its callback, once Node handed the bytes to the
 * OS, so awaiting every write keeps Node's queue (and memory) bounded.
 *
 * @module
 */
import * as net from "node:net";
import type { ConnectOptions, NetAddr, NetError, StreamConnection } from "../../src/net.ts";
import { closedError, connectTimeoutError, toNetError, writeAfterEndError } from "../../src/net_errors.ts";
import { ChunkQueue } from "../../src/chunk_queue.ts";
import { netAddr, ownedBytes } from "./events.ts";

/**
 * Opens a TCP connection.
 *
 * @param options Address, port, timeoutMs.
 * @returns The connection; rejects `TIMED_OUT` after `timeoutMs`, or with the mapped error.
 */
export function connect(options: ConnectOptions): Promise<StreamConnection> {
  const { address, port, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const socket = net.connect({ host: address, port, allowHalfOpen: true });
    const settle = () => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.off("connect", onConnect);
    };
    const onError = (error: Error) => {
      settle();
      socket.destroy();
      reject(toNetError(error, "TCP connect to", address, port));
    };
    const onConnect = () => {
      settle();
      resolve(new NodeStreamConnection(socket));
    };
    socket.once("error", onError);
    socket.once("connect", onConnect);
    if (timeoutMs !== undefined && timeoutMs >= 0) {
      timer = setTimeout(() => {
        settle();
        socket.destroy();
        reject(connectTimeoutError(address, port, timeoutMs));
      }, timeoutMs);
    }
  });
}

/** One node:net connection, dialled or accepted. */
export class NodeStreamConnection implements StreamConnection {
  readonly localAddress: NetAddr;
  readonly remoteAddress: NetAddr;
  #socket: net.Socket;
  readonly #reads: ChunkQueue;
  #error: NetError | undefined;
  #closed = false;
  #writeEnded: Promise<void> | undefined;
  #pendingWrites = new Set<(error: NetError) => void>();
  #closeEvent: Promise<void>;

  /** @param socket The connected socket. */
  constructor(socket: net.Socket) {
    this.#socket = socket;
    // RPC frames are written whole: Nagle would only add latency (same as the Bun and Deno adapters).
    socket.setNoDelay(true);
    this.localAddress = netAddr(socket.localAddress, socket.localPort);
    this.remoteAddress = netAddr(socket.remoteAddress, socket.remotePort);
    // Backpressure: stop reading from the OS while the application is behind.
    this.#reads = new ChunkQueue({
      onPause: () => socket.pause(),
      onResume: () => socket.resume(),
      remote: this.remoteAddress,
    });
    this.#closeEvent = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Uint8Array) => this.#reads.push(ownedBytes(chunk)));
    socket.on("end", () => this.#reads.end());
    socket.on("error", (error) => {
      this.#error ??= toNetError(error, "TCP", this.remoteAddress.address, this.remoteAddress.port);
      this.#failWrites(this.#error);
      this.#reads.fail(this.#error);
    });
    socket.on("close", () => {
      // Closed without 'end' or 'error' (e.g. destroyed by the runtime): no more data will come.
      this.#failWrites(closedError("TCP write to", this.remoteAddress.address, this.remoteAddress.port));
      this.#reads.end();
    });
  }

  read(): Promise<Uint8Array | null> {
    const { address, port } = this.remoteAddress;
    if (this.#closed) return Promise.reject(closedError("TCP read from", address, port));
    return this.#reads.read();
  }

  write(data: Uint8Array): Promise<void> {
    const { address, port } = this.remoteAddress;
    if (this.#closed) return Promise.reject(closedError("TCP write to", address, port));
    if (this.#writeEnded) return Promise.reject(writeAfterEndError(address, port));
    if (this.#error) return Promise.reject(this.#error);
    if (data.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = (error: NetError) => reject(error);
      this.#pendingWrites.add(fail);
      // The callback runs once Node has handed these bytes to the OS: the caller may then
      // reuse the buffer, and awaiting every write keeps Node's queue (and memory) bounded.
      this.#socket.write(data, (error) => {
        this.#pendingWrites.delete(fail);
        if (error) reject(this.#error ?? toNetError(error, "TCP write to", address, port));
        else resolve();
      });
    });
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#writeEnded ??= new Promise<void>((resolve, reject) => {
      const fail = (error: NetError) => reject(error);
      this.#pendingWrites.add(fail);
      // end() sends FIN after the queued writes; its callback runs on 'finish'.
      this.#socket.end(() => {
        this.#pendingWrites.delete(fail);
        resolve();
      });
    });
    return this.#writeEnded;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const { address, port } = this.remoteAddress;
      this.#reads.interrupt(closedError("TCP read from", address, port));
      this.#reads.clear();
      this.#failWrites(closedError("TCP write to", address, port));
      this.#socket.destroy();
    }
    return this.#closeEvent;
  }

  #failWrites(error: NetError): void {
    for (const fail of this.#pendingWrites) fail(error);
    this.#pendingWrites.clear();
  }
}
