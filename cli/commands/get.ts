/**
 * `peerlink get PEER PATH [-o DEST]`: fetches a file, with progress, resumable and verified.
 *
 * @module
 */
import { basename, resolve } from "node:path";
import { flag, type ParsedArgs, stringOption } from "../args.ts";
import {
  type CommandContext,
  type CommandSpec,
  HELP_OPTION,
  NETWORK_OPTIONS,
  VERBOSE_OPTION,
  WAIT_OPTION,
} from "../command.ts";
import { EXIT, interruptedExitCode, UsageError } from "../errors.ts";
import { formatBytes } from "../format.ts";
import { JSON_OPTION, shellQuote, transferReporter, withPeer } from "../transfer.ts";
import { lstatSync } from "node:fs";

/** The `get` command. */
export const getCommand: CommandSpec = {
  name: "get",
  summary: "Fetch a file from a peer (resumable, SHA-256 verified)",
  usage: ["peerlink get PEER PATH [-o DEST] [--force] [--no-resume] [--json]"],
  description: [
    "Fetches PATH from the files PEER shares into DEST (default: the file's name, here). It is",
    "written to DEST.part and renamed only after its SHA-256 matched the peer's. Ctrl-C (or a lost",
    "connection) keeps DEST.part: the same command again continues where it stopped. On a terminal a",
    "progress bar; otherwise one JSON line per second. The last line gives size, SHA-256 and rate.",
  ].join("\n"),
  options: {
    output: { type: "string", short: "o", value: "DEST", example: "./a.mp4", help: "Where to write the file." },
    force: { type: "boolean", short: "f", help: "Replace DEST if it exists." },
    "no-resume": { type: "boolean", help: "Start over even if DEST.part holds part of the file." },
    ...JSON_OPTION,
    ...WAIT_OPTION,
    ...NETWORK_OPTIONS,
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [
    ["peerlink get NAS /videos/a.mp4", "into ./a.mp4"],
    ["peerlink get NAS /videos/a.mp4 -o /tmp/a.mp4", "somewhere else"],
  ],
  run: runGet,
};

async function runGet(context: CommandContext, args: ParsedArgs): Promise<number> {
  const [peer, path, extra] = args.positionals;
  if (peer === undefined || path === undefined) throw new UsageError("'get' needs a PEER and a PATH", "get");
  if (extra !== undefined) throw new UsageError(`'get' takes a PEER and one PATH (unexpected '${extra}')`, "get");
  const output = stringOption(args, "output");
  const dest = resolve(output ?? basename(path));
  if (output === undefined && (basename(path) === "" || path.endsWith("/"))) {
    throw new UsageError(`'${path}' names no file; give the file's path (or -o DEST)`, "get");
  }
  const reporter = transferReporter(context, args);
  return await withPeer(context, args, "get", peer, async (node) => {
    try {
      const got = await node.getFile(peer, path, dest, {
        resume: !flag(args, "no-resume"),
        overwrite: flag(args, "force"),
        onProgress: reporter.onProgress,
        signal: context.signal,
      });
      reporter.done({ op: "get", peer, path, local: dest, ...got });
      return EXIT.OK;
    } catch (error) {
      reporter.stop();
      if (!context.signal.aborted) throw error;
      const kept = partSize(`${dest}.part`);
      const resume = ["peerlink", "get", peer, path, "-o", dest].map(shellQuote).join(" ");
      context.err.line(`Interrupted: ${formatBytes(kept)} kept in ${dest}.part. Resume with:`);
      context.err.line(`  ${resume}`);
      return interruptedExitCode(context.signal);
    }
  });
}

function partSize(path: string): number {
  try {
    return lstatSync(path).size;
  } catch {
    return 0;
  }
}
