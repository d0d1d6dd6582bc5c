/**
 * TCP framing, as Python PeerLink 1.2: every message is a 4-byte big-endian unsigned length
 * followed by that many bytes. {@linkcode FrameReader} reassembles frames from arbitrary read
 * chunks; {@linkcode writeFrame} sends one frame made of several parts.
 *
 * @module
 */
import { PayloadTooLarge } from "../errors.ts";
import type { StreamConnection } from "../net.ts";

/** Size of the TCP frame header: a 4-byte big-endian unsigned length, then that many bytes. */
export const TCP_FRAME_HEADER_SIZE = 4;

/** Largest length a 4-byte header can announce. */
export const MAX_FRAME_HEADER_VALUE = 0xffff_ffff;

const NO_FRAMES: readonly Uint8Array[] = Object.freeze([]) as readonly Uint8Array[];

/**
 * Writes a frame header (big-endian length) into `target` at `offset`.
 *
 * @param target Buffer to write into.
 * @param offset Where the 4 header bytes go.
 * @param length Frame body length.
 *
 * @example
 * ```ts
 * import { writeFrameHeader } from "./frames.ts";
 * const header = new Uint8Array(4);
 * writeFrameHeader(header, 0, 258);
 * console.log(header); // Uint8Array [0, 0, 1, 2]
 * ```
 */
export function writeFrameHeader(target: Uint8Array, offset: number, length: number): void {
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
}

/**
 * Reads a big-endian unsigned 32-bit integer.
 *
 * @param source Buffer.
 * @param offset Position of the first byte.
 * @returns The value.
 *
 * @example
 * ```ts
 * import { readUint32 } from "./frames.ts";
 * console.log(readUint32(new Uint8Array([0, 0, 1, 2]), 0)); // 258
 * ```
 */
export function readUint32(source: Uint8Array, offset: number): number {
  return ((source[offset] << 24) >>> 0) + (source[offset + 1] << 16) + (source[offset + 2] << 8) + source[offset + 3];
}

/**
 * Pieces of a split frame shorter than this are copied into a staging buffer instead of being
 * kept as views, so a sender that trickles tiny segments cannot make the reader hold one
 * object per byte.
 */
const MIN_KEPT_PIECE = 16 * 1024;

/** Size of a staging buffer for small pieces (capped at what the frame still lacks). */
const STAGE_BYTES = 16 * 1024;

/**
 * A frame at least this large gets its whole body buffer once half of it has arrived, and the
 * rest is copied in as it comes: the copy overlaps the transfer instead of stalling the read
 * loop at the last byte (Node spent 40% of a 4 MiB upload's server time in that final join),
 * while memory stays within twice the bytes received.
 */
const DIRECT_MIN = 256 * 1024;

/**
 * Reassembles length-prefixed frames from the chunks a TCP connection delivers.
 *
 * - A header announcing more than `maxFrame` bytes throws {@linkcode PayloadTooLarge} as soon as
 *   its 4 bytes are in, before any body memory is allocated; the reader is then unusable and
 *   the connection should be closed.
 * - Memory follows the bytes that actually arrived, not the length a header announces: a frame
 *   lying wholly inside one chunk is returned as a view of that chunk (chunks are the reader's
 *   to keep, see `StreamConnection.read`); otherwise the pieces are kept as they come (large
 *   ones as views of their chunks, small ones copied into 16 KiB staging buffers); once half
 *   of a large frame is in, they move into a buffer of the announced size and the rest is
 *   copied there as it arrives. So a client that announces 8 MiB and then trickles holds at
 *   most twice what it sent, and a big frame costs one copy (the old grow-by-doubling buffer
 *   copied each byte about twice).
 *
 * @example
 * ```ts
 * import { FrameReader } from "./frames.ts";
 * const reader = new FrameReader(1024);
 * console.log(reader.push(new Uint8Array([0, 0, 0, 2, 104])).length); // 0 (incomplete)
 * const [frame] = reader.push(new Uint8Array([105]));
 * console.log(new TextDecoder().decode(frame)); // "hi"
 * ```
 */
