/**
 * The JSON line protocol between the e2e tests and tests/support/e2e_node.ts carries binary
 * values as `{"$bytes":"<base64>"}`; these two functions convert at any depth.
 */
import { Buffer } from "node:buffer";

/**
 * Encodes Uint8Array values as `{$bytes: base64}` at any depth.
 * @param value anything JSON-like
 * @returns the encoded value
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("base64") };
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  }
  return value;
}

/**
 * Decodes `{$bytes: base64}` back to Uint8Array at any depth.
 * @param value what {@link toWire} made
 * @returns the decoded value
 */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record.$bytes === "string" && Object.keys(record).length === 1) {
      return new Uint8Array(Buffer.from(record.$bytes, "base64"));
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}
