/**
 * Small calls, pipelined calls and the 4 MiB upload, for one runtime: the raw echo, PeerLink
 * plain and sealed, HTTP+fetch, gRPC and capnweb, each a server and a client process. The
 * variants' repeats are interleaved so that background noise hits them alike, and every
 * small-call row also gets the CPU time per call of client and server together.
 *
 * @module
 */
import type { Worker } from "../driver/proc.ts";
import { type MetricSpec, metricSpec, type Variant } from "../report/table.ts";
import type { Settings } from "../settings.ts";
import { describe, Pairs, recordResult, type RunContext, selected } from "./context.ts";
import { alternativePairs, ALTERNATIVES, peerLinkMessageSizes, peerLinkPairs, rawPair } from "./pairs_specs.ts";

type Kind = "latency" | "calls" | "transfer";

/** One measurement: its scenario name, kind, and the transport each variant uses. */
interface CallSpec {
  scenario: string;
  kind: Kind;
  variants: Partial<Record<Variant, string>>;
}

const alternatives = Object.keys(ALTERNATIVES) as (keyof typeof ALTERNATIVES)[];

const CALL_SPECS: readonly CallSpec[] = [
  ...(["udp", "tcp"] as const).map((t): CallSpec => ({
    scenario: `latency_${t}`,
    kind: "latency",
    variants: { raw: t, peerlink: t, peerlink_sealed: t },
  })),
  ...alternatives.map((v): CallSpec => ({ scenario: `${v}_sequential`, kind: "latency", variants: { [v]: v } })),
  {
    scenario: "throughput_udp",
    kind: "calls",
    variants: { raw: "udp", peerlink: "udp", peerlink_sealed: "udp" },
  },
  {
    scenario: "throughput_tcp",
    kind: "calls",
    variants: { raw: "tcp", raw_coalesced: "tcp-coalesced", peerlink: "tcp", peerlink_sealed: "tcp" },
  },
  ...alternatives.map((v): CallSpec => ({ scenario: `${v}_concurrent`, kind: "calls", variants: { [v]: v } })),
  { scenario: "upload_tcp", kind: "transfer", variants: { raw: "tcp", peerlink: "tcp", peerlink_sealed: "tcp" } },
];

/** Names of the call measurements, for `--only`. */
export const CALL_MEASUREMENTS: readonly string[] = CALL_SPECS.map((spec) => spec.scenario);

function metricsOf(scenario: string, variant: Variant, kind: Kind): MetricSpec[] {
  const m = (metric: string, unit: string, better?: "higher") => metricSpec(scenario, variant, metric, unit, better);
  const cpu = m("cpu", "µs/call");
  if (kind === "latency") return [m("median", "ms"), m("p99", "ms"), cpu];
  if (kind === "calls") return [m("rate", "calls/s", "higher"), cpu];
  return [m("rate", "MB/s", "higher")];
}

/** The command of one repeat: its timed part, its warm-up (a command of its own), its call count. */
interface Command {
  cmd: string;
  timed: Record<string, unknown>;
  warmup?: Record<string, unknown>;
  /** Calls in the timed part (0 for transfers: no CPU per call). */
  calls: number;
}

function commandOf(kind: Kind, transport: string, variant: Variant, s: Settings): Command {
  const alternative = (alternatives as string[]).includes(variant);
  if (kind === "latency") {
    const { count, warmup } = alternative ? s.http : s.latency;
    return {
      cmd: "latency",
      timed: { transport, count, warmup: 0 },
      warmup: warmup > 0 ? { transport, count: warmup, warmup: 0 } : undefined,
      calls: count,
    };
  }
  if (kind === "calls") {
    const { concurrency } = s.throughput;
    const [total, warmup] = alternative
      ? [s.http.total, s.http.totalWarmup]
      : [s.throughput.total, s.throughput.warmup];
    return {
      cmd: "throughput",
      timed: { transport, concurrency, total, warmup: 0 },
      warmup: warmup > 0 ? { transport, concurrency, total: warmup, warmup: 0 } : undefined,
      calls: total,
    };
  }
  return { cmd: "upload", timed: { ...s.upload }, calls: 0 };
}

/**
 * One repeat of one variant: warm-up, then the timed command, for small calls between two
 * readings of the CPU time of client and server.
 *
 * @returns The result's fields, plus `cpu` in µs per call for small calls.
 */
