/**
 * What `ls`, `get` and `send` share: a short-lived node that finds the peer, and the progress
 * of a transfer: a bar updated in place on a terminal (bytes, percent, rate, ETA), else one
 * JSON line per second on stdout, and a final line with size, SHA-256, rate and whether it
 * resumed.
 *
 * @module
 */
import type { PeerLink } from "../src/peerlink.ts";
import type { Progress } from "../src/files/progress.ts";
import { flag, type ParsedArgs } from "./args.ts";
import { type CommandContext, DEFAULT_WAIT_MS, waitOption } from "./command.ts";
import { formatMs } from "./duration.ts";
import { CliFailure, interruptedExitCode } from "./errors.ts";
import { formatBytes } from "./format.ts";
import { ephemeralName, networkOptions, startNode } from "./node.ts";
import { knownPeersPhrase, waitForPeer } from "./peers.ts";

/** How often a JSON progress line is printed. */
export const JSON_PROGRESS_INTERVAL_MS = 1000;
/** How often the terminal bar is redrawn. */
const BAR_INTERVAL_MS = 200;

/**
 * Starts a short-lived node, waits for `peer` and runs `body`; the node stops afterwards.
 *
 * @param context The command context.
 * @param args Parsed arguments (network options, `--wait`).
 * @param command The command, for errors.
 * @param peer The peer's name.
 * @param body What to do with the node.
 * @returns What `body` returns, or the interrupt exit code when interrupted while waiting.
 * @throws {CliFailure} When the peer is not found in time.
 */
export async function withPeer(
  context: CommandContext,
  args: ParsedArgs,
  command: string,
  peer: string,
  body: (node: PeerLink) => Promise<number>,
): Promise<number> {
  const waitMs = waitOption(args) ?? DEFAULT_WAIT_MS;
  const node = await startNode(context, ephemeralName(), {
    ...networkOptions(args, command),
    port: 0,
    tcpPort: 0,
    allowRename: true,
  });
  try {
    const found = await waitForPeer(node, peer, waitMs, context.signal);
    if (context.signal.aborted) return interruptedExitCode(context.signal);
    if (!found) throw new CliFailure(`peer '${peer}' not found within ${formatMs(waitMs)}. ${knownPeersPhrase(node)}`);
    return await body(node);
  } finally {
    await node.stop();
  }
}

/** What a finished transfer reports. */
export interface TransferSummary {
  /** `"get"` or `"send"`. */
  op: string;
  /** The peer. */
  peer: string;
  /** The remote path. */
  path: string;
  /** The local file. */
  local: string;
  /** The file's size. */
  bytes: number;
  /** Its SHA-256. */
  sha256: string;
  /** Bytes kept from an interrupted transfer. */
  resumedFrom: number;
  /** A stale part was discarded. */
  restarted: boolean;
}

/** Shows a transfer's progress and its end. */
export interface TransferReporter {
  /** For `getFile`/`putFile`'s `onProgress`. */
  onProgress(progress: Progress): void;
  /** Prints the final line. */
  done(summary: TransferSummary): void;
  /** Ends the bar line (before an error or interrupt message). */
  stop(): void;
}

/**
 * A reporter: a bar on a terminal (stderr), JSON lines on stdout otherwise or with `--json`.
 *
 * @param context The command context.
 * @param args Parsed arguments (`--json`).
 * @returns The reporter.
 */
export function transferReporter(context: CommandContext, args: ParsedArgs): TransferReporter {
  const json = flag(args, "json") || !context.err.isTTY;
  const started = performance.now();
  let last = -Infinity;
  let drawn = false;
  let latest: Progress | undefined;
  const elapsed = () => (performance.now() - started) / 1000;
  return {
    onProgress(progress) {
      latest = progress;
      const now = performance.now();
      if (now - last < (json ? JSON_PROGRESS_INTERVAL_MS : BAR_INTERVAL_MS)) return;
      last = now;
      if (json) {
        context.out.line(JSON.stringify({ event: "progress", ...rounded(progress) }));
      } else {
        context.err.write(`\r${bar(progress)}\x1b[K`);
        drawn = true;
      }
    },
    done(summary) {
      if (drawn) {
        context.err.write(`\r${bar({ ...(latest ?? { rate: 0 }), bytes: summary.bytes, total: summary.bytes })}\n`);
      }
      drawn = false;
      const seconds = elapsed();
      const moved = summary.bytes - summary.resumedFrom;
      const rate = seconds > 0 ? moved / seconds : 0;
      if (json) {
        context.out.line(JSON.stringify({
          event: "done",
          ...summary,
          size: summary.bytes,
          seconds: Math.round(seconds * 1000) / 1000,
          rate: Math.round(rate),
          resumed: summary.resumedFrom > 0,
        }));
        return;
      }
      const resumed = summary.resumedFrom > 0
        ? `, resumed from ${formatBytes(summary.resumedFrom)}`
        : summary.restarted
        ? ", started over (the source had changed)"
        : "";
      const arrow = summary.op === "get"
        ? `${summary.peer}:${summary.path} → ${summary.local}`
        : `${summary.local} → ${summary.peer}:${summary.path}`;
      context.out.line(
        `${arrow}  ${formatBytes(summary.bytes)}  sha256 ${summary.sha256}  ${formatRate(rate)}${resumed}`,
      );
    },
    stop() {
      if (drawn) context.err.write("\n");
      drawn = false;
    },
  };
}

function rounded(progress: Progress): Progress {
  return { bytes: progress.bytes, total: progress.total, rate: Math.round(progress.rate) };
}

/** `[##########..........]  50%  1.0 GiB / 2.0 GiB  98.2 MB/s  ETA 11s` */
function bar(progress: Progress): string {
  const fraction = progress.total > 0 ? Math.min(1, progress.bytes / progress.total) : 1;
  const filled = Math.round(fraction * 24);
  const left = progress.total - progress.bytes;
  const eta = progress.rate > 0 && left > 0 ? `  ETA ${formatMs((left / progress.rate) * 1000)}` : "";
  return `[${"#".repeat(filled)}${".".repeat(24 - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${
    formatBytes(progress.bytes)
  } / ${formatBytes(progress.total)}  ${formatRate(progress.rate)}${eta}`;
}

/**
 * A transfer rate for people: `98.2 MB/s`.
 *
 * @param bytesPerSecond The rate.
 * @returns The text.
 */
export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

/**
 * Quotes an argument for a shell command line the user can paste.
 *
 * @param text The argument.
 * @returns It, quoted when needed.
 */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `--json`, for the transfer commands. */
export const JSON_OPTION = {
  json: {
    type: "boolean" as const,
    help: "One JSON line per second and a final one, on stdout (also without a terminal).",
  },
};
