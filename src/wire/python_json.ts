/**
 * Python's JSON dialect. Python's `json.dumps` writes `float("nan")`, `float("inf")` and
 * `float("-inf")` as the bare tokens `NaN`, `Infinity` and `-Infinity` (its default is
 * `allow_nan=True`), so a Python PeerLink 1.2 handler that returns one, or a Python caller
 * that passes one, sends text `JSON.parse` refuses. PeerLink-TS reads those tokens as the
 * numbers `NaN`, `Infinity` and `-Infinity`; it never writes them (sending a non-finite number
 * is a `TypeError`, see `values.ts`).
 *
 * Only text that `JSON.parse` refused comes here (valid JSON never pays for this). The tokens
 * outside strings become marker strings that `JSON.parse` accepts; the values are then checked
 * as usual, and {@linkcode PythonJson.restore} turns the markers in the decoded values back
 * into numbers. The marker holds a random part chosen per message, so no string a sender
 * writes can be mistaken for it.
 *
 * @module
 */

const TOKENS = ["NaN", "Infinity", "-Infinity"] as const;

/** Parsed Python JSON with marker strings where the non-finite tokens were. */
export interface PythonJson {
  /** The parsed value, with marker strings in place of the tokens. */
  readonly value: unknown;
  /**
   * Turns the markers in a decoded value (in place, arrays and plain objects) back into numbers.
   *
   * @param decoded A value decoded from {@linkcode PythonJson.value}.
   * @returns The same value, or the number when `decoded` is itself a marker.
   */
  restore(decoded: unknown): unknown;
}

/**
 * Parses JSON text that may hold Python's bare `NaN`, `Infinity` and `-Infinity`.
 *
 * @param text Text that `JSON.parse` refused.
 * @returns The parsed value with its restorer, or `undefined` when the text holds none of
 *   those tokens or is not JSON even with them read as numbers.
 *
 * @example
 * ```ts
 * import { parsePythonJson } from "./python_json.ts";
 * const parsed = parsePythonJson('{"result": [1.5, NaN, -Infinity, "NaN"]}')!;
 * const value = parsed.value as { result: unknown };
 * console.log(parsed.restore(value.result)); // [ 1.5, NaN, -Infinity, "NaN" ]
 * ```
 */
export function parsePythonJson(text: string): PythonJson | undefined {
  if (!text.includes("NaN") && !text.includes("Infinity")) return undefined; // the common case: plain bad JSON
  const marker = `peerlink-non-finite-${crypto.randomUUID()}:`;
  // One pass, linear in the text (a regular expression for strings would rescan an
  // unterminated one from every quote: quadratic on a hostile 4 MiB frame).
  const parts: string[] = [];
  let copied = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    const token = TOKENS.find((t) => t.charCodeAt(0) === c && text.startsWith(t, i));
    if (token === undefined) continue;
    parts.push(text.slice(copied, i), `"${marker}${token}"`);
    i += token.length - 1;
    copied = i + 1;
  }
  if (parts.length === 0) return undefined;
  parts.push(text.slice(copied));
  const rewritten = parts.join("");
  let value: unknown;
  try {
    value = JSON.parse(rewritten);
  } catch {
    return undefined;
  }
  const numbers: Record<string, number> = {
    [`${marker}NaN`]: NaN,
    [`${marker}Infinity`]: Infinity,
    [`${marker}-Infinity`]: -Infinity,
  };
  const restore = (decoded: unknown): unknown => {
    if (typeof decoded === "string") return Object.hasOwn(numbers, decoded) ? numbers[decoded] : decoded;
    if (typeof decoded !== "object" || decoded === null || ArrayBuffer.isView(decoded)) return decoded;
    const container = decoded as Record<string, unknown>;
    for (const key of Object.keys(container)) container[key] = restore(container[key]);
    return decoded;
  };
  return { value, restore };
}
