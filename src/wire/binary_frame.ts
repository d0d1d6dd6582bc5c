/**
 * Binary TCP frames: JSON plus raw binary segments, so `Uint8Array` values travel between two
 * PeerLink-TS nodes without base64's 33% bloat and without being copied into the JSON text.
 *
 * A binary frame is only ever sent to a peer that advertises the `bin` capability in its
 * DNS-SD TXT record (see `capabilities.ts`), or as the reply to a request that came with
 * `"plx"`; a Python PeerLink 1.2 peer never receives one. A PeerLink-TS receiver tells the two
 * kinds of frame apart by the first body byte:
 *
 * ```text
 * frame  = length:u32be body                     (as every PeerLink TCP frame)
 * body   = JSON text                             plain frame: first byte is "{" (or JSON whitespace)
 *        | 0xFF version:u8 jsonLength:u32be segmentCount:u32be
 *          segmentLength:u32be * segmentCount
 *          json:jsonLength bytes                 UTF-8 JSON; binary values appear as {"__seg__": n}
 *          segment 0 | segment 1 | ...           raw bytes, back to back, in index order
 * ```
 *
 * 0xFF can never start JSON text: it is not a valid byte anywhere in UTF-8. `version` is 1.
 * The body length must equal `10 + 4 * segmentCount + jsonLength + sum(segmentLength)`.
 * The JSON part is limited like a plain frame (`maxFrame`), and so is the total of the
 * segments, separately.
 *
 * @module
 */
import { BadMessage } from "../errors.ts";
import { readUint32 } from "./frames.ts";

/** Most raw binary segments one TCP frame may carry (one per `Uint8Array` value). */
export const MAX_BINARY_SEGMENTS = 65_536;

/** First body byte of a binary frame. */
export const BINARY_FRAME_MAGIC = 0xff;
/** Layout version written after the magic byte. */
export const BINARY_FRAME_VERSION = 1;
/** Bytes before the segment length table: magic, version, JSON length, segment count. */
export const BINARY_FRAME_FIXED_HEADER = 10;

/**
 * Size of the binary-frame header for `segmentCount` segments (fixed part plus length table).
 *
 * @param segmentCount Number of segments.
 * @returns Header size in bytes.
 *
 * @example
 * ```ts
 * import { binaryFrameHeaderSize } from "./binary_frame.ts";
 * console.log(binaryFrameHeaderSize(2)); // 18
 * ```
 */
export function binaryFrameHeaderSize(segmentCount: number): number {
  return BINARY_FRAME_FIXED_HEADER + 4 * segmentCount;
}

/**
 * Largest frame body a receiver must accept when JSON and binary data are each limited to
 * `maxFrame`: both at their limit plus the largest segment table.
 *
 * @param maxFrame Per-message limit (normally `TCP_MAX_FRAME`).
 * @returns Limit for the 4-byte frame header.
 *
 * @example
 * ```ts
 * import { maxWireFrame } from "./binary_frame.ts";
 * console.log(maxWireFrame(4 * 1024 * 1024)); // 8650762
 * ```
 */
export function maxWireFrame(maxFrame: number): number {
  return 2 * maxFrame + binaryFrameHeaderSize(MAX_BINARY_SEGMENTS);
}

/** A frame body split into its JSON text and binary segments. */
export interface FrameBody {
  /** UTF-8 JSON bytes. */
  json: Uint8Array;
  /** Raw segments (views into the body), or `undefined` for a plain JSON frame. */
  segments?: Uint8Array[];
}

/**
 * Splits a received frame body. Plain JSON bodies pass through; binary bodies are checked
 * against the layout and the limits, and their segments become views of the body (no copy).
 *
 * @param body A frame body from `FrameReader`.
 * @param maxFrame Limit for the JSON part and, separately, for the segments' total.
 * @returns The JSON bytes and the segments.
 * @throws {BadMessage} When the layout or a limit is violated.
 *
 * @example
 * ```ts
 * import { splitFrameBody } from "./binary_frame.ts";
 * const { json, segments } = splitFrameBody(new TextEncoder().encode("{}"), 1024);
 * console.log(json.length, segments); // 2 undefined
 * ```
 */
export function splitFrameBody(body: Uint8Array, maxFrame: number): FrameBody {
  if (body.length === 0 || body[0] !== BINARY_FRAME_MAGIC) {
    if (body.length > maxFrame) throw new BadMessage(`JSON frame of ${body.length} bytes exceeds ${maxFrame}`);
    return { json: body };
  }
  if (body.length < BINARY_FRAME_FIXED_HEADER) throw new BadMessage("binary frame shorter than its header");
  if (body[1] !== BINARY_FRAME_VERSION) throw new BadMessage(`binary frame version ${body[1]} is not supported`);
  const jsonLength = readUint32(body, 2);
  const count = readUint32(body, 6);
  if (count > MAX_BINARY_SEGMENTS) throw new BadMessage(`binary frame has ${count} segments > ${MAX_BINARY_SEGMENTS}`);
  if (jsonLength > maxFrame) throw new BadMessage(`binary frame JSON of ${jsonLength} bytes exceeds ${maxFrame}`);
  const tableEnd = binaryFrameHeaderSize(count);
  if (body.length < tableEnd) throw new BadMessage("binary frame shorter than its segment table");
  let total = 0;
  for (let i = 0; i < count; i++) total += readUint32(body, BINARY_FRAME_FIXED_HEADER + 4 * i);
  if (total > maxFrame) throw new BadMessage(`binary frame carries ${total} bytes of segments > ${maxFrame}`);
  if (tableEnd + jsonLength + total !== body.length) {
    throw new BadMessage(
      `binary frame lengths disagree: header says ${tableEnd + jsonLength + total} bytes, frame has ${body.length}`,
    );
  }
  const json = body.subarray(tableEnd, tableEnd + jsonLength);
  const segments: Uint8Array[] = new Array(count);
  let offset = tableEnd + jsonLength;
  for (let i = 0; i < count; i++) {
    const length = readUint32(body, BINARY_FRAME_FIXED_HEADER + 4 * i);
    segments[i] = body.subarray(offset, offset + length);
    offset += length;
  }
  return { json, segments };
}
