/**
 * {@linkcode OutgoingStream}: the sending end of one stream. It pulls chunks from the source
 * (a `ReadableStream` or an async iterable) only while the receiver has granted credit, so a
 * reader that stops reading stops the source: its `write()` promises wait, an async generator
 * is not resumed. `Uint8Array` chunks travel as raw bytes (split to the credit and to
 * `chunkBytes`), other values as JSON, one per frame.
 *
 * The source is cancelled (a `ReadableStream` gets `cancel(reason)`, a generator's `finally`
 * runs) when the receiver cancels, the connection breaks or the node stops; a source that
 * throws ends the stream with an ABORT carrying the error's type and message.
 *
 * @module
 */
import { nextMacrotask } from "../macrotask.ts";
import { ValueEncoder, withBinaryMode } from "../wire/values.ts";
import type { StreamSource } from "../wire/values.ts";
import { INITIAL_STREAM_CREDIT, STREAM_CHUNK_OVERHEAD } from "./incoming.ts";
import { reasonFrame, streamFrame, StreamFrameKind } from "./frames.ts";

/** What an {@linkcode OutgoingStream} asks of its connection. */
export interface OutgoingLink {
  /** Writes a frame of this stream (sealed as the stream is); resolves once written. */
  send(parts: Uint8Array[]): Promise<void>;
  /** The stream is finished: forget it. */
  closed(stream: number): void;
  /** Called on progress (credit granted), e.g. to keep the call it belongs to alive. */
  progress?(): void;
}

const encoder = new TextEncoder();

/**
 * Bytes of one stream's frames queued on the connection and not yet written, beyond which
 * it waits for its writes: small chunks leave many to a write (frames that queue together
 * are coalesced), while however much credit the receiver grants, a stream never queues more
 * than this (plus one chunk) ahead of the connection.
 */
const MAX_UNWRITTEN = 64 * 1024;

/**
 * Bytes a stream sends before it lets the event loop turn. Where socket writes resolve at once
 * (Node and Bun, while the kernel takes the bytes), a stream whose receiver keeps granting
 * credit would otherwise send on microtasks alone, and no timer, read or other connection of
 * the process would run until it stopped.
 */
const YIELD_BYTES = 256 * 1024;

/** Pulls the next chunk from a source, and cancels it. */
interface Pull {
  next(): Promise<IteratorResult<unknown>>;
  cancel(reason: unknown): Promise<void>;
}

function pullFrom(source: StreamSource): Pull {
  if (typeof ReadableStream !== "undefined" && source instanceof ReadableStream) {
    const reader = source.getReader();
    return {
      next: () => reader.read() as Promise<IteratorResult<unknown>>,
      cancel: (reason) => reader.cancel(reason),
    };
  }
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  return {
    next: () => iterator.next(),
    cancel: async () => void (await iterator.return?.()),
  };
}

/** {@linkcode pullFrom}, or, when the source cannot be read (locked since it was encoded), a pull that fails with why: the stream then ABORTs. */
function pullOrFail(source: StreamSource): Pull {
  try {
    return pullFrom(source);
  } catch (error) {
    return { next: () => Promise.reject(error), cancel: () => Promise.resolve() };
  }
}

/**
 * Cancels the sources of streams that will never be sent (their message could not be, or
 * was not, delivered), so a generator's `finally` runs and a `ReadableStream` source gets
 * `cancel(reason)` as when a stream is cancelled while it flows. A locked `ReadableStream` is
 * left to the one who holds its reader.
 *
 * @param streams The streams of a message.
 * @param reason Given to each source's `cancel`.
 *
 * @example
 * ```ts
 * import { cancelSources } from "./outgoing.ts";
 * const source = new ReadableStream({ cancel: (reason) => console.log("cancelled:", reason) });
 * cancelSources([{ source }], "the reply was never fetched"); // cancelled: the reply was never fetched
 * ```
 */
export function cancelSources(streams: readonly { source: StreamSource }[], reason: unknown): void {
  for (const { source } of streams) {
    try {
      pullFrom(source).cancel(reason).catch(() => {});
    } catch {
      // locked, or an iterable that cannot give an iterator: nothing this side can cancel
    }
  }
}

/**
 * The sending end of one stream.
 *
 * @example
 * ```ts ignore
 * const out = new OutgoingStream(7, generator(), { send: (parts) => writer.write(parts), closed() {} }, 65536, 100);
 * out.start();
 * out.onCredit(192 * 1024); // a CREDIT frame arrived
 * ```
 */
export class OutgoingStream {
  /** Its id. */
  readonly id: number;
  /** The peer it goes to: the authenticated name when sealed, else `undefined`. */
  readonly receiver: string | undefined;
  readonly #pull: Pull;
  readonly #link: OutgoingLink;
  readonly #chunkBytes: number;
  readonly #maxDepth: number;
  #credit = INITIAL_STREAM_CREDIT;
  #waiting: (() => void) | undefined;
  #stopped: { reason: unknown } | undefined;
  /** END or ABORT is on its way: nothing may follow it. */
  #finished = false;
  #sent = 0;
  #done: Promise<void> = Promise.resolve();
  /** Bytes of frames queued on the connection, not yet written. */
  #unwritten = 0;
  /** A queued frame failed to be written (the connection broke). */
  #writeFailure: { error: unknown } | undefined;
  /** Bytes sent since the event loop last turned for this stream. */
  #sinceYield = 0;