export class FrameReader {
  /** Largest frame body accepted, in bytes. */
  readonly maxFrame: number;
  readonly #header = new Uint8Array(TCP_FRAME_HEADER_SIZE);
  #headerFilled = 0;
  /** Announced length of the frame being assembled, once its header is in. */
  #expected: number | undefined;
  /** Body pieces received so far, in order (the staging buffer not included). */
  #parts: Uint8Array[] = [];
  /** Staging buffer collecting small pieces, and how much of it is filled. */
  #stage: Uint8Array | undefined;
  #staged = 0;
  #bodyFilled = 0;
  /** The whole body of a large frame, once half of it arrived (see `DIRECT_MIN`). */
  #body: Uint8Array | undefined;
  /** Memory held by `#parts`, `#stage` and `#body`. */
  #held = 0;
  #failed: PayloadTooLarge | undefined;

  /**
   * Creates a {@linkcode FrameReader}.
   *
   * @param maxFrame Largest frame body accepted, in bytes.
   */
  constructor(maxFrame: number) {
    this.maxFrame = maxFrame;
  }

  /** Bytes of an unfinished frame received so far (header bytes included). */
  get pendingBytes(): number {
    return this.#headerFilled + this.#bodyFilled + (this.#expected !== undefined ? TCP_FRAME_HEADER_SIZE : 0);
  }

  /** Memory held for the unfinished frame's body, in bytes (0 when none). */
  get bufferedBytes(): number {
    return this.#held;
  }

  /** Body length announced by the unfinished frame's header, or `undefined` (no header yet). */
  get expectedBytes(): number | undefined {
    return this.#expected;
  }

  /** True when no partial frame is held (the stream is at a frame boundary). */
  get idle(): boolean {
    return this.#headerFilled === 0 && this.#expected === undefined;
  }

