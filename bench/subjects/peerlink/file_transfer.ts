/**
 * Moves one file between two processes on loopback and times it, by hand: any pair of runtimes,
 * get or put. (The benchmark's `files` row, bench/scenarios/files.ts, measures a get between
 * two LAN hosts beside raw TCP and curl.)
 *
 * ```sh
 * scripts/netns.sh node_modules/.bin/node bench/subjects/peerlink/file_transfer.ts [--size 1GiB] \
 *   [--server node] [--client node] [--op get|put] [--dir /dev/shm]
 * ```
 *
 * Or from code: `await measureFileTransfer({ size: 1 << 30, server: "deno", client: "bun" })`.
 * It writes a pattern file of `size` bytes (real data, not sparse) in a fresh folder under
 * `dir` (default /dev/shm, a tmpfs, so the disk is not what is measured), starts a sharing
 * node and a client node (bench/subjects/peerlink/file_peer.ts) on loopback, runs one `getFile` (or
 * `putFile`), and reports MB/s and each side's peak RSS. Run it inside a network namespace:
 * the nodes find each other by mDNS.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writePattern } from "../../driver/scratch.ts";

type Runtime = "deno" | "bun" | "node";

/** What to measure. */
export interface FileTransferOptions {
  /** Bytes (default 1 GiB). */
  size?: number;
  /** Runtime of the sharing node (default node). */
  server?: Runtime;
  /** Runtime of the node that gets or puts (default node). */
  client?: Runtime;
  /** `get` (default) from the share, or `put` into it. */
  op?: "get" | "put";
  /** Folder for the files (default /dev/shm). */
  dir?: string;
}

/** What was measured. */
export interface FileTransferResult {
  /** Bytes moved. */
  bytes: number;
  /** Milliseconds of the transfer (from the client's call to its result). */
  ms: number;
  /** Megabytes (10^6) per second. */
  mbPerSecond: number;
  /** Peak RSS of the sharing process, bytes. */
  serverPeakRss: number;
  /** Peak RSS of the client process, bytes. */
  clientPeakRss: number;
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PEER = join(ROOT, "bench", "subjects", "peerlink", "file_peer.ts");

function command(runtime: Runtime, args: string[]): [string, string[]] {
  const bin = join(ROOT, "node_modules", ".bin", runtime);
  return runtime === "deno" ? [bin, ["run", "-A", "--unstable-net", PEER, ...args]] : [bin, [PEER, ...args]];
}

function start(runtime: Runtime, args: string[]): { child: ChildProcess; lines: AsyncIterator<string> } {
  const [bin, argv] = command(runtime, args);
  const child = spawn(bin, argv, { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let buffered = "";
  let ended = false;
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    queue.push(...parts.filter((p) => p.startsWith("{")));
    wake?.();
  });
  child.on("exit", () => {
    ended = true;
    wake?.();
  });
  const lines: AsyncIterator<string> = {
    async next() {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
      const value = queue.shift();
      return value === undefined ? { done: true, value: undefined } : { done: false, value };
    },
  };
  return { child, lines };
}

async function nextJson(lines: AsyncIterator<string>, what: string): Promise<Record<string, number | string>> {
  const next = await lines.next();
  if (next.done) throw new Error(`${what} ended without answering`);
  return JSON.parse(next.value);
}

/**
 * Moves one file between two processes and times it.
 *
 * @param options Size, runtimes, direction, folder.
 * @returns Bytes, time, MB/s and the peak RSS of both sides.
 */
export async function measureFileTransfer(options: FileTransferOptions = {}): Promise<FileTransferResult> {
  const size = options.size ?? 1024 ** 3;
  const op = options.op ?? "get";
  const folder = mkdtempSync(join(options.dir ?? "/dev/shm", "peerlink-file-bench-"));
  const realm = `file-bench-${process.pid}`;
  const name = `FileBenchShare${process.pid}`;
  const server = start(options.server ?? "node", ["share", folder, name, realm]);
  try {
    writePattern(join(folder, op === "get" ? "source.bin" : "local.bin"), size);
    await nextJson(server.lines, "the sharing node");
    const args = op === "get"
      ? ["get", name, "/source.bin", join(folder, "copy.bin"), realm]
      : ["put", name, join(folder, "local.bin"), "/inbox/copy.bin", realm];
    const client = start(options.client ?? "node", args);
    const done = await nextJson(client.lines, "the client");
    server.child.stdin!.end();
    const stopped = await nextJson(server.lines, "the sharing node");
    const ms = Number(done.ms);
    return {
      bytes: Number(done.bytes),
      ms,
      mbPerSecond: Number(done.bytes) / 1e6 / (ms / 1000),
      serverPeakRss: Number(stopped.peakRss),
      clientPeakRss: Number(done.peakRss),
    };
  } finally {
    server.child.kill("SIGKILL");
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      size: { type: "string", default: "1GiB" },
      server: { type: "string", default: "node" },
      client: { type: "string", default: "node" },
      op: { type: "string", default: "get" },
      dir: { type: "string", default: "/dev/shm" },
    },
  });
  const units: Record<string, number> = { "": 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
  const match = /^(\d+(?:\.\d+)?)(KiB|MiB|GiB)?$/.exec(values.size!);
  if (!match) throw new Error(`--size: e.g. 1GiB, 256MiB or a number of bytes (got ${values.size})`);
  const result = await measureFileTransfer({
    size: Math.round(Number(match[1]) * units[match[2] ?? ""]),
    server: values.server as Runtime,
    client: values.client as Runtime,
    op: values.op as "get" | "put",
    dir: values.dir,
  });
  const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;
  console.log(
    `${values.op} ${mib(result.bytes)} ${values.server} -> ${values.client}: ${result.mbPerSecond.toFixed(0)} MB/s ` +
      `(${result.ms.toFixed(0)} ms); peak RSS share ${mib(result.serverPeakRss)}, client ${mib(result.clientPeakRss)}`,
  );
}
