/**
 * The scenarios of one runtime, as run by the driver: small calls, throughput, upload and the
 * HTTP alternative (one server and one client process per family, the families' repeats
 * interleaved so that background noise hits them alike); discovery (an observer and a subject
 * process); fan-out and memory (a caller and several processes of peer nodes).
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { CLIENT_NAME, SERVER_NAME } from "./peerlink_rpc.ts";
import { type Runtime, Worker, type WorkerMessage } from "./proc.ts";
import type { MetricSpec, MetricTable, Variant } from "./report.ts";
import { FULL, type Settings } from "./settings.ts";
import { sleep } from "./protocol.ts";

/** What the scenarios of one runtime share. */
export interface RunContext {
  runtime: Runtime;
  settings: Settings;
  /** PeerLink layer: `"node"` or `"engine"`. */
  layer: "node" | "engine";
  /** Realm prefix unique to this run. */
  realm: string;
  /** Echo worker output. */
  verbose: boolean;
  /** Extra flags for the runtime of every worker (e.g. `--cpu-prof`). */
  runtimeFlags: string[];
  /** Small-call measurements to run (all when undefined), e.g. `["throughput_udp"]`. */
  only?: readonly string[];
  /** Pin call servers to CPU 0 and call clients to CPU 1 (stable numbers on a 2-CPU machine). */
  pin: boolean;
  /** Count wire traffic and collect engine counters. */
  profile: boolean;
  /** Directory for CPU profiles of the call workers (Node and Deno), or undefined. */
  cpuProfileDir?: string;
  /** Where results go. */
  table: MetricTable;
  /** Problems met. */
  errors: string[];
  /** APIs used, for the report. */
  apis: Record<string, string>;
  /** Set when PeerLink could not run, with the reason. */
  peerlinkUnavailable?: string;
  /** Resident memory of a bare runtime process (no PeerLink loaded), bytes. */
  bareRss?: number;
  /** Diagnostics of `--profile`. */
  profileData: Record<string, unknown>;
  /** Progress lines. */
  log(line: string): void;
}

/**
 * The sizes of PeerLink's `add(1, 2)` request and reply between the benchmark's two nodes, as
 * the codec writes them (checked against the wire counters in `--profile` runs), so that the
 * raw echo moves exactly as many bytes.
 *
 * @returns Request and reply sizes in bytes.
 */
