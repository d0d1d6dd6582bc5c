/**
 * Resume state: an interrupted transfer into `NAME` leaves `NAME.part` (the bytes so far) and
 * the sidecar `NAME.part.json`, which names the source the bytes came from:
 *
 * ```json
 * {"peerlink":"part","peer":"Host","path":"/videos/a.mp4","size":4294967296,"mtime":1718000000000,"etag":"\"100000000-18f...\""}
 * ```
 *
 * The next transfer of the same source into the same place continues after the bytes of the
 * part file, and still verifies the whole file's SHA-256. The ETag (size and mtime) says
 * whether the source changed meanwhile; hashing the source up front instead would mean
 * reading it twice. The sidecar is written before the first byte, so a part file without one
 * is never resumed.
 *
 * @module
 */
import { readFile, rm, writeFile } from "node:fs/promises";

/** What a sidecar holds. */
export interface Sidecar {
  /** The peer the bytes came from (get), or that sent them (put). */
  peer: string;
  /** The source's path: the share path (get), or the sender's file (put). */
  path: string;
  /** The source's size. */
  size: number;
  /** The source's mtime, ms. */
  mtime: number;
  /** The source's ETag. */
  etag: string;
}

/** A sidecar is tiny: anything larger is not one of ours. */
const MAX_SIDECAR_BYTES = 8192;

/** The part file and sidecar of a target. */
export interface PartPaths {
  /** The final file. */
  target: string;
  /** `target + ".part"`. */
  part: string;
  /** `target + ".part.json"`. */
  sidecar: string;
}

/**
 * The part and sidecar paths of a target file.
 *
 * @param target The final file's path.
 * @returns The three paths.
 *
 * @example
 * ```ts
 * import { partPaths } from "./sidecar.ts";
 * console.log(partPaths("/tmp/a.mp4").sidecar); // "/tmp/a.mp4.part.json"
 * ```
 */
export function partPaths(target: string): PartPaths {
  return { target, part: `${target}.part`, sidecar: `${target}.part.json` };
}

/**
 * Reads a sidecar; `undefined` when there is none or it is not valid.
 *
 * @param path The sidecar's path.
 * @returns The sidecar.
 */
export async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    const text = await readFile(path, "utf8");
    if (text.length > MAX_SIDECAR_BYTES) return undefined;
    const raw = JSON.parse(text) as Record<string, unknown>;
    if (raw?.peerlink !== "part") return undefined;
    const { peer, path: source, size, mtime, etag } = raw;
    if (typeof peer !== "string" || typeof source !== "string" || typeof etag !== "string") return undefined;
    if (typeof size !== "number" || typeof mtime !== "number") return undefined;
    return { peer, path: source, size, mtime, etag };
  } catch {
    return undefined;
  }
}

/**
 * Writes a sidecar.
 *
 * @param path The sidecar's path.
 * @param sidecar What to record.
 */
export async function writeSidecar(path: string, sidecar: Sidecar): Promise<void> {
  await writeFile(path, JSON.stringify({ peerlink: "part", ...sidecar }) + "\n");
}

/**
 * Whether a sidecar describes the same source.
 *
 * @param a One.
 * @param b The other.
 * @returns True when peer, path, size, mtime and ETag agree.
 */
export function sameSource(a: Sidecar, b: Sidecar): boolean {
  return a.peer === b.peer && a.path === b.path && a.size === b.size && a.mtime === b.mtime && a.etag === b.etag;
}

/**
 * Deletes a part file and its sidecar (missing ones are fine).
 *
 * @param paths The paths.
 */
export async function removePart(paths: PartPaths): Promise<void> {
  await Promise.all([rm(paths.part, { force: true }), rm(paths.sidecar, { force: true })]);
}
