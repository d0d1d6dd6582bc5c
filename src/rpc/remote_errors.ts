/**
 * What a handler threw, as the error reply carries it: a type name and a readable message
 * for every caller (Python PeerLink 1.2 reads exactly these two), and toward a PeerLink-TS
 * caller also the thrown value's `code` and its other own properties that JSON can carry, so
 * the caller's `RemoteError` has `remoteCode` and `remoteData`.
 *
 * Anything may be thrown, not only `Error`s: `throw { message: "x", code: "E" }` reads as
 * message `x` with code `E`, `throw "oops"` as `oops`, `throw { a: 1 }` as `{"a":1}`.
 *
 * @module
 */
import type { RemoteErrorInfo } from "../wire/messages.ts";
import { MAX_NAME_LENGTH } from "../wire/messages.ts";
import { MAX_NESTING_DEPTH, ValueEncoder } from "../wire/values.ts";

/** Longest message made from a thrown value that is not an `Error` (its JSON text is cut there). */
const MAX_THROWN_TEXT = 500;

/** Own properties that the type, the message or the runtime already cover: never sent as data. */
const NOT_DATA = new Set(["name", "message", "stack", "code", "cause", "__proto__"]);

/**
 * The type name a thrown value is reported under: the error's `name` when it says more than
 * `"Error"`, else its class name (so `class QuotaExceeded extends Error {}` reports
 * `QuotaExceeded`); for a thrown plain object its string `name`; else `"Error"`.
 *
 * @param error What the handler threw.
 * @returns A type name.
 *
 * @example
 * ```ts
 * import { errorTypeName } from "./remote_errors.ts";
 * console.log(errorTypeName(new RangeError("x"))); // "RangeError"
 * console.log(errorTypeName({ name: "Quota", message: "full" })); // "Quota"
 * ```
 */
export function errorTypeName(error: unknown): string {
  if (error instanceof Error) {
    if (error.name && error.name !== "Error") return error.name;
    const ctor = (error as { constructor?: { name?: unknown } }).constructor;
    if (ctor && typeof ctor.name === "string" && ctor.name) return ctor.name;
    return "Error";
  }
  const name = typeof error === "object" && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === "string" && name.length > 0 ? name.slice(0, MAX_NAME_LENGTH) : "Error";
}

/**
 * A readable message for anything thrown: an error's message; a thrown object's string
 * `message`, else its JSON text; a string as it is; anything else as `String()` gives it.
 *
 * @param error What the handler threw.
 * @returns The message.
 *
 * @example
 * ```ts
 * import { errorText } from "./remote_errors.ts";
 * console.log(errorText({ message: "x" })); // "x"
 * console.log(errorText({ a: 1 })); // '{"a":1}'
 * ```
 */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === "string") return message;
    try {
      const json = JSON.stringify(error);
      if (typeof json === "string") return json.length > MAX_THROWN_TEXT ? `${json.slice(0, MAX_THROWN_TEXT)}…` : json;
    } catch {
      // A cycle, a BigInt, a throwing toJSON: fall back to String() below.
    }
  }
  try {
    return String(error);
  } catch {
    return "(unprintable error)";
  }
}

/**
 * The error part of a reply for what a handler threw.
 *
 * @param error What the handler threw.
 * @param detailed Whether the caller is PeerLink-TS (its request carried `plx`): then the
 *   thrown value's string `code` and its other own enumerable properties that JSON can carry
 *   (`data`) go along; a property JSON cannot carry (a function, a cycle, a BigInt) is left out.
 * @param maxDepth Deepest nesting of `data` values.
 * @returns Type, message, and with `detailed` the code and data.
 *
 * @example
 * ```ts
 * import { remoteErrorInfo } from "./remote_errors.ts";
 * const thrown = Object.assign(new RangeError("over quota"), { code: "E_QUOTA", limit: 10, retry: () => 0 });
 * console.log(remoteErrorInfo(thrown, true));
 * // { type: "RangeError", message: "over quota", code: "E_QUOTA", data: { limit: 10 } }
 * console.log(remoteErrorInfo(thrown, false)); // { type: "RangeError", message: "over quota" }
 * ```
 */
export function remoteErrorInfo(
  error: unknown,
  detailed: boolean,
  maxDepth: number = MAX_NESTING_DEPTH,
): RemoteErrorInfo {
  const info: RemoteErrorInfo = { type: errorTypeName(error), message: errorText(error) };
  if (!detailed || typeof error !== "object" || error === null) return info;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code.length <= MAX_NAME_LENGTH) info.code = code;
  let data: Record<string, unknown> | undefined;
  for (const key of Object.keys(error)) {
    if (NOT_DATA.has(key)) continue;
    const value = (error as Record<string, unknown>)[key];
    try {
      new ValueEncoder(maxDepth).prepare(value, key);
    } catch {
      continue; // JSON cannot carry it: leave it out rather than lose the whole error.
    }
    (data ??= {})[key] = value;
  }
  if (data) info.data = data;
  return info;
}
