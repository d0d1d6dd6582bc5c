/**
 * `peerlink demo`: the one-command tour. Starts one `serve` node per available runtime (Deno,
 * Bun, Node) as child processes, or nodes in this process where it cannot, then shows them
 * discovering each other, a UDP call, a TCP call with a 1 MiB payload, a fan-out and the
 * timings. It runs in a private network namespace when it can, so nothing reaches the LAN.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { epochMs } from "../../src/clock.ts";
import { detectRuntime } from "../../src/runtime_kind.ts";
import type { PeerLinkOptions } from "../../src/options.ts";
import type { PeerLink } from "../../src/peerlink.ts";
import { flag, type ParsedArgs } from "../args.ts";
import { basicHandlers, demoHandlers, demoPattern, type NodeInfo } from "../builtins.ts";
import { type CommandContext, type CommandSpec, HELP_OPTION, VERBOSE_OPTION } from "../command.ts";
import { formatMs } from "../duration.ts";
import { CliFailure, describeError, EXIT, interruptedExitCode, UsageError } from "../errors.ts";
import { alignColumns, formatBytes } from "../format.ts";
import {
  type CliChild,
  cliEntry,
  commandFor,
  packageRoot,
  type RuntimeName,
  RUNTIMES,
  signalChild,
  spawnCli,
} from "../launch.ts";
import { startNode } from "../node.ts";
import { peerLines, sleep } from "../peers.ts";

/** Size of the TCP demo payload. */
const TCP_PAYLOAD_BYTES = 1024 * 1024;
/** How long child nodes get to start and be discovered (Deno's first start compiles). */
const DISCOVERY_BUDGET_MS = 20_000;
/** `scripts/netns.sh` exit code: no namespace can be made here. */
const NETNS_UNAVAILABLE = 97;

/** The `demo` command. */
export const demoCommand: CommandSpec = {
  name: "demo",
  summary: "A one-command tour: several nodes on this machine calling each other",
  usage: ["peerlink demo [--in-process] [--lan]"],
  description: [
    "Starts a node per available runtime (Deno, Bun, Node: 'peerlink serve' child processes; nodes",
    "in this process where a runtime is missing), then shows discovery, a UDP call, a TCP call",
    "with a 1 MiB payload, a fan-out to all nodes, and how long each took. In a source checkout",
    "it runs inside a private network namespace (scripts/netns.sh), so no packet reaches your LAN.",
  ].join("\n"),
  options: {
    "in-process": { type: "boolean", help: "Run every node in this process (no child processes)." },
    lan: {
      type: "boolean",
      help: "Run on this machine's real interfaces instead of a private namespace (others on the LAN see the nodes).",
    },
    ...VERBOSE_OPTION,
    ...HELP_OPTION,
  },
  examples: [["peerlink demo", "the tour, in a few seconds"]],
  run: runDemo,
};

/** A node taking part in the demo. */
interface DemoNode {
  name: string;
  /** `"deno child"`, `"in-process"`... */
  kind: string;
  child?: CliChild;
  local?: PeerLink;
}

