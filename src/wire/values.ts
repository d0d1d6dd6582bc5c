/**
 * Values on the wire: what args, kwargs and results may hold, how binary values travel, and
 * the checks that keep malformed or hostile input away from handlers.
 *
 * ## Sending
 * {@linkcode ValueEncoder.prepare} walks a value once. It refuses what JSON cannot carry
 * faithfully (functions, symbols, BigInt, NaN and Infinity, cycles, Map, Set, typed arrays
 * other than `Uint8Array`, nesting deeper than {@linkcode MAX_NESTING_DEPTH}) with a
 * `TypeError` that names the path (`args[1].foo`), and replaces every `Uint8Array` by a
 * {@linkcode BinaryRef}. Otherwise JSON semantics apply: `undefined` object members are left
 * out, `undefined` array items become `null`, `toJSON()` is honoured (`Date` becomes its ISO
 * string). The walk copies only the containers it changes.
 *
 * ## Binary values
 * A `BinaryRef` serializes (through `toJSON`, see {@linkcode withBinaryMode}) as one of these
 * tagged objects:
 *
 * - `{"__bytes__": "<base64>"}`: standard padded base64 (RFC 4648 section 4). Used in UDP
 *   datagrams and toward peers that do not advertise binary frames (Python PeerLink 1.2,
 *   whose handlers receive that dict and can decode it with `base64.b64decode(v["__bytes__"])`).
 * - `{"__seg__": <n>}`: the n-th raw segment of a binary TCP frame (see `binary_frame.ts`).
 *
 * ## Streams
 * A `ReadableStream`, or any other async iterable (an async generator, a Node `Readable`), is
 * a stream value: it travels as `{"__stream__": <id>}` and its chunks follow in stream frames
 * on the same connection (`src/streams/`). The encoder takes streams only when it is given a
 * {@linkcode StreamCollector} (calls over TCP to PeerLink-TS peers); the receiver revives the
 * tag only with a {@linkcode StreamReviver} (elsewhere it is ordinary data, as from Python).
 *
 * A user object that has exactly one key and whose key is one of the tag names (`__bytes__`,
 * `__seg__`, `__stream__`, `__esc__`) is sent wrapped as `{"__esc__": <object>}` so it arrives unchanged and
 * is never mistaken for a tag. A Python peer may send `{"__bytes__": "<base64>"}` itself to
 * pass bytes to a TypeScript handler.
 *
 * ## Receiving
 * {@linkcode reviveValue} walks a freshly parsed JSON value in place: it rejects nesting deeper
 * than the limit, any `__proto__` key (so no handler ever receives an object that could
 * rewrite a prototype through `Object.assign` or a naive merge) and numbers too large for a
 * double (`1e999` parses as `Infinity`, which a sender could never have meant), and turns tags
 * back into `Uint8Array`s. Failures throw {@linkcode BadMessage}.
 *
 * @module
 */
import { BadMessage } from "../errors.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";

/**
 * Deepest nesting of arrays and objects accepted in a message (args, kwargs or result), and
 * the default of the `maxDepth` limit. Deeper values are refused by the sender with a
 * `TypeError` and dropped by the receiver.
 */
export const MAX_NESTING_DEPTH = 100;

/** Tag key of a base64 binary value. */
export const BYTES_TAG = "__bytes__";
/** Tag key of a reference to a raw segment of a binary TCP frame. */
export const SEGMENT_TAG = "__seg__";
/** Tag key of an escaped user object that looks like a tag. */
export const ESCAPE_TAG = "__esc__";
/** Tag key of a stream value. */
export const STREAM_TAG = "__stream__";

/** A value sent as a stream: a `ReadableStream`, or any async iterable (an async generator). */
export type StreamSource = ReadableStream<unknown> | AsyncIterable<unknown>;

/** Where an encoder puts the streams it meets: gives each its id on the wire. */
export interface StreamCollector {
  /**
   * Takes a stream to send.
   *
   * @param source The stream.
   * @returns Its id.
   */
  add(source: StreamSource): number;
}

