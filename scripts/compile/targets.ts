/**
 * The platforms `npm run compile` builds single binaries for: one list, read by the compile
 * script, its `--help`, and the tests that verify the binaries.
 *
 * @module
 */
import process from "node:process";

/** Operating system of a target. */
export type TargetOs = "linux" | "darwin" | "windows";
/** CPU architecture of a target. */
export type TargetArch = "x64" | "arm64";
/** C library a Linux target links against. */
export type TargetLibc = "glibc" | "musl";

/** One platform a binary is built for. */
export interface Target {
  /** What `--target` takes and the file name carries, e.g. `linux-arm64-musl`. */
  name: string;
  os: TargetOs;
  arch: TargetArch;
  /** Linux only. */
  libc?: TargetLibc;
  /** Devices this binary is for (README, `--help`). */
  devices: string;
}

/** Every target, in the order `--all` builds and `--help` lists them. */
export const TARGETS: readonly Target[] = [
  {
    name: "linux-x64",
    os: "linux",
    arch: "x64",
    libc: "glibc",
    devices: "PCs, x86 NAS and kiosks (Debian, Ubuntu...)",
  },
  {
    name: "linux-arm64",
    os: "linux",
    arch: "arm64",
    libc: "glibc",
    devices: "Raspberry Pi 3/4/5 with a 64-bit OS, ARM boards and NAS",
  },
  { name: "linux-x64-musl", os: "linux", arch: "x64", libc: "musl", devices: "Alpine Linux and other musl systems" },
  { name: "linux-arm64-musl", os: "linux", arch: "arm64", libc: "musl", devices: "Alpine Linux on ARM" },
  { name: "darwin-x64", os: "darwin", arch: "x64", devices: "Macs with an Intel CPU" },
  { name: "darwin-arm64", os: "darwin", arch: "arm64", devices: "Macs with Apple silicon" },
  { name: "windows-x64", os: "windows", arch: "x64", devices: "Windows 10/11 PCs" },
];

/**
 * The target of that name.
 *
 * @param name E.g. `linux-arm64`.
 * @returns The target, or `undefined` when there is none of that name.
 */
export function findTarget(name: string): Target | undefined {
  return TARGETS.find((target) => target.name === name);
}

/**
 * The binary's file name: `peerlink-<target>`, with `.exe` for Windows.
 *
 * @param target The target.
 * @returns E.g. `peerlink-windows-x64.exe`.
 */
export function binaryName(target: Target): string {
  return `peerlink-${target.name}${target.os === "windows" ? ".exe" : ""}`;
}

/**
 * Bun's name for the target (`bun build --compile --target=...`).
 *
 * @param target The target.
 * @returns E.g. `bun-linux-arm64-musl`.
 */
export function bunTarget(target: Target): string {
  return `bun-${target.name}`;
}

/**
 * The target matching the machine this runs on, when it is one of {@linkcode TARGETS}.
 *
 * @returns The target, or `undefined` (e.g. FreeBSD, 32-bit ARM).
 */
export function hostTarget(): Target | undefined {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const libc = os === "linux" ? (isMusl() ? "musl" : "glibc") : undefined;
  return TARGETS.find((target) => target.os === os && target.arch === process.arch && target.libc === libc);
}

/** Node, Bun and Deno report the glibc version they run on; a musl system has none. */
function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined;
}
