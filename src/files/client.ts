/**
 * The calling side of files: `listFiles`, `getFile` and `putFile` of a node, on the built-in
 * `__files_*` functions of the peer (see `protocol.ts`). A local destination is written as
 * `NAME.part` with its sidecar and renamed into place only after the whole file's SHA-256
 * matched the sender's; an interrupted transfer resumes from the part file.
 *
 * @module
 */
import type { Hash } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Clock } from "../clock.ts";
import { RPC_TIMEOUT } from "../constants.ts";
import { FILE_STATUS, FileError, type FileErrorCode, RemoteError } from "../errors.ts";
import { hashPrefix, readRange, receiveData, sha256, SparseWriter } from "./io.ts";
import { fsError, lstatOrUndefined } from "./paths.ts";
import { type Progress, ProgressMeter } from "./progress.ts";
import {
  etagOf,
  type FileEntry,
  GET_FUNCTION,
  type GetAnswer,
  isByteCount,
  isTrailer,
  LIST_FUNCTION,
  PUT_BEGIN_FUNCTION,
  PUT_FUNCTION,
  type PutAnswer,
  type PutBeginAnswer,
  type PutSource,
} from "./protocol.ts";
import { partPaths, readSidecar, removePart, writeSidecar } from "./sidecar.ts";

/** Makes one call to the peer (the node's `call`, bound to the peer). */
export type FileCall = (
  fn: string,
  args: unknown[],
  options: { transport: "tcp"; timeout?: number; signal?: AbortSignal },
) => Promise<unknown>;

/** Options of `getFile`. */
export interface GetFileOptions {
  /** Continue a partial `DEST.part` left by an interrupted get of the same file (default `true`). */
  resume?: boolean;
  /** Replace an existing destination file (default `false`: `FILE_EXISTS`). */
  overwrite?: boolean;
  /** Told `{ bytes, total, rate }` at most every 100 ms and once at the end. */
  onProgress?: (progress: Progress) => void;
  /** Stops the transfer; a part file stays for a later resume. */
  signal?: AbortSignal;
  /** Milliseconds the peer may take to answer (default the node's timeout); the bytes then take as long as they take. */
  timeout?: number;
}

/** Options of `putFile`. */
export interface PutFileOptions {
  /** Replace an existing file in the share (default `false`: `FILE_EXISTS`). */
  overwrite?: boolean;
  /** Told `{ bytes, total, rate }` at most every 100 ms and once at the end. */
  onProgress?: (progress: Progress) => void;
  /** Stops the transfer; the share keeps its part file for a later resume. */
  signal?: AbortSignal;
  /**
   * Milliseconds without progress before the put fails (default the node's timeout). On a resume
   * the share first hashes the bytes it has, so this grows by 1 s per 50 MB already there.
   */
  timeout?: number;
  /** The number of bytes, required when the source is a `ReadableStream`. */
  size?: number;
}

/** What `getFile` resolves with. */
export interface GetFileResult {
  /** The file's size. */
  bytes: number;
  /** SHA-256 of the whole file (verified), hex. */
  sha256: string;
  /** Bytes kept from an interrupted get (0 for a fresh one). */
  resumedFrom: number;
  /** A part file was there but the source had changed (or it came from elsewhere): started over. */
  restarted: boolean;
}

/** Bytes per millisecond a share is assumed to hash at least, when it checks the part file of a resumed put. */
const PREFIX_HASH_BYTES_PER_MS = 50_000;

/**
 * The one place where a failure of a file call becomes a {@linkcode FileError}: a peer's
 * `FileError` arrives as a `RemoteError` (or as the error of a data stream) whose message starts
 * with the code; when remote errors carry their code themselves (`remoteCode`), that wins.
 * Other errors pass through.
 *
 * @param error What a call or stream failed with.
 * @returns A `FileError` with the peer's code, or `error`.
 *
 * @example
 * ```ts
 * import { RemoteError } from "../errors.ts";
 * import { asFileError } from "./client.ts";
 * const remote = new RemoteError({ peer: "Host", function: "__files_get", remoteType: "FileError", remoteMessage: "FILE_NOT_FOUND: '/x' does not exist" });
 * console.log((asFileError(remote) as { code: string }).code); // "FILE_NOT_FOUND"
 * ```
 */
