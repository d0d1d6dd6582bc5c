/**
 * `peerlink discover`: lists the nodes on the LAN, or watches them come and go.
 *
 * @module
 */
import { type Clock, epochMs } from "../../src/clock.ts";
import type { PeerInfo } from "../../src/discovery.ts";
import { deriveRealm } from "../../src/derive.ts";
import type { PeerLinkOptions } from "../../src/options.ts";
import type { PeerLink } from "../../src/peerlink.ts";
import { flag, type ParsedArgs } from "../args.ts";
import {
  type CommandContext,
  type CommandSpec,
  DEFAULT_WAIT_MS,
  HELP_OPTION,
  NETWORK_OPTIONS,
  VERBOSE_OPTION,
  WAIT_OPTION,
  waitOption,
} from "../command.ts";
import { formatMs } from "../duration.ts";
import { CliFailure, EXIT, interruptedExitCode, UsageError } from "../errors.ts";
import { plural } from "../format.ts";
import { ephemeralName, networkOptions, peerRuntime, startNode } from "../node.ts";
import { peerJson, peerLines, peerVia, sleep } from "../peers.ts";

/** The `discover` command. */
export const discoverCommand: CommandSpec = {
  name: "discover",
  summary: "List the nodes on the LAN, or watch them come and go",
  usage: [
    "peerlink discover [--wait 3s] [--realm R | --secret S] [--json] [--watch]",
    "peerlink discover --domain lab.example. [--dns-server 10.0.0.53] [--tsig-file key.conf] [--seed HOST]...",
  ],
  description: [
    "Listens for PeerLink nodes (mDNS/DNS-SD) for --wait, then lists each with its address, UDP",
    "and TCP ports, runtime, where it was found (mdns, dns: the --domain, seed: a --seed host)",
    "and when it was last heard from. With --watch it prints every node that appears or leaves",
    "until Ctrl-C (or for --wait, when given). Exits 1 when none was found.",
  ].join("\n"),
  options: {
    ...WAIT_OPTION,
    json: { type: "boolean", help: "Print one JSON object per line (per peer, or per event with --watch)." },
    watch: { type: "boolean", help: "Stream peer-up / peer-down events until Ctrl-C." },
    ...NETWORK_OPTIONS,
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [
    ["peerlink discover", "list the nodes found within 3 s"],
    ["peerlink discover --wait 1s --json", "one JSON object per node, for scripts"],
    ["peerlink discover --watch --secret lab", "follow the nodes of one realm until Ctrl-C"],
    [
      "peerlink discover --domain lab.example. --dns-server 10.0.0.53",
      "also list the nodes registered in a DNS domain",
    ],
    ["peerlink discover --seed 10.9.0.5 --seed 10.9.0.6", "ask two hosts directly (no multicast, no DNS)"],
  ],
  run: runDiscover,
};

async function runDiscover(context: CommandContext, args: ParsedArgs): Promise<number> {
  if (args.positionals.length) {
    throw new UsageError(`'discover' takes no arguments (got '${args.positionals[0]}')`, "discover");
  }
  const waitMs = waitOption(args);
  const json = flag(args, "json");
  const options = networkOptions(args, "discover");
  const { clock } = context;
  const started = clock.now();
  if (flag(args, "watch")) return await watch(context, options, waitMs, json, started);

  const wait = waitMs ?? DEFAULT_WAIT_MS;
  if (!json && context.err.isTTY) {
    context.err.line(context.errStyle.dim(`Looking for peers for ${formatMs(wait)}${realmNote(options)}...`));
  }
  const node = await startNode(context, ephemeralName(), { ...options, announce: false });
  try {
    await sleep(wait, context.signal, clock);
    const peers = node.peers();
    const elapsed = clock.now() - started;
    const now = epochMs(clock);
    if (json) {
      for (const peer of peers) context.out.line(JSON.stringify(peerJson(peer, now)));
    } else if (peers.length) {
      context.out.line(`Discovered ${plural(peers.length, "peer")} in ${formatMs(elapsed)}${realmNote(options)}:`);
      for (const line of peerLines(peers, now, context.style)) context.out.line(line);
    }
    if (context.signal.aborted) return interruptedExitCode(context.signal);
    if (peers.length === 0) {
      throw new CliFailure(
        `no peers found in ${formatMs(elapsed)}${realmNote(options)}. Start one with 'peerlink serve', ` +
          "check --realm/--secret and --interface, or wait longer with --wait.",
      );
    }
    return EXIT.OK;
  } finally {
    await node.stop();
  }
}

/** `--watch`: events as they happen; a summary at the end. */
async function watch(
  context: CommandContext,
  options: Partial<PeerLinkOptions>,
  waitMs: number | undefined,
  json: boolean,
  started: number,
): Promise<number> {
  const { out, style, clock } = context;
  let ups = 0;
  let downs = 0;
  const stamp = () => style.dim(`+${((clock.now() - started) / 1000).toFixed(1)}s`.padEnd(7));
  const onUp = (peer: PeerInfo) => {
    ups++;
    if (json) {
      out.line(
        JSON.stringify({ event: "peer-up", elapsedMs: elapsed(clock, started), peer: peerJson(peer, epochMs(clock)) }),
      );
    } else {
      const where = `${peer.address}  udp ${peer.udpPort}  tcp ${peer.tcpPort}  ${peerRuntime(peer) ?? "?"}  ${
        peerVia(peer)
      }`;
      out.line(`${stamp()} ${style.green("up  ")}  ${style.cyan(style.bold(peer.name))}  ${where}`);
    }
  };
  const onDown = (peer: PeerInfo, reason: string) => {
    downs++;
    if (json) {
      out.line(
        JSON.stringify({
          event: "peer-down",
          elapsedMs: elapsed(clock, started),
          reason,
          peer: peerJson(peer, epochMs(clock)),
        }),
      );
    } else {
      out.line(`${stamp()} ${style.yellow("down")}  ${style.cyan(style.bold(peer.name))}  (${reason})`);
    }
  };
  if (!json) {
    const until = waitMs === undefined ? "Ctrl-C to stop" : `for ${formatMs(waitMs)}, Ctrl-C to stop`;
    context.err.line(context.errStyle.dim(`Watching for peers${realmNote(options)} (${until})...`));
  }
  let node: PeerLink | undefined;
  try {
    node = await startNode(context, ephemeralName(), { ...options, announce: false }, (n) => {
      n.on("peer-up", onUp);
      n.on("peer-down", onDown);
    });
    await sleep(waitMs ?? Infinity, context.signal, clock);
  } finally {
    await node?.stop();
  }
  if (!json) {
    context.err.line(
      context.errStyle.dim(`Watched for ${formatMs(clock.now() - started)}: ${ups} up, ${downs} down.`),
    );
  }
  // Watching ends normally with Ctrl-C: that is success.
  return EXIT.OK;
}

function elapsed(clock: Clock, started: number): number {
  return Math.round(clock.now() - started);
}

/** `" in realm <realm>"` (the derived one for a secret), or nothing for the public realm. */
function realmNote(options: Partial<PeerLinkOptions>): string {
  const realm = options.secret !== undefined ? deriveRealm(options.secret) : options.realm;
  return realm ? ` in realm ${realm}` : "";
}
