/**
 * File bytes in and out of streams, on `node:fs` file handles (Deno, Bun and Node all have
 * them): a reader that yields a file's bytes as fresh chunks while hashing them, and a writer
 * that writes chunks at their position while hashing them. Neither holds more than one chunk.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { FileError } from "../errors.ts";

/** Bytes read from a file at a time (the stream layer splits them to its chunk size). */
export const READ_CHUNK_BYTES = 256 * 1024;

/**
 * A fresh SHA-256.
 *
 * @returns The hash.
 *
 * @example
 * ```ts
 * import { sha256 } from "./io.ts";
 * console.log(sha256().update("").digest("hex").slice(0, 8)); // "e3b0c442"
 * ```
 */
export function sha256(): Hash {
  return createHash("sha256");
}

/**
 * Feeds the first `length` bytes of a file into `hash` (the part a resumed transfer does not
 * send again), reading it once in one reused buffer.
 *
 * @param handle The open file.
 * @param length Bytes to hash.
 * @param hash The hash to update.
 * @param shown The path, for errors.
 * @throws {FileError} `FILE_CHANGED` when the file is shorter than `length`.
 *
 * @example
 * ```ts ignore
 * await hashPrefix(handle, 1 << 20, hash, "/a.bin");
 * ```
 */
export async function hashPrefix(handle: FileHandle, length: number, hash: Hash, shown: string): Promise<void> {
  const buffer = new Uint8Array(Math.min(READ_CHUNK_BYTES * 4, Math.max(length, 1)));
  let position = 0;
  while (position < length) {
    const want = Math.min(buffer.length, length - position);
    const { bytesRead } = await handle.read(buffer, 0, want, position);
    if (bytesRead === 0) {
      throw new FileError(
        "FILE_CHANGED",
        `'${shown}' became shorter while it was read (${position} of ${length} bytes)`,
      );
    }
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/**
 * Yields the bytes `[offset, end)` of a file in fresh chunks, each fed into `hash` first.
 *
 * @param handle The open file.
 * @param offset First byte.
 * @param end One past the last byte (the size the transfer announced).
 * @param hash The hash to update.
 * @param shown The path, for errors.
 * @param onChunk Told the size of each chunk (progress).
 * @returns The chunks.
 * @throws {FileError} `FILE_CHANGED` when the file ends before `end`.
 *
 * @example
 * ```ts ignore
 * for await (const chunk of readRange(handle, 0, size, hash, "/a.bin")) send(chunk);
 * ```
 */
export async function* readRange(
  handle: FileHandle,
  offset: number,
  end: number,
  hash: Hash | undefined,
  shown: string,
  onChunk?: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  let position = offset;
  while (position < end) {
    const chunk = new Uint8Array(Math.min(READ_CHUNK_BYTES, end - position));
    let filled = 0;
    while (filled < chunk.length) {
      const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, position + filled);
      if (bytesRead === 0) {
        throw new FileError(
          "FILE_CHANGED",
          `'${shown}' became shorter while it was sent (${position + filled} of ${end} bytes); send it again`,
        );
      }
      filled += bytesRead;
    }
    hash?.update(chunk);
    position += chunk.length;
    onChunk?.(chunk.length);
    yield chunk;
  }
}

/**
 * Writes a chunk at a position, completely.
 *
 * @param handle The open file.
 * @param chunk The bytes.
 * @param position Where.
 *
 * @example
 * ```ts ignore
 * await writeAt(handle, chunk, 4096);
 * ```
 */
export async function writeAt(handle: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Whether a chunk holds only zero bytes (compared natively, 64 KiB at a time).
 *
 * @param chunk The bytes.
 * @returns True when every byte is 0.
 *
 * @example
 * ```ts
 * import { isAllZero } from "./io.ts";
 * console.log(isAllZero(new Uint8Array(10)), isAllZero(new Uint8Array([0, 1]))); // true false
 * ```
 */
export function isAllZero(chunk: Uint8Array): boolean {
  for (let at = 0; at < chunk.length; at += ZEROS.length) {
    const piece = Buffer.from(chunk.buffer, chunk.byteOffset + at, Math.min(ZEROS.length, chunk.length - at));
    if (!piece.equals(ZEROS.subarray(0, piece.length))) return false;
  }
  return true;
}

/**
 * Writes chunks into a file the way `cp --sparse` does: a chunk of zeros is not written (the
 * file keeps a hole there, which reads as zeros), and {@linkcode SparseWriter.finish} sets the
 * final size. A part file's size therefore never counts bytes that were not written: a resume
 * after a crash starts at the end of the last chunk that was.
 *
 * @example
 * ```ts ignore
 * const writer = new SparseWriter(handle);
 * await writer.write(chunk, 0);
 * await writer.finish(size);
 * ```
 */
export class SparseWriter {
  readonly #handle: FileHandle;

  /**
   * Creates a writer.
   *
   * @param handle The open file.
   */
  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /**
   * Writes a chunk at a position, unless it is all zeros.
   *
   * @param chunk The bytes.
   * @param position Where.
   */
  async write(chunk: Uint8Array, position: number): Promise<void> {
    if (!isAllZero(chunk)) await writeAt(this.#handle, chunk, position);
  }

  /**
   * Gives the file its final size (trailing zero chunks become a hole).
   *
   * @param size The size.
   */
  async finish(size: number): Promise<void> {
    await this.#handle.truncate(size);
  }
}

/** What {@linkcode receiveData} got. */
export interface Received {
  /** Bytes written. */
  bytes: number;
  /** The sender's trailer hash. */
  trailer: string | undefined;
}

/**
 * Writes a data stream (bytes, then one `{sha256}` trailer) into a file from `offset`,
 * feeding the bytes into `hash`. Stops at the trailer; anything else is a protocol error.
 *
 * @param data The stream.
 * @param write Writes one chunk at a position.
 * @param offset Position of the first byte.
 * @param limit Most bytes accepted.
 * @param hash The hash to update.
 * @param isTrailer Recognizes the trailer.
 * @param onChunk Told each chunk's size.
 * @param signal Stops receiving (the stream is cancelled; this rejects with the signal's reason).
 * @returns Bytes written and the trailer's hash.
 * @throws {FileError} `FILE_TOO_LARGE` past `limit`, `FILE_CORRUPT` for a value that is no trailer
 *   or bytes after the trailer; the stream's own error when it fails.
 */
export async function receiveData(
  data: ReadableStream<unknown>,
  write: (chunk: Uint8Array, position: number) => Promise<void>,
  offset: number,
  limit: number,
  hash: Hash,
  isTrailer: (value: unknown) => value is { sha256: string },
  onChunk?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<Received> {
  let bytes = 0;
  let trailer: string | undefined;
  const reader = data.getReader();
  const onAbort = () => void reader.cancel(signal!.reason).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      const value = next.value;
      if (trailer !== undefined) throw new FileError("FILE_CORRUPT", "data arrived after the trailer");
      if (value instanceof Uint8Array) {
        if (bytes + value.length > limit) {
          throw new FileError("FILE_TOO_LARGE", `the sender sent more than the ${limit} bytes it announced`);
        }
        hash.update(value);
        await write(value, offset + bytes);
        bytes += value.length;
        onChunk?.(value.length);
      } else if (isTrailer(value)) {
        trailer = value.sha256;
      } else {
        throw new FileError("FILE_CORRUPT", "the data stream carried a value that is not its trailer");
      }
    }
    signal?.throwIfAborted();
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  return { bytes, trailer };
}
