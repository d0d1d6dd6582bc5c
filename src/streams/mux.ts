/**
 * {@linkcode StreamMux}: the streams of one TCP connection. It revives the streams a message
 * announces (`{"__stream__": id}`), starts pumping the streams a message of ours carries, and
 * routes every stream frame that arrives to its stream, between the frames of calls.
 *
 * Each stream keeps the sealing of the message that created it: its frames go out sealed
 * exactly when that message did, and a frame for it is accepted only from the same
 * authenticated sender (so a stream never falls back to plaintext, and a plaintext frame
 * cannot be slipped into a sealed stream).
 *
 * Bad input never reaches the application as a crash: a frame that cannot be decoded, or one
 * from the wrong sender, closes the connection (counted); a frame over credit or with a bad
 * value ends its stream (counted); a frame for a stream this side does not know (one it
 * cancelled, or never accepted) is dropped (counted).
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { BadMessage, BusyError } from "../errors.ts";
import type { StreamSource } from "../wire/values.ts";
import {
  creditFrame,
  creditOf,
  decodeStreamFrame,
  reasonFrame,
  reasonOf,
  type StreamFrame,
  StreamFrameKind,
} from "./frames.ts";
import { IncomingStream } from "./incoming.ts";
import { OutgoingStream } from "./outgoing.ts";

/** Counters of streams, over all connections of a node. */
export interface StreamStats {
  /** Streams received (revived from a message). */
  received: number;
  /** Streams sent. */
  sent: number;
  /** Streams refused at a limit (`maxStreamsPerConnection`, `maxStreamsPerPeer`). */
  refused: number;
  /** Stream frames that could not be decoded (their connection was closed). */
  malformedFrames: number;
  /** Stream frames for a stream this side does not know (dropped). */
  unknownStream: number;
  /** Streams ended because the sender broke flow control or sent a bad value. */
  protocolErrors: number;
  /** Stream frames from another sender than the stream's (their connection was closed). */
  wrongSender: number;
}

/**
 * Zeroed {@linkcode StreamStats}.
 *
 * @returns Counters at zero.
 *
 * @example
 * ```ts
 * import { emptyStreamStats } from "./mux.ts";
 * console.log(emptyStreamStats().received); // 0
 * ```
 */
export function emptyStreamStats(): StreamStats {
  return {
    received: 0,
    sent: 0,
    refused: 0,
    malformedFrames: 0,
    unknownStream: 0,
    protocolErrors: 0,
    wrongSender: 0,
  };
}

/** Limits a mux applies (fields of `RpcLimits`). */
export interface StreamLimits {
  /** Bytes buffered per received stream, at first. */
  streamWindow: number;
  /** Most bytes buffered per received stream once its window grew for a fast reader. */
  maxStreamWindow: number;
  /** Largest DATA payload sent. */
  streamChunkBytes: number;
  /** Streams open at once on one connection (both directions). */
  maxStreamsPerConnection: number;
  /** Deepest nesting in values. */
  maxDepth: number;
  /** A reader waiting longer than this for a stream's next chunk gets a timeout (`Infinity`: never). */
  streamIdleTimeout: number;
}

/** What a {@linkcode StreamMux} needs from its connection. */
export interface StreamMuxOptions {
  /** Writes a frame, sealed or not; `bulk` frames (stream data) yield to calls. */
  send(parts: Uint8Array[], sealed: boolean, bulk: boolean): Promise<void>;
  /** The peer's name, for errors. */
  peer(): string;
  /** Limits. */
  limits: StreamLimits;
  /** Time source of the idle timeout. */
  clock: Clock;
  /** Node-wide counters. */
  stats: StreamStats;
  /**
   * Asked before a stream is received: false refuses it (a per-peer limit). Released with
   * `release` when it ends.
   */
  admit?(): boolean;
  /** A stream admitted with `admit` ended. */
  release?(): void;
  /** The number of open streams changed (the connection is idle when it is 0 and no call runs). */
  onChange?(open: number): void;
}

