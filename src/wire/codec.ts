/**
 * Turning messages into datagrams and frames, and back.
 *
 * An {@linkcode OutgoingMessage} validates its values once (see `values.ts`) and then renders
 * on demand: a UDP datagram (plain JSON, binary values as base64), a plain JSON TCP frame
 * (binary as base64, for Python peers) or a binary TCP frame (raw segments, for PeerLink-TS
 * peers; layout in `binary_frame.ts`). Renderings are cached, so trying UDP first and falling
 * back to TCP costs no second validation.
 *
 * @module
 */
import { BadMessage, PayloadTooLarge } from "../errors.ts";
import { faultPoint } from "../faults.ts";
import { base64Length } from "./base64.ts";
import {
  BINARY_FRAME_FIXED_HEADER,
  BINARY_FRAME_MAGIC,
  BINARY_FRAME_VERSION,
  binaryFrameHeaderSize,
  splitFrameBody,
} from "./binary_frame.ts";
import { TCP_FRAME_HEADER_SIZE, writeFrameHeader } from "./frames.ts";
import {
  type ErrorMessage,
  parseMessage,
  type RemoteErrorInfo,
  requestIdOf,
  type RequestMessage,
  type RpcMessage,
} from "./messages.ts";
import { parsePythonJson, type PythonJson } from "./python_json.ts";
import {
  MAX_NESTING_DEPTH,
  type StreamCollector,
  type StreamReviver,
  type StreamSource,
  ValueEncoder,
  withBinaryMode,
} from "./values.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The fields of a request to send (values not yet validated). */
export type RequestFields = Omit<RequestMessage, "type">;

/** Size of the shared buffer small frames are carved from. */
const SLAB_BYTES = 16 * 1024;
/** Frames up to this size (before encoding, with slack) come from the slab. */
const SLAB_MAX_FRAME = 1024;
/** The slab being carved, and how much of it is given out (slabs are never reused: a view stays valid). */
let slab = new Uint8Array(0);
let slabUsed = 0;

/**
 * Encodes `text` as UTF-8 after `prefix` reserved bytes, in one buffer. JSON is mostly ASCII,
 * so a buffer of `prefix + text.length` usually fits; otherwise it retries with the worst case.
 *
 * A small frame is a view of a shared 16 KiB slab: allocating an ArrayBuffer per frame cost
 * about as much as encoding it (and its garbage collection more). Frames live until written,
 * so a slab is released soon after its last frame left.
 */
function encodeAfter(text: string, prefix: number): Uint8Array {
  const guess = prefix + text.length + 8;
  if (guess <= SLAB_MAX_FRAME) {
    if (slabUsed + guess > slab.length) {
      slab = new Uint8Array(SLAB_BYTES);
      slabUsed = 0;
    }
    const start = slabUsed;
    const result = encoder.encodeInto(text, slab.subarray(start + prefix, start + guess));
    if (result.read === text.length) {
      slabUsed = start + prefix + result.written;
      return slab.subarray(start, slabUsed);
    }
    // Not ASCII enough for the slack: an own buffer below (the bytes written here are unclaimed).
  }
  let buffer = new Uint8Array(prefix + text.length + 8);
  let result = encoder.encodeInto(text, buffer.subarray(prefix));
  if (result.read < text.length) {
    buffer = new Uint8Array(prefix + text.length * 3);
    result = encoder.encodeInto(text, buffer.subarray(prefix));
  }
  return buffer.subarray(0, prefix + result.written);
}

/**
 * A message ready to be sent, with its values validated and its binary values collected.
 *
 * @example
 * ```ts
 * import { OutgoingMessage } from "./codec.ts";
 * const msg = OutgoingMessage.request({
 *   id: crypto.randomUUID(), src: "A", dst: "B", rpc: "upload", args: [new Uint8Array(10)], kwargs: {},
 * });
 * console.log(msg.datagram().length <= 1200); // true: 10 bytes travel as base64 in UDP
 * const parts = msg.frame(true, 4 * 1024 * 1024); // binary TCP frame: JSON part + one raw segment
 * console.log(parts.length); // 2
 * ```
 */
export class OutgoingMessage {
  /** The message with binary values as placeholders. */
  readonly message: Readonly<Record<string, unknown>>;
  /** Binary values, in segment order. */
  readonly binaries: readonly Uint8Array[];
  /** Total bytes of the binary values. */
  readonly binaryBytes: number;
  /** Stream values, with their ids: their chunks follow the message on its connection. */
  readonly streams: readonly { id: number; source: StreamSource }[];
  #base64Json: string | undefined;
  #datagram: Uint8Array | undefined;

