/**
 * DNS name helpers for mDNS/DNS-SD: normalising, comparing (case-insensitively, as DNS
 * does for ASCII) and validating names before they are encoded.
 *
 * Names are handled without the trailing dot (`"Worker._peerlink._tcp.local"`); a trailing
 * dot given by a user is accepted and stripped.
 *
 * @module
 */

import { PeerLinkError } from "../errors.ts";

const encoder = new TextEncoder();

/** An invalid name or label given to the mDNS layer (code `INVALID_NAME`). */
export class NameError extends PeerLinkError {
  /**
   * Creates the error.
   *
   * @param message What is wrong and how to fix it.
   */
  constructor(message: string) {
    super(message, "INVALID_NAME");
    this.name = "NameError";
  }
}

/**
 * Strips one trailing dot.
 *
 * @param name A DNS name, with or without the trailing root dot.
 * @returns The name without it.
 */
export function trimDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/**
 * The comparison key of a name: no trailing dot, ASCII letters lowercased (DNS names compare
 * case-insensitively for ASCII only, RFC 4343; other bytes compare exactly).
 *
 * @param name A DNS name.
 * @returns Its canonical form for maps and equality.
 */
export function nameKey(name: string): string {
  // Most names are already canonical: no copy, and nothing kept (a flood of new names must
  // not churn the memo, whose entries would outlive young garbage collections).
  if (!/[A-Z]|\.$/.test(name)) return name;
  let key = keys.get(name);
  if (key === undefined) {
    key = trimDot(name).replace(/[A-Z]+/g, (s) => s.toLowerCase());
    if (keys.size >= 4096) keys.clear(); // bounded memo: hot names are re-added at once
    keys.set(name, key);
  }
  return key;
}

const keys = new Map<string, string>();

/**
 * True when two names are the same DNS name.
 *
 * @param a First name.
 * @param b Second name.
 * @returns Whether they are equal case-insensitively (ASCII).
 */
export function sameName(a: string, b: string): boolean {
  return nameKey(a) === nameKey(b);
}

/** Bytes of a string in UTF-8, without encoding it when it is ASCII (nearly every name). */
function utf8Length(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return encoder.encode(text).length;
  return text.length;
}

/**
 * Checks one label: 1-63 bytes of UTF-8, no dot (dns-packet splits on dots and cannot escape
 * them), no control characters.
 *
 * @param label The label, e.g. an instance name like `"Worker"`.
 * @param what How to call it in the error message, e.g. `"instance name"`.
 * @throws NameError when invalid.
 */
export function validateLabel(label: string, what = "label"): void {
  const bytes = utf8Length(label);
  if (bytes === 0) throw new NameError(`${what} is empty. Use 1-63 bytes of UTF-8.`);
  if (bytes > 63) {
    throw new NameError(
      `${what} ${JSON.stringify(label)} is ${bytes} bytes of UTF-8; DNS allows at most 63. Shorten it.`,
    );
  }
  if (label.includes(".")) {
    throw new NameError(
      `${what} ${JSON.stringify(label)} contains a dot, which this mDNS layer cannot encode. Remove it.`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(label)) {
    throw new NameError(`${what} ${JSON.stringify(label)} contains control characters. Use printable text.`);
  }
}

/**
 * Checks a whole name: every label valid and at most 255 bytes on the wire.
 *
 * @param name The name, e.g. `"Worker._peerlink._tcp.local"`.
 * @throws NameError when invalid.
 */
export function validateName(name: string): void {
  const labels = trimDot(name).split(".");
  let wire = 1;
  for (const label of labels) {
    try {
      validateLabel(label);
    } catch {
      validateLabel(label, `label of ${JSON.stringify(name)}`); // again, naming the name (only on error: every sent name is checked)
    }
    wire += utf8Length(label) + 1;
  }
  if (wire > 255) throw new NameError(`name ${JSON.stringify(name)} is ${wire} bytes on the wire; DNS allows 255.`);
}

/**
 * Normalises a service type to `_name._proto.local` (accepts `"_http._tcp"`, `"_http._tcp.local."`).
 *
 * @param type The service type.
 * @returns The fully qualified type without trailing dot.
 * @throws NameError when it does not look like `_service._tcp` or `_service._udp`.
 */
export function serviceTypeName(type: string): string {
  let t = trimDot(type.trim());
  if (!/\.local$/i.test(t)) t += ".local";
  if (!/^_[^.]+\._(tcp|udp)\.local$/i.test(t)) {
    throw new NameError(
      `service type ${
        JSON.stringify(type)
      } is not of the form "_service._tcp" or "_service._udp" (RFC 6763 section 7).`,
    );
  }
  validateName(t);
  return t;
}

/**
 * Splits a service instance name into its instance label and its type, e.g.
 * `"Worker._peerlink._tcp.local"` -> `{ instance: "Worker", type: "_peerlink._tcp.local" }`.
 *
 * @param fullName The instance's full name.
 * @returns The parts, or `undefined` when it is not `<instance>._service._proto.local`.
 */
export function splitInstanceName(fullName: string): { instance: string; type: string } | undefined {
  const m = /^(.+?)\.(_[^.]+\._(?:tcp|udp)\.local)$/i.exec(trimDot(fullName));
  return m ? { instance: m[1], type: m[2] } : undefined;
}
