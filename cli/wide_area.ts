/**
 * The command-line options that take a node beyond one LAN: `--domain` (wide-area DNS-SD),
 * `--dns-server`, `--tsig-file` (a BIND key file, as `tsig-keygen` prints it) and `--seed`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { parseBindKeyFile } from "../src/dnssd/key_file.ts";
import { checkWideAreaOptions, type WideAreaOptions } from "../src/dnssd/options.ts";
import type { PeerLinkOptions } from "../src/options.ts";
import { listOption, type OptionSpecs, type ParsedArgs, stringOption } from "./args.ts";
import { UsageError } from "./errors.ts";

/** Options of every command that starts a node, for wide-area DNS-SD and seeds. */
export const WIDE_AREA_OPTIONS: OptionSpecs = {
  domain: {
    type: "string",
    value: "DOMAIN",
    example: "lab.example.",
    help: "Also browse this DNS domain (wide-area DNS-SD), and register in it with --tsig-file; 'auto': the network's.",
  },
  "dns-server": {
    type: "string",
    value: "ADDR[:PORT]",
    example: "10.0.0.53",
    help: "DNS server for --domain (default: the first nameserver of /etc/resolv.conf).",
  },
  "tsig-file": {
    type: "string",
    value: "FILE",
    example: "key.conf",
    help: "BIND key file (from tsig-keygen) signing the registration in --domain.",
  },
  seed: {
    type: "string",
    multiple: true,
    value: "ADDR",
    example: "10.9.0.5",
    help: "Ask this host directly (unicast DNS-SD, port 5353) and answer it; repeat or comma-separate.",
  },
};

/**
 * Node options from `--domain`, `--dns-server`, `--tsig-file` and `--seed`.
 *
 * @param args Parsed arguments.
 * @param command For error messages.
 * @returns `wideArea` and `seeds` for `new PeerLink()` (empty when none was given).
 * @throws {UsageError} For `--dns-server`/`--tsig-file` without `--domain`, an unreadable or
 *   invalid key file, or an invalid value.
 *
 * @example
 * ```ts
 * import { wideAreaOptions } from "./wide_area.ts";
 * const options = wideAreaOptions({ values: { domain: "lab.example.", seed: ["10.9.0.5"] }, positionals: [] }, "discover");
 * console.log(options.wideArea?.domain, options.seeds); // lab.example. ["10.9.0.5"]
 * ```
 */
export function wideAreaOptions(args: ParsedArgs, command: string): Pick<PeerLinkOptions, "wideArea" | "seeds"> {
  const domain = stringOption(args, "domain");
  const server = stringOption(args, "dns-server");
  const keyFile = stringOption(args, "tsig-file");
  const seeds = listOption(args, "seed");
  if (domain === undefined && (server !== undefined || keyFile !== undefined)) {
    throw new UsageError(`--${server !== undefined ? "dns-server" : "tsig-file"} needs --domain`, command);
  }
  let wideArea: WideAreaOptions | undefined;
  if (domain !== undefined) {
    wideArea = { domain, ...(server !== undefined ? { server } : {}) };
    if (keyFile !== undefined) {
      let text: string;
      try {
        text = readFileSync(keyFile, "utf8");
      } catch (error) {
        throw new UsageError(`cannot read --tsig-file ${keyFile}: ${(error as Error).message}`, command);
      }
      try {
        wideArea.tsig = parseBindKeyFile(text, keyFile);
      } catch (error) {
        throw new UsageError(`--tsig-file: ${(error as Error).message}`, command);
      }
    }
  }
  try {
    checkWideAreaOptions(wideArea, seeds);
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  return { ...(wideArea ? { wideArea } : {}), ...(seeds.length ? { seeds } : {}) };
}