async function runDemo(context: CommandContext, args: ParsedArgs): Promise<number> {
  if (args.positionals.length) throw new UsageError(`'demo' takes no arguments (got '${args.positionals[0]}')`, "demo");
  const inProcess = flag(args, "in-process");
  const lan = flag(args, "lan");
  const isolated = context.io.env.PEERLINK_NETNS === "1";
  let loopbackOnly: string | undefined;
  if (!isolated && !lan) {
    const outcome = await reRunIsolated(context, args);
    if (typeof outcome === "number") return outcome;
    // No namespace possible here: keep every packet on this machine's loopback instead.
    loopbackOnly = outcome;
  }
  const { out, style, signal, clock } = context;
  const started = clock.now();
  const realm = `demo-${Math.random().toString(16).slice(2, 8)}`;
  const network: Partial<PeerLinkOptions> = {
    realm,
    ...(loopbackOnly !== undefined ? { interfaces: ["127.0.0.1"] } : {}),
  };
  const where = isolated
    ? "in a private network namespace"
    : loopbackOnly
    ? "on loopback only (127.0.0.1)"
    : "on this machine's network";
  out.line(style.bold(`PeerLink demo: nodes on one machine, ${where}, realm ${realm}`));
  if (loopbackOnly !== undefined) {
    out.line(style.dim(
      `Nothing reaches your LAN: the nodes talk over 127.0.0.1 only, since ${loopbackOnly}. ` +
        "'peerlink demo --lan' uses your real network instead.",
    ));
  }

  const nodes: DemoNode[] = [];
  let conductor: PeerLink | undefined;
  try {
    // 1. Start the nodes: children per runtime where possible, the rest in this process.
    const entry = inProcess ? undefined : cliEntry();
    for (const runtime of RUNTIMES) {
      const prefix = entry ? commandFor(runtime, entry) : undefined;
      const name = `Demo-${runtime}`;
      if (prefix) {
        const child = spawnCli(
          runtime,
          prefix,
          [
            "serve",
            "--name",
            name,
            "--expose-demo",
            "--quiet",
            "--exit-with-stdin",
            "--realm",
            realm,
            ...(loopbackOnly !== undefined ? ["--interface", "127.0.0.1"] : []),
          ],
          { NO_COLOR: "1" },
          true,
        );
        nodes.push({ name, kind: `${runtime} child`, child });
      }
    }
    while (nodes.length < 3) {
      const name = `Demo-local${nodes.length + 1}`;
      const local = await startNode(context, name, network, (n) => {
        n.register(basicHandlers(n, performance.now())).register(demoHandlers());
      });
      nodes.push({ name, kind: "in-process", local });
    }
    out.line(`Starting ${nodes.map((n) => `${style.cyan(n.name)} (${n.kind})`).join(", ")}`);
    const discoveryStarted = clock.now();
    conductor = await startNode(context, "Demo-conductor", network);

    // 2. Discovery, timed from the conductor's start (it browses while it probes its own name).
    const found = await discoverAll(context, conductor, nodes, discoveryStarted);
    if (signal.aborted) return interruptedExitCode(signal);
    out.line("");
    out.line(`${style.bold("Discovery")}  ${found.length} of ${nodes.length} nodes in ${formatMs(found.elapsed)}:`);
    for (const line of peerLines(conductor.peers(), epochMs(clock), style)) out.line(line);
    if (found.length === 0) throw new CliFailure("no demo node was discovered; run with --verbose to see why");
    const [first, second] = [found.names[0], found.names[1] ?? found.names[0]];

    // 3. A small call: UDP.
    out.line("");
    let t = clock.now();
    const sum = await conductor.call(first, "add", [2, 3], { transport: "udp", signal });
    const udpMs = clock.now() - t;
    out.line(`${style.bold("UDP call")}   ${first}.add(2, 3) = ${sum}   ${style.green(formatMs(udpMs))} via udp`);

    // 4. A large call: 1 MiB over TCP, checked end to end.
    const payload = demoPattern(TCP_PAYLOAD_BYTES);
    const expected = await sha256Hex(payload);
    t = clock.now();
    const digest = await conductor.call<{ bytes: number; sha256: string }>(second, "checksum", [payload], {
      transport: "tcp",
      timeout: 15_000,
      signal,
    });
    const tcpMs = clock.now() - t;
    const intact = digest.bytes === payload.length && digest.sha256 === expected;
    const rate = `${(payload.length / 1e6 / (tcpMs / 1000)).toFixed(0)} MB/s`;
    out.line(
      `${style.bold("TCP call")}   ${second}.checksum(${formatBytes(payload.length)}) = sha256 ${
        digest.sha256.slice(0, 12)
      }… ${intact ? style.green("intact") : style.red("MISMATCH")}   ${style.green(formatMs(tcpMs))} via tcp (${rate})`,
    );
    if (!intact) throw new CliFailure(`the 1 MiB payload arrived damaged at ${second}`);

    // 5. Fan-out.
    t = clock.now();
    const results = await conductor.call<NodeInfo>("ALL", "info", [], { signal });
    const fanMs = clock.now() - t;
    out.line(`${style.bold("Fan-out")}    info on all ${results.length} nodes   ${style.green(formatMs(fanMs))}`);
    const rows = results.map((r) =>
      r.ok
        ? [
          `  ${style.cyan(r.peer)}`,
          `${r.value.runtime} ${r.value.runtimeVersion}`,
          `pid ${r.value.pid}`,
          formatMs(r.elapsedMs),
        ]
        : [`  ${style.cyan(r.peer)}`, style.red(describeError(r.error)), "", formatMs(r.elapsedMs)]
    );
    for (const line of alignColumns(rows)) out.line(line);

    out.line("");
    out.line(
      `${style.bold("Done")} in ${formatMs(clock.now() - started)}: discovery ${formatMs(found.elapsed)}, ` +
        `UDP ${formatMs(udpMs)}, TCP 1 MiB ${formatMs(tcpMs)}, fan-out ${formatMs(fanMs)}.`,
    );
    return results.every((r) => r.ok) && found.length === nodes.length ? EXIT.OK : EXIT.FAILURE;
  } finally {
    await conductor?.stop();
    const stopped = await Promise.all(nodes.map(async (n) => {
      if (n.local) await n.local.stop();
      return n.child ? await n.child.stop() : 0;
    }));
    if (context.verbose) context.err.line(`demo nodes stopped: ${stopped.join(", ")}`);
  }
}