export function asFileError(error: unknown): unknown {
  if (!(error instanceof RemoteError)) return error;
  const text = error.remoteMessage;
  // A PeerLink peer carries the code and the rule (remoteCode, remoteData); the message is
  // parsed only for a peer that sends type and message alone.
  const code = isFileCode(error.remoteCode)
    ? error.remoteCode
    : error.remoteType === "FileError"
    ? /^(FILE_[A-Z_]+): /.exec(text)?.[1]
    : undefined;
  if (!isFileCode(code)) return error;
  const carriedRule = error.remoteData.rule;
  const rule = typeof carriedRule === "string" ? carriedRule : /\(rule ([a-z-]+)\)/.exec(text)?.[1];
  return new FileError(code, `${text} (from '${error.peer}')`, { rule, cause: error });
}

function isFileCode(code: unknown): code is FileErrorCode {
  return typeof code === "string" && Object.hasOwn(FILE_STATUS, code);
}

/**
 * Lists a folder of a peer's shares.
 *
 * @param call Calls the peer.
 * @param path The folder.
 * @param options `timeout`, `signal`.
 * @returns The entries.
 */
export async function listFiles(
  call: FileCall,
  path: string,
  options: { timeout?: number; signal?: AbortSignal } = {},
): Promise<FileEntry[]> {
  try {
    const stream = await call(LIST_FUNCTION, [path], { transport: "tcp", ...options });
    if (!(stream instanceof ReadableStream)) throw new TypeError("the peer's listing is not a stream");
    const listed: FileEntry[] = [];
    for await (const entry of stream as ReadableStream<FileEntry>) listed.push(entry);
    return listed;
  } catch (error) {
    throw asFileError(error);
  }
}

/**
 * Gets a file of a peer into a local file (through `DEST.part`, resumable) or a writable stream.
 *
 * @param call Calls the peer.
 * @param peer The peer's name (recorded in the sidecar).
 * @param path The file in the peer's shares.
 * @param dest A local path, or a `WritableStream<Uint8Array>` (no resume then).
 * @param options Resume, overwrite, progress, signal, timeout.
 * @param clock Time source of the progress rate.
 * @returns Size, SHA-256, where it resumed.
 */
export async function getFile(
  call: FileCall,
  peer: string,
  path: string,
  dest: string | WritableStream<Uint8Array>,
  options: GetFileOptions = {},
  clock?: Clock,
): Promise<GetFileResult> {
  try {
    return typeof dest === "string"
      ? await getIntoFile(call, peer, path, resolve(dest), options, clock)
      : await getIntoStream(call, path, dest, options, clock);
  } catch (error) {
    throw asFileError(error);
  }
}

async function getIntoFile(
  call: FileCall,
  peer: string,
  path: string,
  dest: string,
  options: GetFileOptions,
  clock: Clock | undefined,
): Promise<GetFileResult> {
  const paths = partPaths(dest);
  if (!options.overwrite && await lstatOrUndefined(dest, dest)) {
    throw new FileError("FILE_EXISTS", `'${dest}' exists; pass overwrite: true (--force) to replace it`, {
      path: dest,
    });
  }
  let offset = 0;
  let ifMatch: string | undefined;
  if (options.resume !== false) {
    const [recorded, part] = await Promise.all([readSidecar(paths.sidecar), lstatOrUndefined(paths.part, dest)]);
    if (recorded && part?.isFile() && recorded.peer === peer && recorded.path === path) {
      offset = Math.min(part.size, recorded.size);
      ifMatch = recorded.etag;
    }
  }
  const answer = checkedAnswer(
    await call(GET_FUNCTION, [path, { offset, ifMatch }], {
      transport: "tcp",
      timeout: options.timeout,
      signal: options.signal,
    }),
  );
  const data = answer.data;
  let handle;
  try {
    if (answer.offset === 0) await removePart(paths);
    await writeSidecar(paths.sidecar, { peer, path, size: answer.size, mtime: answer.mtime, etag: answer.etag });
    handle = await open(paths.part, answer.offset > 0 ? "r+" : "w");
  } catch (cause) {
    data.cancel(cause).catch(() => {});
    throw fsError(cause, paths.part);
  }
  let digest: string;
  try {
    await handle.truncate(answer.offset);
    const hash = sha256();
    await hashPrefix(handle, answer.offset, hash, paths.part);
    const writer = new SparseWriter(handle);
    digest = await receiveVerified(
      data,
      (chunk, position) => writer.write(chunk, position),
      answer,
      hash,
      options,
      clock,
      () => removePart(paths),
    );
    await writer.finish(answer.size);
  } catch (error) {
    data.cancel(error).catch(() => {});
    throw error;
  } finally {
    await handle.close().catch(() => {});
  }
  try {
    await rename(paths.part, dest);
    await rm(paths.sidecar, { force: true });
  } catch (cause) {
    throw fsError(cause, dest);
  }
  return { bytes: answer.size, sha256: digest, resumedFrom: answer.offset, restarted: answer.restarted };
}

