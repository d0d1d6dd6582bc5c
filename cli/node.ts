/**
 * Starting the PeerLink node behind a command, with the common options (`--realm`, `--secret`,
 * `--interface`, `--verbose`) applied. The node library is imported lazily so `--help` and
 * `--version` answer at once without loading discovery and RPC.
 *
 * @module
 */
import type { PeerInfo } from "../src/discovery.ts";
import { debugFromEnv, type Logger } from "../src/log.ts";
import type { PeerLinkOptions } from "../src/options.ts";
import type { PeerLink } from "../src/peerlink.ts";
import { listOption, type ParsedArgs, stringOption } from "./args.ts";
import type { CommandContext } from "./command.ts";
import { CliFailure, describeError, EXIT, UsageError } from "./errors.ts";
import { wideAreaOptions } from "./wide_area.ts";

/** TXT key under which every PeerLink-TS node advertises its runtime (`deno`, `bun`, `node`); `PeerInfo.runtime` reads it. */
export const RUNTIME_TXT_KEY = "rt";
/** TXT key under which every PeerLink-TS node advertises the PeerLink version; `PeerInfo.version` reads it. */
export const VERSION_TXT_KEY = "ver";

/**
 * Node options from `--realm`, `--secret`, `--interface` and the wide-area options (`--domain`,
 * `--dns-server`, `--tsig-file`, `--seed`).
 *
 * @param args Parsed arguments.
 * @param command For error messages.
 * @returns The options to pass to `new PeerLink()`.
 * @throws {UsageError} When both `--realm` and `--secret` are given, or one is empty.
 */
export function networkOptions(args: ParsedArgs, command: string): Partial<PeerLinkOptions> {
  const realm = stringOption(args, "realm");
  const secret = stringOption(args, "secret");
  if (realm !== undefined && secret !== undefined) {
    throw new UsageError("give --realm or --secret, not both (a secret derives the realm)", command);
  }
  if (realm === "" || secret === "") {
    throw new UsageError(`--${realm === "" ? "realm" : "secret"} must not be empty`, command);
  }
  const interfaces = listOption(args, "interface");
  return {
    ...(realm !== undefined ? { realm } : {}),
    ...(secret !== undefined ? { secret } : {}),
    ...(interfaces.length ? { interfaces } : {}),
    ...wideAreaOptions(args, command),
  };
}

/**
 * Whether the node's debug log is on: `--verbose`, or `PEERLINK_DEBUG=1` in the command's environment.
 *
 * @param context The command context.
 * @returns Whether debug lines are shown.
 */
export function debugEnabled(context: CommandContext): boolean {
  if (context.verbose) return true;
  const value = context.io.env.PEERLINK_DEBUG;
  return value !== undefined ? value !== "" && value !== "0" && value.toLowerCase() !== "false" : debugFromEnv();
}

/**
 * A logger writing `[peerlink Name] ...` lines to the command's stderr.
 *
 * @param context The command context.
 * @param name Node name for the prefix.
 * @returns The logger.
 */
export function cliLogger(context: CommandContext, name: string): Logger {
  const debug = debugEnabled(context);
  const line = (level: string, message: string) => context.err.line(`[peerlink ${name}] ${level}${message}`);
  return {
    debug: (message) => debug && line("debug: ", message),
    info: (message) => debug && line("", message),
    warn: (message) => line("warning: ", message),
    error: (message) => line("error: ", message),
  } as Logger;
}

/**
 * A name for the short-lived, client-only node of `discover`, `ping` and `call` (never
 * announced, so it needs not be unique): the caller name a handler sees in `currentPeer()`.
 *
 * @returns E.g. `"peerlink-cli-3f9a"`.
 */
export function ephemeralName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(2));
  return `peerlink-cli-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Creates and starts a node for a command. Its TXT record also carries the runtime and the
 * version, shown by `peerlink discover`.
 *
 * @param context The command context.
 * @param name Node name.
 * @param options Node options (network options, ports, ...); `context.io.node` overrides them.
 * @param setup Called before `start()` (register functions, add listeners).
 * @returns The started node.
 * @throws {CliFailure} When it cannot start (busy port, name taken, no usable interface).
 */
export async function startNode(
  context: CommandContext,
  name: string,
  options: Partial<PeerLinkOptions>,
  setup?: (node: PeerLink) => void,
): Promise<PeerLink> {
  const { PeerLink } = await import("../src/peerlink.ts");
  let node: PeerLink;
  try {
    node = new PeerLink(name, {
      logger: cliLogger(context, name),
      verbose: debugEnabled(context),
      ...options,
      ...context.io.node,
    });
  } catch (error) {
    throw new CliFailure(describeError(error), EXIT.FAILURE, error);
  }
  setup?.(node);
  try {
    await node.start();
  } catch (error) {
    throw new CliFailure(`cannot start node '${name}': ${describeError(error)}`, EXIT.FAILURE, error);
  }
  return node;
}

/**
 * The runtime a peer advertised, when it did (PeerLink-TS nodes do;
 * Python nodes do not).
 *
 * @param peer A discovered peer.
 * @returns `"deno"`, `"bun"`, `"node"`, ... or `undefined`.
 */
export function peerRuntime(peer: PeerInfo): string | undefined {
  return peer.runtime || peer.txt?.[RUNTIME_TXT_KEY] || undefined;
}
