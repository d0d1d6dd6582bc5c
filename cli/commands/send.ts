/**
 * `peerlink send FILE PEER [PATH]`: puts a file into a peer's writable share, with progress,
 * resumable and verified.
 *
 * @module
 */
import { basename, resolve } from "node:path";
import { flag, type ParsedArgs } from "../args.ts";
import {
  type CommandContext,
  type CommandSpec,
  HELP_OPTION,
  NETWORK_OPTIONS,
  VERBOSE_OPTION,
  WAIT_OPTION,
} from "../command.ts";
import { EXIT, interruptedExitCode, UsageError } from "../errors.ts";
import { JSON_OPTION, shellQuote, transferReporter, withPeer } from "../transfer.ts";

/** The `send` command. */
export const sendCommand: CommandSpec = {
  name: "send",
  summary: "Send a file into a peer's writable share (resumable, SHA-256 verified)",
  usage: ["peerlink send FILE PEER [PATH] [--force] [--json]"],
  description: [
    "Sends FILE to PEER, into PATH of its shared files (default /FILE's name; a PATH ending in '/'",
    "gets FILE's name added). The peer writes PATH.part, checks the SHA-256 and renames it; it never",
    "replaces a file unless --force. Ctrl-C (or a lost connection) leaves the peer's part file: the",
    "same command again continues where it stopped. Progress as for 'get'.",
  ].join("\n"),
  options: {
    force: { type: "boolean", short: "f", help: "Replace the file on the peer if it exists." },
    ...JSON_OPTION,
    ...WAIT_OPTION,
    ...NETWORK_OPTIONS,
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [
    ["peerlink send report.pdf NAS /inbox/", "into NAS's /inbox share"],
    ["peerlink send big.iso NAS /inbox/debian.iso --json", "as JSON lines"],
  ],
  run: runSend,
};

async function runSend(context: CommandContext, args: ParsedArgs): Promise<number> {
  const [file, peer, given, extra] = args.positionals;
  if (file === undefined || peer === undefined) throw new UsageError("'send' needs a FILE and a PEER", "send");
  if (extra !== undefined) throw new UsageError(`'send' takes FILE PEER [PATH] (unexpected '${extra}')`, "send");
  const local = resolve(file);
  const path = given === undefined ? `/${basename(local)}` : given.endsWith("/") ? given + basename(local) : given;
  const reporter = transferReporter(context, args);
  return await withPeer(context, args, "send", peer, async (node) => {
    try {
      const put = await node.putFile(peer, local, path, {
        overwrite: flag(args, "force"),
        onProgress: reporter.onProgress,
        signal: context.signal,
      });
      reporter.done({ op: "send", peer, path, local, ...put });
      return EXIT.OK;
    } catch (error) {
      reporter.stop();
      if (!context.signal.aborted) throw error;
      const resume = ["peerlink", "send", local, peer, path].map(shellQuote).join(" ");
      context.err.line(`Interrupted: '${peer}' keeps what arrived in ${path}.part. Resume with:`);
      context.err.line(`  ${resume}`);
      return interruptedExitCode(context.signal);
    }
  });
}
