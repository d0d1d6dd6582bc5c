/**
 * `peerlink serve`: runs a node with built-in functions until Ctrl-C or SIGTERM, then stops it
 * cleanly (goodbye, so peers see it leave at once).
 *
 * @module
 */
import { hostname } from "node:os";
import process from "node:process";
import type { PeerInfo } from "../../src/discovery.ts";
import { flag, integerOption, type ParsedArgs, stringOption } from "../args.ts";
import { type CommandContext, type CommandSpec, HELP_OPTION, NETWORK_OPTIONS, VERBOSE_OPTION } from "../command.ts";
import { basicHandlers, demoHandlers, runtimeInfo } from "../builtins.ts";
import { formatMs } from "../duration.ts";
import { EXIT, UsageError } from "../errors.ts";
import { networkOptions, peerRuntime, startNode } from "../node.ts";
import { sleep } from "../peers.ts";
import { VERSION } from "../../src/version.ts";

/** The `serve` command. */
export const serveCommand: CommandSpec = {
  name: "serve",
  summary: "Run a node with built-in functions until Ctrl-C",
  usage: ["peerlink serve [--name NAME] [--expose-demo] [--realm R | --secret S]"],
  description: [
    "Starts a node that answers __ping__, echo(value) and info() (runtime, version, uptime), and",
    "with --expose-demo also add(a, b), upper(text), checksum(bytes), bytes(n), sleep(ms), whoami()",
    "and fail(message). Prints peers as they come and go. Ctrl-C or SIGTERM stops it cleanly: calls",
    "running then may finish (up to 5 s), a goodbye tells the other nodes at once, and the exit code",
    "is 0. A second Ctrl-C does not wait.",
  ].join("\n"),
  options: {
    name: {
      type: "string",
      short: "n",
      value: "NAME",
      example: "NodeB",
      help: "Node name on the LAN (default: this host's name and the runtime, e.g. pi4-deno).",
    },
    "expose-demo": { type: "boolean", help: "Also offer the demo functions (see above)." },
    port: {
      type: "string",
      value: "PORT",
      example: "50123",
      help: "UDP port (default: derived from the name, as Python PeerLink does).",
    },
    "tcp-port": { type: "string", value: "PORT", example: "50124", help: "TCP port (default: derived from the name)." },
    quiet: { type: "boolean", short: "q", help: "Do not print peers coming and going." },
    "exit-with-stdin": {
      type: "boolean",
      help: "Stop cleanly when standard input closes (a supervisor or parent process went away).",
    },
    ...NETWORK_OPTIONS,
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [
    ["peerlink serve --name NodeB", "serve until Ctrl-C"],
    ["peerlink serve --name Lab1 --secret s3cret --expose-demo", "in a private realm, with demo functions"],
    [
      "peerlink serve --name Lab2 --domain lab.example. --dns-server 10.0.0.53 --tsig-file key.conf",
      "also registered in a DNS domain, for peers on other subnets",
    ],
  ],
  run: runServe,
};

async function runServe(context: CommandContext, args: ParsedArgs): Promise<number> {
  if (args.positionals.length) {
    throw new UsageError(
      `'serve' takes no arguments (got '${args.positionals[0]}'); give the name with --name`,
      "serve",
    );
  }
  const { out, style } = context;
  const lifeline = flag(args, "exit-with-stdin") ? stdinClosed() : undefined;
  const signal = lifeline ? AbortSignal.any([context.signal, lifeline.signal]) : context.signal;
  const name = stringOption(args, "name") ?? defaultNodeName();
  const port = integerOption(args, "port", "serve", { min: 0, max: 65535 });
  const tcpPort = integerOption(args, "tcp-port", "serve", { min: 0, max: 65535 });
  const quiet = flag(args, "quiet");
  const started = performance.now();
  const stamp = () => style.dim(new Date().toISOString().slice(11, 19));
  // Peers found while the node starts are shown after the banner, not before it.
  let early: string[] | undefined = [];
  const show = (line: string) => early ? early.push(line) : out.line(line);

  const node = await startNode(
    context,
    name,
    {
      ...networkOptions(args, "serve"),
      ...(port !== undefined ? { port } : {}),
      ...(tcpPort !== undefined ? { tcpPort } : {}),
    },
    (n) => {
      n.register(basicHandlers(n, started));
      if (flag(args, "expose-demo")) n.register(demoHandlers());
      if (quiet) return;
      n.on("peer-up", (peer: PeerInfo) =>
        show(
          `${stamp()} ${style.green("peer up  ")} ${
            style.cyan(peer.name)
          }  ${peer.address}  udp ${peer.udpPort}  tcp ${peer.tcpPort}  ${peerRuntime(peer) ?? "?"}`,
        ));
      n.on(
        "peer-down",
        (peer: PeerInfo, reason: string) =>
          show(`${stamp()} ${style.yellow("peer down")} ${style.cyan(peer.name)}  (${reason})`),
      );
    },
  );
  const { runtime, runtimeVersion } = runtimeInfo();
  const ports = node.ports;
  out.line(
    `Serving '${
      style.bold(node.name)
    }' (${runtime} ${runtimeVersion}, peerlink ${VERSION}) on UDP ${ports?.udpPort} and TCP ${ports?.tcpPort}${
      node.realm ? ` in realm ${node.realm}` : ""
    }`,
  );
  out.line(`Functions: ${["__ping__", ...node.functions().filter((f) => f !== "__ping__")].join(", ")}`);
  context.err.line(context.errStyle.dim("Ctrl-C to stop."));
  for (const line of early) out.line(line);
  early = undefined;
  try {
    await sleep(Infinity, signal, context.clock);
  } finally {
    lifeline?.dispose();
    await node.stop();
  }
  const why = typeof signal.reason === "string" ? signal.reason : "stop";
  out.line(`Stopped '${node.name}' on ${why} after ${formatMs(performance.now() - started)} (goodbye sent).`);
  return EXIT.OK;
}

/** Aborts (reason `"stdin closed"`) when standard input reaches its end. */
function stdinClosed(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stdin = process.stdin;
  const onEnd = () => controller.abort("stdin closed");
  const ignore = () => {};
  stdin.on("data", ignore);
  stdin.on("end", onEnd);
  stdin.on("close", onEnd);
  stdin.on("error", onEnd);
  stdin.resume();
  return {
    signal: controller.signal,
    dispose: () => {
      stdin.off("data", ignore);
      stdin.off("end", onEnd);
      stdin.off("close", onEnd);
      stdin.off("error", onEnd);
      stdin.pause();
    },
  };
}

/**
 * The default name of a serving node: `<first label of the host name>-<runtime>`, cut to a
 * valid node name.
 *
 * @returns E.g. `"pi4-deno"`.
 */
export function defaultNodeName(): string {
  let host = "peerlink";
  try {
    host = hostname().split(".")[0].replace(/[^A-Za-z0-9-]/g, "-").slice(0, 40) || host;
  } catch {
    // No host name available: keep "peerlink".
  }
  return `${host}-${runtimeInfo().runtime}`;
}
