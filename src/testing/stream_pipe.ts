/**
 * One direction of an in-memory TCP stream: the bytes written by one end and not yet read
 * by the other, the end-of-stream marker, and the waiting reader and writers.
 *
 * @module
 */

/** The most bytes one read returns, like a socket read buffer; larger writes arrive in pieces. */
export const MAX_READ_BYTES = 64 * 1024;

interface PendingRead {
  resolve(chunk: Uint8Array | null): void;
  reject(error: unknown): void;
}

/**
 * A byte queue with at most one pending reader. Bytes (and the end marker) become
 * readable only while `canDeliver()` says the link is up, which models data in flight
 * to a detached host: it arrives once the host is attached again.
 */
export class StreamPipe {
  readonly #canDeliver: () => boolean;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #reader: PendingRead | undefined;
  #waiters: (() => void)[] = [];

  /**
   * Creates an empty pipe.
   *
   * @param canDeliver True while queued bytes may reach the reader.
   */
  constructor(canDeliver: () => boolean) {
    this.#canDeliver = canDeliver;
  }

  /** Bytes written and not yet read. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether a read is waiting. */
  get reading(): boolean {
    return this.#reader !== undefined;
  }

  /**
   * Appends bytes (the pipe keeps the array: pass a private copy).
   *
   * @param chunk Bytes to append.
   */
  push(chunk: Uint8Array): void {
    if (this.#ended || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.pump();
  }

  /** Marks the end of the stream (FIN): after the queued bytes, reads resolve `null`. */
  end(): void {
    this.#ended = true;
    this.pump();
  }

  /**
   * Waits for the next bytes, up to {@linkcode MAX_READ_BYTES}, or `null` at the end.
   *
   * @returns The bytes (a fresh array the caller may keep) or `null`.
   */
  read(): Promise<Uint8Array | null> {
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
      this.pump();
    });
  }

  /** Satisfies the waiting reader if bytes or the end marker can be delivered now. */
  pump(): void {
    const reader = this.#reader;
    if (!reader || !this.#canDeliver()) return;
    if (this.#buffered > 0) {
      this.#reader = undefined;
      reader.resolve(this.#take(MAX_READ_BYTES));
      this.notify();
    } else if (this.#ended) {
      this.#reader = undefined;
      reader.resolve(null);
    }
  }

  /**
   * Rejects the waiting reader, if any.
   *
   * @param error The rejection.
   */
  failRead(error: unknown): void {
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(error);
  }

  /** Drops every queued byte (the reading end closed) and wakes writers. */
  discard(): void {
    this.#chunks = [];
    this.#buffered = 0;
    this.notify();
  }

  /**
   * Resolves at the next change writers care about: bytes read, bytes dropped, or either
   * end closing (see {@linkcode StreamPipe.notify}).
   *
   * @returns A promise for the next change.
   */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Wakes everything waiting in {@linkcode StreamPipe.changed}. */
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #take(max: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.length >= max || this.#chunks.length === 1) {
      const out = first.length > max ? first.slice(0, max) : first;
      if (first.length > max) this.#chunks[0] = first.subarray(max);
      else this.#chunks.shift();
      this.#buffered -= out.length;
      return out;
    }
    // Coalesce small writes into one read, as TCP does: framing code must cope with it.
    let size = 0;
    let count = 0;
    while (count < this.#chunks.length && size + this.#chunks[count].length <= max) {
      size += this.#chunks[count].length;
      count++;
    }
    const out = new Uint8Array(size);
    let offset = 0;
    for (const chunk of this.#chunks.splice(0, count)) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    this.#buffered -= size;
    return out;
  }
}
