/**
 * {@linkcode IncomingStream}: the receiving end of one stream, a `ReadableStream` fed by the
 * stream's DATA and VALUE frames, with flow control.
 *
 * Credit: the sender may send {@linkcode INITIAL_STREAM_CREDIT} bytes before it hears
 * anything; the receiver grants the rest of its window at once, and then gives back each
 * chunk's bytes once the reader has taken it. A chunk counts its payload plus
 * {@linkcode STREAM_CHUNK_OVERHEAD}. So what is held here never exceeds the window (plus one
 * value: a VALUE frame may be sent on any positive credit), however slow the reader: a reader
 * that stops reading stops the sender.
 *
 * The window grows for a fast reader (auto-tuning, as TCP and HTTP/2 stacks do): when the
 * reader waits for data after taking a whole window since the last growth, the window, not the
 * reader, is what limits the stream, so it doubles, up to `maxWindow`. A slow reader never
 * waits, so its stream keeps the initial window.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { BadMessage, PeerLinkError, PeerTimeoutError, ProtocolError, RemoteError } from "../errors.ts";
import { MAX_NESTING_DEPTH, reviveValue } from "../wire/values.ts";
import type { StreamReason } from "./frames.ts";

/** Bytes a sender may send on a new stream before any CREDIT frame (a protocol constant). */
export const INITIAL_STREAM_CREDIT = 64 * 1024;

/**
 * Credit a DATA or VALUE frame costs beyond its payload (a protocol constant): about what
 * holding one more chunk costs the receiver, so a sender of tiny (or empty) chunks cannot make
 * it hold many times its window in memory. Negligible for chunks of kilobytes.
 */
export const STREAM_CHUNK_OVERHEAD = 64;

/**
 * A DATA payload is a view into the chunk the connection read, which may hold far more (other
 * frames, up to a 1 MiB read buffer). Held for a slow reader, a view smaller than this fraction
 * of its buffer is copied, so what a stream pins stays within this factor of its window, while
 * the large chunks of a bulk transfer are handed on without a copy.
 */
const PIN_FACTOR = 16;

/** What an {@linkcode IncomingStream} asks of its connection. */
export interface IncomingLink {
  /** Grants `bytes` more to the sender. */
  credit(stream: number, bytes: number): void;
  /** Tells the sender to stop, with a reason. */
  cancel(stream: number, reason: unknown): void;
  /** The stream is finished (ended, failed or cancelled): forget it. */
  closed(stream: number): void;
}

/** An idle timeout: a reader waiting longer than `ms` for the next chunk gets a `PeerTimeoutError`. */
export interface IdleTimeout {
  /** Time source. */
  clock: Clock;
  /** Milliseconds; `Infinity` for none. */
  ms: number;
  /** The sending peer's name, for the error. */
  peer: () => string;
}

/** What went wrong with a frame of a stream, for the connection's counters. */
export type IncomingFault = "overCredit" | "malformed";

const decoder = new TextDecoder("utf-8", { fatal: true });

interface Queued {
  value: unknown;
  bytes: number;
}

/**
 * The receiving end of one stream.
 *
 * @example
 * ```ts
 * import { IncomingStream } from "./incoming.ts";
 * const window = { initial: 256 * 1024, max: 4 * 1024 * 1024 };
 * const stream = new IncomingStream(1, undefined, window, { credit() {}, cancel() {}, closed() {} });
 * stream.onData(new Uint8Array([1, 2, 3]));
 * stream.onEnd();
 * for await (const chunk of stream.readable) console.log(chunk); // Uint8Array [1, 2, 3]
 * ```
 */
export class IncomingStream {
  /** Its id (the sender's). */
  readonly id: number;
  /** Who sends it: the authenticated name when sealed, else `undefined`. */
  readonly sender: string | undefined;
  /** What the application reads. */
  readonly readable: ReadableStream<unknown>;
  /** The function of the call the stream came with (its argument or result), once known; for errors. */
  origin = "stream";
  readonly #link: IncomingLink;
  #window: number;
  readonly #maxWindow: number;
  /** `#received` when the window last grew. */
  #grownAt = 0;
  readonly #maxDepth: number;
  readonly #idle: IdleTimeout | undefined;
  #queue: Queued[] = [];
  #head = 0;
  #granted: number;
  #received = 0;
  #held = 0;
  #unreturned = 0;
  #ended = false;
  /** The sender aborted after the chunks still queued: the reader gets this error after them. */
  #abortedWith: { error: unknown } | undefined;
  #failure: { error: unknown } | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #controller!: ReadableStreamDefaultController<unknown>;

