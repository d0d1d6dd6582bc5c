/**
 * The read side of a byte stream: chunks that arrived and were not read yet, the end of
 * the stream or its failure, and the one read waiting for them.
 *
 * Push-based sockets (Node's `data` events, Bun's `data` handler) and the in-memory
 * network's pipes push chunks in; `StreamConnection.read()` pulls them out. The queue
 * bounds what piles up when the reader falls behind: once the unread bytes reach the
 * high-water mark it calls `onPause` (the adapter stops reading from the OS, so the TCP
 * window throttles the sender), and once reads bring them below the low-water mark it
 * calls `onResume`.
 *
 * Runtime-free: it knows no socket, only the callbacks it is given.
 *
 * @module
 */
import { formatEndpoint, NetError } from "./net.ts";

/** Default unread bytes at which the queue asks its source to pause. */
export const READ_HIGH_WATER_BYTES = 1024 * 1024;
/** Default unread bytes below which a paused queue asks its source to resume. */
export const READ_LOW_WATER_BYTES = 256 * 1024;

/** How a {@linkcode ChunkQueue} bounds, hands out and reports its bytes. */
export interface ChunkQueueOptions {
  /** Unread bytes at or above which `onPause` runs. Default {@linkcode READ_HIGH_WATER_BYTES}. */
  highWaterMark?: number;
  /**
   * Unread bytes below which a paused queue runs `onResume`. Default
   * {@linkcode READ_LOW_WATER_BYTES}; equal to `highWaterMark` it resumes as soon as there is room.
   */
  lowWaterMark?: number;
  /** Called when the unread bytes reach the high-water mark: stop feeding the queue. */
  onPause?: () => void;
  /** Called when a paused queue's unread bytes fall below the low-water mark: feed it again. */
  onResume?: () => void;
  /**
   * The most bytes one read returns; smaller queued chunks are joined up to it, as a TCP
   * receive buffer joins small segments. Absent: each read returns one chunk as pushed.
   */
  maxReadBytes?: number;
  /**
   * False while queued bytes (and the end or failure) may not reach the reader yet, e.g.
   * bytes in flight to a detached host; call {@linkcode ChunkQueue.pump} when it turns true.
   * Absent: always true.
   */
  canDeliver?: () => boolean;
  /** The remote endpoint, named in the error for a second concurrent read. */
  remote?: { address: string; port: number };
}

interface PendingRead {
  resolve(chunk: Uint8Array | null): void;
  reject(error: unknown): void;
}

/**
 * A queue of received chunks with at most one pending read, high/low water marks, an end
 * marker and a sticky failure. Reads return queued bytes first, then the failure
 * (rejected) or the end (`null`, again on every later read).
 *
 * @example
 * ```ts
 * import { ChunkQueue } from "./chunk_queue.ts";
 * let paused = false;
 * const queue = new ChunkQueue({
 *   highWaterMark: 4,
 *   lowWaterMark: 2,
 *   onPause: () => (paused = true),
 *   onResume: () => (paused = false),
 * });
 * queue.push(new Uint8Array([1, 2, 3, 4])); // 4 unread bytes: paused
 * queue.end();
 * console.log(paused, await queue.read(), paused); // true Uint8Array(4) false
 * console.log(await queue.read()); // null
 * ```
 */
export class ChunkQueue {
  readonly #highWaterMark: number;
  readonly #lowWaterMark: number;
  readonly #onPause: (() => void) | undefined;
  readonly #onResume: (() => void) | undefined;
  readonly #maxReadBytes: number | undefined;
  readonly #canDeliver: (() => boolean) | undefined;
  readonly #remote: { address: string; port: number } | undefined;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #paused = false;
  #ended = false;
  #failure: unknown;
  #failed = false;
  #reader: PendingRead | undefined;

  /**
   * Creates an empty queue.
   *
   * @param options Water marks, pause/resume callbacks, read size, delivery gate.
   */
  constructor(options: ChunkQueueOptions = {}) {
    this.#highWaterMark = options.highWaterMark ?? READ_HIGH_WATER_BYTES;
    this.#lowWaterMark = Math.min(options.lowWaterMark ?? READ_LOW_WATER_BYTES, this.#highWaterMark);
    this.#onPause = options.onPause;
    this.#onResume = options.onResume;
    this.#maxReadBytes = options.maxReadBytes;
    this.#canDeliver = options.canDeliver;
    this.#remote = options.remote;
  }