  /**
   * Creates the stream (nothing is pulled before {@linkcode OutgoingStream.start}).
   *
   * @param id The stream id.
   * @param source What to send.
   * @param receiver Authenticated receiver name, or `undefined` for plaintext.
   * @param link The connection.
   * @param chunkBytes Largest DATA payload.
   * @param maxDepth Deepest nesting in values.
   */
  constructor(
    id: number,
    source: StreamSource,
    receiver: string | undefined,
    link: OutgoingLink,
    chunkBytes: number,
    maxDepth: number,
  ) {
    this.id = id;
    this.receiver = receiver;
    this.#pull = pullOrFail(source);
    this.#link = link;
    this.#chunkBytes = chunkBytes;
    this.#maxDepth = maxDepth;
  }

  /** Bytes of chunks sent so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Settles (never rejects) once the stream is over: ended, failed, cancelled or stopped. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Starts pumping. */
  start(): void {
    this.#done = this.#pump();
  }

  /**
   * The receiver granted more bytes.
   *
   * @param bytes How many.
   */
  onCredit(bytes: number): void {
    this.#credit = Math.min(this.#credit + bytes, Number.MAX_SAFE_INTEGER);
    this.#link.progress?.();
    this.#waiting?.();
  }

  /**
   * Stops sending and cancels the source (the receiver cancelled, the connection broke, the
   * node stopped). Idempotent.
   *
   * @param reason Given to the source's `cancel`.
   */
  stop(reason: unknown): void {
    if (this.#stopped) return;
    this.#stopped = { reason };
    this.#waiting?.();
    this.#pull.cancel(reason).catch(() => {});
  }

  /**
   * This side gives up on the stream (the call it belongs to failed): the receiver's reader
   * errors with `reason` (an ABORT), and the source is cancelled. Nothing is sent when the
   * stream already ended. Idempotent.
   *
   * @param reason Why; the receiver gets its type and message.
   */
  abort(reason: unknown): void {
    if (this.#stopped) return;
    this.stop(reason);
    if (this.#finished) return;
    this.#finished = true;
    this.#link.send(reasonFrame(StreamFrameKind.abort, this.id, reason)).catch(() => {});
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        // Awaited only when there is something to wait for: small values are hot code.
        if (this.#credit <= 0 && !(await this.#hasCredit())) return;
        if (this.#sinceYield >= YIELD_BYTES) {
          this.#sinceYield = 0;
          await nextMacrotask();
        }
        if (this.#stopped) return;
        const next = await this.#pull.next();
        if (this.#stopped) return;
        if (next.done) {
          this.#finished = true;
          await this.#link.send(streamFrame(StreamFrameKind.end, this.id));
          return;
        }
        if (next.value instanceof Uint8Array) await this.#sendBytes(next.value);
        else {
          const backlog = this.#sendValue(next.value);
          if (backlog) await backlog;
        }
      }
    } catch (error) {
      if (this.#stopped) return;
      this.#stopped = { reason: error };
      this.#finished = true;
      // The source failed (or a chunk could not be encoded): the receiver's stream errors.
      await this.#link.send(reasonFrame(StreamFrameKind.abort, this.id, error)).catch(() => {});
      this.#pull.cancel(error).catch(() => {});
    } finally {
      this.#link.closed(this.id);
    }
  }

  /** Waits for more than `above` bytes of credit; false once stopped. */
  async #hasCredit(above = 0): Promise<boolean> {
    while (this.#credit <= above && !this.#stopped) {
      await new Promise<void>((resolve) => (this.#waiting = resolve));
      this.#waiting = undefined;
    }
    return !this.#stopped;
  }

  async #sendBytes(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (!(await this.#hasCredit(STREAM_CHUNK_OVERHEAD))) return;
      const take = Math.min(this.#credit - STREAM_CHUNK_OVERHEAD, this.#chunkBytes, bytes.length - offset);
      this.#credit -= take + STREAM_CHUNK_OVERHEAD;
      this.#sent += take;
      const backlog = this.#send(
        streamFrame(StreamFrameKind.data, this.id, bytes.subarray(offset, offset + take)),
        take,
      );
      offset += take;
      if (backlog) await backlog;
    }
  }

  /** Sends one value; returns a promise to wait for when too much is queued unwritten. */
  #sendValue(value: unknown): Promise<void> | undefined {
    // Values are encoded as call arguments are; a stream inside a stream's value is refused.
    const prepared = new ValueEncoder(this.#maxDepth).prepare(value, "stream value");
    const payload = encoder.encode(withBinaryMode("base64", () => JSON.stringify(prepared)));
    this.#credit -= payload.length + STREAM_CHUNK_OVERHEAD;
    this.#sent += payload.length;
    return this.#send(streamFrame(StreamFrameKind.value, this.id, payload), payload.length);
  }

  /**
   * Queues a frame of `bytes` payload bytes without waiting for it to be written, unless this
   * stream has more than {@linkcode MAX_UNWRITTEN} bytes queued: then the returned promise
   * settles once they are written (it rejects when the connection broke).
   */
  #send(parts: Uint8Array[], bytes: number): Promise<void> | undefined {
    if (this.#writeFailure) throw this.#writeFailure.error;
    const size = bytes + STREAM_CHUNK_OVERHEAD;
    this.#unwritten += size;
    this.#sinceYield += size;
    const written = this.#link.send(parts);
    written.then(() => void (this.#unwritten -= size), (error) => {
      this.#unwritten -= size;
      this.#writeFailure ??= { error };
    });
    // Frames of one connection are written in order: this one written means all before it are.
    return this.#unwritten > MAX_UNWRITTEN ? written : undefined;
  }
}