/**
 * The streams of one connection.
 *
 * @example
 * ```ts ignore
 * const mux = new StreamMux({ send, peer: () => "Host", limits, stats: emptyStreamStats() });
 * const readable = mux.revive(7, "response.result", undefined); // from a decoded message
 * mux.onFrame(body, undefined); // a stream frame arrived
 * ```
 */
export class StreamMux {
  readonly #o: StreamMuxOptions;
  readonly #incoming = new Map<number, IncomingStream>();
  readonly #outgoing = new Map<number, OutgoingStream>();
  /** Streams revived since the last {@linkcode StreamMux.label}. */
  #unlabelled: IncomingStream[] = [];
  #failure: { error: unknown } | undefined;

  /**
   * Creates the mux of one connection.
   *
   * @param options Sending, limits, counters.
   */
  constructor(options: StreamMuxOptions) {
    this.#o = options;
  }

  /** Streams open now on this connection. */
  get open(): number {
    return this.#incoming.size + this.#outgoing.size;
  }

  /**
   * Revives `{"__stream__": id}` of a received message as the stream the application reads.
   *
   * @param id The id on the wire (validated here).
   * @param where Where in the message, for errors.
   * @param sender The message's authenticated sender, or `undefined` for plaintext.
   * @returns The readable stream.
   * @throws {BadMessage} For an invalid or duplicate id; a refused stream (at a limit) is
   *   revived as a stream that fails at once with `BusyError`, and its sender is told to stop.
   */
  revive(id: unknown, where: string, sender: string | undefined): ReadableStream<unknown> {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0xffff_ffff) {
      throw new BadMessage(`${where} holds a stream id that is not a 32-bit unsigned integer`);
    }
    if (this.#incoming.has(id)) throw new BadMessage(`${where} announces stream ${id} twice`);
    const { limits, stats } = this.#o;
    if (this.#failure || this.open >= limits.maxStreamsPerConnection || this.#o.admit?.() === false) {
      stats.refused++;
      const error = this.#failure?.error ?? new BusyError(
        `a stream from '${this.#o.peer()}' was refused: ${limits.maxStreamsPerConnection} streams are open on its connection, or too many from that peer (maxStreamsPerConnection, maxStreamsPerPeer). Close some first.`,
        { peer: this.#o.peer() },
      );
      this.#o.send(reasonFrame(StreamFrameKind.cancel, id, error), sender !== undefined, false).catch(() => {});
      return new ReadableStream({ start: (controller) => controller.error(error) });
    }
    const stream = new IncomingStream(
      id,
      sender,
      { initial: limits.streamWindow, max: limits.maxStreamWindow },
      {
        credit: (stream, bytes) =>
          void this.#o.send(creditFrame(stream, bytes), sender !== undefined, false).catch(() => {}),
        cancel: (stream, reason) =>
          void this.#o.send(reasonFrame(StreamFrameKind.cancel, stream, reason), sender !== undefined, false).catch(
            () => {},
          ),
        closed: (stream) => {
          if (this.#incoming.get(stream) !== undefined) {
            this.#incoming.delete(stream);
            this.#o.release?.();
            this.#changed();
          }
        },
      },
      limits.maxDepth,
      { clock: this.#o.clock, ms: limits.streamIdleTimeout, peer: this.#o.peer },
    );
    this.#incoming.set(id, stream);
    this.#unlabelled.push(stream);
    stats.received++;
    this.#changed();
    return stream.readable;
  }

  /**
   * Names the streams revived from the last message by the call they came with (for errors).
   *
   * @param fn The function called.
   * @returns Those streams.
   */
  label(fn: string): IncomingStream[] {
    const streams = this.#unlabelled;
    for (const stream of streams) stream.origin = fn;
    this.#unlabelled = [];
    return streams;
  }