  /** Bytes pushed and not read yet. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether the queue asked its source to pause (unread bytes reached the high-water mark). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Whether a read is waiting. */
  get reading(): boolean {
    return this.#reader !== undefined;
  }

  /**
   * Appends a chunk (the queue keeps the array itself: it must not change afterwards).
   * Ignored after {@linkcode ChunkQueue.end}, and when empty.
   *
   * @param chunk Received bytes.
   */
  push(chunk: Uint8Array): void {
    if (this.#ended || chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    this.pump();
    if (!this.#paused && this.#buffered >= this.#highWaterMark) {
      this.#paused = true;
      this.#onPause?.();
    }
  }

  /** Marks the end of the stream (the peer's FIN): after the queued bytes, reads resolve `null`. */
  end(): void {
    this.#ended = true;
    this.pump();
  }

  /**
   * Marks the stream failed (e.g. reset): after the queued bytes, reads reject with
   * `error`. The first failure wins.
   *
   * @param error What reads reject with.
   */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#failure = error;
    this.pump();
  }

  /**
   * Waits for the next bytes, or `null` at the end of the stream.
   *
   * @returns One chunk (or, with `maxReadBytes`, up to that many bytes); rejects with the
   *   failure, or with an `OTHER` {@linkcode NetError} while another read is pending.
   */
  read(): Promise<Uint8Array | null> {
    if (this.#reader) return Promise.reject(this.#readPendingError());
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
      this.pump();
    });
  }

  /**
   * Rejects the pending read, if any, without failing the stream (e.g. a local close,
   * which the owner reports on every later read itself).
   *
   * @param error The rejection.
   */
  interrupt(error: unknown): void {
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(error);
  }

  /** Drops every queued byte (nobody will read them) and forgets the pause, without calling `onResume`. */
  clear(): void {
    this.#chunks = [];
    this.#buffered = 0;
    this.#paused = false;
  }

  /** Settles the pending read if bytes, the failure or the end can be delivered now. */
  pump(): void {
    const reader = this.#reader;
    if (!reader || (this.#canDeliver !== undefined && !this.#canDeliver())) return;
    if (this.#buffered > 0) {
      this.#reader = undefined;
      reader.resolve(this.#take());
    } else if (this.#failed) {
      this.#reader = undefined;
      reader.reject(this.#failure);
    } else if (this.#ended) {
      this.#reader = undefined;
      reader.resolve(null);
    }
  }

  #take(): Uint8Array {
    const out = this.#maxReadBytes === undefined ? this.#chunks.shift()! : this.#takeUpTo(this.#maxReadBytes);
    this.#buffered -= out.byteLength;
    if (this.#paused && this.#buffered < this.#lowWaterMark) {
      this.#paused = false;
      this.#onResume?.();
    }
    return out;
  }

  /** Removes up to `max` bytes: the head chunk (cut if longer), or several small chunks joined. */
  #takeUpTo(max: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.byteLength >= max || this.#chunks.length === 1) {
      const out = first.byteLength > max ? first.slice(0, max) : first;
      if (first.byteLength > max) this.#chunks[0] = first.subarray(max);
      else this.#chunks.shift();
      return out;
    }
    let size = 0;
    let count = 0;
    while (count < this.#chunks.length && size + this.#chunks[count].byteLength <= max) {
      size += this.#chunks[count].byteLength;
      count++;
    }
    const out = new Uint8Array(size);
    let offset = 0;
    for (const chunk of this.#chunks.splice(0, count)) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }

  #readPendingError(): NetError {
    const remote = this.#remote;
    const where = remote ? ` ${formatEndpoint(remote.address, remote.port)}` : "";
    return new NetError(
      "OTHER",
      `OTHER: TCP read from${where}: a read is already pending. Await it before reading again.`,
      { address: remote?.address, port: remote?.port },
    );
  }
}
