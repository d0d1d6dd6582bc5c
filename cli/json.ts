/**
 * JSON on the command line: call arguments in, results out. Binary values travel as
 * `{"$bytes": "<base64>"}` both ways, since JSON has no byte strings.
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "../src/wire/base64.ts";
import { UsageError } from "./errors.ts";

/** The key of the `{"$bytes": "<base64>"}` form of a `Uint8Array`. */
export const BYTES_KEY = "$bytes";

/**
 * Parses one call argument.
 *
 * @param text The argument as typed, e.g. `'{"a":1}'`, `42`, `'"hello"'`.
 * @param position 1-based position, for the error message.
 * @param command For the error message.
 * @returns The value (`{"$bytes": ...}` objects become `Uint8Array`s).
 * @throws {UsageError} When it is not JSON, with a hint about quoting strings.
 *
 * @example
 * ```ts
 * import { parseJsonArgument } from "./json.ts";
 * console.log(parseJsonArgument('{"$bytes":"AAE="}', 1, "call")); // Uint8Array(2) [0, 1]
 * ```
 */
export function parseJsonArgument(text: string, position: number, command: string): unknown {
  try {
    return JSON.parse(text, (_key, value) => {
      const bytes = bytesOf(value);
      return bytes ?? value;
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const hint = /^[\p{L}_][\p{L}\p{N}_ -]*$/u.test(text) ? ` To pass the string, quote it: '"${text}"'.` : "";
    throw new UsageError(`argument ${position} is not valid JSON: ${text}.${hint}`, command);
  }
}

function bytesOf(value: unknown): Uint8Array | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== BYTES_KEY) return undefined;
  const text = (value as Record<string, unknown>)[BYTES_KEY];
  const bytes = typeof text === "string" ? decodeBase64(text) : undefined;
  if (!bytes) throw new UsageError(`"${BYTES_KEY}" must hold base64 text`);
  return bytes;
}

/**
 * Renders a result as JSON (`Uint8Array` → `{"$bytes": "<base64>"}`, `undefined` → `null`).
 *
 * @param value The value.
 * @param indent Spaces of indentation; 0 for one line.
 * @returns The JSON text.
 *
 * @example
 * ```ts
 * import { toJson } from "./json.ts";
 * console.log(toJson({ blob: new Uint8Array([0, 1]) }, 0)); // {"blob":{"$bytes":"AAE="}}
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