  /**
   * Ends streams revived from a message that will never reach a handler (a refused call), and
   * tells their senders to stop.
   *
   * @param reason Why.
   */
  dropUnlabelled(reason: unknown): void {
    for (const stream of this.#unlabelled) stream.abandon(reason);
    this.#unlabelled = [];
  }

  /**
   * Starts sending the streams a message of ours announced. Call right after queueing that
   * message on the connection, so every frame of a stream follows it.
   *
   * @param streams The message's streams.
   * @param receiver The authenticated receiver when the message went sealed, else `undefined`.
   * @param progress Told about progress (credit granted), e.g. to keep a call alive.
   * @returns The started streams (for cancelling them with their call).
   */
  send(
    streams: readonly { id: number; source: StreamSource }[],
    receiver: string | undefined,
    progress?: () => void,
  ): OutgoingStream[] {
    const sealed = receiver !== undefined;
    const started: OutgoingStream[] = [];
    for (const { id, source } of streams) {
      const stream = new OutgoingStream(
        id,
        source,
        receiver,
        {
          send: (parts) => this.#o.send(parts, sealed, true),
          closed: (id) => {
            if (this.#outgoing.get(id) === stream) {
              this.#outgoing.delete(id);
              this.#changed();
            }
          },
          progress,
        },
        this.#o.limits.streamChunkBytes,
        this.#o.limits.maxDepth,
      );
      if (this.#failure) {
        stream.stop(this.#failure.error);
        continue;
      }
      this.#outgoing.set(id, stream);
      this.#o.stats.sent++;
      started.push(stream);
      stream.start();
    }
    this.#changed();
    return started;
  }

  /**
   * Routes a stream frame that arrived.
   *
   * @param body The frame body (after the gate).
   * @param sender Its authenticated sender, or `undefined` for plaintext.
   * @returns False when the connection must be closed (undecodable frame, or wrong sender).
   */
  onFrame(body: Uint8Array, sender: string | undefined): boolean {
    const stats = this.#o.stats;
    let frame: StreamFrame;
    try {
      frame = decodeStreamFrame(body);
    } catch {
      stats.malformedFrames++;
      return false;
    }
    const toward = frame.kind === StreamFrameKind.credit || frame.kind === StreamFrameKind.cancel;
    const stream = toward ? this.#outgoing.get(frame.stream) : this.#incoming.get(frame.stream);
    if (!stream) {
      stats.unknownStream++;
      return true;
    }
    const expected = stream instanceof OutgoingStream ? stream.receiver : stream.sender;
    if (expected !== sender) {
      stats.wrongSender++;
      return false;
    }
    if (stream instanceof OutgoingStream) {
      if (frame.kind === StreamFrameKind.credit) stream.onCredit(creditOf(frame));
      else stream.stop(this.#cancelled(frame));
      return true;
    }
    switch (frame.kind) {
      case StreamFrameKind.data:
        if (stream.onData(frame.payload)) stats.protocolErrors++;
        break;
      case StreamFrameKind.value:
        if (stream.onValue(frame.payload)) stats.protocolErrors++;
        break;
      case StreamFrameKind.end:
        stream.onEnd();
        break;
      case StreamFrameKind.abort:
        stream.onAbort(stream.remoteFailure(this.#o.peer(), reasonOf(frame)));
        break;
    }
    return true;
  }

  /**
   * The connection's incoming side ended (the peer closed it, or its process died) while replies
   * may still go out: the streams still arriving can get nothing more, so their readers get
   * `error` instead of waiting forever; streams that ended keep their chunks.
   *
   * @param error What the readers of unfinished streams get.
   */
  endOfInput(error: unknown): void {
    for (const stream of [...this.#incoming.values()]) stream.cutOff(error);
  }

  /**
   * Fails every stream at once (the connection broke, the peer left, the node stops): readers
   * get `error`, sources are cancelled. Later streams fail at once too.
   *
   * @param error What readers get.
   */
  failAll(error: unknown): void {
    this.#failure ??= { error };
    for (const stream of [...this.#incoming.values()]) stream.fail(error);
    for (const stream of [...this.#outgoing.values()]) stream.stop(error);
    for (const stream of [...this.#incoming.values()]) stream.abandon(error);
    this.#incoming.clear();
    this.#outgoing.clear();
    this.#changed();
  }

  /** What a source's `cancel` gets when the receiver cancelled: an `AbortError` with the receiver's reason. */
  #cancelled(frame: StreamFrame): Error {
    const reason = reasonOf(frame);
    return new DOMException(`'${this.#o.peer()}' cancelled the stream: ${reason.message}`, "AbortError");
  }

  #changed(): void {
    this.#o.onChange?.(this.open);
  }
}
