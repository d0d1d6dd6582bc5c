/**
 * `peerlink call NAME FN [ARGS_JSON...]`: calls any function on one node, or on all of them.
 *
 * @module
 */
import type { PeerLink } from "../../src/peerlink.ts";
import { flag, type ParsedArgs, stringOption } from "../args.ts";
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
import { formatMs } from "../duration.ts";
import { CliFailure, describeError, EXIT, interruptedExitCode, UsageError } from "../errors.ts";
import { alignColumns, plural } from "../format.ts";
import { parseJsonArgument, toJson } from "../json.ts";
import { ephemeralName, networkOptions, startNode } from "../node.ts";
import { knownPeersPhrase, sleep, waitForPeer } from "../peers.ts";
import { callOptions, transportCounters, usedTransport } from "../transport.ts";
import type { Transport } from "../../src/options.ts";

/** The `call` command. */
export const callCommand: CommandSpec = {
  name: "call",
  summary: "Call a function on a node (or on ALL nodes) and print the result as JSON",
  usage: [
    "peerlink call NAME FN [ARGS_JSON...] [--transport auto|udp|tcp] [--timeout 5s]",
    "peerlink call ALL FN [ARGS_JSON...]",
  ],
  description: [
    "Calls FN on the node called NAME with the given arguments, each one JSON value ('42',",
    `'"text"', '{"a":1}'; binary as '{"__bytes__":"<base64>"}'), and prints the result as JSON`,
    "(indented on a terminal, one line when piped).",
    "Negative numbers work as they are; put '--' before other arguments starting with a dash. NAME 'ALL'",
    "calls every node found within --wait, in parallel, and prints one line per node. Exits 1 when a",
    "call fails.",
  ].join("\n"),
  options: {
    ...CALL_OPTIONS,
    kwargs: {
      type: "string",
      value: "JSON",
      example: `'{"x":1}'`,
      help: "Keyword arguments as a JSON object (for Python handlers).",
    },
    json: { type: "boolean", help: "With ALL: one JSON object per node {peer, ok, value|error, elapsedMs}." },
    ...WAIT_OPTION,
    ...NETWORK_OPTIONS,
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [
    ["peerlink call NodeB echo '\"hi\"'", 'prints "hi"'],
    ["peerlink call NodeB add 1 2", "prints 3 (with --expose-demo on the server)"],
    ["peerlink call ALL info", "one line per node"],
  ],
  run: runCall,
};

interface Invocation {
  target: string;
  fn: string;
  args: unknown[];
  transport: Transport;
  timeout?: number;
  kwargs?: Record<string, unknown>;
}

async function runCall(context: CommandContext, parsed: ParsedArgs): Promise<number> {
  const [target, fn, ...rest] = parsed.positionals;
  if (target === undefined || fn === undefined) {
    throw new UsageError("'call' needs a peer NAME (or ALL) and a function name FN", "call");
  }
  const args = rest.map((text, i) => parseJsonArgument(text, `argument ${i + 1}`, "call"));
  const kwargsText = stringOption(parsed, "kwargs");
  let kwargs: Record<string, unknown> | undefined;
  if (kwargsText !== undefined) {
    const value = parseJsonArgument(kwargsText, "--kwargs", "call");
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new UsageError("--kwargs must be a JSON object, e.g. --kwargs '{\"x\":1}'", "call");
    }
    kwargs = value as Record<string, unknown>;
  }
  const waitMs = waitOption(parsed) ?? DEFAULT_WAIT_MS;
  const invocation: Invocation = { target, fn, args, kwargs, ...callOptions(parsed, "call") };
  const options = networkOptions(parsed, "call");

  const node = await startNode(context, ephemeralName(), { ...options, announce: false });
  try {
    return target === "ALL"
      ? await callAll(context, node, invocation, waitMs, flag(parsed, "json"))
      : await callOne(context, node, invocation, waitMs);
  } finally {
    await node.stop();
  }
}

async function callOne(context: CommandContext, node: PeerLink, call: Invocation, waitMs: number): Promise<number> {
  const { signal } = context;
  const peer = await waitForPeer(node, call.target, waitMs, signal, context.clock);
  if (signal.aborted) return interruptedExitCode(signal);
  if (!peer) {
    throw new CliFailure(`peer '${call.target}' not found within ${formatMs(waitMs)}. ${knownPeersPhrase(node)}`);
  }
  const before = transportCounters(node);
  const started = context.clock.now();
  const value = await node.call(call.target, call.fn, call.args, {
    transport: call.transport,
    timeout: call.timeout,
    kwargs: call.kwargs,
    signal,
  });
  const elapsed = context.clock.now() - started;
  context.out.line(toJson(value, context.out.isTTY ? 2 : 0));
  if (context.verbose || context.err.isTTY) {
    const via = usedTransport(before, transportCounters(node), call.transport);
    context.err.line(context.errStyle.dim(`(${call.target}.${call.fn}: ${formatMs(elapsed)} via ${via})`));
  }
  return EXIT.OK;
}

async function callAll(
  context: CommandContext,
  node: PeerLink,
  call: Invocation,
  waitMs: number,
  json: boolean,
): Promise<number> {
  const { out, style, signal } = context;
  await sleep(waitMs, signal, context.clock);
  if (signal.aborted) return interruptedExitCode(signal);
  if (node.peers().length === 0) {
    throw new CliFailure(`no peers found within ${formatMs(waitMs)} to call '${call.fn}' on`);
  }
  const started = context.clock.now();
  const results = await node.call("ALL", call.fn, call.args, {
    transport: call.transport,
    timeout: call.timeout,
    kwargs: call.kwargs,
    signal,
  });
  const elapsed = context.clock.now() - started;
  if (json) {
    for (const r of results) {
      out.line(toJson(
        r.ok ? { peer: r.peer, ok: true, value: r.value, elapsedMs: round(r.elapsedMs) } : {
          peer: r.peer,
          ok: false,
          error: { type: r.error.name, message: r.error.message },
          elapsedMs: round(r.elapsedMs),
        },
        0,
      ));
    }
  } else {
    const rows = results.map((r) => [
      style.cyan(style.bold(r.peer)),
      r.ok ? style.green("ok") : style.red("error"),
      formatMs(r.elapsedMs),
      r.ok ? toJson(r.value, 0) : describeError(r.error),
    ]);
    for (const line of alignColumns(rows)) out.line(line);
  }
  const failed = results.filter((r) => !r.ok).length;
  if (!json) {
    context.err.line(context.errStyle.dim(
      `${call.fn} on ${plural(results.length, "peer")}: ${results.length - failed} ok, ${failed} failed in ${
        formatMs(elapsed)
      }`,
    ));
  }
  if (signal.aborted) return interruptedExitCode(signal);
  return failed ? EXIT.FAILURE : EXIT.OK;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
