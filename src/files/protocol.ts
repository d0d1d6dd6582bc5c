/**
 * The file protocol between PeerLink-TS nodes: built-in functions (named `__files_*`) called
 * over TCP, whose file bytes travel as streams (`src/streams/`), so any size moves in bounded
 * memory, sealed with a secret like every call.
 *
 * ```text
 * __files_list(path)                         -> stream of ListEntry values
 * __files_get(path, {offset, ifMatch})       -> {size, mtime, etag, offset, restarted, data}
 *      data: the file's bytes from `offset` to `size`, then ONE trailer value {sha256}
 *            (SHA-256 of the WHOLE file: the server hashes the prefix it does not send)
 * __files_put_begin(path, PutSource)         -> {offset, restarted}   (where to resume from)
 * __files_put(path, PutSource & {offset}, data)
 *      data: the source's bytes from `offset`, then ONE trailer value {sha256} of the whole file
 *                                            -> {bytes, sha256, resumedFrom, restarted}
 * ```
 *
 * The trailer lets each side read the file once: the sender hashes as it reads, the receiver
 * as it writes, and the receiver compares before the part file is renamed into place.
 *
 * @module
 */
import type { Stats } from "node:fs";

/** Prefix of the built-in file functions (kept out of `node.functions()`). */
export const FILES_PREFIX = "__files_";
/** Lists a folder. */
export const LIST_FUNCTION = "__files_list";
/** Reads a file. */
export const GET_FUNCTION = "__files_get";
/** Asks where a put resumes. */
export const PUT_BEGIN_FUNCTION = "__files_put_begin";
/** Writes a file. */
export const PUT_FUNCTION = "__files_put";

/** One entry of a folder listing. */
export interface FileEntry {
  /** The name (no path). */
  name: string;
  /** Bytes (0 for a folder). */
  size: number;
  /** Last modification, ms since the epoch. */
  mtime: number;
  /** What it is. */
  type: "file" | "dir";
}

/** What `__files_get` is asked. */
export interface GetRequest {
  /** First byte wanted (what the caller's part file holds). */
  offset?: number;
  /** The ETag the caller's part file came from: when the file changed, the answer starts over. */
  ifMatch?: string;
}

/** What `__files_get` answers. */
export interface GetAnswer {
  /** The file's size. */
  size: number;
  /** Its mtime, ms since the epoch. */
  mtime: number;
  /** Its ETag (size and mtime). */
  etag: string;
  /** Where `data` starts. */
  offset: number;
  /** The caller asked to resume, but the file changed (or is shorter): `data` starts at 0. */
  restarted: boolean;
  /** The bytes, then the trailer. */
  data: ReadableStream<unknown>;
}

/** The sender's description of a put's source. */
export interface PutSource {
  /** Bytes it will send in all. */
  size: number;
  /** Its mtime (ms), or `undefined` for a stream. */
  mtime?: number;
  /** Its ETag, or `undefined` for a stream (which can never resume). */
  etag?: string;
  /** Replace an existing file. */
  overwrite?: boolean;
}

/** What `__files_put_begin` answers. */
export interface PutBeginAnswer {
  /** Bytes the share holds already in the part file of this source. */
  offset: number;
  /** A part file of another source (or of a changed one) was there and is discarded. */
  restarted: boolean;
}

/** What `__files_put` answers, and what `putFile` resolves with. */
export interface PutAnswer {
  /** The file's size. */
  bytes: number;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
  /** Bytes already there from an interrupted transfer (0 for a fresh one). */
  resumedFrom: number;
  /** A stale part file was discarded and the transfer started over. */
  restarted: boolean;
}

/** The last value of a data stream. */
export interface Trailer {
  /** SHA-256 of the whole file, hex. */
  sha256: string;
}

/**
 * Whether a stream value is the trailer.
 *
 * @param value A value read from a data stream.
 * @returns True for `{sha256: "<64 hex>"}`.
 *
 * @example
 * ```ts
 * import { isTrailer } from "./protocol.ts";
 * console.log(isTrailer({ sha256: "0".repeat(64) }), isTrailer({})); // true false
 * ```
 */
export function isTrailer(value: unknown): value is Trailer {
  return typeof value === "object" && value !== null &&
    typeof (value as Trailer).sha256 === "string" && /^[0-9a-f]{64}$/.test((value as Trailer).sha256);
}

/**
 * The ETag of a file: its size and mtime (ms), quoted, as HTTP wants it.
 *
 * @param stats The file's stat.
 * @returns E.g. `"\"5-18f2c3a9b10\""`.
 *
 * @example
 * ```ts
 * import { etagOf } from "./protocol.ts";
 * console.log(etagOf({ size: 5, mtimeMs: 1000 })); // "\"5-3e8\""
 * ```
 */
export function etagOf(stats: Pick<Stats, "size" | "mtimeMs">): string {
  return `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
}

/**
 * Checks a byte count or offset a peer sent.
 *
 * @param value The value.
 * @returns Whether it is a whole number from 0 to 2^53 - 1.
 */
export function isByteCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