/** Waits until the conductor sees every demo node (or the budget runs out); reports dead children. */
async function discoverAll(
  context: CommandContext,
  conductor: PeerLink,
  nodes: readonly DemoNode[],
  started: number,
): Promise<{ names: string[]; length: number; elapsed: number }> {
  const wanted = new Set(nodes.map((n) => n.name));
  const seen = () => conductor.peers().map((p) => p.name).filter((name) => wanted.has(name)).sort();
  const deadline = started + DISCOVERY_BUDGET_MS;
  while (!context.signal.aborted && seen().length < wanted.size && context.clock.now() < deadline) {
    const alive = nodes.filter((n) => !n.child || n.child.process.exitCode === null);
    if (alive.length < nodes.length && seen().length >= alive.length) break;
    await sleep(25, context.signal, context.clock);
  }
  for (const node of nodes) {
    if (!seen().includes(node.name) && node.child) {
      const tail = node.child.stderr().trim().split("\n").slice(-3).join(" | ");
      context.err.line(
        context.errStyle.yellow(`${node.name} (${node.kind}) did not come up${tail ? `: ${tail}` : ""}`),
      );
    }
  }
  const names = seen();
  return { names, length: names.length, elapsed: context.clock.now() - started };
}

/**
 * Re-runs this demo inside a private network namespace (`scripts/netns.sh` of a checkout).
 *
 * @returns The exit code of the isolated run, or why no namespace can be made here.
 */
async function reRunIsolated(context: CommandContext, args: ParsedArgs): Promise<number | string> {
  const root = packageRoot();
  const entry = cliEntry();
  const script = root ? `${root}/scripts/netns.sh` : undefined;
  const runtime: RuntimeName = detectRuntime();
  const prefix = entry ? commandFor(runtime, entry) : undefined;
  if (!script || !existsSync(script) || !prefix) {
    return "a private network namespace needs scripts/netns.sh, which only a source checkout has";
  }
  const forwarded = ["demo", ...(flag(args, "in-process") ? ["--in-process"] : []), ...(context.verbose ? ["-v"] : [])];
  const colour = context.style.enabled ? { FORCE_COLOR: "1" } : {};
  const child = spawnCli(runtime, [script, ...prefix], forwarded, colour);
  child.process.stdout?.on("data", (chunk: string) => context.out.write(chunk));
  child.process.stderr?.on("data", (chunk: string) => context.err.write(chunk));
  const onAbort = () => signalChild(child.process, context.signal.reason === "SIGTERM" ? "SIGTERM" : "SIGINT");
  context.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const code = await child.exited;
    if (code === NETNS_UNAVAILABLE) return "this system cannot make a private network namespace (unshare -rn failed)";
    return typeof code === "number" ? code : EXIT.FAILURE;
  } finally {
    context.signal.removeEventListener("abort", onAbort);
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