  /**
   * Use {@linkcode OutgoingMessage.request}, {@linkcode OutgoingMessage.response} or
   * {@linkcode OutgoingMessage.error}.
   *
   * @param message Prepared message.
   * @param binaries Its binary values.
   * @param binaryBytes Their total size.
   * @param streams Its stream values.
   */
  constructor(
    message: Record<string, unknown>,
    binaries: readonly Uint8Array[] = [],
    binaryBytes = 0,
    streams: readonly { id: number; source: StreamSource }[] = [],
  ) {
    this.message = message;
    this.binaries = binaries;
    this.binaryBytes = binaryBytes;
    this.streams = streams;
  }

  /**
   * Prepares a request. Members are written in Python PeerLink 1.2's order; `plx` is added only
   * when given.
   *
   * @param fields Request fields.
   * @param maxDepth Deepest nesting allowed.
   * @param streams Takes stream values (without it, a stream argument is a `TypeError`).
   * @returns The message.
   * @throws {TypeError} Naming the path of a value JSON cannot carry (`args[1].foo`).
   */
  static request(
    fields: RequestFields,
    maxDepth: number = MAX_NESTING_DEPTH,
    streams?: StreamCollector,
  ): OutgoingMessage {
    const values = new ValueEncoder(maxDepth, streams);
    const message: Record<string, unknown> = {
      type: "request",
      id: fields.id,
      src: fields.src,
      dst: fields.dst,
      rpc: fields.rpc,
      args: values.prepare(fields.args, "args"),
      kwargs: values.prepare(fields.kwargs, "kwargs"),
    };
    if (fields.plx !== undefined) message.plx = fields.plx;
    return new OutgoingMessage(message, values.binaries, values.binaryBytes, values.streams);
  }

  /**
   * Prepares a successful reply.
   *
   * @param id The request's id.
   * @param result What the handler returned.
   * @param maxDepth Deepest nesting allowed.
   * @param streams Takes stream values (without it, a stream result is a `TypeError`).
   * @returns The message.
   * @throws {TypeError} Naming the path (`result.foo`) of a value JSON cannot carry.
   */
  static response(
    id: string,
    result: unknown,
    maxDepth: number = MAX_NESTING_DEPTH,
    streams?: StreamCollector,
  ): OutgoingMessage {
    const values = new ValueEncoder(maxDepth, streams);
    const message = { type: "response", id, result: values.prepare(result, "result") };
    return new OutgoingMessage(message, values.binaries, values.binaryBytes, values.streams);
  }

  /**
   * Prepares a failed reply.
   *
   * @param id The request's id.
   * @param error Error type name and message, and toward a PeerLink-TS caller the code and data.
   * @param retry `"tcp"` when the reply waits to be fetched over TCP.
   * @param maxDepth Deepest nesting allowed in `error.data`.
   * @returns The message.
   * @throws {TypeError} Naming the path (`error.data.foo`) of a value JSON cannot carry.
   */
  static error(
    id: string,
    error: RemoteErrorInfo,
    retry?: "tcp",
    maxDepth: number = MAX_NESTING_DEPTH,
  ): OutgoingMessage {
    const info: RemoteErrorInfo = { type: error.type, message: error.message };
    if (error.code !== undefined) info.code = error.code;
    const values = error.data === undefined ? undefined : new ValueEncoder(maxDepth);
    if (values) info.data = values.prepare(error.data, "error.data") as Record<string, unknown>;
    const message: ErrorMessage = { type: "error", id, error: info };
    if (retry) message.retry = retry;
    return new OutgoingMessage(message as unknown as Record<string, unknown>, values?.binaries, values?.binaryBytes);
  }

  /** A size no datagram rendering can be below (binary values as base64), computed without encoding. */
  get minDatagramBytes(): number {
    return base64Length(this.binaryBytes);
  }

  /**
   * The UDP datagram: UTF-8 JSON with binary values as base64. Cached.
   *
   * @returns The datagram bytes (check the size against `MAX_SAFE_UDP_PAYLOAD`).
   */
  datagram(): Uint8Array {
    return this.#datagram ??= encoder.encode(this.#jsonBase64());
  }