async function getIntoStream(
  call: FileCall,
  path: string,
  dest: WritableStream<Uint8Array>,
  options: GetFileOptions,
  clock: Clock | undefined,
): Promise<GetFileResult> {
  const answer = checkedAnswer(
    await call(GET_FUNCTION, [path, { offset: 0 }], {
      transport: "tcp",
      timeout: options.timeout,
      signal: options.signal,
    }),
  );
  const writer = dest.getWriter();
  try {
    const digest = await receiveVerified(
      answer.data,
      (chunk) => writer.write(chunk),
      answer,
      sha256(),
      options,
      clock,
      async () => {},
    );
    await writer.close();
    return { bytes: answer.size, sha256: digest, resumedFrom: 0, restarted: false };
  } catch (error) {
    answer.data.cancel(error).catch(() => {});
    await writer.abort(error).catch(() => {});
    throw error;
  }
}

/** Receives the data and compares size and SHA-256 with the trailer; `discard` runs on a mismatch. */
async function receiveVerified(
  data: ReadableStream<unknown>,
  write: (chunk: Uint8Array, position: number) => Promise<void>,
  answer: GetAnswer,
  hash: Hash,
  options: GetFileOptions,
  clock: Clock | undefined,
  discard: () => Promise<void>,
): Promise<string> {
  const meter = new ProgressMeter(answer.size, options.onProgress, { start: answer.offset, clock });
  const received = await receiveData(
    data,
    write,
    answer.offset,
    answer.size - answer.offset,
    hash,
    isTrailer,
    (bytes) => meter.add(bytes),
    options.signal,
  );
  const total = answer.offset + received.bytes;
  if (received.trailer === undefined) {
    throw new FileError("FILE_CHANGED", `the peer stopped after ${total} of ${answer.size} bytes; get it again`);
  }
  const digest = hash.digest("hex");
  if (total !== answer.size || digest !== received.trailer) {
    await discard().catch(() => {});
    throw new FileError(
      "FILE_CORRUPT",
      `the file arrived damaged: ${total} bytes with SHA-256 ${digest}, the peer sent ${answer.size} with ${received.trailer}. The part file was deleted; get it again.`,
    );
  }
  meter.finish();
  return digest;
}

function checkedAnswer(value: unknown): GetAnswer {
  const answer = value as GetAnswer;
  if (
    typeof answer !== "object" || answer === null || !isByteCount(answer.size) || !isByteCount(answer.offset) ||
    answer.offset > answer.size || typeof answer.etag !== "string" || !(answer.data instanceof ReadableStream)
  ) {
    if ((answer as { data?: unknown })?.data instanceof ReadableStream) {
      (answer.data as ReadableStream).cancel().catch(() => {});
    }
    throw new TypeError("the peer's answer to a file get is malformed");
  }
  return answer;
}

/**
 * Puts a local file (or a stream of `size` bytes) into a writable share of a peer. The share
 * writes `NAME.part` and its sidecar, verifies the SHA-256 and renames; an interrupted put
 * resumes from the share's part file.
 *
 * @param call Calls the peer.
 * @param source A local path, or a `ReadableStream<Uint8Array>` with `options.size`.
 * @param path Where in the peer's shares.
 * @param options Overwrite, progress, signal, timeout, size.
 * @param clock Time source of the progress rate.
 * @param defaultTimeout The node's call timeout, ms.
 * @returns Size, SHA-256, where it resumed.
 */