async function repeat(client: Worker, server: Worker, command: Command): Promise<Record<string, unknown>> {
  if (command.warmup) await client.request(command.cmd, command.warmup);
  if (command.calls === 0) return await client.request(command.cmd, command.timed);
  const cpu = async () => (await Promise.all([client.cpuMicros(), server.cpuMicros()])).reduce((a, b) => a + b);
  const before = await cpu();
  const result = await client.request(command.cmd, command.timed);
  const used = (await cpu()) - before;
  return { ...result, cpu: used / command.calls };
}

/**
 * Small calls, throughput, upload and the alternatives, for one runtime.
 *
 * @param ctx The run.
 */
export async function runCalls(ctx: RunContext): Promise<void> {
  const { settings: s, table } = ctx;
  const specs = CALL_SPECS.filter((c) => selected(ctx, c.scenario));
  const needed = new Set(specs.flatMap((c) => Object.keys(c.variants)));
  const pairSpecs = [rawPair(ctx), ...peerLinkPairs(ctx, `${ctx.realm}-calls`), ...alternativePairs(ctx)]
    .filter((p) => p.variants.some((v) => needed.has(v)));
  ctx.log(`${ctx.runtime}: starting ${pairSpecs.map((p) => p.label).join(", ")}`);
  const pairs = await Pairs.start(ctx, pairSpecs);
  try {
    const plServer = pairs.servers.peerlink;
    if (plServer) ctx.apis.peerlink = `${ctx.layer} on the ${plServer.ready.adapter} adapter`;
    if (pairs.unavailable.peerlink) ctx.peerlinkUnavailable = pairs.unavailable.peerlink;
    for (const [variant, why] of Object.entries(pairs.unavailable)) {
      if (variant !== "peerlink" && needed.has(variant)) ctx.errors.push(why);
    }
    for (const spec of specs) {
      ctx.log(`${ctx.runtime}: ${spec.scenario}`);
      // Pinned, each server shares CPU 0 and each client CPU 1, the same for every variant:
      // that removes the scheduler's placement noise from microsecond calls. A bulk upload
      // instead needs the runtimes' helper threads (GC, I/O) free to run on the other CPU,
      // as a real machine would let them, so transfers run unpinned.
      if (ctx.pin) pairs.pin(spec.kind !== "transfer");
      const variants = Object.keys(spec.variants) as Variant[];
      pairs.markUnavailable(table, variants, (variant) => metricsOf(spec.scenario, variant, spec.kind));
      for (let rep = 0; rep < s.repeats; rep++) {
        for (const variant of variants) {
          const [client, server] = [pairs.clients[variant], pairs.servers[variant]];
          if (!client || !server) continue;
          const metrics = metricsOf(spec.scenario, variant, spec.kind);
          try {
            const command = commandOf(spec.kind, spec.variants[variant]!, variant, s);
            recordResult(table, metrics, await repeat(client, server, command));
          } catch (error) {
            for (const m of metrics) table.mark(m, "error", describe(error));
            ctx.errors.push(`${spec.scenario} ${variant}: ${describe(error)}`);
            pairs.fail(variant, describe(error));
          }
        }
      }
    }
    if (ctx.profile) await collectProfile(ctx, pairs.clients.peerlink, pairs.servers.peerlink);
    const raw = pairs.clients.raw;
    if (raw) {
      const stats = await raw.request("stats").catch(() => undefined);
      if (stats && Number(stats.resent) > 0) ctx.errors.push(`raw UDP echo resent ${stats.resent} datagrams (loss)`);
    }
  } finally {
    await pairs.close();
  }
}

async function collectProfile(ctx: RunContext, client: Worker | undefined, server: Worker | undefined): Promise<void> {
  if (!client) return;
  const sizes = peerLinkMessageSizes();
  const stats = (w: Worker) => w.request("stats").catch((e) => ({ type: "error", message: describe(e) }));
  const c = await stats(client);
  const counts = (c as { counts?: Record<string, number> }).counts;
  const calls = (c as { stats?: { calls?: { udp: number; tcp: number } } }).stats?.calls;
  const per = (a: number, b: number) => Math.round((a / Math.max(1, b)) * 10) / 10;
  ctx.profileData.client = c;
  ctx.profileData.server = server ? await stats(server) : undefined;
  ctx.profileData.perCall = counts && calls && calls.udp > 0
    ? {
      udpRequestBytes: per(counts.datagramBytesSent, counts.datagramsSent),
      udpReplyBytes: per(counts.datagramBytesReceived, counts.datagramsReceived),
      datagramsPerUdpCall: per(counts.datagramsSent, calls.udp),
      tcpWritesPerTcpCall: per(counts.tcpWrites, calls.tcp),
      expectedRequestBytes: sizes.requestBytes,
      expectedReplyBytes: sizes.replyBytes,
    }
    : undefined;
}
