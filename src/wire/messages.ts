/**
 * The three RPC messages, exactly as Python PeerLink 1.2 sends them (UTF-8 JSON):
 *
 * ```text
 * request   {"type":"request","id":<str>,"src":<caller>,"dst":<target>,"rpc":<function>,"args":[...],"kwargs":{...}}
 * response  {"type":"response","id":<str>,"result":<value>}
 * error     {"type":"error","id":<str>,"error":{"type":<error type name>,"message":<str>}}
 * ```
 *
 * PeerLink-TS adds optional members that Python peers ignore (they read messages with
 * `dict.get`): `"plx": 1` in a request says the caller understands the extensions below;
 * `"retry": "tcp"` in an error tells such a caller that the reply was too large for a datagram
 * and is waiting for the same request (same id) over TCP; and an error to such a caller may
 * carry the thrown error's `"code"` and `"data"` (its other own properties) beside `type` and
 * `message`.
 *
 * {@linkcode parseMessage} checks a decoded message strictly: unknown `type`, missing or
 * mistyped fields, over-long names, `__proto__` keys and excessive nesting are refused with
 * {@linkcode BadMessage}, so a handler only ever sees well-formed arguments.
 *
 * @module
 */
import { BadMessage } from "../errors.ts";
import { MAX_NESTING_DEPTH, reviveValue, type StreamReviver } from "./values.ts";

/**
 * Longest call id, caller name, target name or function name accepted in a request, in
 * characters. Python PeerLink 1.2 sends 36-character UUIDs and mDNS names are at most 63 bytes.
 */
export const MAX_NAME_LENGTH = 256;

/**
 * Extension level a PeerLink-TS caller puts in `"plx"`: 1 = binary frames and at-most-once
 * execution; 2 = also streams in the result, on the persistent connection the call came on
 * (sent only on such connections).
 */
export const PLX_VERSION = 1;
/** The `"plx"` level of a caller that takes streams in its results. */
export const PLX_STREAMS = 2;

/** A call. */
export interface RequestMessage {
  /** Message kind. */
  type: "request";
  /** Call id, unique per caller (a UUID); replies carry it back. */
  id: string;
  /** Caller's node name. */
  src: string;
  /** Target node name. */
  dst: string;
  /** Function name. */
  rpc: string;
  /** Positional arguments. */
  args: unknown[];
  /** Keyword arguments (for Python handlers); `{}` when none. */
  kwargs: Record<string, unknown>;
  /** PeerLink-TS extension level of the caller; absent from Python peers. */
  plx?: number;
}

/** A successful reply. */
export interface ResponseMessage {
  /** Message kind. */
  type: "response";
  /** The request's id. */
  id: string;
  /** What the handler returned (`null` for nothing). */
  result: unknown;
}

/** What went wrong on the remote side. */
export interface RemoteErrorInfo {
  /** Error type name, e.g. `"TypeError"`, `"ZeroDivisionError"`, `"NoSuchFunction"`. */
  type: string;
  /** Error message. */
  message: string;
  /** The thrown error's own string `code` (PeerLink-TS peers only). */
  code?: string;
  /** The thrown error's other own properties that JSON can carry (PeerLink-TS peers only). */
  data?: Record<string, unknown>;
}

/** A failed reply. */
export interface ErrorMessage {
  /** Message kind. */
  type: "error";
  /** The request's id. */
  id: string;
  /** The failure. */
  error: RemoteErrorInfo;
  /** `"tcp"`: the reply is too large for a datagram; send the same request over TCP to fetch it. */
  retry?: "tcp";
}

/** Any RPC message. */
export type RpcMessage = RequestMessage | ResponseMessage | ErrorMessage;

const hasOwn = Object.prototype.hasOwnProperty;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function name(raw: Record<string, unknown>, field: string, allowEmpty: boolean): string {
  const value = raw[field];
  if (typeof value !== "string") throw new BadMessage(`${raw.type}.${field} must be a string`);
  if (!allowEmpty && value.length === 0) throw new BadMessage(`${raw.type}.${field} must not be empty`);
  if (value.length > MAX_NAME_LENGTH) {
    throw new BadMessage(`${raw.type}.${field} is longer than ${MAX_NAME_LENGTH} characters`);
  }
  return value;
}