export async function putFile(
  call: FileCall,
  source: string | ReadableStream<Uint8Array>,
  path: string,
  options: PutFileOptions = {},
  clock?: Clock,
  defaultTimeout: number = RPC_TIMEOUT,
): Promise<PutAnswer> {
  let failure: { error: unknown } | undefined;
  try {
    const described = await describeSource(source, options);
    const begin = await call(PUT_BEGIN_FUNCTION, [path, described.source], {
      transport: "tcp",
      timeout: options.timeout,
      signal: options.signal,
    }) as PutBeginAnswer;
    if (!isByteCount(begin?.offset) || begin.offset > described.source.size) {
      throw new TypeError("the peer's answer to a put is malformed");
    }
    const offset = typeof source === "string" ? begin.offset : 0;
    const meter = new ProgressMeter(described.source.size, options.onProgress, { start: offset, clock });
    const sent: { sha256?: string } = {};
    const data = (async function* () {
      try {
        yield* described.read(offset, (bytes) => meter.add(bytes), sent);
      } catch (error) {
        failure = { error };
        throw error;
      }
    })();
    // The share hashes the bytes it kept before it reads on: that time is added to the timeout.
    const timeout = offset === 0
      ? options.timeout
      : (options.timeout ?? defaultTimeout) + offset / PREFIX_HASH_BYTES_PER_MS;
    const answer = await call(PUT_FUNCTION, [path, { ...described.source, offset }, data], {
      transport: "tcp",
      timeout,
      signal: options.signal,
    }) as PutAnswer;
    if (answer?.sha256 !== sent.sha256 || answer.bytes !== described.source.size) {
      throw new FileError("FILE_CORRUPT", `the peer stored a different file than was sent (SHA-256 ${answer?.sha256})`);
    }
    meter.finish();
    return { ...answer, restarted: begin.restarted || answer.restarted };
  } catch (error) {
    throw asFileError(failure?.error ?? error);
  }
}

interface DescribedSource {
  source: PutSource;
  /** Yields the bytes from `offset` then the trailer; records the whole file's SHA-256 in `sent`. */
  read(offset: number, onChunk: (bytes: number) => void, sent: { sha256?: string }): AsyncGenerator<unknown>;
}

async function describeSource(
  source: string | ReadableStream<Uint8Array>,
  options: PutFileOptions,
): Promise<DescribedSource> {
  const overwrite = options.overwrite === true;
  if (typeof source !== "string") {
    if (!(source instanceof ReadableStream)) throw new TypeError("putFile(): the source is a path or a ReadableStream");
    const size = options.size;
    if (!isByteCount(size)) throw new TypeError("putFile(): a stream source needs options.size (its bytes)");
    return {
      source: { size, overwrite },
      async *read(_offset, onChunk, sent) {
        const hash = sha256();
        let bytes = 0;
        for await (const chunk of source) {
          if (!(chunk instanceof Uint8Array)) throw new TypeError("putFile(): the stream must yield Uint8Array chunks");
          bytes += chunk.length;
          if (bytes > size) throw new FileError("FILE_CHANGED", `the stream gave more than the ${size} bytes stated`);
          hash.update(chunk);
          onChunk(chunk.length);
          yield chunk;
        }
        if (bytes !== size) {
          throw new FileError("FILE_CHANGED", `the stream gave ${bytes} bytes, not the ${size} stated`);
        }
        sent.sha256 = hash.digest("hex");
        yield { sha256: sent.sha256 };
      },
    };
  }
  const local = resolve(source);
  let stats;
  try {
    stats = await stat(local);
  } catch (cause) {
    throw fsError(cause, local);
  }
  if (!stats.isFile()) {
    throw new FileError("FILE_FORBIDDEN", `'${local}' is not a regular file`, { rule: "not-regular", path: local });
  }
  const etag = etagOf(stats);
  return {
    source: { size: stats.size, mtime: stats.mtimeMs, etag, overwrite },
    async *read(offset, onChunk, sent) {
      let handle;
      try {
        handle = await open(local, "r");
      } catch (cause) {
        throw fsError(cause, local);
      }
      try {
        if (etagOf(await handle.stat()) !== etag) {
          throw new FileError("FILE_CHANGED", `'${local}' changed while the put began; send it again`);
        }
        const hash = sha256();
        await hashPrefix(handle, offset, hash, local);
        yield* readRange(handle, offset, stats.size, hash, local, onChunk);
        sent.sha256 = hash.digest("hex");
        yield { sha256: sent.sha256 };
      } finally {
        await handle.close().catch(() => {});
      }
    },
  };
}
