/**
 * Frame writes on one shared connection: frames never interleave, and frames that queue up
 * while a write is under way leave together in one write (one syscall instead of one each).
 * Bulk frames (stream data) queue behind the others, so a call sent while a large stream flows
 * waits for at most the bulk frame being written, not for every queued one.
 *
 * @module
 */
import type { StreamConnection } from "../net.ts";
import { stampFrameHeader } from "./frames.ts";

/**
 * Frames up to this size are copied into a shared buffer when several wait; bigger ones are
 * written as they are (copying megabytes to save one syscall would cost more than it saves).
 */
const COALESCE_FRAME_LIMIT = 16 * 1024;
/** Largest buffer of coalesced frames written at once. */
const COALESCE_BATCH_LIMIT = 64 * 1024;

interface QueuedFrame {
  parts: readonly Uint8Array[];
  size: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Serializes frame writes on one connection, so that frames of concurrent replies or calls
 * never interleave. A frame written while the connection is idle goes out at once; frames
 * queued behind a write in progress are sent together, small ones copied into one buffer (the
 * write coalescing that keeps many small pipelined calls from costing a syscall each). A
 * failed write fails the frames it carried (and later ones, once the connection is broken).
 *
 * @example
 * ```ts ignore
 * import { FrameWriter } from "./frame_writer.ts";
 * const writer = new FrameWriter(connection, 8 * 1024 * 1024);
 * await Promise.all([writer.write([frameA]), writer.write([frameB])]); // whole, in order
 * ```
 */
export class FrameWriter {
  readonly #connection: StreamConnection;
  readonly #maxFrame: number;
  /** Calls, replies and stream control, in order. */
  #queue: QueuedFrame[] = [];
  /** Stream data (bulk), in order; sent when {@linkcode FrameWriter.#queue} is empty. */
  #bulk: QueuedFrame[] = [];
  /** Frames of the write in progress (0 when idle). */
  #sending = 0;
  #writes = 0;

  /**
   * Creates a {@linkcode FrameWriter}.
   *
   * @param connection Connection to write to.
   * @param maxFrame Largest frame body allowed.
   */
  constructor(connection: StreamConnection, maxFrame: number) {
    this.#connection = connection;
    this.#maxFrame = maxFrame;
  }

  /** Frames accepted by {@linkcode FrameWriter.write} and not yet fully written. */
  get queued(): number {
    return this.#queue.length + this.#bulk.length + this.#sending;
  }

  /** Connection writes issued so far (fewer than frames when frames were coalesced). */
  get writes(): number {
    return this.#writes;
  }

  /**
   * Queues one frame.
   *
   * @param parts Frame pieces; `parts[0]` starts with 4 reserved header bytes.
   * @param bulk Stream data: written after the frames that are not (their order among
   *   themselves kept). A stream's END and ABORT are bulk too, so they follow its data.
   * @returns Resolves once this frame is written; rejects if it cannot be (a
   *   `PayloadTooLarge` before anything is written when the body exceeds the limit).
   */
  write(parts: readonly Uint8Array[], bulk = false): Promise<void> {
    let size: number;
    try {
      size = stampFrameHeader(parts, this.#maxFrame);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      (bulk ? this.#bulk : this.#queue).push({ parts, size, resolve, reject });
      // #drain() takes the first batch before its first await, so #sending is set on return.
      if (this.#sending === 0) this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 || this.#bulk.length > 0) {
        const batch = this.#takeBatch(this.#queue.length > 0 ? this.#queue : this.#bulk);
        this.#sending = batch.length;
        try {
          await this.#send(batch);
          for (const frame of batch) frame.resolve();
        } catch (error) {
          for (const frame of batch) frame.reject(error);
        }
      }
    } finally {
      this.#sending = 0;
    }
  }

  /** The next frames to send: one large frame, or as many small ones as fit one buffer. */
  #takeBatch(queue: QueuedFrame[]): QueuedFrame[] {
    let count = 1;
    if (queue[0].size <= COALESCE_FRAME_LIMIT) {
      let bytes = queue[0].size;
      while (count < queue.length) {
        const next = queue[count].size;
        if (next > COALESCE_FRAME_LIMIT || bytes + next > COALESCE_BATCH_LIMIT) break;
        bytes += next;
        count++;
      }
    }
    if (count === queue.length) {
      if (queue === this.#queue) this.#queue = [];
      else this.#bulk = [];
      return queue;
    }
    return queue.splice(0, count);
  }

  async #send(batch: readonly QueuedFrame[]): Promise<void> {
    const connection = this.#connection;
    if (batch.length === 1) {
      for (const part of batch[0].parts) {
        if (part.length === 0) continue;
        this.#writes++;
        await connection.write(part);
      }
      return;
    }
    let total = 0;
    for (const frame of batch) total += frame.size;
    const buffer = new Uint8Array(total);
    let offset = 0;
    for (const frame of batch) {
      for (const part of frame.parts) {
        buffer.set(part, offset);
        offset += part.length;
      }
    }
    this.#writes++;
    await connection.write(buffer);
  }
}
