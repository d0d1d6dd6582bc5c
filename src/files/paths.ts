/**
 * Path confinement: a path a peer names is checked word by word before it touches the file
 * system, and what it resolves to is checked again after symlinks are followed, so a share
 * never serves or writes outside its folder.
 *
 * The rules, each refused with a `FileError` of code `FILE_FORBIDDEN` whose `rule` names it:
 *
 * | rule          | refuses                                                                         |
 * |---------------|---------------------------------------------------------------------------------|
 * | `type`        | a path that is not a string, or longer than {@linkcode MAX_PATH_CHARS}          |
 * | `nul`         | a NUL byte (C file APIs end the path there)                                     |
 * | `backslash`   | `\` (a separator on Windows: `..\\..` would climb there)                        |
 * | `absolute`    | `//host/...`, `C:...`: a path that names a root of its own                      |
 * | `dotdot`      | a `..` or `.` segment, or an empty one (`a//b`)                                 |
 * | `hidden`      | a segment starting with `.`, unless the share's `hidden` option allows them      |
 * | `symlink`     | a symlink (or mount) whose target lies outside the share's real folder          |
 * | `not-regular` | anything that is not a regular file or a folder (devices, FIFOs, sockets)       |
 *
 * Paths are share paths: `/` is the root of the node's shared namespace, and a leading `/` is
 * optional (`videos/a.mp4` is `/videos/a.mp4`).
 *
 * @module
 */
import { lstat, realpath, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { sep } from "node:path";
import { FileError } from "../errors.ts";

/** Longest share path accepted, in characters. */
export const MAX_PATH_CHARS = 4096;

/**
 * Splits a share path into its segments, refusing every hostile form (see the module table).
 *
 * @param path The path a peer sent, e.g. `"/videos/a.mp4"`.
 * @param allowHidden Whether segments starting with `.` are allowed.
 * @returns The segments (empty for the root).
 * @throws {FileError} `FILE_FORBIDDEN` naming the rule.
 *
 * @example
 * ```ts
 * import { splitSharePath } from "./paths.ts";
 * console.log(splitSharePath("/videos/a.mp4")); // ["videos", "a.mp4"]
 * try {
 *   splitSharePath("/a/../../etc/passwd");
 * } catch (err) {
 *   console.log((err as { rule: string }).rule); // "dotdot"
 * }
 * ```
 */
export function splitSharePath(path: unknown, allowHidden = false): string[] {
  if (typeof path !== "string" || path.length > MAX_PATH_CHARS) {
    throw forbidden(String(path).slice(0, 80), "type", `a path is a string of at most ${MAX_PATH_CHARS} characters`);
  }
  if (path.includes("\0")) throw forbidden(path, "nul", "a NUL byte is not allowed in a path");
  if (path.includes("\\")) throw forbidden(path, "backslash", "'\\' is not allowed in a path (use '/')");
  if (path.startsWith("//") || /^\/?[A-Za-z]:/.test(path)) {
    throw forbidden(path, "absolute", "a path names a file inside the share, not another root");
  }
  const trimmed = path.replace(/^\//, "").replace(/\/$/, "");
  if (trimmed === "") return [];
  const segments = trimmed.split("/");
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === "..") {
      throw forbidden(path, "dotdot", "'..', '.' and empty segments are not allowed (the path would leave its folder)");
    }
    if (!allowHidden && segment.startsWith(".")) {
      throw forbidden(path, "hidden", "names starting with '.' are hidden (the share's hidden option serves them)");
    }
  }
  return segments;
}

/**
 * The share path of some segments: `/a/b`.
 *
 * @param segments Path segments.
 * @returns The path.
 *
 * @example
 * ```ts
 * import { joinSharePath } from "./paths.ts";
 * console.log(joinSharePath(["a", "b"])); // "/a/b"
 * ```
 */
export function joinSharePath(segments: readonly string[]): string {
  return "/" + segments.join("/");
}

/** What {@linkcode confine} found. */
export interface Confined {
  /** The real path (symlinks resolved), inside the share. */
  real: string;
  /** Its stat. */
  stats: Stats;
}

/**
 * Resolves a path inside a share's folder, following symlinks, and checks that the result is
 * still inside the folder's real path and is a regular file or a folder.
 *
 * @param rootReal The share folder's real path.
 * @param segments Checked segments (from {@linkcode splitSharePath}).
 * @param shown The share path, for errors.
 * @returns The real path and its stat.
 * @throws {FileError} `FILE_NOT_FOUND`, or `FILE_FORBIDDEN` (rules `symlink`, `not-regular`).
 *
 * @example
 * ```ts ignore
 * const { real, stats } = await confine("/srv/public", ["videos", "a.mp4"], "/videos/a.mp4");
 * ```
 */
