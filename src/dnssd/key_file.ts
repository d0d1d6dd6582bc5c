/**
 * Reading a TSIG key in BIND's key file format, as `tsig-keygen` prints it and `named.conf`
 * includes it:
 *
 * ```text
 * key "pl-key" {
 *         algorithm hmac-sha256;
 *         secret "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=";
 * };
 * ```
 *
 * @module
 */
import { WideAreaError } from "./errors.ts";
import { type TsigKey, tsigSecret } from "./tsig.ts";

/**
 * Parses a BIND key file holding one key. Comments (`#`, `//`, `/* *\/`) are ignored.
 *
 * @param text The file's text.
 * @param source Where it came from, for error messages (e.g. the file name).
 * @returns The key, checked (algorithm hmac-sha256, base64 secret).
 * @throws WideAreaError (`DNS_CONFIG`) saying what is missing or wrong.
 *
 * @example
 * ```ts
 * import { parseBindKeyFile } from "./key_file.ts";
 * const key = parseBindKeyFile('key "pl-key" { algorithm hmac-sha256; secret "c2VjcmV0IHNlY3JldCBzZWNyZXQ="; };');
 * console.log(key.name, key.algorithm); // pl-key hmac-sha256
 * ```
 */
export function parseBindKeyFile(text: string, source = "the key file"): TsigKey {
  const clean = withoutComments(text);
  const keys = [...clean.matchAll(/\bkey\s+("([^"]+)"|([^\s{";]+))\s*\{([^}]*)\}\s*;?/g)];
  const expected = 'key "NAME" { algorithm hmac-sha256; secret "BASE64"; }; (as tsig-keygen prints it)';
  if (keys.length !== 1) {
    throw new WideAreaError(
      "DNS_CONFIG",
      keys.length === 0
        ? `${source} holds no key statement: expected ${expected}.`
        : `${source} holds ${keys.length} keys (${
          keys.map((k) => k[2] ?? k[3]).join(", ")
        }): keep only the one to sign with.`,
    );
  }
  const [, , quoted, bare, body] = keys[0];
  const name = quoted ?? bare;
  const algorithm = /\balgorithm\s+"?([\w.-]+)"?\s*;/.exec(body)?.[1];
  const secret = /\bsecret\s+"([^"]*)"\s*;/.exec(body)?.[1];
  if (!algorithm || secret === undefined) {
    throw new WideAreaError(
      "DNS_CONFIG",
      `key "${name}" in ${source} lacks ${!algorithm ? "an algorithm" : "a secret"}: expected ${expected}.`,
    );
  }
  const key = { name, algorithm: algorithm as TsigKey["algorithm"], secret };
  tsigSecret(key);
  return key;
}

/**
 * The text with its comments blanked out. Quoted strings are kept whole: a base64 secret
 * may hold "//" (about one random 256-bit key in a hundred does), which is not a comment.
 */
function withoutComments(text: string): string {
  return text.replace(/("[^"]*")|\/\*[\s\S]*?\*\/|(?:#|\/\/)[^\n]*/g, (_match, quoted) => quoted ?? " ");
}