/**
 * Validates a message decoded from JSON and revives its values (binary tags, segment
 * references). Returns a fresh object holding only the known members.
 *
 * @param raw Output of `JSON.parse`.
 * @param segments Raw segments when the message came in a binary TCP frame.
 * @param maxDepth Deepest nesting accepted in args, kwargs and result.
 * @param streams Revives stream values (TCP connections to PeerLink-TS peers only).
 * @returns The message.
 * @throws {BadMessage} When anything is malformed; for a request whose id could be read,
 *   `requestId` is set so the receiver can answer with an error.
 *
 * @example
 * ```ts
 * import { parseMessage } from "./messages.ts";
 * const msg = parseMessage(JSON.parse(
 *   '{"type":"request","id":"1","src":"A","dst":"B","rpc":"add","args":[1,2],"kwargs":{}}',
 * ));
 * console.log(msg.type === "request" && msg.args); // [1, 2]
 * ```
 */
export function parseMessage(
  raw: unknown,
  segments?: readonly Uint8Array[],
  maxDepth: number = MAX_NESTING_DEPTH,
  streams?: StreamReviver,
): RpcMessage {
  if (!isRecord(raw)) throw new BadMessage("a message must be a JSON object");
  if (hasOwn.call(raw, "__proto__")) throw new BadMessage("message contains the forbidden key '__proto__'");
  const type = raw.type;
  if (type !== "request" && type !== "response" && type !== "error") {
    // Never JSON.stringify untrusted structure here: a deeply nested value would overflow the stack.
    const shown = typeof type === "string" ? JSON.stringify(type.slice(0, 40)) : type === null ? "null" : typeof type;
    throw new BadMessage(`unknown message type ${shown}`);
  }
  const id = name(raw, "id", false);
  if (type === "request") {
    try {
      return parseRequest(raw, id, segments, maxDepth, streams);
    } catch (err) {
      if (err instanceof BadMessage) err.requestId = id;
      throw err;
    }
  }
  if (type === "response") {
    if (!hasOwn.call(raw, "result")) throw new BadMessage("response.result is missing");
    return { type, id, result: reviveValue(raw.result, "response.result", segments, maxDepth, streams) };
  }
  const error = raw.error;
  if (!isRecord(error) || typeof error.type !== "string" || typeof error.message !== "string") {
    throw new BadMessage('error.error must be {"type": <string>, "message": <string>}');
  }
  const message: ErrorMessage = {
    type,
    id,
    error: { type: error.type.slice(0, MAX_NAME_LENGTH), message: error.message },
  };
  if (typeof error.code === "string" && error.code.length <= MAX_NAME_LENGTH) message.error.code = error.code;
  if (isRecord(error.data)) {
    const data = reviveValue(error.data, "error.data", segments, maxDepth);
    if (isRecord(data) && !(data instanceof Uint8Array)) message.error.data = data;
  }
  if (raw.retry === "tcp") message.retry = "tcp";
  return message;
}

function parseRequest(
  raw: Record<string, unknown>,
  id: string,
  segments: readonly Uint8Array[] | undefined,
  maxDepth: number,
  streams: StreamReviver | undefined,
): RequestMessage {
  const src = name(raw, "src", true);
  const dst = name(raw, "dst", true);
  const rpc = name(raw, "rpc", false);
  if (!Array.isArray(raw.args)) throw new BadMessage("request.args must be an array");
  if (!isRecord(raw.kwargs)) throw new BadMessage("request.kwargs must be an object");
  const request: RequestMessage = {
    type: "request",
    id,
    src,
    dst,
    rpc,
    args: reviveValue(raw.args, "request.args", segments, maxDepth, streams) as unknown[],
    kwargs: reviveValue(raw.kwargs, "request.kwargs", segments, maxDepth, streams) as Record<string, unknown>,
  };
  // kwargs may legitimately be {"__bytes__": ...}-shaped only through escaping; a revived
  // kwargs that is no longer a plain object (a bare tag) is malformed.
  if (!isRecord(request.kwargs) || request.kwargs instanceof Uint8Array) {
    throw new BadMessage("request.kwargs must be an object");
  }
  const plx = raw.plx;
  if (typeof plx === "number" && Number.isInteger(plx) && plx > 0) request.plx = plx;
  return request;
}

/**
 * Reads the id of a request that failed validation, if it is readable, without trusting
 * anything else about the message.
 *
 * @param raw Output of `JSON.parse`.
 * @returns The id, or `undefined`.
 *
 * @example
 * ```ts
 * import { requestIdOf } from "./messages.ts";
 * console.log(requestIdOf({ type: "request", id: "abc", args: "oops" })); // "abc"
 * ```
 */
export function requestIdOf(raw: unknown): string | undefined {
  if (!isRecord(raw) || raw.type !== "request") return undefined;
  const id = raw.id;
  return typeof id === "string" && id.length > 0 && id.length <= MAX_NAME_LENGTH ? id : undefined;
}
