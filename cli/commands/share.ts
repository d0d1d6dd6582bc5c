/**
 * `peerlink share DIR`: shares a folder until Ctrl-C; prints the node's name and the URL that
 * `curl` or a browser fetch its files from.
 *
 * @module
 */
import { networkInterfaces } from "node:os";
import { resolve } from "node:path";
import { flag, type ParsedArgs, stringOption } from "../args.ts";
import { type CommandContext, type CommandSpec, HELP_OPTION, NETWORK_OPTIONS, VERBOSE_OPTION } from "../command.ts";
import { EXIT, UsageError } from "../errors.ts";
import { networkOptions, startNode } from "../node.ts";
import { sleep } from "../peers.ts";
import { defaultNodeName } from "./serve.ts";

/** The `share` command. */
export const shareCommand: CommandSpec = {
  name: "share",
  summary: "Share a folder with the LAN (and over plain HTTP) until Ctrl-C",
  usage: ["peerlink share DIR [--writable] [--prefix P] [--name N] [--hidden] [--realm R | --secret S]"],
  description: [
    "Starts a node that shares DIR: peers list it with 'peerlink ls', fetch files with 'peerlink get'",
    "and, with --writable, put files into it with 'peerlink send'. Files of a read-only share can also",
    "be fetched over plain HTTP from the node's TCP port (curl, a browser), unless the node has a",
    "secret. Nothing outside DIR is ever served or written; names starting with '.' stay hidden",
    "unless --hidden. Ctrl-C stops it cleanly.",
  ].join("\n"),
  options: {
    writable: { type: "boolean", help: "Peers may put files into DIR (never replacing one unless they ask)." },
    prefix: {
      type: "string",
      value: "PATH",
      example: "/inbox",
      help: "Where DIR appears in the node's shared files (default /).",
    },
    name: {
      type: "string",
      short: "n",
      value: "NAME",
      example: "NAS",
      help: "Node name on the LAN (default: this host's name and the runtime).",
    },
    hidden: { type: "boolean", help: "Also list and serve names starting with '.'." },
    "tcp-port": {
      type: "string",
      value: "PORT",
      example: "8080",
      help: "TCP port, also the HTTP port (default: derived from the name).",
    },
    ...NETWORK_OPTIONS,
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [
    ["peerlink share ./public --name NAS", "share a folder read-only"],
    ["peerlink share ./inbox --writable --prefix /inbox", "let peers send files into ./inbox"],
  ],
  run: runShare,
};

async function runShare(context: CommandContext, args: ParsedArgs): Promise<number> {
  const [dir, extra] = args.positionals;
  if (dir === undefined) throw new UsageError("'share' needs the DIR to share", "share");
  if (extra !== undefined) throw new UsageError(`'share' takes one DIR (unexpected '${extra}')`, "share");
  const tcpText = stringOption(args, "tcp-port");
  const tcpPort = tcpText === undefined ? undefined : Number(tcpText);
  if (tcpPort !== undefined && !(Number.isInteger(tcpPort) && tcpPort >= 0 && tcpPort <= 65535)) {
    throw new UsageError(`--tcp-port must be a whole number from 0 to 65535 (got '${tcpText}')`, "share");
  }
  const folder = resolve(dir);
  const prefix = stringOption(args, "prefix") ?? "/";
  const writable = flag(args, "writable");
  const options = networkOptions(args, "share");
  const { out, style } = context;
  const node = await startNode(
    context,
    stringOption(args, "name") ?? defaultNodeName(),
    { ...options, ...(tcpPort !== undefined ? { tcpPort } : {}) },
    (n) => void n.serveFiles(folder, { prefix, writable, hidden: flag(args, "hidden") }),
  );
  try {
    const port = node.ports!.tcpPort;
    out.line(
      `Sharing '${folder}' as ${prefix} (${writable ? "writable" : "read-only"}) from '${
        style.bold(node.name)
      }' on TCP ${port}`,
    );
    out.line(`  peerlink ls ${node.name} ${prefix}`);
    if (options.secret !== undefined) out.line("  plain HTTP is off: the node has a secret");
    else if (!writable) out.line(`  curl http://${lanAddress()}:${port}${prefix === "/" ? "/" : `${prefix}/`}FILE`);
    context.err.line(context.errStyle.dim("Ctrl-C to stop."));
    await sleep(Infinity, context.signal);
  } finally {
    await node.stop();
  }
  out.line(`Stopped sharing '${folder}'.`);
  return EXIT.OK;
}

/** This host's first LAN IPv4 address, for the curl line (loopback when there is none). */
function lanAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