export function peerLinkMessageSizes(): { requestBytes: number; replyBytes: number } {
  const id = crypto.randomUUID();
  const request = {
    type: "request",
    id,
    src: CLIENT_NAME,
    dst: SERVER_NAME,
    rpc: "add",
    args: [1, 2],
    kwargs: {},
    plx: 1,
  };
  const reply = { type: "response", id, result: 3 };
  const size = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;
  return { requestBytes: size(request), replyBytes: size(reply) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function spawnOrNote(
  ctx: RunContext,
  role: string,
  config: Record<string, unknown>,
  readyTimeoutMs = 30_000,
): Promise<Worker | string> {
  try {
    return await Worker.spawn(ctx.runtime, role, config, {
      verbose: ctx.verbose,
      readyTimeoutMs,
      runtimeFlags: ctx.runtimeFlags,
    });
  } catch (error) {
    return describe(error);
  }
}

/** One measurement as the driver asks a client for it. */
interface CallSpec {
  scenario: string;
  kind: "latency" | "calls" | "transfer";
  variants: Partial<Record<Variant, Record<string, unknown>>>;
}

/** Names of the small-call measurements, for `--only`. */
export const CALL_MEASUREMENTS: readonly string[] = callSpecs(FULL).map((spec) => spec.scenario);

function callSpecs(s: Settings): CallSpec[] {
  const lat = (transport: string) => ({ cmd: "latency", transport, count: s.latency.count, warmup: s.latency.warmup });
  const { concurrency, total, warmup } = s.throughput;
  const thr = (transport: string) => ({ cmd: "throughput", transport, concurrency, total, warmup });
  const upload = { cmd: "upload", ...s.upload };
  return [
    {
      scenario: "latency_udp",
      kind: "latency",
      variants: { raw: lat("udp"), peerlink: lat("udp"), peerlink_sealed: lat("udp") },
    },
    {
      scenario: "latency_tcp",
      kind: "latency",
      variants: { raw: lat("tcp"), peerlink: lat("tcp"), peerlink_sealed: lat("tcp") },
    },
    {
      scenario: "http_sequential",
      kind: "latency",
      variants: { http: { cmd: "latency", count: s.http.count, warmup: s.http.warmup } },
    },
    {
      scenario: "throughput_udp",
      kind: "calls",
      variants: { raw: thr("udp"), peerlink: thr("udp"), peerlink_sealed: thr("udp") },
    },
    {
      scenario: "throughput_tcp",
      kind: "calls",
      variants: {
        raw: thr("tcp"),
        raw_coalesced: thr("tcp-coalesced"),
        peerlink: thr("tcp"),
        peerlink_sealed: thr("tcp"),
      },
    },
    {
      scenario: "http_concurrent",
      kind: "calls",
      variants: { http: { cmd: "throughput", concurrency, total: s.http.total, warmup: s.http.totalWarmup } },
    },
    {
      scenario: "upload_tcp",
      kind: "transfer",
      variants: { raw: upload, peerlink: upload, peerlink_sealed: upload },
    },
  ];
}

function specsOf(scenario: string, variant: Variant, kind: CallSpec["kind"]): MetricSpec[] {
  if (kind === "latency") {
    return [
      { scenario, variant, metric: "median", unit: "ms", better: "lower" },
      { scenario, variant, metric: "p99", unit: "ms", better: "lower" },
    ];
  }
  if (kind === "calls") return [{ scenario, variant, metric: "rate", unit: "calls/s", better: "higher" }];
  return [{ scenario, variant, metric: "rate", unit: "MB/s", better: "higher" }];
}

function record(table: MetricTable, specs: MetricSpec[], result: WorkerMessage): void {
  for (const spec of specs) {
    const key = spec.metric === "rate" ? "rate" : spec.metric;
    const value = result[key];
    if (typeof value === "number" && Number.isFinite(value) && value > 0) table.add(spec, value);
    else table.mark(spec, "error", `the worker reported ${key} = ${JSON.stringify(value)}`);
  }
}

/**
 * Small calls, throughput, upload and HTTP, for one runtime.
 *
 * @param ctx The run.
 */
export async function runCalls(ctx: RunContext): Promise<void> {
  const { settings: s, table } = ctx;
  const sizes = peerLinkMessageSizes();
  const realm = `${ctx.realm}-calls`;
  const cpu = ctx.cpuProfileDir === undefined ? {} : { cpuProfile: ctx.cpuProfileDir };
  const plConfig = { layer: ctx.layer, realm, countWire: ctx.profile, ...cpu };
  // The sealed variant: the same nodes with a secret (unique to this run), every message sealed.
  const sealedConfig = { ...plConfig, secret: `${realm}-sealed-${crypto.randomUUID()}` };
  ctx.log(`${ctx.runtime}: starting servers (raw, HTTP, PeerLink, PeerLink sealed)`);
  const [rawServer, httpServer, plServer, sealedServer] = await Promise.all([
    spawnOrNote(ctx, "raw-server", { replyBytes: sizes.replyBytes, ...cpu }),
    spawnOrNote(ctx, "http-server", { ...cpu }),
    spawnOrNote(ctx, "peerlink-server", plConfig),
    spawnOrNote(ctx, "peerlink-server", sealedConfig),
  ]);
  const clients: Partial<Record<Variant, Worker>> = {};
  const unavailable: Partial<Record<Variant, string>> = {};
  const workers: Worker[] = [];
  try {
    const [rawClient, httpClient, plClient, sealedClient] = await Promise.all([
      typeof rawServer === "string"
        ? rawServer
        : spawnOrNote(ctx, "raw-client", { ...rawServer.ready, requestBytes: sizes.requestBytes, ...cpu }),
      typeof httpServer === "string"
        ? httpServer
        : spawnOrNote(ctx, "http-client", { port: httpServer.ready.port, ...cpu }),
      typeof plServer === "string" ? plServer : spawnOrNote(ctx, "peerlink-client", { ...plConfig, ...plServer.ready }),
      typeof sealedServer === "string"
        ? sealedServer
        : spawnOrNote(ctx, "peerlink-client", { ...sealedConfig, ...sealedServer.ready }),
    ]);
    const servers = [rawServer, httpServer, plServer, sealedServer];
    const callers = [rawClient, httpClient, plClient, sealedClient];
    for (const w of [...servers, ...callers]) {
      if (typeof w !== "string") workers.push(w);
    }
    const assign = (variants: Variant[], client: Worker | string, what: string) => {
      for (const v of variants) {
        if (typeof client === "string") unavailable[v] = `${what}: ${client}`;
        else clients[v] = client;
      }
    };
    assign(["raw", "raw_coalesced"], rawClient, "raw baseline");
    assign(["http"], httpClient, "HTTP");
    assign(["peerlink"], plClient, "PeerLink");
    assign(["peerlink_sealed"], sealedClient, "PeerLink sealed");
    if (typeof rawServer !== "string") ctx.apis.raw = String(rawServer.ready.api);
    if (typeof httpServer !== "string") ctx.apis.http = String(httpServer.ready.api);
    if (typeof plServer !== "string") ctx.apis.peerlink = `${ctx.layer} on the ${plServer.ready.adapter} adapter`;
    if (unavailable.peerlink) ctx.peerlinkUnavailable = unavailable.peerlink;
    for (const [variant, why] of Object.entries(unavailable)) if (variant !== "peerlink") ctx.errors.push(why);

    // Pinned, each server shares CPU 0 and each client CPU 1, the same for every variant: that
    // removes the scheduler's placement noise from microsecond calls. A bulk upload instead
    // needs the runtimes' helper threads (GC, I/O) free to run on the other CPU, as a real
    // machine would let them, so transfers run unpinned.
    let pinned = false;
    const place = (pin: boolean) => {
      if (pin === pinned) return;
      pinned = pin;
      const all = `0-${availableParallelism() - 1}`;
      for (const w of servers) if (typeof w !== "string") w.setCpus(pin ? "0" : all);
      for (const w of callers) if (typeof w !== "string") w.setCpus(pin ? "1" : all);
    };
    for (const spec of callSpecs(s).filter((c) => !ctx.only || ctx.only.includes(c.scenario))) {
      ctx.log(`${ctx.runtime}: ${spec.scenario}`);
      if (ctx.pin) place(spec.kind !== "transfer");
      const variants = Object.keys(spec.variants) as Variant[];
      for (const variant of variants) {
        const why = unavailable[variant];
        if (why) { for (const m of specsOf(spec.scenario, variant, spec.kind)) table.mark(m, "unavailable", why); }
      }
      for (let rep = 0; rep < s.repeats; rep++) {
        for (const variant of variants) {
          const client = clients[variant];
          if (!client) continue;
          const metrics = specsOf(spec.scenario, variant, spec.kind);
          try {
            record(table, metrics, await client.request(String(spec.variants[variant]!.cmd), spec.variants[variant]));
          } catch (error) {
            for (const m of metrics) table.mark(m, "error", describe(error));
            ctx.errors.push(`${spec.scenario} ${variant}: ${describe(error)}`);
            delete clients[variant];
            unavailable[variant] = `failed earlier: ${describe(error)}`;
          }
        }
      }
    }
    if (ctx.profile) await collectProfile(ctx, clients.peerlink, typeof plServer === "string" ? undefined : plServer);
    if (clients.raw) {
      const stats = await clients.raw.request("stats").catch(() => undefined);
      if (stats && Number(stats.resent) > 0) ctx.errors.push(`raw UDP echo resent ${stats.resent} datagrams (loss)`);
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

async function collectProfile(ctx: RunContext, client: Worker | undefined, server: Worker | undefined): Promise<void> {
  if (!client) return;
  const sizes = peerLinkMessageSizes();
  const c = await client.request("stats").catch((e) => ({ type: "error", message: describe(e) }));
  const sv = server ? await server.request("stats").catch((e) => ({ type: "error", message: describe(e) })) : undefined;
  const counts = (c as { counts?: Record<string, number> }).counts;
  const calls = (c as { stats?: { calls?: { udp: number; tcp: number } } }).stats?.calls;
  const perCall = counts && calls && calls.udp > 0
    ? {
      udpRequestBytes: round1(counts.datagramBytesSent / Math.max(1, counts.datagramsSent)),
      udpReplyBytes: round1(counts.datagramBytesReceived / Math.max(1, counts.datagramsReceived)),
      datagramsPerUdpCall: round1(counts.datagramsSent / calls.udp),
      tcpWritesPerTcpCall: round1(counts.tcpWrites / Math.max(1, calls.tcp)),
      expectedRequestBytes: sizes.requestBytes,
      expectedReplyBytes: sizes.replyBytes,
    }
    : undefined;
  ctx.profileData.client = c;
  ctx.profileData.server = sv;
  ctx.profileData.perCall = perCall;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * Discovery time and peer-down time, for one runtime.
 *
 * @param ctx The run.
 */
export async function runDiscovery(ctx: RunContext): Promise<void> {
  const realm = `${ctx.realm}-disc`;
  const metrics: MetricSpec[] = [
    { scenario: "discovery", variant: "peerlink", metric: "up", unit: "ms", better: "lower" },
    { scenario: "discovery", variant: "peerlink", metric: "down", unit: "ms", better: "lower" },
    { scenario: "discovery", variant: "peerlink", metric: "start", unit: "ms", better: "lower" },
  ];
  ctx.log(`${ctx.runtime}: discovery`);
  const [observer, subject] = await Promise.all([
    spawnOrNote(ctx, "discovery-observer", { realm }),
    spawnOrNote(ctx, "discovery-subject", { realm }),
  ]);
  try {
    const failed = [observer, subject].find((w) => typeof w === "string") as string | undefined;
    if (failed !== undefined) {
      for (const m of metrics) ctx.table.mark(m, "unavailable", failed);
      ctx.peerlinkUnavailable ??= failed;
      return;
    }
    const obs = observer as Worker;
    const sub = subject as Worker;
    const event = (kind: string, name: string, timeoutMs: number) =>
      obs.waitFor((m) => m.type === "event" && m.event === kind && m.name === name, timeoutMs);
    let misses = 0;
    for (let i = 0; i < ctx.settings.discovery.iterations; i++) {
      const name = `subject-${i}`;
      try {
        const up = event("up", name, 10_000);
        const started = await sub.request("start", { name }, 30_000);
        const seen = await up;
        ctx.table.add(metrics[0], Number(seen.t) - Number(started.calledAt));
        ctx.table.add(metrics[2], Number(started.startedAt) - Number(started.calledAt));
        const down = event("down", name, 5_000);
        const stopped = await sub.request("stop", {}, 30_000);
        const gone = await down;
        ctx.table.add(metrics[1], Number(gone.t) - Number(stopped.calledAt));
      } catch (error) {
        misses++;
        ctx.errors.push(`discovery iteration ${i}: ${describe(error)}`);
        await sub.request("stop", {}, 30_000).catch(() => undefined);
        if (misses >= 3) {
          for (const m of metrics) ctx.table.mark(m, "error", `3 iterations failed, last: ${describe(error)}`);
          break;
        }
      }
    }
  } finally {
    await Promise.all([observer, subject].map((w) => (typeof w === "string" ? undefined : w.close())));
  }
}

/**
 * Fan-out to 10 and 30 peers, and resident memory idle and with 30 peers, for one runtime.
 *
 * @param ctx The run.
 */
export async function runFanout(ctx: RunContext): Promise<void> {
  const { settings: s, table } = ctx;
  const realm = `${ctx.realm}-fan`;
  const mb = (bytes: unknown) => Number(bytes) / 1e6;
  const bareSpec: MetricSpec = { scenario: "memory", variant: "runtime", metric: "bare", unit: "MB", better: "lower" };
  const idleSpec: MetricSpec = { scenario: "memory", variant: "peerlink", metric: "idle", unit: "MB", better: "lower" };
  const perNodeSpec: MetricSpec = {
    scenario: "memory",
    variant: "peerlink",
    metric: "per_node",
    unit: "MB",
    better: "lower",
  };
  const last = Math.max(...s.fanout.sizes);
  const fullSpec: MetricSpec = {
    scenario: "memory",
    variant: "peerlink",
    metric: `peers${last}`,
    unit: "MB",
    better: "lower",
  };
  const fanSpec = (n: number): MetricSpec => ({
    scenario: "fanout",
    variant: "peerlink",
    metric: `peers${n}`,
    unit: "ms",
    better: "lower",
  });
  ctx.log(`${ctx.runtime}: fan-out and memory`);
  const bareRss = ctx.bareRss === undefined ? undefined : mb(ctx.bareRss);
  if (bareRss === undefined) table.mark(bareSpec, "error", "the bare runtime process did not report its memory");
  else table.add(bareSpec, bareRss);
  const caller = await spawnOrNote(ctx, "fanout-caller", { realm });
  const peers: Worker[] = [];
  const allSpecs = [idleSpec, perNodeSpec, fullSpec, ...s.fanout.sizes.map(fanSpec)];
  try {
    if (typeof caller === "string") {
      for (const m of allSpecs) table.mark(m, "unavailable", caller);
      ctx.peerlinkUnavailable ??= caller;
      return;
    }
    await sleep(s.memorySettleMs);
    table.add(idleSpec, mb((await caller.request("rss")).rss));
    let running = 0;
    for (const size of [...s.fanout.sizes].sort((a, b) => a - b)) {
      const missing = size - running;
      const processes = Math.ceil(missing / s.fanout.nodesPerProcess);
      const started = await Promise.all(Array.from({ length: processes }, (_, k) => {
        const count = Math.min(s.fanout.nodesPerProcess, missing - k * s.fanout.nodesPerProcess);
        return spawnOrNote(ctx, "fanout-peers", { realm, prefix: `peer${peers.length + k}`, count }, 60_000);
      }));
      for (const p of started) if (typeof p !== "string") peers.push(p);
      const failed = started.find((p) => typeof p === "string");
      if (failed !== undefined) throw new Error(`peer process: ${failed}`);
      running = size;
      if (size === last) {
        // Memory with every peer known, before calls to most of them.
        await caller.request("wait", { expect: size }, 60_000);
        await sleep(s.memorySettleMs);
        table.add(fullSpec, mb((await caller.request("rss")).rss));
      }
      for (let rep = 0; rep < s.repeats; rep++) {
        const result = await caller.request(
          "fanout",
          { expect: size, count: s.fanout.count, warmup: s.fanout.warmup },
          120_000,
        );
        table.add(fanSpec(size), Number(result.median));
      }
    }
    const first = peers[0];
    if (first && bareRss !== undefined) {
      const rss = mb((await first.request("rss")).rss);
      table.add(perNodeSpec, (rss - bareRss) / s.fanout.nodesPerProcess);
    } else table.mark(perNodeSpec, "error", "no peer process or no bare runtime figure");
  } catch (error) {
    for (const m of allSpecs) if (!table.has(m)) table.mark(m, "error", describe(error));
    ctx.errors.push(`fan-out: ${describe(error)}`);
  } finally {
    await Promise.all([...peers, ...(typeof caller === "string" ? [] : [caller])].map((w) => w.close(10_000)));
  }
}
