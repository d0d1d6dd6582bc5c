/**
 * {@linkcode FileServer}: the serving side of files. It holds a node's shares and answers the
 * built-in `__files_*` functions (see `protocol.ts`): listings, reads from any offset with the
 * whole file's SHA-256 as a trailer, and writes into writable shares through `NAME.part` and
 * its sidecar, verified before the rename. The plain HTTP path (`http.ts`) reads through the
 * same table and rules.
 *
 * @module
 */
import type { Stats } from "node:fs";
import { lstat, open, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import { sep } from "node:path";
import { FileError } from "../errors.ts";
import { currentPeer } from "../rpc/context.ts";
import { hashPrefix, readRange, receiveData, sha256, SparseWriter } from "./io.ts";
import {
  confine,
  confineForWrite,
  forbidden,
  fsError,
  inside,
  joinSharePath,
  lstatOrUndefined,
  splitSharePath,
} from "./paths.ts";
import {
  etagOf,
  type FileEntry,
  GET_FUNCTION,
  type GetAnswer,
  type GetRequest,
  isByteCount,
  isTrailer,
  LIST_FUNCTION,
  PUT_BEGIN_FUNCTION,
  PUT_FUNCTION,
  type PutAnswer,
  type PutBeginAnswer,
  type PutSource,
} from "./protocol.ts";
import { type Located, makeShare, type Share, type ShareOptions, ShareTable } from "./share.ts";
import {
  type PartPaths,
  partPaths,
  readSidecar,
  removePart,
  sameSource,
  type Sidecar,
  writeSidecar,
} from "./sidecar.ts";

/** Where the built-in functions are registered (a node's handler registry). */
export interface FunctionRegistry {
  /** Registers a function. */
  register(name: string, fn: (...args: never[]) => unknown): unknown;
}

/** A regular file found for reading. */
export interface ReadableFile {
  /** Its share path. */
  shown: string;
  /** Its real path. */
  real: string;
  /** Its stat. */
  stats: Stats;
  /** Its share. */
  share: Share;
}

/** A put in progress: settles when its part file is closed; `ending` once it failed. */
interface Transfer {
  done: Promise<unknown>;
  ending: boolean;
  /** Who sends it (name and address). */
  sender: string;
}

/** The caller of the running handler, as a transfer's sender. */
function senderKey(): string {
  const peer = currentPeer();
  return peer ? `${peer.name}|${peer.address}` : "";
}

/**
 * Serves a node's shares.
 *
 * @example
 * ```ts ignore
 * const files = new FileServer();
 * files.register(handlers);
 * files.share("./public", { prefix: "/" });
 * ```
 */
export class FileServer {
  /** The shares. */
  readonly table: ShareTable = new ShareTable();
  /** Transfers writing now, by real target path. */
  readonly #writing = new Map<string, Transfer>();

  /**
   * Registers the built-in functions.
   *
   * @param registry The node's handlers.
   */
  register(registry: FunctionRegistry): void {
    registry.register(LIST_FUNCTION, (path: unknown) => this.list(path));
    registry.register(GET_FUNCTION, (path: unknown, request: unknown) => this.get(path, request as GetRequest));
    registry.register(PUT_BEGIN_FUNCTION, (path: unknown, source: unknown) => this.putBegin(path, source as PutSource));
    registry.register(
      PUT_FUNCTION,
      (path: unknown, source: unknown, data: unknown) =>
        this.put(path, source as PutSource & { offset: number }, data as ReadableStream<unknown>),
    );
  }

  /**
   * Adds (or replaces) a share.
   *
   * @param folder Local folder.
   * @param options Prefix, writable, hidden, size limit.
   * @returns The share.
   */
  share(folder: string, options: ShareOptions = {}): Share {
    const share = makeShare(folder, options);
    this.table.add(share);
    return share;
  }

  /**
   * Lists a folder of the shared namespace: its entries, then the shares mounted below it.
   *
   * @param path The folder (or a file: its own entry).
   * @returns The entries, as a stream of values.
   * @throws {FileError} `FILE_NOT_FOUND`, `FILE_FORBIDDEN`.
   */
  async list(path: unknown): Promise<AsyncGenerator<FileEntry>> {
    const located = this.table.locate(path);
    const segments = located ? [...located.share.prefixSegments, ...located.inner] : undefined;
    const mounts = this.table.mountsBelow(segments ?? splitSharePath(path, true));
    if (!located) {
      if (mounts.length === 0) this.table.require(path);
      return entries([], mounts);
    }
    const { share, inner } = located;
    const shown = joinSharePath(segments!);
    const { real, stats } = await confine(share.rootReal, inner, shown);
    if (stats.isFile()) return entries([entryOf(inner[inner.length - 1] ?? "", stats)], []);
    let names: string[];
    try {
      names = (await readdir(real)).sort();
    } catch (cause) {
      throw fsError(cause, shown);
    }
    const present = new Set(names);
    const listed: FileEntry[] = [];
    for (const name of names) {
      if (!share.hidden && name.startsWith(".")) continue;
      if (isPartName(name, present)) continue;
      const entry = await this.#entry(share, real + sep + name, name);
      if (entry) listed.push(entry);
    }
    return entries(listed, mounts.filter((m) => !present.has(m)));
  }

  /** A listing entry, or `undefined` for what is not shared (symlinks out, devices, vanished). */
  async #entry(share: Share, full: string, name: string): Promise<FileEntry | undefined> {
    try {
      const link = await lstat(full);
      if (link.isSymbolicLink()) {
        if (!inside(share.rootReal, await realpath(full))) return undefined;
      }
      const stats = link.isSymbolicLink() ? await stat(full) : link;
      return stats.isFile() || stats.isDirectory() ? entryOf(name, stats) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Finds a regular file to read, by every rule.
   *
   * @param path The share path.
   * @returns The file.
   * @throws {FileError} `FILE_NOT_FOUND`, `FILE_FORBIDDEN`.
   */
  async readable(path: unknown): Promise<ReadableFile> {
    const { share, inner } = this.table.require(path);
    const shown = joinSharePath([...share.prefixSegments, ...inner]);
    const { real, stats } = await confine(share.rootReal, inner, shown);
    if (stats.isDirectory()) {
      throw new FileError("FILE_NOT_FOUND", `'${shown}' is a folder, not a file: list it with listFiles`, {
        path: shown,
      });
    }
    const name = inner[inner.length - 1];
    if (name.endsWith(".part.json") || (name.endsWith(".part") && await exists(`${real}.json`))) {
      throw new FileError("FILE_NOT_FOUND", `'${shown}' is a transfer in progress, not a shared file`, {
        path: shown,
      });
    }
    return { shown, real, stats, share };
  }

  /**
   * Answers `__files_get`: the file's description and its bytes from `offset`, then the
   * trailer with the whole file's SHA-256.
   *
   * @param path The share path.
   * @param request Offset and the ETag the caller's part came from.
   * @returns The answer (its `data` is opened only when the stream starts).
   */
  async get(path: unknown, request: GetRequest = {}): Promise<Omit<GetAnswer, "data"> & { data: AsyncGenerator }> {
    const file = await this.readable(path);
    const asked = request?.offset ?? 0;
    if (!isByteCount(asked)) throw new FileError("FILE_BAD_RANGE", `offset ${String(asked)} is not a byte position`);
    const etag = etagOf(file.stats);
    const size = file.stats.size;
    const stale = asked > size || (request?.ifMatch !== undefined && request.ifMatch !== etag);
    const offset = asked > 0 && stale ? 0 : asked;
    return {
      size,
      mtime: file.stats.mtimeMs,
      etag,
      offset,
      restarted: asked > 0 && stale,
      data: sendFile(file, offset, etag),
    };
  }

  /**
   * Answers `__files_put_begin`: checks the put and says where it resumes.
   *
   * @param path The share path.
   * @param source The source's description.
   * @returns The offset to send from.
   */
  async putBegin(path: unknown, source: PutSource): Promise<PutBeginAnswer> {
    const target = await this.#writeTarget(path, source);
    await this.#afterOwn(target.paths.target);
    const found = await this.#resumable(target, source);
    return { offset: found.offset, restarted: found.stale };
  }

  /**
   * Waits for a transfer into `key` by the same caller, or one that is ending, to close its part
   * file: a put resumed right after an interrupted one (as a user does after Ctrl-C) meets the
   * part as it was left, not `FILE_BUSY` nor a part still being written. The interrupted one may
   * still have to drain what its sender had in flight (up to a stream window) before it sees the
   * sender's abort, which comes after those bytes.
   *
   * @returns A transfer of another caller into `key`, still running.
   */
  async #afterOwn(key: string): Promise<Transfer | undefined> {
    const sender = senderKey();
    let transfer: Transfer | undefined;
    while ((transfer = this.#writing.get(key)) && (transfer.ending || transfer.sender === sender)) {
      await transfer.done.catch(() => {});
    }
    return transfer;
  }

  /**
   * Answers `__files_put`: writes the data into the part file from `offset`, verifies the
   * whole file's SHA-256 against the sender's trailer, and renames it into place.
   *
   * @param path The share path.
   * @param source The source's description and the offset agreed by `__files_put_begin`.
   * @param data The bytes, then the trailer.
   * @returns Size, SHA-256, where it resumed.
   */
  async put(path: unknown, source: PutSource & { offset: number }, data: ReadableStream<unknown>): Promise<PutAnswer> {
    if (!(data instanceof ReadableStream)) throw new TypeError("__files_put: the data must be a stream");
    const target = await this.#writeTarget(path, source);
    if (!isByteCount(source.offset) || source.offset > source.size) {
      throw new FileError("FILE_BAD_RANGE", `offset ${String(source.offset)} is outside the ${source.size} bytes`);
    }
    const key = target.paths.target;
    // Checked again after each wait, with no await between the check and taking the target: a
    // put of the same caller that was waiting too may have taken it meanwhile (then wait for it).
    for (;;) {
      if (await this.#afterOwn(key)) {
        throw new FileError("FILE_BUSY", `'${target.shown}' is being written by another transfer now; try again later`);
      }
      if (!this.#writing.has(key)) break;
    }
    const transfer: Transfer = { ending: false, done: Promise.resolve(), sender: senderKey() };
    const done = this.#write(target, source, data, () => transfer.ending = true);
    transfer.done = done;
    this.#writing.set(key, transfer);
    try {
      return await done;
    } finally {
      if (this.#writing.get(key) === transfer) this.#writing.delete(key);
    }
  }

  async #write(
    target: WriteTarget,
    source: PutSource & { offset: number },
    data: ReadableStream<unknown>,
    onEnding: () => void,
  ): Promise<PutAnswer> {
    const { paths, shown } = target;
    const offset = source.offset;
    const found = await this.#resumable(target, source);
    if (offset > 0 && found.offset < offset) {
      throw new FileError("FILE_CHANGED", `the part file of '${shown}' changed since the put began; send it again`);
    }
    if (offset === 0) {
      await removePart(paths).catch((cause) => Promise.reject(fsError(cause, shown)));
      await writeSidecar(paths.sidecar, target.sidecar).catch((cause) => Promise.reject(fsError(cause, shown)));
    }
    let handle;
    try {
      handle = await open(paths.part, offset > 0 ? "r+" : "wx");
    } catch (cause) {
      data.cancel(cause).catch(() => {});
      throw fsError(cause, shown);
    }
    let verified: { sha256: string } | undefined;
    try {
      await handle.truncate(offset);
      const hash = sha256();
      await hashPrefix(handle, offset, hash, shown);
      const writer = new SparseWriter(handle);
      const received = await receiveData(
        data,
        (chunk, position) => writer.write(chunk, position),
        offset,
        source.size - offset,
        hash,
        isTrailer,
      );
      const total = offset + received.bytes;
      if (received.trailer === undefined) {
        throw new FileError(
          "FILE_CHANGED",
          `the sender of '${shown}' stopped after ${total} of ${source.size} bytes; the part file is kept for a resume`,
        );
      }
      const digest = hash.digest("hex");
      if (total !== source.size || digest !== received.trailer) {
        await handle.close().catch(() => {});
        await removePart(paths).catch(() => {});
        throw new FileError(
          "FILE_CORRUPT",
          `'${shown}' arrived damaged: ${total} bytes with SHA-256 ${digest}, the sender sent ${source.size} with ${received.trailer}. The part file was deleted; send it again.`,
          { path: shown },
        );
      }
      await writer.finish(total);
      verified = { sha256: digest };
    } catch (error) {
      onEnding();
      data.cancel(error).catch(() => {});
      throw isFsFailure(error) ? fsError(error, shown) : error;
    } finally {
      await handle.close().catch(() => {});
    }
    if (!source.overwrite && await exists(paths.target)) {
      await removePart(paths).catch(() => {});
      throw new FileError("FILE_EXISTS", `'${shown}' was created meanwhile; pass overwrite: true to replace it`);
    }
    try {
      await rename(paths.part, paths.target);
      await rm(paths.sidecar, { force: true });
    } catch (cause) {
      throw fsError(cause, shown);
    }
    return { bytes: source.size, sha256: verified.sha256, resumedFrom: offset, restarted: found.stale };
  }

  /** Checks a put against the share's rules; the target and the sidecar it would write. */
  async #writeTarget(path: unknown, source: PutSource): Promise<WriteTarget> {
    if (typeof source !== "object" || source === null || !isByteCount(source.size)) {
      throw new TypeError("__files_put: the source must state its size in bytes");
    }
    const located: Located = this.table.require(path);
    const { share, inner } = located;
    const shown = joinSharePath([...share.prefixSegments, ...inner]);
    if (!share.writable) {
      throw new FileError("FILE_READ_ONLY", `'${share.prefix}' is a read-only share; files cannot be put there`, {
        path: shown,
      });
    }
    if (source.size > share.maxFileBytes) {
      throw new FileError(
        "FILE_TOO_LARGE",
        `'${shown}' would be ${source.size} bytes, over the share's limit of ${share.maxFileBytes} (maxFileBytes)`,
        { path: shown },
      );
    }
    const name = inner[inner.length - 1] ?? "";
    if (name.endsWith(".part") || name.endsWith(".part.json")) {
      throw forbidden(shown, "partial", "names ending in .part and .part.json are kept for transfers in progress");
    }
    const { target, existing } = await confineForWrite(share.rootReal, inner, shown);
    if (existing && !source.overwrite) {
      throw new FileError("FILE_EXISTS", `'${shown}' exists; pass overwrite: true to replace it`, { path: shown });
    }
    const paths = partPaths(target);
    const part = await lstatOrUndefined(paths.part, shown);
    if (part && !part.isFile()) throw forbidden(shown, "symlink", "its part file is not a regular file");
    const sidecar: Sidecar = {
      peer: currentPeer()?.name ?? "?",
      path: shown,
      size: source.size,
      mtime: typeof source.mtime === "number" ? source.mtime : 0,
      etag: typeof source.etag === "string" ? source.etag : "",
    };
    return { paths, shown, sidecar, partBytes: part?.size };
  }

  /** How much of this source a part file holds already, and whether a stale one is there. */
  async #resumable(target: WriteTarget, source: PutSource): Promise<{ offset: number; stale: boolean }> {
    if (target.partBytes === undefined) return { offset: 0, stale: await exists(target.paths.sidecar) };
    const recorded = await readSidecar(target.paths.sidecar);
    const matches = recorded !== undefined && target.sidecar.etag !== "" && source.etag !== undefined &&
      sameSource(recorded, target.sidecar);
    if (!matches) return { offset: 0, stale: true };
    return { offset: Math.min(target.partBytes, source.size), stale: false };
  }
}

interface WriteTarget {
  paths: PartPaths;
  shown: string;
  sidecar: Sidecar;
  partBytes: number | undefined;
}

/** Reads the file from `offset` when the stream starts (so a reply that is never sent opens nothing). */
async function* sendFile(file: ReadableFile, offset: number, etag: string): AsyncGenerator<unknown> {
  let handle;
  try {
    handle = await open(file.real, "r");
  } catch (cause) {
    throw fsError(cause, file.shown);
  }
  try {
    const now = await handle.stat();
    if (etagOf(now) !== etag) {
      throw new FileError("FILE_CHANGED", `'${file.shown}' changed after it was described; get it again`);
    }
    const hash = sha256();
    await hashPrefix(handle, offset, hash, file.shown);
    yield* readRange(handle, offset, file.stats.size, hash, file.shown);
    yield { sha256: hash.digest("hex") };
  } finally {
    await handle.close().catch(() => {});
  }
}

async function* entries(listed: FileEntry[], mounts: string[]): AsyncGenerator<FileEntry> {
  yield* listed;
  for (const name of mounts) yield { name, size: 0, mtime: 0, type: "dir" };
}

function entryOf(name: string, stats: Stats): FileEntry {
  const type = stats.isFile() ? "file" : "dir";
  return { name, size: stats.isFile() ? stats.size : 0, mtime: Math.floor(stats.mtimeMs), type };
}

/** Part files and sidecars of transfers in progress are not listed. */
function isPartName(name: string, present: ReadonlySet<string>): boolean {
  if (name.endsWith(".part.json")) return present.has(name.slice(0, -".json".length));
  return name.endsWith(".part") && present.has(`${name}.json`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A failure of the file system (it names a system call), as opposed to one of the data stream. */
function isFsFailure(error: unknown): boolean {
  return !(error instanceof FileError) && typeof (error as { syscall?: unknown })?.syscall === "string";
}