/** Turns a received `{"__stream__": id}` into the stream the receiver reads. */
export type StreamReviver = (id: unknown, where: string) => ReadableStream<unknown>;

/**
 * Whether a value is sent as a stream.
 *
 * @param value Anything.
 * @returns True for a `ReadableStream` or an async iterable.
 *
 * @example
 * ```ts
 * import { isStreamSource } from "./values.ts";
 * async function* gen() { yield 1; }
 * console.log(isStreamSource(gen()), isStreamSource([1])); // true false
 * ```
 */
export function isStreamSource(value: unknown): value is StreamSource {
  if (typeof value !== "object" || value === null) return false;
  if (typeof ReadableStream !== "undefined" && value instanceof ReadableStream) return true;
  return typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

/** How {@linkcode BinaryRef}s serialize while JSON text is produced. */
export type BinaryMode = "base64" | "segments";

let binaryMode: BinaryMode = "base64";

/**
 * Runs `fn` (normally a `JSON.stringify` call) with {@linkcode BinaryRef}s serializing in `mode`.
 * Synchronous, so no other serialization can interleave.
 *
 * @param mode `"base64"` for `{"__bytes__": ...}`, `"segments"` for `{"__seg__": n}`.
 * @param fn The serialization to run.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { BinaryRef, withBinaryMode } from "./values.ts";
 * const ref = new BinaryRef(new Uint8Array([1, 2]), 0);
 * console.log(withBinaryMode("base64", () => JSON.stringify([ref]))); // [{"__bytes__":"AQI="}]
 * ```
 */
export function withBinaryMode<T>(mode: BinaryMode, fn: () => T): T {
  const previous = binaryMode;
  binaryMode = mode;
  try {
    return fn();
  } finally {
    binaryMode = previous;
  }
}

/**
 * Placeholder for a `Uint8Array` inside a prepared value. Its `toJSON()` yields the tag for the
 * current {@linkcode BinaryMode}.
 *
 * @example
 * ```ts
 * import { BinaryRef, withBinaryMode } from "./values.ts";
 * const ref = new BinaryRef(new Uint8Array(3), 4);
 * console.log(withBinaryMode("segments", () => JSON.stringify(ref))); // {"__seg__":4}
 * ```
 */
export class BinaryRef {
  /** The bytes (not copied). */
  readonly bytes: Uint8Array;
  /** Index of this value among the binary values of its message (its segment number). */
  readonly index: number;

  /**
   * Creates a {@linkcode BinaryRef}.
   *
   * @param bytes The bytes.
   * @param index Segment number within the message.
   */
  constructor(bytes: Uint8Array, index: number) {
    this.bytes = bytes;
    this.index = index;
  }

  /**
   * JSON form in the current mode.
   *
   * @returns `{"__bytes__": base64}` or `{"__seg__": index}`.
   */
  toJSON(): Record<string, string | number> {
    return binaryMode === "segments" ? { [SEGMENT_TAG]: this.index } : { [BYTES_TAG]: encodeBase64(this.bytes) };
  }
}

/**
 * Placeholder for a stream inside a prepared value: serializes as `{"__stream__": id}`.
 *
 * @example
 * ```ts
 * import { StreamRef } from "./values.ts";
 * console.log(JSON.stringify(new StreamRef(5))); // {"__stream__":5}
 * ```
 */
export class StreamRef {
  /** The stream's id on the wire. */
  readonly id: number;

  /**
   * Creates a {@linkcode StreamRef}.
   *
   * @param id The stream's id.
   */
  constructor(id: number) {
    this.id = id;
  }

  /**
   * JSON form.
   *
   * @returns `{"__stream__": id}`.
   */
  toJSON(): Record<string, number> {
    return { [STREAM_TAG]: this.id };
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function isTagKey(key: string): boolean {
  return key === BYTES_TAG || key === SEGMENT_TAG || key === STREAM_TAG || key === ESCAPE_TAG;
}

/**
 * Whether a value is sent exactly as it is, so the walk can be skipped: an array of finite
 * numbers, strings, booleans and nulls, or an empty plain object (the args and kwargs of most
 * calls), with no `toJSON` and no async iterator to honour. The walk would return it unchanged.
 */
function sendsAsIs(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { toJSON?: unknown; [Symbol.asyncIterator]?: unknown };
  if (typeof candidate.toJSON === "function" || typeof candidate[Symbol.asyncIterator] === "function") return false;
  if (!Array.isArray(value)) {
    return Object.getPrototypeOf(value) === Object.prototype && Object.keys(value).length === 0;
  }
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const type = typeof item;
    if (type === "number" ? !Number.isFinite(item) : type !== "string" && type !== "boolean" && item !== null) {
      return false;
    }
  }
  return true;
}

/**
 * Prepares values of one message for the wire: validates them and collects their binary
 * values. One encoder per message, so segment numbers are unique within it.
 *
 * @example
 * ```ts
 * import { ValueEncoder } from "./values.ts";
 * const encoder = new ValueEncoder();
 * const args = encoder.prepare([1, new Uint8Array([7])], "args");
 * console.log(encoder.binaries.length, encoder.binaryBytes); // 1 1
 * try {
 *   encoder.prepare([1, { f: () => 0 }], "args");
 * } catch (err) {
 *   console.log((err as TypeError).message); // Cannot send args[1].f: a function ...
 * }
 * ```
 */
export class ValueEncoder {
  /** Binary values met so far, in segment order. */
  readonly binaries: Uint8Array[] = [];
  /** Total bytes of {@linkcode ValueEncoder.binaries}. */
  binaryBytes = 0;
  /** Streams met so far (their ids came from the collector). */
  readonly streams: { id: number; source: StreamSource }[] = [];
  readonly #maxDepth: number;
  readonly #collector: StreamCollector | undefined;
  readonly #path: Array<string | number> = [];
  readonly #ancestors = new Set<object>();
  #root = "";

  /**
   * Creates a {@linkcode ValueEncoder}.
   *
   * @param maxDepth Deepest nesting accepted (default {@linkcode MAX_NESTING_DEPTH}).
   * @param streams Where stream values go; without it a stream is refused with a `TypeError`.
   */
  constructor(maxDepth: number = MAX_NESTING_DEPTH, streams?: StreamCollector) {
    this.#maxDepth = maxDepth;
    this.#collector = streams;
  }

  /**
   * Validates `value` and returns it ready for `JSON.stringify` (the same object when nothing
   * needed changing). Throws a `TypeError` naming the path of the first bad value.
   *
   * @param value The value to send.
   * @param root Name of the value for messages, e.g. `"args"`, `"kwargs"`, `"result"`.
   * @returns The prepared value.
   */
  prepare(value: unknown, root: string): unknown {
    if (this.#maxDepth > 0 && sendsAsIs(value)) return value;
    this.#root = root;
    this.#path.length = 0;
    this.#ancestors.clear();
    const prepared = this.#walk(value, 0, "");
    return prepared === undefined && value === undefined ? null : prepared;
  }

  #walk(value: unknown, depth: number, key: string): unknown {
    switch (typeof value) {
      case "string":
      case "boolean":
      case "undefined":
        return value;
      case "number":
        if (!Number.isFinite(value)) {
          this.#fail(`${value} is not a JSON number (JSON has no NaN or Infinity); send null or a string instead`);
        }
        return value;
      case "bigint":
        this.#fail("a BigInt cannot be carried by JSON; convert it with String(value) or Number(value)");
        break;
      case "function":
        this.#fail("a function cannot be sent; send data, not code");
        break;
      case "symbol":
        this.#fail("a Symbol cannot be carried by JSON");
        break;
    }
    if (value === null) return null;
    const object = value as object;
    if (object instanceof Uint8Array) {
      const ref = new BinaryRef(object, this.binaries.length);
      this.binaries.push(object);
      this.binaryBytes += object.byteLength;
      return ref;
    }
    if (isStreamSource(object)) {
      if (!this.#collector) {
        this.#fail("a stream can only be sent over TCP to a PeerLink-TS peer, as a call argument or result");
      }
      if ((object as { locked?: unknown }).locked === true) {
        this.#fail(
          "the ReadableStream is locked (a reader holds it); send it before reading it, or release its reader",
        );
      }
      const id = this.#collector.add(object);
      this.streams.push({ id, source: object });
      return new StreamRef(id);
    }
    if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
      // JSON semantics (Date -> ISO string). The replacement is validated like any value.
      const replaced = (object as { toJSON(key: string): unknown }).toJSON(key);
      if (typeof replaced !== "object" || replaced === null || replaced instanceof Uint8Array) {
        return this.#walk(replaced, depth, key);
      }
      if (typeof (replaced as { toJSON?: unknown }).toJSON === "function") {
        this.#fail("its toJSON() returned another object with a toJSON() method");
      }
      return this.#walk(replaced, depth, key);
    }
    if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
      this.#fail(
        `${object.constructor.name} is not supported; send binary data as a Uint8Array (new Uint8Array(buffer))`,
      );
    }
    if (object instanceof Map || object instanceof Set) {
      this.#fail(
        `a ${object.constructor.name} cannot be carried by JSON; convert it (Object.fromEntries(map), [...set])`,
      );
    }
    if (object instanceof Number || object instanceof String || object instanceof Boolean) {
      return this.#walk(object.valueOf(), depth, key);
    }
    if (depth >= this.#maxDepth) this.#fail(`nested deeper than ${this.#maxDepth} levels`);
    if (this.#ancestors.has(object)) this.#fail("it refers back to itself (a cycle); JSON cannot carry cycles");
    this.#ancestors.add(object);
    const out = Array.isArray(object) ? this.#walkArray(object, depth) : this.#walkObject(object, depth);
    this.#ancestors.delete(object);
    return out;
  }

  #walkArray(array: readonly unknown[], depth: number): unknown[] {
    let copy: unknown[] | undefined;
    const length = array.length;
    for (let i = 0; i < length; i++) {
      const item = array[i];
      this.#path.push(i);
      let prepared = this.#walk(item, depth + 1, String(i));
      this.#path.pop();
      if (prepared === undefined) prepared = null; // JSON semantics: undefined array items become null.
      if (prepared !== item && copy === undefined) copy = array.slice(0, i);
      if (copy !== undefined) copy.push(prepared);
    }
    return copy ?? (array as unknown[]);
  }

  #walkObject(object: object, depth: number): object {
    const keys = Object.keys(object);
    let copy: Record<string, unknown> | undefined;
    const record = object as Record<string, unknown>;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key === "__proto__") {
        this.#path.push(key);
        this.#fail("the key '__proto__' is refused by receivers; rename it");
      }
      const item = record[key];
      this.#path.push(key);
      const prepared = this.#walk(item, depth + 1, key);
      this.#path.pop();
      if (prepared !== item && copy === undefined) {
        copy = {};
        for (let j = 0; j < i; j++) copy[keys[j]] = record[keys[j]];
      }
      if (copy !== undefined && prepared !== undefined) copy[key] = prepared;
    }
    const result = copy ?? object;
    if (keys.length === 1 && isTagKey(keys[0])) return { [ESCAPE_TAG]: result };
    return result;
  }

  #fail(reason: string): never {
    let path = this.#root;
    for (const part of this.#path) {
      path += typeof part === "number" ? `[${part}]` : IDENTIFIER.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
    }
    throw new TypeError(`Cannot send ${path}: ${reason}.`);
  }
}

