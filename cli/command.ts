/**
 * What every `peerlink` command is made of: its options and help (data, rendered by
 * `help.ts`), and a `run` function that gets a {@linkcode CommandContext}.
 *
 * @module
 */
import { type OptionSpecs, type ParsedArgs, stringOption } from "./args.ts";
import { DISCOVERY_WAIT } from "../src/constants.ts";
import { parseDuration } from "./duration.ts";
import type { Style } from "./format.ts";
import type { CliIO, Printer } from "./io.ts";
import { WIDE_AREA_OPTIONS } from "./wide_area.ts";

/** Everything a command needs while it runs. */
export interface CommandContext {
  /** Streams, environment, extra node options. */
  io: CliIO;
  /** Results go here. */
  out: Printer;
  /** Diagnostics, progress and errors go here. */
  err: Printer;
  /** Colours for `out`. */
  style: Style;
  /** Colours for `err`. */
  errStyle: Style;
  /** `--verbose` was given. */
  verbose: boolean;
  /** Aborted on Ctrl-C / SIGTERM; its `reason` is the signal name. */
  signal: AbortSignal;
}

/** A command: `discover`, `ping`, `call`, `serve`, `demo`. */
export interface CommandSpec {
  /** The word after `peerlink`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage lines, e.g. `"peerlink ping NAME [options]"`. */
  usage: string[];
  /** A paragraph or two of explanation. */
  description: string;
  /** Options, including the common ones it accepts. */
  options: OptionSpecs;
  /** Examples: `[command line, what it does]`. */
  examples: [string, string][];
  /**
   * Runs the command.
   *
   * @param context Streams, styles, interrupt signal.
   * @param args Parsed arguments (`--help` already handled).
   * @returns The exit code.
   */
  run(context: CommandContext, args: ParsedArgs): Promise<number>;
}

/** `--help`, accepted by every command. */
export const HELP_OPTION: OptionSpecs = {
  help: { type: "boolean", short: "h", help: "Show this help and exit." },
};

/** `--verbose`, accepted by every command. */
export const VERBOSE_OPTION: OptionSpecs = {
  verbose: {
    type: "boolean",
    short: "v",
    help: "Show the node's debug log on stderr (as PEERLINK_DEBUG=1 does) and stack traces of errors.",
  },
};

/** Options of every command that starts a node: realm, secret, interface, and the wide-area ones. */
export const NETWORK_OPTIONS: OptionSpecs = {
  realm: {
    type: "string",
    value: "REALM",
    example: "lab",
    help: "Only see and reach nodes of this realm (default: the public realm).",
  },
  secret: {
    type: "string",
    value: "SECRET",
    example: "s3cret",
    help: "Shared secret; the realm is derived from it, as Python PeerLink does. Not with --realm.",
  },
  interface: {
    type: "string",
    multiple: true,
    value: "IF",
    example: "eth0",
    help: "Network interface (name or address) to use; repeat or comma-separate for several. Default: all.",
  },
  ...WIDE_AREA_OPTIONS,
};

/** `--wait` for commands that look a peer up. */
/** How long `discover`, `ping` and `call` look for peers when `--wait` is not given. */
export const DEFAULT_WAIT_MS: number = DISCOVERY_WAIT;

/**
 * Reads `--wait`.
 *
 * @param args Parsed arguments.
 * @returns Milliseconds, or `undefined` when the option was not given.
 * @throws {UsageError} When the duration is malformed.
 */
export function waitOption(args: ParsedArgs): number | undefined {
  const text = stringOption(args, "wait");
  return text === undefined ? undefined : parseDuration(text, "--wait", true);
}

export const WAIT_OPTION: OptionSpecs = {
  wait: {
    type: "string",
    short: "w",
    value: "DURATION",
    example: "3s",
    help: "How long to look for peers before giving up (default 3s).",
  },
};

/** `--transport` and `--timeout` for commands that make calls. */
export const CALL_OPTIONS: OptionSpecs = {
  transport: {
    type: "string",
    short: "t",
    value: "auto|udp|tcp",
    example: "tcp",
    help: "auto: UDP when the request fits 1200 bytes, else TCP (default). udp or tcp: only that one.",
  },
  timeout: {
    type: "string",
    value: "DURATION",
    example: "5s",
    help: "Give up on a call after this long (default 5s).",
  },
};