export async function confine(rootReal: string, segments: readonly string[], shown: string): Promise<Confined> {
  const joined = [rootReal, ...segments].join(sep);
  let real: string;
  try {
    real = await realpath(joined);
  } catch (cause) {
    throw fsError(cause, shown);
  }
  if (!inside(rootReal, real)) {
    throw forbidden(shown, "symlink", "it is a symlink that leads out of the share");
  }
  let stats: Stats;
  try {
    stats = await stat(real);
  } catch (cause) {
    throw fsError(cause, shown);
  }
  if (!stats.isFile() && !stats.isDirectory()) {
    throw forbidden(shown, "not-regular", "only regular files and folders are shared (not devices, FIFOs or sockets)");
  }
  return { real, stats };
}

/**
 * Checks where a new file may be written: its folder must exist inside the share (symlinks
 * followed), and the name itself must not be a symlink or anything but a regular file.
 *
 * @param rootReal The share folder's real path.
 * @param segments Checked segments of the file (at least one).
 * @param shown The share path, for errors.
 * @returns The path to write (the real folder joined with the name) and the stat of an
 *   existing file there, if any.
 * @throws {FileError} `FILE_NOT_FOUND` (no such folder), `FILE_FORBIDDEN`.
 *
 * @example
 * ```ts ignore
 * const { target, existing } = await confineForWrite("/srv/inbox", ["report.pdf"], "/inbox/report.pdf");
 * ```
 */
export async function confineForWrite(
  rootReal: string,
  segments: readonly string[],
  shown: string,
): Promise<{ target: string; existing: Stats | undefined }> {
  if (segments.length === 0) throw forbidden(shown, "not-regular", "the share's root is a folder, not a file");
  const folder = await confine(rootReal, segments.slice(0, -1), shown);
  if (!folder.stats.isDirectory()) throw new FileError("FILE_NOT_FOUND", `'${shown}': its folder is a file`);
  const target = folder.real + sep + segments[segments.length - 1];
  const existing = await lstatOrUndefined(target, shown);
  if (existing && existing.isSymbolicLink()) {
    throw forbidden(shown, "symlink", "it is a symlink; a share never writes through one");
  }
  if (existing && !existing.isFile()) {
    throw forbidden(shown, "not-regular", "only regular files can be written");
  }
  return { target, existing };
}

/**
 * `lstat`, or `undefined` when nothing is there.
 *
 * @param path A local path.
 * @param shown The path for errors.
 * @returns The stat or `undefined`.
 * @throws {FileError} For failures other than "not found".
 */
export async function lstatOrUndefined(path: string, shown: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (cause) {
    if ((cause as { code?: string }).code === "ENOENT") return undefined;
    throw fsError(cause, shown);
  }
}

/**
 * Whether `path` is `root` or inside it.
 *
 * @param root A real folder path.
 * @param path A real path.
 * @returns True when inside.
 */
export function inside(root: string, path: string): boolean {
  if (path === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix);
}

/**
 * A `FILE_FORBIDDEN` error naming a rule.
 *
 * @param path The share path refused.
 * @param rule The rule.
 * @param why What the rule says.
 * @returns The error.
 */
export function forbidden(path: string, rule: string, why: string): FileError {
  return new FileError("FILE_FORBIDDEN", `'${path}' is refused (rule ${rule}): ${why}`, { rule, path });
}

/**
 * A file-system error as a {@linkcode FileError}: not found → `FILE_NOT_FOUND`, permissions →
 * `FILE_FORBIDDEN` (rule `permission`), disk full and the rest → `FILE_IO`.
 *
 * @param cause The `node:fs` error.
 * @param shown The path, for the message.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { fsError } from "./paths.ts";
 * console.log(fsError(Object.assign(new Error("x"), { code: "ENOENT" }), "/a").code); // "FILE_NOT_FOUND"
 * ```
 */
export function fsError(cause: unknown, shown: string): FileError {
  if (cause instanceof FileError) return cause;
  const code = (cause as { code?: string }).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new FileError("FILE_NOT_FOUND", `'${shown}' does not exist`, { path: shown, cause });
  }
  if (code === "EACCES" || code === "EPERM") {
    return new FileError("FILE_FORBIDDEN", `'${shown}': permission denied by the file system`, {
      rule: "permission",
      path: shown,
      cause,
    });
  }
  if (code === "ELOOP") return forbidden(shown, "symlink", "it is a symlink loop");
  const what = cause instanceof Error ? cause.message : String(cause);
  const hint = code === "ENOSPC" ? " (the disk is full: free some room)" : "";
  return new FileError("FILE_IO", `'${shown}': ${what}${hint}`, { path: shown, cause });
}
