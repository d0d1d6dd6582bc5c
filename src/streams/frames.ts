/**
 * Stream frames: how the chunks of a stream, its end, its cancellation and its flow-control
 * credit travel on a PeerLink-TS TCP connection, between the frames of calls.
 *
 * ```text
 * frame  = length:u32be body                  (as every PeerLink TCP frame; sealed like them)
 * body   = 0xFD kind:u8 stream:u32be payload
 * kind   1 DATA    payload = raw bytes (a Uint8Array chunk)           sender -> receiver
 *        2 VALUE   payload = UTF-8 JSON of one value (as call args)   sender -> receiver
 *        3 END     no payload: the sender is done                     sender -> receiver
 *        4 ABORT   payload = JSON {"type","message"}: the sender failed sender -> receiver
 *        5 CANCEL  payload = JSON {"type","message"}: stop sending     receiver -> sender
 *        6 CREDIT  payload = u32be bytes the receiver takes on top     receiver -> sender
 * ```
 *
 * Flow control: a sender may send 64 KiB before any CREDIT, and never more than it was granted;
 * a DATA or VALUE frame costs its payload plus 64 bytes (`STREAM_CHUNK_OVERHEAD`), and a
 * VALUE may be sent on any positive credit (it may overshoot by itself).
 *
 * 0xFD starts neither JSON text (`{`), a binary frame (0xFF) nor a sealed envelope (0xFE). A
 * stream id belongs to the node that sends the stream's chunks (it numbers its streams from one
 * counter), so the kind says which table the id is looked up in: DATA, VALUE, END and ABORT
 * name a stream the other side sends; CANCEL and CREDIT one this side sends.
 *
 * @module
 */
import { BadMessage } from "../errors.ts";
import { readUint32, TCP_FRAME_HEADER_SIZE, writeFrameHeader } from "../wire/frames.ts";

/** First body byte of a stream frame. */
export const STREAM_FRAME_MAGIC = 0xfd;
/** Bytes of a stream frame body before its payload: magic, kind, stream id. */
export const STREAM_FRAME_HEADER = 6;

/** The kinds of stream frame (values of {@linkcode StreamFrameKind}). */
export interface StreamFrameKinds {
  /** Raw bytes. */
  readonly data: 1;
  /** One JSON value. */
  readonly value: 2;
  /** The sender finished. */
  readonly end: 3;
  /** The sender failed. */
  readonly abort: 4;
  /** The receiver wants no more. */
  readonly cancel: 5;
  /** The receiver takes more bytes. */
  readonly credit: 6;
}

/** What a stream frame says. */
export const StreamFrameKind: StreamFrameKinds = Object.freeze({
  data: 1,
  value: 2,
  end: 3,
  abort: 4,
  cancel: 5,
  credit: 6,
});

/** One of the {@linkcode StreamFrameKind} values. */
export type StreamFrameKind = typeof StreamFrameKind[keyof typeof StreamFrameKind];

/** A decoded stream frame. */
export interface StreamFrame {
  /** What it says. */
  kind: StreamFrameKind;
  /** The stream. */
  stream: number;
  /** The payload (a view into the frame body). */
  payload: Uint8Array;
}