/**
 * Validates a freshly parsed JSON value in place and turns binary tags back into `Uint8Array`s.
 *
 * @param value Output of `JSON.parse` (it is modified).
 * @param where Name of the value for messages, e.g. `"request.args"`.
 * @param segments Raw segments of a binary TCP frame, or `undefined` for plain JSON (where a
 *   `{"__seg__": n}` object is ordinary data).
 * @param maxDepth Deepest nesting accepted.
 * @param streams Revives `{"__stream__": id}` tags (a TCP connection to a PeerLink-TS peer);
 *   without it such an object is ordinary data.
 * @returns The revived value.
 * @throws {BadMessage} For nesting deeper than `maxDepth`, a `__proto__` key, invalid base64
 *   in a bytes tag, a segment reference out of range, or a stream the reviver refuses.
 *
 * @example
 * ```ts
 * import { reviveValue } from "./values.ts";
 * const value = reviveValue(JSON.parse('[{"__bytes__":"aGk="}]'), "args");
 * console.log(value); // [ Uint8Array(2) [ 104, 105 ] ]
 * ```
 */
export function reviveValue(
  value: unknown,
  where: string,
  segments?: readonly Uint8Array[],
  maxDepth: number = MAX_NESTING_DEPTH,
  streams?: StreamReviver,
): unknown {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "number" && !Number.isFinite(value)) throw outOfRange(where);
    return value;
  }
  return revive(value, 0, { where, segments, maxDepth, streams });
}

