/**
 * The comparisons the report draws from the medians, each with its target where an issue sets
 * one (issue 6: the first targets; issue 19: calls against raw sockets, CPU per call, gRPC and
 * capnweb; issue 16: streams; issue 17: files). Written as data: a comparison is a quantity,
 * optionally divided by (or minus) another.
 *
 * @module
 */
import { round } from "../stats.ts";
import type { MedianOf, Variant } from "./table.ts";

/** A metric's median: `[scenario, variant, metric]`. */
type Ref = readonly [string, Variant, string];

/** A target: the value must be `<=` or `>=` this. */
export interface Target {
  op: "<=" | ">=";
  value: number;
}

/** How a comparison is computed. */
interface Definition {
  /** Stable id, e.g. `"udp_latency_vs_raw"`. */
  id: string;
  /** What it says. */
  label: string;
  /** The quantity. */
  of: Ref;
  /** Divided by this (a ratio, unit `x`), or with `minus`, this subtracted. */
  over?: Ref;
  minus?: Ref;
  /** Unit of a value that is no ratio. */
  unit?: string;
  target?: Target;
}

/** A comparison's value in one run, or over several (then `min`/`max` give the range over runs). */
export interface Comparison {
  id: string;
  label: string;
  /** The value from the medians; `null` when a side is missing. */
  value: number | null;
  /** `"x"` for ratios, else the unit of the value. */
  unit: string;
  target?: Target;
  /** Whether the target is met; `null` without a target or without a value. */
  met: boolean | null;
  /** Smallest and largest value over runs (summaries only). */
  min?: number;
  max?: number;
}

const lat = (scenario: string, variant: Variant, metric = "median"): Ref => [scenario, variant, metric];
const rate = (scenario: string, variant: Variant): Ref => [scenario, variant, "rate"];
const cpu = (scenario: string, variant: Variant): Ref => [scenario, variant, "cpu"];
const atMost = (value: number): Target => ({ op: "<=", value });
const atLeast = (value: number): Target => ({ op: ">=", value });

/** The small-call measurements, as the comparisons name them. */
const SMALL_CALLS = [
  { scenario: "latency_udp", what: "UDP call latency", ref: lat, key: "udp_latency", target: atMost(1.3) },
  { scenario: "latency_tcp", what: "TCP call latency", ref: lat, key: "tcp_latency", target: atMost(1.3) },
  {
    scenario: "throughput_udp",
    what: "UDP calls/s, 64 in flight",
    ref: rate,
    key: "udp_throughput",
    target: atLeast(0.6),
  },
  {
    scenario: "throughput_tcp",
    what: "TCP calls/s, 64 in flight",
    ref: rate,
    key: "tcp_throughput",
    target: atLeast(0.6),
  },
] as const;

/** The alternatives a user would pick instead, each measured as `<name>_sequential` and `<name>_concurrent`. */
const ALTERNATIVES = [
  { name: "http", label: "HTTP+fetch", latency: atLeast(2), calls: atLeast(2) },
  { name: "grpc", label: "gRPC (@grpc/grpc-js)", latency: atLeast(1), calls: atLeast(1) },
  { name: "capnweb", label: "capnweb over WebSocket", latency: atLeast(1), calls: atLeast(1) },
] as const;