  /**
   * The TCP frame, as parts for `writeFrame` (`parts[0]` starts with the 4 header bytes).
   *
   * @param binary Whether the peer accepts binary frames; without binary values a plain JSON
   *   frame is produced either way.
   * @param maxFrame Limit for the JSON text and, separately, for the binary values' total.
   * @returns Frame parts.
   * @throws {PayloadTooLarge} When a limit is exceeded; nothing has been written yet.
   */
  frame(binary: boolean, maxFrame: number): Uint8Array[] {
    if (!binary || this.binaries.length === 0) {
      const first = encodeAfter(this.#jsonBase64(), TCP_FRAME_HEADER_SIZE);
      const size = first.length - TCP_FRAME_HEADER_SIZE;
      if (size > maxFrame) throw PayloadTooLarge.tcp(size, maxFrame);
      writeFrameHeader(first, 0, size);
      return [first];
    }
    if (this.binaryBytes > maxFrame) throw PayloadTooLarge.tcp(this.binaryBytes, maxFrame, true);
    const count = this.binaries.length;
    const headerSize = TCP_FRAME_HEADER_SIZE + binaryFrameHeaderSize(count);
    const text = withBinaryMode("segments", () => JSON.stringify(this.message));
    const first = encodeAfter(text, headerSize);
    const jsonLength = first.length - headerSize;
    if (jsonLength > maxFrame) throw PayloadTooLarge.tcp(jsonLength, maxFrame);
    writeFrameHeader(first, 0, first.length - TCP_FRAME_HEADER_SIZE + this.binaryBytes);
    const base = TCP_FRAME_HEADER_SIZE;
    first[base] = BINARY_FRAME_MAGIC;
    first[base + 1] = BINARY_FRAME_VERSION;
    writeFrameHeader(first, base + 2, jsonLength);
    writeFrameHeader(first, base + 6, count);
    for (let i = 0; i < count; i++) {
      writeFrameHeader(first, base + BINARY_FRAME_FIXED_HEADER + 4 * i, this.binaries[i].length);
    }
    return [first, ...this.binaries];
  }

  #jsonBase64(): string {
    // Without binary values the mode changes nothing: skip the closure (every small call).
    return this.#base64Json ??= this.binaries.length === 0
      ? JSON.stringify(this.message)
      : withBinaryMode("base64", () => JSON.stringify(this.message));
  }
}

/** Parses and validates a message from JSON bytes (Python's `NaN`/`Infinity` included, see `python_json.ts`). */
function decodeJson(
  bytes: Uint8Array,
  segments: readonly Uint8Array[] | undefined,
  maxDepth: number,
  streams?: StreamReviver,
): RpcMessage {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (cause) {
    throw new BadMessage("message is not valid UTF-8", { cause });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    const python = parsePythonJson(text);
    if (!python) throw new BadMessage("message is not valid JSON", { cause });
    return restoreValues(parse(python.value, segments, maxDepth, streams), python);
  }
  return parse(raw, segments, maxDepth, streams);
}

/** Turns Python's non-finite numbers back into numbers in the values of a message (never in its names). */
function restoreValues(message: RpcMessage, python: PythonJson): RpcMessage {
  if (message.type === "request") {
    python.restore(message.args);
    python.restore(message.kwargs);
  } else if (message.type === "response") message.result = python.restore(message.result);
  return message;
}

function parse(
  raw: unknown,
  segments: readonly Uint8Array[] | undefined,
  maxDepth: number,
  streams?: StreamReviver,
): RpcMessage {
  try {
    return parseMessage(raw, segments, maxDepth, streams);
  } catch (err) {
    if (err instanceof BadMessage && err.requestId === undefined) err.requestId = requestIdOf(raw);
    throw err;
  }
}

/**
 * Decodes and validates one UDP datagram.
 *
 * @param data Datagram bytes.
 * @param maxDepth Deepest nesting accepted.
 * @returns The message.
 * @throws {BadMessage} When the datagram is not a valid message (`requestId` set when a
 *   request's id was readable).
 *
 * @example
 * ```ts
 * import { decodeDatagram } from "./codec.ts";
 * const msg = decodeDatagram(new TextEncoder().encode('{"type":"response","id":"7","result":3}'));
 * console.log(msg.type === "response" && msg.result); // 3
 * ```
 */
export function decodeDatagram(data: Uint8Array, maxDepth: number = MAX_NESTING_DEPTH): RpcMessage {
  faultPoint("rpc.datagram", data);
  return decodeJson(data, undefined, maxDepth);
}

/**
 * Decodes and validates one TCP frame body, plain JSON or binary.
 *
 * @param body Frame body (without the 4-byte length).
 * @param maxFrame Limit for the JSON text and, separately, for the segments' total.
 * @param maxDepth Deepest nesting accepted.
 * @param streams Revives stream values (a connection that carries streams).
 * @returns The message.
 * @throws {BadMessage} When the frame is not a valid message.
 *
 * @example
 * ```ts
 * import { decodeFrame } from "./codec.ts";
 * const msg = decodeFrame(new TextEncoder().encode('{"type":"response","id":"7","result":null}'), 1 << 22);
 * console.log(msg.id); // "7"
 * ```
 */
export function decodeFrame(
  body: Uint8Array,
  maxFrame: number,
  maxDepth: number = MAX_NESTING_DEPTH,
  streams?: StreamReviver,
): RpcMessage {
  faultPoint("rpc.frame", body);
  const { json, segments } = splitFrameBody(body, maxFrame);
  return decodeJson(json, segments, maxDepth, streams);
}
