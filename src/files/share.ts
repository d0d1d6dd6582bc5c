/**
 * Shares: folders a node offers to its peers, each mounted at a prefix of the node's shared
 * namespace (`/` by default), read-only unless `writable`. {@linkcode ShareTable} finds the
 * share a path belongs to (the longest prefix that matches) and lists the prefixes that a
 * folder listing of an ancestor must show.
 *
 * @module
 */
import { realpathSync, statSync } from "node:fs";
import { FileError } from "../errors.ts";
import { fsError, splitSharePath } from "./paths.ts";

/** Default of {@linkcode ShareOptions.maxFileBytes}: 64 GiB. */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 ** 3;

/**
 * Options of `node.serveFiles(folder, options)`.
 *
 * @example
 * ```ts
 * import type { ShareOptions } from "./share.ts";
 * const inbox: ShareOptions = { prefix: "/inbox", writable: true, maxFileBytes: 2 * 1024 ** 3 };
 * ```
 */
export interface ShareOptions {
  /** Where the folder appears in the node's shared namespace (default `"/"`). */
  prefix?: string;
  /**
   * Peers may put files into it with `putFile` (default `false`: read-only). Over plain HTTP a
   * writable share also takes `PUT`, but only on a node without a secret. A writable share is
   * never served over plain HTTP `GET` (the HTTP path is for read-only shares).
   */
  writable?: boolean;
  /**
   * Serve, list and accept names starting with `.` (default `false`: such files and folders are
   * neither listed nor served, and a path through one is refused with rule `hidden`).
   */
  hidden?: boolean;
  /**
   * Largest file peers may put into this share, in bytes (default {@linkcode DEFAULT_MAX_FILE_BYTES},
   * 64 GiB); a larger put fails with `FILE_TOO_LARGE` (HTTP 413) before any byte is sent.
   */
  maxFileBytes?: number;
}

/** A share, resolved. */
export interface Share {
  /** The prefix, normalized: `"/"` or `"/a/b"`. */
  readonly prefix: string;
  /** Its segments (empty for `"/"`). */
  readonly prefixSegments: readonly string[];
  /** The folder as given. */
  readonly folder: string;
  /** The folder's real path (symlinks resolved once, when shared). */
  readonly rootReal: string;
  /** Peers may write. */
  readonly writable: boolean;
  /** Dot names are served. */
  readonly hidden: boolean;
  /** Largest file accepted by a put. */
  readonly maxFileBytes: number;
}

/** Where a share path lands: its share and the segments inside it. */
export interface Located {
  /** The share. */
  share: Share;
  /** Segments below the share's folder. */
  inner: string[];
}

/**
 * Resolves a folder and options into a {@linkcode Share}.
 *
 * @param folder The local folder.
 * @param options Prefix, writable, hidden, size limit.
 * @returns The share.
 * @throws {FileError} When the folder does not exist or is not a folder; `TypeError`/`RangeError`
 *   for bad options.
 *
 * @example
 * ```ts ignore
 * const share = makeShare("./public", { prefix: "/pub" });
 * ```
 */
export function makeShare(folder: string, options: ShareOptions = {}): Share {
  if (typeof folder !== "string" || folder === "") throw new TypeError("serveFiles(): give the folder to share");
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (typeof maxFileBytes !== "number" || !(maxFileBytes >= 0)) {
    throw new RangeError(`serveFiles(): maxFileBytes must be a number of bytes >= 0, got ${String(maxFileBytes)}`);
  }
  let prefixSegments: string[];
  try {
    prefixSegments = splitSharePath(options.prefix ?? "/", true);
  } catch (error) {
    throw new TypeError(`serveFiles(): the prefix ${JSON.stringify(options.prefix)} is not a plain path`, {
      cause: error,
    });
  }
  let rootReal: string;
  try {
    // Synchronous: a share is set up once, and serveFiles() can then chain like register().
    rootReal = realpathSync(folder);
    if (!statSync(rootReal).isDirectory()) {
      throw new FileError("FILE_NOT_FOUND", `serveFiles(): '${folder}' is not a folder`, { path: folder });
    }
  } catch (cause) {
    throw fsError(cause, folder);
  }
  return {
    prefix: "/" + prefixSegments.join("/"),
    prefixSegments,
    folder,
    rootReal,
    writable: options.writable === true,
    hidden: options.hidden === true,
    maxFileBytes,
  };
}

/**
 * The shares of a node.
 *
 * @example
 * ```ts ignore
 * const table = new ShareTable();
 * table.add(makeShare("./public"));
 * const { share, inner } = table.locate("/videos/a.mp4");
 * ```
 */
export class ShareTable {
  #shares: Share[] = [];

  /** The shares, longest prefix first. */
  get shares(): readonly Share[] {
    return this.#shares;
  }

  /**
   * Adds a share; one at the same prefix is replaced.
   *
   * @param share The share.
   */
  add(share: Share): void {
    this.#shares = [...this.#shares.filter((s) => s.prefix !== share.prefix), share]
      .sort((a, b) => b.prefixSegments.length - a.prefixSegments.length);
  }

  /**
   * Removes the share at a prefix.
   *
   * @param prefix The prefix.
   * @returns Whether one was there.
   */
  remove(prefix: string): boolean {
    const normalized = "/" + splitSharePath(prefix, true).join("/");
    const before = this.#shares.length;
    this.#shares = this.#shares.filter((s) => s.prefix !== normalized);
    return this.#shares.length !== before;
  }

  /**
   * The share a path belongs to (the longest matching prefix), with the path below it. The
   * path's segments are checked first (with the share's hidden rule for the part inside it).
   *
   * @param path A share path.
   * @returns The share and the inner segments, or `undefined` when no share holds the path.
   * @throws {FileError} `FILE_FORBIDDEN` for a hostile path.
   */
  locate(path: unknown): Located | undefined {
    const segments = splitSharePath(path, true);
    for (const share of this.#shares) {
      const p = share.prefixSegments;
      if (p.length > segments.length || p.some((s, i) => segments[i] !== s)) continue;
      const inner = segments.slice(p.length);
      if (!share.hidden) splitSharePath(inner.join("/"), false);
      return { share, inner };
    }
    return undefined;
  }

  /**
   * Like {@linkcode ShareTable.locate}, but a path outside every share is a `FILE_NOT_FOUND`.
   *
   * @param path A share path.
   * @returns The share and the inner segments.
   * @throws {FileError} `FILE_NOT_FOUND` or `FILE_FORBIDDEN`.
   */
  require(path: unknown): Located {
    const located = this.locate(path);
    if (located) return located;
    const listed = this.#shares.map((s) => s.prefix).join(", ");
    throw new FileError(
      "FILE_NOT_FOUND",
      `'${String(path)}' is in no share${listed ? ` (shared: ${listed})` : " (this node shares no files)"}`,
      { path: String(path) },
    );
  }

  /**
   * The names of the share prefixes directly below a folder of the namespace, e.g. `inbox` for
   * `/` when a share is mounted at `/inbox`.
   *
   * @param segments The folder's segments.
   * @returns The names, sorted.
   */
  mountsBelow(segments: readonly string[]): string[] {
    const names = new Set<string>();
    for (const share of this.#shares) {
      const p = share.prefixSegments;
      if (p.length > segments.length && segments.every((s, i) => p[i] === s)) names.add(p[segments.length]);
    }
    return [...names].sort();
  }
}