/** What a revival walk carries along. */
interface Revival {
  where: string;
  segments: readonly Uint8Array[] | undefined;
  maxDepth: number;
  streams: StreamReviver | undefined;
}

function outOfRange(where: string): BadMessage {
  return new BadMessage(`${where} holds a number too large for a double (JSON numbers must be finite)`);
}

const hasOwn = Object.prototype.hasOwnProperty;

function revive(value: object, depth: number, r: Revival): unknown {
  const where = r.where;
  if (depth >= r.maxDepth) throw new BadMessage(`${where} is nested deeper than ${r.maxDepth} levels`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === "object" && item !== null) value[i] = revive(item, depth + 1, r);
      else if (typeof item === "number" && !Number.isFinite(item)) throw outOfRange(where);
    }
    return value;
  }
  if (hasOwn.call(value, "__proto__")) throw new BadMessage(`${where} contains the forbidden key '__proto__'`);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const tag = keys[0];
    const inner = record[tag];
    if (tag === BYTES_TAG && typeof inner === "string") {
      const bytes = decodeBase64(inner);
      if (!bytes) throw new BadMessage(`${where} holds a ${BYTES_TAG} value that is not valid base64`);
      return bytes;
    }
    if (tag === SEGMENT_TAG && r.segments !== undefined) {
      const segments = r.segments;
      if (typeof inner !== "number" || !Number.isInteger(inner) || inner < 0 || inner >= segments.length) {
        const shown = typeof inner === "number" ? String(inner) : typeof inner;
        throw new BadMessage(`${where} refers to binary segment ${shown} of ${segments.length}`);
      }
      return segments[inner];
    }
    if (tag === STREAM_TAG && r.streams !== undefined) return r.streams(inner, where);
    if (tag === ESCAPE_TAG && typeof inner === "object" && inner !== null && !Array.isArray(inner)) {
      if (hasOwn.call(inner, "__proto__")) throw new BadMessage(`${where} contains the forbidden key '__proto__'`);
      // The wrapper is transparent: the inner object counts at the wrapper's depth.
      return reviveMembers(inner as Record<string, unknown>, depth, r);
    }
  }
  return reviveMembers(record, depth, r);
}

function reviveMembers(record: Record<string, unknown>, depth: number, r: Revival): Record<string, unknown> {
  // Object.keys, not for-in: a polluted Object.prototype must not add members here.
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const item = record[key];
    if (typeof item === "object" && item !== null) record[key] = revive(item, depth + 1, r);
    else if (typeof item === "number" && !Number.isFinite(item)) throw outOfRange(r.where);
  }
  return record;
}
