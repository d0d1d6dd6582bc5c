/**
 * Scratch space for the file measurements: a fresh folder on tmpfs (so the disk is not what is
 * measured), and a pattern file of a given size in it (real data, not sparse).
 *
 * @module
 */
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** `f_type` of tmpfs in statfs(2). */
const TMPFS_MAGIC = 0x01021994;

/** A scratch folder. */
export interface Scratch {
  /** The folder. */
  dir: string;
  /** Whether it is on tmpfs. */
  tmpfs: boolean;
  /** Removes it (until then, SIGINT or SIGTERM removes it before ending the process). */
  remove(): void;
}

function isTmpfs(path: string): boolean {
  try {
    return statfsSync(path).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Makes a fresh folder on the first tmpfs of /dev/shm and the temporary folder (else in the
 * temporary folder, saying so), with room for `needBytes`. The caller calls `remove()` when
 * done; a SIGINT or SIGTERM before that removes it and then ends the process as the signal would.
 *
 * @param prefix Name prefix of the folder.
 * @param needBytes Bytes the caller will write there.
 * @returns The folder.
 * @throws {Error} When there is not room for `needBytes`.
 */
export function scratchFolder(prefix: string, needBytes: number): Scratch {
  const candidates = ["/dev/shm", tmpdir()];
  const parent = candidates.find(isTmpfs) ?? tmpdir();
  const stats = statfsSync(parent);
  const free = stats.bavail * stats.bsize;
  if (free < needBytes) {
    throw new Error(
      `${parent} has ${Math.floor(free / 2 ** 20)} MiB free, the file measurement needs ${
        Math.ceil(needBytes / 2 ** 20)
      } MiB: free some space or run with --quick`,
    );
  }
  const dir = mkdtempSync(join(parent, prefix));
  // A file of a GiB left on tmpfs holds a GiB of memory: Ctrl-C must not leave it behind.
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    process.kill(process.pid, signal);
  };
  const remove = () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return { dir, tmpfs: isTmpfs(parent), remove };
}

/**
 * Writes `size` bytes of a pattern, 1 MiB at a time.
 *
 * @param path The file (created or truncated).
 * @param size Its size in bytes.
 */
export function writePattern(path: string, size: number): void {
  const chunk = new Uint8Array(1 << 20).map((_, i) => (i * 31 + 7) & 0xff);
  const fd = openSync(path, "w");
  try {
    for (let done = 0; done < size; done += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - done));
  } finally {
    closeSync(fd);
  }
}
