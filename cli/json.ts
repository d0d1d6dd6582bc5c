/**
 * JSON on the command line: call arguments in, results out. JSON has no byte strings, so a
 * `Uint8Array` is written `{"__bytes__": "<base64>"}` both ways: the notation of the wire
 * format itself (and of Python PeerLink 1.2), so what `peerlink call` prints can be passed
 * back as an argument.
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "../src/wire/base64.ts";
import { BYTES_TAG } from "../src/wire/values.ts";
import { UsageError } from "./errors.ts";

/** The key of the `{"__bytes__": "<base64>"}` form of a `Uint8Array`. */
export const BYTES_KEY: string = BYTES_TAG;

/**
 * Parses one JSON value given on the command line.
 *
 * @param text The value as typed, e.g. `'{"a":1}'`, `42`, `'"hello"'`.
 * @param what What it is, for the error message: `"argument 2"`, `"--kwargs"`.
 * @param command For the error message.
 * @returns The value (`{"__bytes__": ...}` objects become `Uint8Array`s).
 * @throws {UsageError} When it is not JSON, with a hint about quoting strings.
 *
 * @example
 * ```ts
 * import { parseJsonArgument } from "./json.ts";
 * console.log(parseJsonArgument('{"__bytes__":"AAE="}', "argument 1", "call")); // Uint8Array(2) [0, 1]
 * ```
 */
export function parseJsonArgument(text: string, what: string, command: string): unknown {
  try {
    return JSON.parse(text, (_key, value) => {
      const bytes = bytesOf(value, what);
      return bytes ?? value;
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // A bare word was most likely meant as a string argument.
    const word = what.startsWith("argument") && /^[\p{L}_][\p{L}\p{N}_ -]*$/u.test(text);
    const hint = word ? ` To pass the string, quote it: '"${text}"'.` : "";
    throw new UsageError(`${what} is not valid JSON: ${text}.${hint}`, command);
  }
}

function bytesOf(value: unknown, what: string): Uint8Array | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== BYTES_KEY) return undefined;
  const text = (value as Record<string, unknown>)[BYTES_KEY];
  const bytes = typeof text === "string" ? decodeBase64(text) : undefined;
  if (!bytes) throw new UsageError(`"${BYTES_KEY}" in ${what} must hold base64 text`);
  return bytes;
}

/**
 * Renders a result as JSON (`Uint8Array` → `{"__bytes__": "<base64>"}`, `undefined` → `null`).
 *
 * @param value The value.
 * @param indent Spaces of indentation; 0 for one line.
 * @returns The JSON text.
 *
 * @example
 * ```ts
 * import { toJson } from "./json.ts";
 * console.log(toJson({ blob: new Uint8Array([0, 1]) }, 0)); // {"blob":{"__bytes__":"AAE="}}
 * ```
 */
export function toJson(value: unknown, indent: number): string {
  const text = JSON.stringify(
    value,
    (_key, item) => (item instanceof Uint8Array ? { [BYTES_KEY]: encodeBase64(item) } : item),
    indent || undefined,
  );
  return text ?? "null";
}