const DEFINITIONS: readonly Definition[] = [
  ...SMALL_CALLS.map((c): Definition => ({
    id: `${c.key}_vs_raw`,
    label: `${c.what}, PeerLink / raw echo${c.scenario === "throughput_tcp" ? " (one write per message)" : ""}`,
    of: c.ref(c.scenario, "peerlink"),
    over: c.ref(c.scenario, "raw"),
    target: c.target,
  })),
  ...["udp", "tcp"].map((t): Definition => ({
    id: `${t}_latency_p99_vs_raw`,
    label: `${t.toUpperCase()} call latency (p99), PeerLink / raw echo`,
    of: lat(`latency_${t}`, "peerlink", "p99"),
    over: lat(`latency_${t}`, "raw", "p99"),
  })),
  {
    id: "tcp_throughput_vs_raw_coalesced",
    label: "TCP calls/s, 64 in flight, PeerLink / raw echo with coalesced writes",
    of: rate("throughput_tcp", "peerlink"),
    over: rate("throughput_tcp", "raw_coalesced"),
    target: atLeast(0.5),
  },
  {
    id: "upload_vs_raw",
    label: "4 MiB upload over TCP (MB/s), PeerLink / raw TCP transfer",
    of: rate("upload_tcp", "peerlink"),
    over: rate("upload_tcp", "raw"),
    target: atLeast(0.6),
  },
  ...SMALL_CALLS.flatMap((c) =>
    (["peerlink", "peerlink_sealed"] as const).map((v): Definition => ({
      id: `cpu_${c.key}${v === "peerlink" ? "" : "_sealed"}_vs_raw`,
      label: `CPU per call (client + server), ${c.what}, PeerLink${v === "peerlink" ? "" : " sealed"} / raw echo`,
      of: cpu(c.scenario, v),
      over: cpu(c.scenario, "raw"),
    }))
  ),
  ...[...SMALL_CALLS, { scenario: "upload_tcp", what: "4 MiB upload", ref: rate, key: "upload" } as const].map((
    c,
  ): Definition => ({
    id: `sealed_${c.key}_vs_plain`,
    label: `Sealed ${c.what}, with a secret / without`,
    of: c.ref(c.scenario, "peerlink_sealed"),
    over: c.ref(c.scenario, "peerlink"),
    target: c.ref === lat ? atMost(1.15) : atLeast(0.8),
  })),
  ...ALTERNATIVES.flatMap((alt): Definition[] => [
    ...["udp", "tcp"].map((t): Definition => ({
      id: `${alt.name}_latency_speedup${t === "udp" ? "" : "_tcp"}`,
      label: `Sequential small call: ${alt.label} latency / PeerLink ${t.toUpperCase()} latency`,
      of: lat(`${alt.name}_sequential`, alt.name),
      over: lat(`latency_${t}`, "peerlink"),
      target: t === "udp" ? alt.latency : undefined,
    })),
    ...["udp", "tcp"].map((t): Definition => ({
      id: `${alt.name}_throughput_speedup${t === "udp" ? "" : "_tcp"}`,
      label: `64 small calls in flight: PeerLink ${t.toUpperCase()} calls/s / ${alt.label} calls/s`,
      of: rate(`throughput_${t}`, "peerlink"),
      over: rate(`${alt.name}_concurrent`, alt.name),
      target: t === "udp" ? alt.calls : undefined,
    })),
  ]),
  {
    id: "http_latency_bound",
    label: "Sequential: HTTP+fetch latency / raw UDP echo latency (the most any UDP RPC could gain)",
    of: lat("http_sequential", "http"),
    over: lat("latency_udp", "raw"),
  },
  {
    id: "stream_vs_raw",
    label: "One large stream in 64 KiB chunks (MB/s), PeerLink / raw TCP transfer",
    of: rate("stream", "peerlink"),
    over: rate("stream", "raw"),
    target: atLeast(0.8),
  },
  {
    id: "sealed_stream_vs_plain",
    label: "One large stream, sealed / plain",
    of: rate("stream", "peerlink_sealed"),
    over: rate("stream", "peerlink"),
  },
  {
    id: "stream_slow_reader_growth",
    label: "Writer's resident memory growth, reader 10x slower than the writer",
    of: ["stream_slow_reader", "peerlink", "growth"],
    unit: "MiB",
    target: atMost(64),
  },
  {
    id: "streams_fairness",
    label: "100 concurrent streams on one connection: slowest stream's time / mean time",
    of: ["streams_concurrent", "peerlink", "max_over_mean"],
    target: atMost(2),
  },
  {
    id: "stream_values_vs_calls",
    label: "Small values streamed per second / TCP calls per second (64 in flight)",
    of: rate("stream_values", "peerlink"),
    over: rate("throughput_tcp", "peerlink"),
  },
  {
    id: "latency_during_stream_vs_idle",
    label: "TCP call latency during a large stream on the same connection / without",
    of: lat("latency_during_stream", "peerlink"),
    over: lat("latency_during_stream", "peerlink", "idle_median"),
  },
  {
    id: "latency_during_stream_added",
    label: "TCP call latency added by a large stream on the same connection",
    of: lat("latency_during_stream", "peerlink"),
    minus: lat("latency_during_stream", "peerlink", "idle_median"),
    unit: "ms",
  },
  {
    id: "files_vs_raw",
    label: "File between two LAN hosts (MB/s), PeerLink getFile / raw TCP transfer of the same bytes",
    of: rate("files", "peerlink"),
    over: rate("files", "raw"),
    target: atLeast(0.7),
  },
  {
    id: "files_curl_vs_raw",
    label: "The same file with curl over PeerLink's HTTP path / raw TCP transfer",
    of: rate("files", "curl"),
    over: rate("files", "raw"),
  },
  ...(["server", "client"] as const).map((side): Definition => ({
    id: `files_${side}_growth`,
    label: `File between two LAN hosts: resident memory growth of the ${
      side === "server" ? "serving" : "fetching"
    } process`,
    of: ["files", "peerlink", `${side}_growth`],
    unit: "MiB",
    target: atMost(64),
  })),
  {
    id: "discovery_up",
    label: "Discovery: start() until the other node reports it (median)",
    of: ["discovery", "peerlink", "up"],
    unit: "ms",
    target: atMost(1500),
  },
  {
    id: "discovery_down",
    label: "Peer-down: stop() until the other node reports it (median)",
    of: ["discovery", "peerlink", "down"],
    unit: "ms",
    target: atMost(200),
  },
];

function evaluate(d: Definition, median: MedianOf): number | undefined {
  const of = median(...d.of);
  if (of === undefined) return undefined;
  if (d.over) {
    const over = median(...d.over);
    return over === undefined || over === 0 ? undefined : of / over;
  }
  if (d.minus) {
    const minus = median(...d.minus);
    return minus === undefined ? undefined : of - minus;
  }
  return of;
}

/**
 * Whether a value meets a target.
 *
 * @param value The value, or `null`.
 * @param target The target, if any.
 * @returns `null` without a value or without a target.
 */
export function meets(value: number | null, target: Target | undefined): boolean | null {
  if (value === null || !target) return null;
  return target.op === "<=" ? value <= target.value : value >= target.value;
}

/**
 * Every comparison, from the medians given.
 *
 * @param median Looks a metric's median up (one run's, or the median over runs).
 * @returns Comparisons in a stable order.
 */
export function comparisons(median: MedianOf): Comparison[] {
  return DEFINITIONS.map((d) => {
    const raw = evaluate(d, median);
    const value = raw === undefined || !Number.isFinite(raw) ? null : round(raw);
    const unit = d.over ? "x" : d.unit ?? "";
    return {
      id: d.id,
      label: d.label,
      value,
      unit,
      ...(d.target ? { target: d.target } : {}),
      met: meets(value, d.target),
    };
  });
}
