/**
 * Files (issue 17), for one runtime: one file on tmpfs fetched across a private LAN of two
 * hosts (`scripts/lan.sh`, through `tests/support/lan.ts`): host 1 serves it, host 2 fetches it
 * and writes it to a file. Three ways, their repeats interleaved: PeerLink's `getFile`, the raw
 * TCP transfer of the same bytes on the runtime's own sockets, and `curl -o` over PeerLink's
 * plain HTTP path (the serving node's TCP port). PeerLink's transfer also gives the resident
 * memory growth of the serving and the fetching process. Everything runs unpinned.
 *
 * @module
 */
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Lan } from "../../tests/support/lan.ts";
import { type Scratch, scratchFolder, writePattern } from "../driver/scratch.ts";
import { type MetricSpec, metricSpec } from "../report/table.ts";
import { describe, Pairs, type PairSpec, recordResult, type RunContext } from "./context.ts";
import { curlDownload, curlVersion } from "./files_curl.ts";

/** The LAN: host 1 serves, host 2 fetches. */
const HOSTS = 2;
const SERVER_HOST = 1;
const CLIENT_HOST = 2;
const MiB = 2 ** 20;

/** A file in the share. */
interface SharedFile {
  name: string;
  bytes: number;
}

type FileVariant = "raw" | "peerlink" | "curl";
const VARIANTS: readonly FileVariant[] = ["raw", "peerlink", "curl"];

const rate = (variant: FileVariant) => metricSpec("files", variant, "rate", "MB/s", "higher");
const METRICS: Record<FileVariant, MetricSpec[]> = {
  raw: [rate("raw")],
  peerlink: [
    rate("peerlink"),
    metricSpec("files", "peerlink", "server_growth", "MiB"),
    metricSpec("files", "peerlink", "client_growth", "MiB"),
  ],
  curl: [rate("curl")],
};

/** How long one transfer may take: a minute, plus the file at 5 MB/s. */
function transferTimeoutMs(bytes: number): number {
  return 60_000 + bytes / 5_000;
}

/** Where things are during the measurement. */
interface Setup {
  ctx: RunContext;
  lan: Lan;
  pairs: Pairs;
  /** Folder the copies go to, emptied after each transfer. */
  copies: string;
  /** The measured file, and the small one each variant moves first, untimed. */
  source: SharedFile;
  warmup: SharedFile;
}

function pairSpecs(ctx: RunContext, lan: Lan, share: string): PairSpec[] {
  const via = { server: lan.enterArgv(SERVER_HOST), client: lan.enterArgv(CLIENT_HOST) };
  const realm = `${ctx.realm}-files`;
  return [
    {
      label: "raw file transfer",
      variants: ["raw"],
      server: ["raw/file#server", { dir: share, address: lan.address(SERVER_HOST) }],
      client: (ready) => ["raw/file#client", { port: ready.port, address: lan.address(SERVER_HOST) }],
      via,
    },
    {
      label: "PeerLink files",
      variants: ["peerlink"],
      server: ["peerlink/files#server", { realm, dir: share }],
      client: () => ["peerlink/files#client", { realm, discoveryMs: 30_000 }],
      clientReadyMs: 45_000,
      via,
    },
  ];
}

/** One transfer of `file` by one variant into `dest`: the fields of its metrics. */
async function transfer(
  setup: Setup,
  variant: FileVariant,
  file: SharedFile,
  dest: string,
): Promise<Record<string, unknown>> {
  const { pairs } = setup;
  const { name, bytes } = file;
  const timeoutMs = transferTimeoutMs(bytes);
  if (variant === "raw") {
    const result = await pairs.clients.raw!.request("fetch", { name, dest, bytes }, timeoutMs);
    const size = statSync(dest).size;
    if (size !== bytes) throw new Error(`the raw copy has ${size} bytes, expected ${bytes}`);
    return result;
  }
  const server = pairs.servers.peerlink!;
  if (variant === "curl") {
    const url = `http://${setup.lan.address(SERVER_HOST)}:${server.ready.tcpPort}/${name}`;
    return await curlDownload(setup.lan, CLIENT_HOST, url, dest, bytes, timeoutMs);
  }
  await server.request("watchMemory");
  const got = await pairs.clients.peerlink!.request("get", { path: `/${name}`, dest }, timeoutMs);
  const { growth } = await server.request("memoryGrowth");
  if (got.bytes !== bytes) throw new Error(`getFile brought ${got.bytes} bytes, expected ${bytes}`);
  return { rate: got.rate, client_growth: got.growth, server_growth: growth };
}