/** A reason carried by ABORT and CANCEL. */
export interface StreamReason {
  /** Error type name, e.g. `"Error"` or `"AbortError"`. */
  type: string;
  /** What happened. */
  message: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Whether a frame body is a stream frame.
 *
 * @param body A TCP frame body (after the gate).
 * @returns True when it starts with {@linkcode STREAM_FRAME_MAGIC}.
 *
 * @example
 * ```ts
 * import { isStreamFrame } from "./frames.ts";
 * console.log(isStreamFrame(new TextEncoder().encode("{}"))); // false
 * ```
 */
export function isStreamFrame(body: Uint8Array): boolean {
  return body.length > 0 && body[0] === STREAM_FRAME_MAGIC;
}

/**
 * Builds a stream frame as `writeFrame` parts (`parts[0]` starts with the 4 reserved length
 * bytes). The payload is not copied.
 *
 * @param kind What it says.
 * @param stream The stream id.
 * @param payload Bytes after the header (none for END).
 * @returns The frame parts.
 *
 * @example
 * ```ts
 * import { StreamFrameKind, streamFrame } from "./frames.ts";
 * const parts = streamFrame(StreamFrameKind.end, 7);
 * console.log(parts.length, parts[0].length); // 1 10
 * ```
 */
export function streamFrame(kind: StreamFrameKind, stream: number, payload?: Uint8Array): Uint8Array[] {
  const small = payload !== undefined && payload.length <= 64;
  const head = new Uint8Array(TCP_FRAME_HEADER_SIZE + STREAM_FRAME_HEADER + (small ? payload!.length : 0));
  head[TCP_FRAME_HEADER_SIZE] = STREAM_FRAME_MAGIC;
  head[TCP_FRAME_HEADER_SIZE + 1] = kind;
  writeFrameHeader(head, TCP_FRAME_HEADER_SIZE + 2, stream);
  if (payload === undefined || payload.length === 0) return [head];
  if (small) {
    head.set(payload, TCP_FRAME_HEADER_SIZE + STREAM_FRAME_HEADER);
    return [head];
  }
  return [head, payload];
}

/**
 * A CREDIT frame.
 *
 * @param stream The stream id.
 * @param bytes Bytes granted on top of what was granted before (1 to 2^32 - 1).
 * @returns The frame parts.
 *
 * @example
 * ```ts
 * import { creditFrame } from "./frames.ts";
 * console.log(creditFrame(1, 65536)[0].length); // 14
 * ```
 */
export function creditFrame(stream: number, bytes: number): Uint8Array[] {
  const payload = new Uint8Array(4);
  writeFrameHeader(payload, 0, bytes);
  return streamFrame(StreamFrameKind.credit, stream, payload);
}

/**
 * An ABORT or CANCEL frame carrying a reason.
 *
 * @param kind `abort` or `cancel`.
 * @param stream The stream id.
 * @param reason Why (an error, or anything: it is described as text).
 * @returns The frame parts.
 *
 * @example
 * ```ts
 * import { reasonFrame, StreamFrameKind } from "./frames.ts";
 * const parts = reasonFrame(StreamFrameKind.cancel, 3, new Error("enough"));
 * console.log(parts[0][5]); // 5
 * ```
 */
export function reasonFrame(kind: 4 | 5, stream: number, reason: unknown): Uint8Array[] {
  return streamFrame(kind, stream, encoder.encode(JSON.stringify(describeReason(reason))));
}

/**
 * Turns anything a stream was cancelled or failed with into a {@linkcode StreamReason}.
 *
 * @param reason An error, a string, or anything else.
 * @returns Type and message (the message at most 1000 characters).
 *
 * @example
 * ```ts
 * import { describeReason } from "./frames.ts";
 * console.log(describeReason(new RangeError("bad"))); // { type: "RangeError", message: "bad" }
 * ```
 */
export function describeReason(reason: unknown): StreamReason {
  if (reason instanceof Error) return { type: reason.name || "Error", message: reason.message.slice(0, 1000) };
  if (reason === undefined) return { type: "Error", message: "no reason given" };
  const text = typeof reason === "string" ? reason : safeText(reason);
  return { type: "Error", message: text.slice(0, 1000) };
}

function safeText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Decodes a stream frame body, checking its layout.
 *
 * @param body The frame body.
 * @returns The frame.
 * @throws {BadMessage} For a body that is too short, of an unknown kind, or whose payload does
 *   not fit its kind (END with a payload, CREDIT not 4 bytes or 0).
 *
 * @example
 * ```ts
 * import { decodeStreamFrame, StreamFrameKind, streamFrame } from "./frames.ts";
 * const frame = decodeStreamFrame(streamFrame(StreamFrameKind.data, 9, new Uint8Array([1, 2]))[0].subarray(4));
 * console.log(frame.kind, frame.stream, frame.payload.length); // 1 9 2
 * ```
 */
export function decodeStreamFrame(body: Uint8Array): StreamFrame {
  if (body.length < STREAM_FRAME_HEADER || body[0] !== STREAM_FRAME_MAGIC) {
    throw new BadMessage("stream frame shorter than its header");
  }
  const kind = body[1];
  if (kind < StreamFrameKind.data || kind > StreamFrameKind.credit) {
    throw new BadMessage(`stream frame of unknown kind ${kind}`);
  }
  const payload = body.subarray(STREAM_FRAME_HEADER);
  if (kind === StreamFrameKind.end && payload.length !== 0) throw new BadMessage("stream END frame with a payload");
  if (kind === StreamFrameKind.credit && (payload.length !== 4 || readUint32(payload, 0) === 0)) {
    throw new BadMessage("stream CREDIT frame must grant 1 to 2^32-1 bytes in 4 bytes");
  }
  return { kind: kind as StreamFrameKind, stream: readUint32(body, 2), payload };
}

/**
 * The bytes granted by a CREDIT frame.
 *
 * @param frame A decoded CREDIT frame.
 * @returns The bytes.
 *
 * @example
 * ```ts
 * import { creditFrame, creditOf, decodeStreamFrame } from "./frames.ts";
 * console.log(creditOf(decodeStreamFrame(creditFrame(1, 4096)[0].subarray(4)))); // 4096
 * ```
 */
export function creditOf(frame: StreamFrame): number {
  return readUint32(frame.payload, 0);
}

/**
 * The reason of an ABORT or CANCEL frame; a payload that is not a valid reason becomes a
 * generic one (the stream still ends).
 *
 * @param frame A decoded ABORT or CANCEL frame.
 * @returns The reason.
 *
 * @example
 * ```ts
 * import { decodeStreamFrame, reasonFrame, reasonOf, StreamFrameKind } from "./frames.ts";
 * const frame = decodeStreamFrame(reasonFrame(StreamFrameKind.abort, 2, new Error("disk full"))[0].subarray(4));
 * console.log(reasonOf(frame).message); // "disk full"
 * ```
 */
export function reasonOf(frame: StreamFrame): StreamReason {
  try {
    const raw = JSON.parse(decoder.decode(frame.payload)) as Partial<StreamReason> | null;
    if (raw && typeof raw.type === "string" && typeof raw.message === "string") {
      return { type: raw.type.slice(0, 256), message: raw.message.slice(0, 1000) };
    }
  } catch {
    // fall through: a garbled reason still ends the stream
  }
  return { type: "Error", message: "the peer gave no readable reason" };
}
