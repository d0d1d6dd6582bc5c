/**
 * Streams (issue 16), for one runtime, side by side with the raw TCP transfer of the same
 * bytes on the same runtime's sockets: one large stream in 64 KiB chunks; the same towards a
 * reader 10x slower than the writer (the writer's memory growth); 100 concurrent streams on
 * one connection (total rate and fairness); a stream of small `{i, t}` values; and small-call
 * latency while a large stream runs on the same connection. Bulk transfers run unpinned.
 *
 * @module
 */
import { type MetricSpec, metricSpec, type Variant } from "../report/table.ts";
import type { Settings } from "../settings.ts";
import { describe, Pairs, recordResult, type RunContext, selected } from "./context.ts";
import { peerLinkPairs, rawPair } from "./pairs_specs.ts";

/** One stream measurement: the variants, the worker command and its rows. */
interface StreamSpec {
  scenario: string;
  variants: Variant[];
  repeats(s: Settings): number;
  /** The command's parameters; `rates` holds the medians measured so far (the slow reader's pace). */
  command(s: Settings, rates: Partial<Record<Variant, number>>): { cmd: string } & Record<string, unknown>;
  metrics: { metric: string; unit: string; better?: "higher" }[];
}

const STREAM_SPECS: readonly StreamSpec[] = [
  {
    scenario: "stream",
    variants: ["raw", "peerlink", "peerlink_sealed"],
    repeats: (s) => s.streams.repeats,
    command: (s) => ({ cmd: "stream", bytes: s.streams.bytes, chunkBytes: s.streams.chunkBytes, count: 1, warmup: 0 }),
    metrics: [{ metric: "rate", unit: "MB/s", better: "higher" }],
  },
  {
    scenario: "stream_slow_reader",
    variants: ["peerlink"],
    repeats: () => 1,
    command: (s, rates) => {
      const writer = rates.peerlink ?? rates.raw;
      if (writer === undefined) throw new Error("no stream rate was measured to pace the slow reader by");
      const { slowReaderBytes: bytes, chunkBytes, slowdown } = s.streams;
      return { cmd: "slowReader", bytes, chunkBytes, readerRate: (writer * 1e6) / slowdown };
    },
    metrics: [{ metric: "growth", unit: "MiB" }, { metric: "rate", unit: "MB/s", better: "higher" }],
  },
  {
    scenario: "streams_concurrent",
    variants: ["peerlink"],
    repeats: (s) => s.streams.repeats,
    command: (s) => ({ cmd: "concurrentStreams", ...s.streams.concurrent, chunkBytes: s.streams.chunkBytes }),
    metrics: [{ metric: "rate", unit: "MB/s", better: "higher" }, { metric: "max_over_mean", unit: "x" }],
  },
  {
    scenario: "stream_values",
    variants: ["peerlink"],
    repeats: (s) => s.repeats,
    command: (s) => ({ cmd: "values", count: s.streams.values }),
    metrics: [{ metric: "rate", unit: "values/s", better: "higher" }],
  },
  {
    scenario: "latency_during_stream",
    variants: ["peerlink"],
    repeats: (s) => s.repeats,
    command: (s) => ({
      cmd: "latencyDuringStream",
      bytes: s.streams.duringBytes,
      chunkBytes: s.streams.chunkBytes,
      count: s.latency.count,
      warmup: s.latency.warmup,
    }),
    metrics: [{ metric: "median", unit: "ms" }, { metric: "p99", unit: "ms" }, { metric: "idle_median", unit: "ms" }],
  },
];

/** Names of the stream measurements, for `--only`. */
export const STREAM_MEASUREMENTS: readonly string[] = STREAM_SPECS.map((spec) => spec.scenario);

function metricsOf(spec: StreamSpec, variant: Variant): MetricSpec[] {
  return spec.metrics.map((m) => metricSpec(spec.scenario, variant, m.metric, m.unit, m.better));
}

/**
 * The stream measurements of one runtime.
 *
 * @param ctx The run.
 */
export async function runStreams(ctx: RunContext): Promise<void> {
  const { settings: s, table } = ctx;
  const specs = STREAM_SPECS.filter((spec) => selected(ctx, spec.scenario));
  const needed = new Set(specs.flatMap((spec) => spec.variants));
  const pairSpecs = [rawPair(ctx), ...peerLinkPairs(ctx, `${ctx.realm}-streams`)]
    .filter((p) => p.variants.some((v) => needed.has(v)));
  ctx.log(`${ctx.runtime}: starting stream processes (${pairSpecs.map((p) => p.label).join(", ")})`);
  const pairs = await Pairs.start(ctx, pairSpecs);
  const rates: Partial<Record<Variant, number>> = {};
  try {
    for (const spec of specs) {
      ctx.log(`${ctx.runtime}: ${spec.scenario}`);
      pairs.markUnavailable(table, spec.variants, (variant) => metricsOf(spec, variant));
      for (let rep = 0; rep < spec.repeats(s); rep++) {
        for (const variant of spec.variants) {
          const client = pairs.clients[variant];
          if (!client) continue;
          const metrics = metricsOf(spec, variant);
          try {
            const { cmd, ...params } = spec.command(s, rates);
            recordResult(table, metrics, await client.request(cmd, params, 600_000));
          } catch (error) {
            for (const m of metrics) table.mark(m, "error", describe(error));
            ctx.errors.push(`${spec.scenario} ${variant}: ${describe(error)}`);
          }
        }
      }
      if (spec.scenario === "stream") {
        for (const v of spec.variants) rates[v] = table.median("stream", v, "rate");
      }
    }
  } finally {
    await pairs.close();
  }
}
