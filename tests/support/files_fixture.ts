/**
 * Files for the file-transfer tests: temporary folders under os.tmpdir(), pattern and sparse
 * files, SHA-256 of a file on disk, and the hostile paths every confinement rule must refuse.
 */
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temporary folder, removed by `remove()`. */
export interface TempDir {
  path: string;
  /** A path inside it. */
  join(...parts: string[]): string;
  remove(): void;
}

/**
 * Makes a temporary folder.
 *
 * @param label Part of its name.
 * @returns The folder.
 */
export function tempDir(label: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `peerlink-${label}-`));
  return {
    path,
    join: (...parts) => join(path, ...parts),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

/**
 * Deterministic bytes covering every value.
 *
 * @param size How many.
 * @param seed Varies the pattern.
 * @returns The bytes.
 */
export function pattern(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed + (i >> 13)) & 0xff;
  return out;
}

/**
 * Writes a pattern file.
 *
 * @param path Where.
 * @param size Bytes.
 * @param seed Pattern seed.
 * @returns Its SHA-256, hex.
 */
export function patternFile(path: string, size: number, seed = 1): string {
  const bytes = pattern(size, seed);
  writeFileSync(path, bytes);
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Makes a sparse file: `size` bytes of holes (no data is written), with a few marker bytes
 * written at `markers` so a transfer that drops or shifts bytes is caught.
 *
 * @param path Where.
 * @param size Its size.
 * @param markers Offsets that get a non-zero byte.
 */
export async function sparseFile(path: string, size: number, markers: readonly number[] = []): Promise<void> {
  const handle = await open(path, "w");
  try {
    await handle.truncate(size);
    for (const at of markers) await handle.write(new Uint8Array([0xa5, at & 0xff]), 0, 2, at);
  } finally {
    await handle.close();
  }
}

/**
 * SHA-256 of a file on disk, read in 1 MiB pieces.
 *
 * @param path The file.
 * @returns Hex digest.
 */
export function sha256File(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  const buffer = new Uint8Array(1 << 20);
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** Paths that must be refused, with the rule that refuses them. */
export const HOSTILE_PATHS: readonly [path: string, rule: string][] = [
  ["/../etc/passwd", "dotdot"],
  ["../secret.txt", "dotdot"],
  ["/pub/../../secret.txt", "dotdot"],
  ["/pub/./a.txt", "dotdot"],
  ["/pub//a.txt", "dotdot"],
  ["/pub/a.txt\u0000.png", "nul"],
  ["/pub\\..\\secret.txt", "backslash"],
  ["//etc/passwd", "absolute"],
  ["C:/Windows/win.ini", "absolute"],
  ["/C:/Windows/win.ini", "absolute"],
  ["/pub/.env", "hidden"],
  ["/pub/.git/config", "hidden"],
];