/** The variants that can run: the others' rows are marked unavailable with the reason. */
async function available(setup: Setup): Promise<FileVariant[]> {
  const { ctx, pairs } = setup;
  // curl downloads from the PeerLink node: without it, curl has nothing to fetch.
  const why = { ...pairs.unavailable, curl: pairs.unavailable.peerlink };
  if (!why.curl) {
    try {
      ctx.apis.files += `; ${await curlVersion(setup.lan, CLIENT_HOST)}`;
    } catch (error) {
      why.curl = describe(error);
    }
  }
  if (why.peerlink) ctx.peerlinkUnavailable ??= why.peerlink;
  return VARIANTS.filter((variant) => {
    const reason = why[variant];
    if (reason) { for (const m of METRICS[variant]) ctx.table.mark(m, "unavailable", reason); }
    return !reason;
  });
}

/** The warm-up, then every repeat of every variant that can run; a variant that fails stops. */
async function measure(setup: Setup, repeats: number): Promise<void> {
  const { ctx, copies } = setup;
  const running = await available(setup);
  const rounds = [setup.warmup, ...Array<SharedFile>(repeats).fill(setup.source)];
  for (const [round, file] of rounds.entries()) {
    for (const variant of [...running]) {
      try {
        const result = await transfer(setup, variant, file, join(copies, `${variant}.bin`));
        if (round > 0) recordResult(ctx.table, METRICS[variant], result);
      } catch (error) {
        for (const m of METRICS[variant]) ctx.table.mark(m, "error", describe(error));
        ctx.errors.push(`files ${variant}${round === 0 ? " (warm-up)" : ""}: ${describe(error)}`);
        running.splice(running.indexOf(variant), 1);
      } finally {
        // Only the sources and one copy at a time on tmpfs (part files of a failed get included).
        rmSync(copies, { recursive: true, force: true });
        mkdirSync(copies);
      }
    }
  }
}

/**
 * The file measurements of one runtime.
 *
 * @param ctx The run.
 */
export async function runFiles(ctx: RunContext): Promise<void> {
  const { bytes, repeats, warmupBytes } = ctx.settings.files;
  const source = { name: "source.bin", bytes };
  const warmup = { name: "warmup.bin", bytes: warmupBytes };
  ctx.log(`${ctx.runtime}: files (${bytes / MiB} MiB between two LAN hosts)`);
  let scratch: Scratch | undefined;
  let lan: Lan | undefined;
  let pairs: Pairs | undefined;
  try {
    scratch = scratchFolder("peerlink-bench-files-", 2 * bytes + 2 * warmupBytes + MiB);
    if (!scratch.tmpfs) ctx.errors.push(`files: ${scratch.dir} is not on tmpfs: the disk's speed is in the figures`);
    const [share, copies] = [join(scratch.dir, "share"), join(scratch.dir, "copies")];
    mkdirSync(share);
    mkdirSync(copies);
    for (const file of [source, warmup]) writePattern(join(share, file.name), file.bytes);
    // Loaded here: it asks scripts/lan.sh whether a LAN can be made when it loads.
    const { openLan } = await import("../../tests/support/lan.ts");
    const transfersMs = VARIANTS.length * (repeats * transferTimeoutMs(bytes) + transferTimeoutMs(warmupBytes));
    const maxSeconds = Math.ceil((transfersMs + 180_000) / 1000);
    lan = await openLan(HOSTS, { maxSeconds });
    ctx.apis.files = `host ${lan.address(SERVER_HOST)} to host ${lan.address(CLIENT_HOST)} of scripts/lan.sh, ` +
      `files in ${scratch.dir}`;
    pairs = await Pairs.start(ctx, pairSpecs(ctx, lan, share));
    await measure({ ctx, lan, pairs, copies, source, warmup }, repeats);
  } catch (error) {
    for (const m of Object.values(METRICS).flat()) {
      if (!ctx.table.has(m)) ctx.table.mark(m, lan ? "error" : "unavailable", describe(error));
    }
    ctx.errors.push(`files: ${describe(error)}`);
  } finally {
    await pairs?.close();
    await lan?.close().catch((error) => ctx.errors.push(`files: ${describe(error)}`));
    scratch?.remove();
  }
}