  /**
   * Consumes one chunk.
   *
   * @param chunk Bytes as read from the connection.
   * @returns The frames completed by this chunk, in order (often none).
   * @throws {PayloadTooLarge} When a header announces more than {@linkcode FrameReader.maxFrame}.
   */
  push(chunk: Uint8Array): readonly Uint8Array[] {
    if (this.#failed) throw this.#failed;
    let frames: Uint8Array[] | undefined;
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      const expected = this.#expected;
      if (expected !== undefined) {
        const take = Math.min(expected - this.#bodyFilled, end - offset);
        this.#append(chunk.subarray(offset, offset + take), expected);
        offset += take;
        if (this.#bodyFilled === expected) (frames ??= []).push(this.#finish(expected));
        continue;
      }
      let length: number;
      if (this.#headerFilled === 0 && end - offset >= TCP_FRAME_HEADER_SIZE) {
        length = readUint32(chunk, offset);
        offset += TCP_FRAME_HEADER_SIZE;
      } else {
        const take = Math.min(TCP_FRAME_HEADER_SIZE - this.#headerFilled, end - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFilled);
        this.#headerFilled += take;
        offset += take;
        if (this.#headerFilled < TCP_FRAME_HEADER_SIZE) break;
        length = readUint32(this.#header, 0);
        this.#headerFilled = 0;
      }
      if (length > this.maxFrame) {
        this.#failed = PayloadTooLarge.tcpReceive(length, this.maxFrame);
        throw this.#failed;
      }
      if (end - offset >= length) {
        (frames ??= []).push(chunk.subarray(offset, offset + length));
        offset += length;
      } else {
        this.#expected = length;
        this.#bodyFilled = 0;
      }
    }
    return frames ?? NO_FRAMES;
  }

  /** Adds a piece of the body (never more than the frame still lacks). */
  #append(piece: Uint8Array, expected: number): void {
    if (!this.#body && expected >= DIRECT_MIN && (this.#bodyFilled + piece.length) * 2 >= expected) {
      this.#body = this.#join(expected);
      this.#held = expected;
    }
    if (this.#body) {
      this.#body.set(piece, this.#bodyFilled);
    } else if (piece.length >= MIN_KEPT_PIECE) {
      this.#flushStage();
      this.#parts.push(piece);
      this.#held += piece.length;
    } else {
      let stage = this.#stage;
      if (!stage || this.#staged + piece.length > stage.length) {
        this.#flushStage();
        stage = this.#stage = new Uint8Array(Math.min(STAGE_BYTES, expected - this.#bodyFilled));
        this.#held += stage.length;
      }
      stage.set(piece, this.#staged);
      this.#staged += piece.length;
    }
    this.#bodyFilled += piece.length;
  }

  /** Copies the pieces received so far into a new buffer of the body's size, and lets them go. */
  #join(expected: number): Uint8Array {
    this.#flushStage();
    const body = new Uint8Array(expected);
    let at = 0;
    for (const part of this.#parts) {
      body.set(part, at);
      at += part.length;
    }
    this.#parts = [];
    return body;
  }

  /** Moves the filled part of the staging buffer to the parts list. */
  #flushStage(): void {
    if (!this.#stage) return;
    if (this.#staged > 0) this.#parts.push(this.#stage.subarray(0, this.#staged));
    this.#held -= this.#stage.length - this.#staged;
    this.#stage = undefined;
    this.#staged = 0;
  }

  /** The completed body (one copy of its pieces, none for a single piece), and resets. */
  #finish(expected: number): Uint8Array {
    this.#flushStage();
    const body = this.#body ?? (this.#parts.length === 1 ? this.#parts[0] : this.#join(expected));
    this.#body = undefined;
    this.#parts = [];
    this.#held = 0;
    this.#expected = undefined;
    this.#bodyFilled = 0;
    return body;
  }
}

/**
 * Writes one frame whose body is the concatenation of `parts`, where `parts[0]` begins with 4
 * bytes reserved for the header (filled in here). The size is checked before anything is
 * written, so an oversize frame never leaves a partial frame on the connection. Large parts
 * (binary segments) are written as they are, without being copied into one buffer.
 *
 * Callers must not interleave two `writeFrame` calls on one connection; a `FrameWriter`
 * (frame_writer.ts) queues frames for a shared connection.
 *
 * @param connection Where to write.
 * @param parts Frame pieces; `parts[0]` starts with 4 reserved header bytes.
 * @param maxFrame Largest body allowed.
 * @returns Resolves when every part was accepted by the connection.
 * @throws {PayloadTooLarge} Before writing, when the body exceeds `maxFrame`.
 *
 * @example
 * ```ts ignore
 * import { writeFrame } from "./frames.ts";
 * const first = new Uint8Array(4 + 2);
 * first.set([104, 105], 4);
 * await writeFrame(connection, [first], 4 * 1024 * 1024);
 * ```
 */
export async function writeFrame(
  connection: StreamConnection,
  parts: readonly Uint8Array[],
  maxFrame: number,
): Promise<void> {
  stampFrameHeader(parts, maxFrame);
  for (const part of parts) {
    if (part.length > 0) await connection.write(part);
  }
}

/**
 * Checks a frame's size and writes its length into the 4 reserved bytes of `parts[0]`.
 *
 * @param parts Frame pieces; `parts[0]` starts with 4 reserved header bytes.
 * @param maxFrame Largest body allowed.
 * @returns The frame's total size on the wire, header included.
 * @throws {PayloadTooLarge} When the body exceeds `maxFrame`.
 *
 * @example
 * ```ts
 * import { stampFrameHeader } from "./frames.ts";
 * const first = new Uint8Array([0, 0, 0, 0, 104, 105]);
 * console.log(stampFrameHeader([first], 1024), first.subarray(0, 4)); // 6 Uint8Array [0, 0, 0, 2]
 * ```
 */
export function stampFrameHeader(parts: readonly Uint8Array[], maxFrame: number): number {
  let size = 0;
  for (const part of parts) size += part.length;
  const body = size - TCP_FRAME_HEADER_SIZE;
  if (body < 0) throw new RangeError("writeFrame: parts[0] must start with 4 reserved header bytes");
  if (body > maxFrame) throw PayloadTooLarge.tcp(body, maxFrame);
  writeFrameHeader(parts[0], 0, body);
  return size;
}