  /**
   * Creates the stream and grants the sender the rest of the window.
   *
   * @param id The stream id.
   * @param sender Authenticated sender name, or `undefined` for plaintext.
   * @param window Bytes this side buffers at first (at least {@linkcode INITIAL_STREAM_CREDIT}),
   *   and at most once grown: `{ initial, max }`.
   * @param link The connection.
   * @param maxDepth Deepest nesting accepted in values.
   * @param idle The idle timeout, if any.
   */
  constructor(
    id: number,
    sender: string | undefined,
    window: { initial: number; max: number },
    link: IncomingLink,
    maxDepth = MAX_NESTING_DEPTH,
    idle?: IdleTimeout,
  ) {
    this.id = id;
    this.sender = sender;
    this.#link = link;
    this.#idle = idle && Number.isFinite(idle.ms) ? idle : undefined;
    this.#window = Math.max(window.initial, INITIAL_STREAM_CREDIT);
    this.#maxWindow = Math.max(window.max, this.#window);
    this.#maxDepth = maxDepth;
    this.#granted = INITIAL_STREAM_CREDIT;
    if (this.#window > this.#granted) {
      link.credit(id, this.#window - this.#granted);
      this.#granted = this.#window;
    }
    this.readable = new ReadableStream<unknown>({
      start: (controller) => void (this.#controller = controller),
      pull: (controller) => this.#pull(controller),
      cancel: (reason) => this.abandon(reason),
    }, { highWaterMark: 0 });
  }

  /** Bytes received and not yet taken by the reader. */
  get buffered(): number {
    return this.#held;
  }

  /**
   * A DATA frame arrived.
   *
   * @param payload The bytes (kept as they are, or copied when a view into a much larger buffer).
   * @returns A fault when the sender broke the protocol (the stream then errors), else `undefined`.
   */
  onData(payload: Uint8Array): IncomingFault | undefined {
    const cost = payload.length + STREAM_CHUNK_OVERHEAD;
    if (this.#received + cost > this.#granted) return this.#violate("sent more bytes than granted");
    const kept = payload.byteLength * PIN_FACTOR < payload.buffer.byteLength ? payload.slice() : payload;
    return this.#push(kept, cost);
  }

  /**
   * A VALUE frame arrived.
   *
   * @param payload UTF-8 JSON of one value.
   * @returns A fault when the frame is malformed or over credit (the stream then errors).
   */
  onValue(payload: Uint8Array): IncomingFault | undefined {
    // A value may be sent on any positive credit, so it may overshoot by itself.
    if (this.#received >= this.#granted) return this.#violate("sent a value with no credit left");
    let value: unknown;
    try {
      value = reviveValue(JSON.parse(decoder.decode(payload)), "stream value", undefined, this.#maxDepth);
    } catch (cause) {
      const error = cause instanceof BadMessage ? cause : new BadMessage("stream value is not valid JSON", { cause });
      this.#link.cancel(this.id, error);
      this.fail(error);
      return "malformed";
    }
    return this.#push(value, payload.length + STREAM_CHUNK_OVERHEAD);
  }

  /**
   * Nothing more can arrive (the sender closed its side of the connection, or died): a stream
   * that has not ended fails with `error`; one that has keeps its chunks for the reader.
   *
   * @param error What the reader of an unfinished stream gets.
   */
  cutOff(error: unknown): void {
    if (!this.#ended) this.fail(error);
  }

  /**
   * The sender finished: the reader sees the end after the chunks before it (at once when none
   * is waiting, so `reader.closed` resolves without another read).
   */
  onEnd(): void {
    if (this.#ended || this.#failure) return;
    this.#ended = true;
    if (this.#wake) this.#wake();
    else if (this.#head >= this.#queue.length) this.#close();
  }

  /**
   * The sender aborted (its source failed): the reader gets `error` after the chunks sent
   * before it, at once when none is waiting.
   *
   * @param error What the reader gets (a `RemoteError` carrying the sender's reason).
   */
  onAbort(error: unknown): void {
    if (this.#ended || this.#failure) return;
    if (this.#head >= this.#queue.length) {
      this.fail(error);
      return;
    }
    this.#ended = true;
    this.#abortedWith = { error };
  }

  /**
   * The stream failed (the connection broke, the node stopped, the sender broke the protocol):
   * the reader gets `error` at once (a pending read rejects, `reader.closed` rejects, whether or
   * not anyone reads), and chunks not yet read are dropped.
   *
   * @param error What the reader gets.
   */
  fail(error: unknown): void {
    if (this.#failure || this.#closed) return;
    this.#failure = { error };
    this.#queue = [];
    this.#head = 0;
    this.#held = 0;
    this.#controller.error(error);
    this.#wake?.();
    this.#finish();
  }

  /**
   * The reader (or this node) gave up on the stream: tells the sender to stop and forgets it.
   *
   * @param reason Why (a reader still waiting gets it).
   */
  abandon(reason: unknown): void {
    if (this.#closed) return;
    if (!this.#ended && !this.#failure) this.#link.cancel(this.id, reason);
    this.fail(reason);
    this.#finish();
  }

  /**
   * The handler of the call this stream is an argument of has answered. When the call failed,
   * or the handler left the stream unread (no reader taken) once it answered and the streams
   * of its result are over (an async generator reads its input only as it is pulled), nobody
   * will read it: it is abandoned (the sender's source is cancelled) instead of holding its
   * slot, the sender and the connection forever. A handler that reads it later takes a reader
   * before it returns.
   *
   * @param failed Whether the call failed.
   * @param node This node's name, for the reason.
   * @param results Settles when the streams of the result are over, if it has any.
   */
  afterHandler(failed: boolean, node: string, results?: Promise<unknown>): void {
    if (results && !failed) {
      void results.then(() => this.afterHandler(false, node));
      return;
    }
    if (this.#closed || (!failed && this.readable.locked)) return;
    const message = failed
      ? `the call '${this.origin}' failed on '${node}', so its argument stream was closed`
      : `the handler of '${this.origin}' on '${node}' returned without reading this argument stream, so it was closed. To read it after returning, take a reader (getReader()) before returning.`;
    this.abandon(new PeerLinkError(message, "OTHER"));
  }

  /**
   * The reason an ABORT frame carried, as the error the reader gets.
   *
   * @param peer The sending peer's name.
   * @param reason The reason.
   * @returns A `RemoteError` naming the peer and the call the stream came with.
   */
  remoteFailure(peer: string, reason: StreamReason): RemoteError {
    return new RemoteError({ peer, function: this.origin, remoteType: reason.type, remoteMessage: reason.message });
  }

  #violate(what: string): IncomingFault {
    const error = new ProtocolError(`a stream of '${this.origin}': the sender ${what} (flow control); it is closed`);
    this.#link.cancel(this.id, error);
    this.fail(error);
    return "overCredit";
  }

  #push(value: unknown, bytes: number): undefined {
    if (this.#ended || this.#failure) return undefined;
    this.#received += bytes;
    this.#held += bytes;
    this.#queue.push({ value, bytes });
    this.#wake?.();
    return undefined;
  }

  async #pull(controller: ReadableStreamDefaultController<unknown>): Promise<void> {
    for (;;) {
      if (this.#failure) {
        this.#finish();
        controller.error(this.#failure.error);
        return;
      }
      if (this.#head < this.#queue.length) {
        const item = this.#queue[this.#head];
        this.#queue[this.#head++] = undefined as unknown as Queued;
        if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        this.#held -= item.bytes;
        controller.enqueue(item.value);
        // The last chunk taken after the end: the stream closes now, not on one more read.
        if (this.#ended && this.#head >= this.#queue.length && !this.#abortedWith) this.#close();
        else this.#returnCredit(item.bytes);
        return;
      }
      if (this.#abortedWith) {
        this.fail(this.#abortedWith.error);
        return;
      }
      if (this.#ended) {
        this.#close();
        return;
      }
      this.#starving();
      await this.#nextFrame();
    }
  }

  /** Waits for the next frame (or the end, or a failure); within the idle timeout, if any. */
  async #nextFrame(): Promise<void> {
    const idle = this.#idle;
    let timer: unknown;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (idle) timer = idle.clock.setTimeout(() => this.#idleOut(idle), idle.ms);
    });
    this.#wake = undefined;
    if (idle) idle.clock.clearTimeout(timer);
  }

  #idleOut(idle: IdleTimeout): void {
    const error = new PeerTimeoutError({
      peer: idle.peer(),
      function: this.origin,
      timeoutMs: idle.ms,
      transport: "tcp",
    });
    error.message = `a stream of '${this.origin}' from '${idle.peer()}' sent nothing for ${idle.ms} ms ` +
      `(streamIdleTimeout); it is closed. Raise streamIdleTimeout for streams that may pause longer.`;
    this.#link.cancel(this.id, error);
    this.fail(error);
  }

  /**
   * The reader waits for data: give back what it took at once, and grow the window when it
   * took a whole one since the last growth (the window is then the bottleneck).
   */
  #starving(): void {
    let more = 0;
    // A sender still holding half a window of credit is not waiting for more: returning each
    // taken chunk now would cost a frame (and a write on both sides) per chunk for a reader that
    // keeps up. Its bytes go back in quarter-window steps instead, or here once the credit runs low.
    if (this.#granted - this.#received < this.#window / 2) {
      more = this.#unreturned;
      this.#unreturned = 0;
    }
    if (this.#window < this.#maxWindow && this.#received - this.#grownAt >= this.#window) {
      const growth = Math.min(this.#window, this.#maxWindow - this.#window);
      this.#window += growth;
      this.#grownAt = this.#received;
      more += growth;
    }
    if (more === 0) return;
    this.#granted += more;
    this.#link.credit(this.id, more);
  }

  /** Gives the reader's taken bytes back to the sender, in steps of a quarter window. */
  #returnCredit(bytes: number): void {
    this.#unreturned += bytes;
    if (this.#ended || this.#unreturned < this.#window / 4) return;
    this.#link.credit(this.id, this.#unreturned);
    this.#granted += this.#unreturned;
    this.#unreturned = 0;
  }

  /** Ended and every chunk taken: closes the readable and forgets the stream. */
  #close(): void {
    this.#finish();
    this.#controller.close();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.closed(this.id);
  }
}
