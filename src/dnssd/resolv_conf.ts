/**
 * The system's resolver settings (resolv.conf(5)): the name servers (the default
 * `wideArea.server`) and the search domains (where `wideArea.domain: "auto"` looks for browse
 * domains, RFC 6763 section 11).
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** Where the system keeps its resolver settings. */
export const RESOLV_CONF = "/etc/resolv.conf";

/** What PeerLink reads from resolv.conf. */
export interface ResolvConf {
  /** `nameserver` addresses, in order. */
  nameservers: string[];
  /** Search domains (the last `search` or `domain` line wins, as for the C library). */
  search: string[];
}

/**
 * Parses resolv.conf text. Unknown lines and comments (`#`, `;`) are ignored.
 *
 * @param text The file's text.
 * @returns Name servers and search domains (without trailing dots).
 *
 * @example
 * ```ts
 * import { parseResolvConf } from "./resolv_conf.ts";
 * console.log(parseResolvConf("nameserver 10.0.0.53\nsearch lab.example corp.example.\n"));
 * // { nameservers: ["10.0.0.53"], search: ["lab.example", "corp.example"] }
 * ```
 */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [] };
  for (const raw of text.split("\n")) {
    const [keyword, ...values] = raw.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (keyword === "nameserver" && values[0]) out.nameservers.push(values[0]);
    if ((keyword === "search" || keyword === "domain") && values.length > 0) {
      out.search = values.map((d) => d.replace(/\.$/, "")).filter((d) => d !== "");
    }
  }
  return out;
}

/**
 * Reads resolv.conf; a missing or unreadable file reads as empty.
 *
 * @param path The file (default {@linkcode RESOLV_CONF}).
 * @returns Its settings.
 */
export function readResolvConf(path: string = RESOLV_CONF): ResolvConf {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    // No resolver configured (a container, Windows): nothing to read.
  }
  return parseResolvConf(text);
}
