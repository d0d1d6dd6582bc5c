/**
 * `peerlink ping NAME`: round trips to one node's built-in `__ping__` over the chosen transport.
 *
 * @module
 */
import { integerOption, type ParsedArgs, stringOption } from "../args.ts";
import {
  CALL_OPTIONS,
  type CommandContext,
  type CommandSpec,
  DEFAULT_WAIT_MS,
  HELP_OPTION,
  NETWORK_OPTIONS,
  VERBOSE_OPTION,
  WAIT_OPTION,
  waitOption,
} from "../command.ts";
import { formatMs, parseDuration } from "../duration.ts";
import { CliFailure, describeError, EXIT, interruptedExitCode, UsageError } from "../errors.ts";
import { summarize } from "../format.ts";
import { ephemeralName, networkOptions, startNode } from "../node.ts";
import { knownPeersPhrase, sleep, waitForPeer } from "../peers.ts";
import { callOptions, transportCounters, usedTransport } from "../transport.ts";

const DEFAULT_INTERVAL_MS = 1000;
const MAX_COUNT = 100_000;

/** The `ping` command. */
export const pingCommand: CommandSpec = {
  name: "ping",
  summary: "Ping a node over UDP or TCP and show round-trip times",
  usage: ["peerlink ping NAME [--transport auto|udp|tcp] [--count N] [--timeout 5s]"],
  description: [
    "Finds the node called NAME (exactly) and calls its built-in __ping__, --count times, over the",
    "transport you choose; each reply line says which transport really carried it. Ends with the",
    "minimum, median and maximum round trip. Exits 1 when the node is missing or never answers.",
  ].join("\n"),
  options: {
    ...CALL_OPTIONS,
    count: { type: "string", short: "c", value: "N", example: "5", help: "How many pings (default 1)." },
    interval: {
      type: "string",
      short: "i",
      value: "DURATION",
      example: "200ms",
      help: "Pause between pings (default 1s).",
    },
    ...WAIT_OPTION,
    ...NETWORK_OPTIONS,
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [
    ["peerlink ping NodeB", "one ping, UDP (the request is small)"],
    ["peerlink ping NodeB --transport tcp -c 5", "five pings over TCP"],
  ],
  run: runPing,
};

async function runPing(context: CommandContext, args: ParsedArgs): Promise<number> {
  const [name, extra] = args.positionals;
  if (name === undefined) throw new UsageError("'ping' needs the NAME of a peer", "ping");
  if (extra !== undefined) throw new UsageError(`'ping' takes one peer NAME (unexpected '${extra}')`, "ping");
  if (name === "ALL") {
    throw new UsageError("'ping' takes one peer; to ping every node use 'peerlink call ALL __ping__'", "ping");
  }
  const count = integerOption(args, "count", "ping", { min: 1, max: MAX_COUNT }) ?? 1;
  const intervalText = stringOption(args, "interval");
  const intervalMs = intervalText === undefined ? DEFAULT_INTERVAL_MS : parseDuration(intervalText, "--interval", true);
  const waitMs = waitOption(args) ?? DEFAULT_WAIT_MS;
  const { transport, timeout } = callOptions(args, "ping");
  const options = networkOptions(args, "ping");
  const { out, style, signal, clock } = context;

  const node = await startNode(context, ephemeralName(), { ...options, announce: false });
  try {
    const peer = await waitForPeer(node, name, waitMs, signal, clock);
    if (signal.aborted) return interruptedExitCode(signal);
    if (!peer) throw new CliFailure(`peer '${name}' not found within ${formatMs(waitMs)}. ${knownPeersPhrase(node)}`);

    const rtts: number[] = [];
    let sent = 0;
    let lastError = "";
    for (let i = 0; i < count && !signal.aborted; i++) {
      if (i > 0) await sleep(intervalMs, signal, clock);
      if (signal.aborted) break;
      sent++;
      const before = transportCounters(node);
      const started = clock.now();
      try {
        await node.call(name, "__ping__", [], { transport, timeout, signal });
        const rtt = clock.now() - started;
        rtts.push(rtt);
        const via = usedTransport(before, transportCounters(node), transport);
        out.line(`Ping → '${name}' ${style.green("OK")}  (${formatMs(rtt)} via ${via})`);
      } catch (error) {
        if (signal.aborted) break;
        lastError = describeError(error);
        out.line(`Ping → '${name}' ${style.red("FAILED")}  (${lastError})`);
      }
    }
    const stats = summarize(rtts);
    const range = stats ? `; min/median/max ${[stats.min, stats.median, stats.max].map(formatMs).join(" / ")}` : "";
    out.line(style.dim(`--- '${name}': ${sent} sent, ${rtts.length} ok, ${sent - rtts.length} failed${range}`));
    if (signal.aborted) return interruptedExitCode(signal);
    if (rtts.length === 0) {
      throw new CliFailure(`peer '${name}' did not answer over ${transport} (${lastError}). ${knownPeersPhrase(node)}`);
    }
    return EXIT.OK;
  } finally {
    await node.stop();
  }
}
