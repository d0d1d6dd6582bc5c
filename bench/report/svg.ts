/**
 * The chart the benchmark writes beside its JSON (`bench-results.svg`): per runtime, the
 * latency of sequential small calls and the calls per second with 64 in flight, for the raw
 * echo, PeerLink (plain and sealed, UDP and TCP), HTTP+fetch, gRPC and capnweb. Bars are the
 * medians, whiskers the range (over runs, or over one run's repeats). Hand-written SVG, no
 * dependency.
 *
 * @module
 */
import type { BenchReport, RuntimeSummary, SummaryRow } from "./schema.ts";
import { metricKey, type Variant } from "./table.ts";

/** One bar of each panel: who, and where its latency and rate rows are. */
interface Subject {
  label: string;
  color: string;
  latency: [string, Variant];
  calls: [string, Variant];
}

const SUBJECTS: readonly Subject[] = [
  { label: "raw UDP echo", color: "#9e9e9e", latency: ["latency_udp", "raw"], calls: ["throughput_udp", "raw"] },
  { label: "raw TCP echo", color: "#bdbdbd", latency: ["latency_tcp", "raw"], calls: ["throughput_tcp", "raw"] },
  {
    label: "PeerLink UDP",
    color: "#1565c0",
    latency: ["latency_udp", "peerlink"],
    calls: ["throughput_udp", "peerlink"],
  },
  {
    label: "PeerLink TCP",
    color: "#42a5f5",
    latency: ["latency_tcp", "peerlink"],
    calls: ["throughput_tcp", "peerlink"],
  },
  {
    label: "PeerLink sealed UDP",
    color: "#0d47a1",
    latency: ["latency_udp", "peerlink_sealed"],
    calls: ["throughput_udp", "peerlink_sealed"],
  },
  {
    label: "PeerLink sealed TCP",
    color: "#1e88e5",
    latency: ["latency_tcp", "peerlink_sealed"],
    calls: ["throughput_tcp", "peerlink_sealed"],
  },
  { label: "HTTP+fetch", color: "#ef6c00", latency: ["http_sequential", "http"], calls: ["http_concurrent", "http"] },
  { label: "gRPC", color: "#2e7d32", latency: ["grpc_sequential", "grpc"], calls: ["grpc_concurrent", "grpc"] },
  {
    label: "capnweb",
    color: "#6a1b9a",
    latency: ["capnweb_sequential", "capnweb"],
    calls: ["capnweb_concurrent", "capnweb"],
  },
];

/** A panel: which metric of the subjects it shows, and how a value reads. */
interface Panel {
  title: string;
  pick(s: Subject): [string, Variant, string];
  /** The row's value in the panel's display unit. */
  scale: number;
  format(value: number): string;
}

const PANELS: readonly Panel[] = [
  {
    title: "Latency of one call, sequential (µs, lower is better)",
    pick: (s) => [...s.latency, "median"],
    scale: 1000,
    format: (v) => `${Math.round(v)} µs`,
  },
  {
    title: "Calls per second, 64 in flight (higher is better)",
    pick: (s) => [...s.calls, "rate"],
    scale: 1,
    format: (v) => v >= 10_000 ? `${Math.round(v / 1000)}k/s` : `${(v / 1000).toFixed(1)}k/s`,
  },
];

const ROW = 16;
const GROUP_GAP = 24;
const LABEL_WIDTH = 190;
const PANEL_WIDTH = 380;
const PANEL_GAP = 40;
const TOP = 64;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function rowOf(
  runtime: RuntimeSummary,
  [scenario, variant, metric]: [string, Variant, string],
): SummaryRow | undefined {
  const key = metricKey({ scenario, variant, metric });
  return runtime.metrics.find((m) => metricKey(m) === key);
}

/**
 * Renders the chart.
 *
 * @param report The benchmark's results.
 * @returns An SVG document.
 */
export function chartSvg(report: BenchReport): string {
  const runtimes = report.summary.runtimes;
  const groupHeight = SUBJECTS.length * ROW;
  const height = TOP + runtimes.length * (groupHeight + GROUP_GAP) + 40;
  const width = LABEL_WIDTH + PANELS.length * (PANEL_WIDTH + PANEL_GAP);
  const out: string[] = [];
  const text = (x: number, y: number, body: string, attrs = "") =>
    out.push(`<text x="${x}" y="${y}"${attrs ? ` ${attrs}` : ""}>${escape(body)}</text>`);
  const runs = report.runs.length;
  text(
    10,
    20,
    `PeerLink and what users would pick instead — ${runs} run${runs > 1 ? "s" : ""}${
      report.quick ? " (quick smoke run: rough numbers)" : ""
    }, ${report.machine.cpus} CPUs, ${report.startedAt.slice(0, 10)}`,
    'font-size="15" font-weight="bold"',
  );
  text(
    10,
    38,
    `Bars: medians${runs > 1 ? " of the runs' medians" : ""}; whiskers: range over ${report.summary.rangeOver}.`,
    'font-size="12" fill="#555"',
  );
  PANELS.forEach((panel, p) => {
    const x0 = LABEL_WIDTH + p * (PANEL_WIDTH + PANEL_GAP);
    const values = runtimes.flatMap((rt) =>
      SUBJECTS.map((s) => rowOf(rt, panel.pick(s))).filter((r) => r?.status === "ok").map((r) => r!.max! * panel.scale)
    );
    const top = Math.max(1, ...values) * 1.25;
    const x = (v: number) => x0 + (v / top) * PANEL_WIDTH;
    text(x0, TOP - 12, panel.title, 'font-size="12" font-weight="bold"');
    runtimes.forEach((rt, g) => {
      const y0 = TOP + g * (groupHeight + GROUP_GAP);
      out.push(`<line x1="${x0}" y1="${y0 - 2}" x2="${x0}" y2="${y0 + groupHeight}" stroke="#333"/>`);
      SUBJECTS.forEach((s, i) => {
        const y = y0 + i * ROW;
        const row = rowOf(rt, panel.pick(s));
        if (row?.status !== "ok") {
          text(x0 + 4, y + ROW - 4, row ? row.status : "not measured", 'font-size="10" fill="#999"');
          return;
        }
        const [median, min, max] = [row.median!, row.min!, row.max!].map((v) => v * panel.scale);
        out.push(
          `<rect x="${x0}" y="${y + 2}" width="${(x(median) - x0).toFixed(1)}" height="${ROW - 4}" fill="${s.color}"/>`,
        );
        const mid = y + ROW / 2;
        out.push(
          `<path d="M${x(min).toFixed(1)} ${mid}H${x(max).toFixed(1)}M${x(min).toFixed(1)} ${mid - 4}v8M${
            x(max).toFixed(1)
          } ${mid - 4}v8" stroke="#222" fill="none"/>`,
        );
        text(x(max) + 4, y + ROW - 4, panel.format(median), 'font-size="10"');
      });
    });
  });
  runtimes.forEach((rt, g) => {
    const y0 = TOP + g * (groupHeight + GROUP_GAP);
    text(10, y0 - 5, `${rt.runtime} ${rt.version}`, 'font-size="12" font-weight="bold"');
    SUBJECTS.forEach((s, i) => {
      const y = y0 + i * ROW;
      out.push(`<rect x="${LABEL_WIDTH - 14}" y="${y + 4}" width="10" height="${ROW - 8}" fill="${s.color}"/>`);
      text(LABEL_WIDTH - 20, y + ROW - 4, s.label, 'font-size="11" text-anchor="end"');
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${
    out.join("\n")
  }\n</svg>\n`;
}
