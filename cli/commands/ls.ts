/**
 * `peerlink ls PEER [PATH]`: lists a folder of a peer's shared files.
 *
 * @module
 */
import { flag, type ParsedArgs } from "../args.ts";
import {
  type CommandContext,
  type CommandSpec,
  HELP_OPTION,
  NETWORK_OPTIONS,
  VERBOSE_OPTION,
  WAIT_OPTION,
} from "../command.ts";
import { EXIT, UsageError } from "../errors.ts";
import { alignColumns, formatBytes } from "../format.ts";
import { withPeer } from "../transfer.ts";

/** The `ls` command. */
export const lsCommand: CommandSpec = {
  name: "ls",
  summary: "List a folder of a peer's shared files",
  usage: ["peerlink ls PEER [PATH] [--json]"],
  description: [
    "Lists PATH (default /) of the files PEER shares: folders first, then files with their size",
    "and modification time. The shares mounted below PATH appear as folders.",
  ].join("\n"),
  options: {
    json: { type: "boolean", help: "One JSON object per entry: name, size, mtime (ms), type." },
    ...WAIT_OPTION,
    ...NETWORK_OPTIONS,
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [
    ["peerlink ls NAS", "the top of NAS's shared files"],
    ["peerlink ls NAS /videos --json", "one folder, as JSON lines"],
  ],
  run: runLs,
};

async function runLs(context: CommandContext, args: ParsedArgs): Promise<number> {
  const [peer, path = "/", extra] = args.positionals;
  if (peer === undefined) throw new UsageError("'ls' needs the PEER whose files to list", "ls");
  if (extra !== undefined) throw new UsageError(`'ls' takes a PEER and one PATH (unexpected '${extra}')`, "ls");
  return await withPeer(context, args, "ls", peer, async (node) => {
    const entries = await node.listFiles(peer, path, { signal: context.signal });
    entries.sort((a, b) => (a.type === b.type ? (a.name < b.name ? -1 : 1) : a.type === "dir" ? -1 : 1));
    if (flag(args, "json")) {
      for (const entry of entries) context.out.line(JSON.stringify(entry));
      return EXIT.OK;
    }
    const { style } = context;
    const rows = entries.map((e) => [
      e.type === "dir" ? "dir " : "file",
      e.type === "dir" ? "-" : formatBytes(e.size),
      e.mtime > 0 ? new Date(e.mtime).toISOString().slice(0, 16).replace("T", " ") : "-",
      e.type === "dir" ? style.cyan(`${e.name}/`) : e.name,
    ]);
    for (const line of alignColumns(rows)) context.out.line(line);
    context.err.line(style.dim(`${entries.length} entr${entries.length === 1 ? "y" : "ies"} in ${peer}:${path}`));
    return EXIT.OK;
  });
}
