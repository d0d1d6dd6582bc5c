/**
 * Single binaries with `bun build --compile`: cli.ts bundled with a Bun runtime for the target.
 *
 * For the machine's own target Bun embeds itself (node_modules/.bin/bun). For any other it
 * embeds that target's Bun, of the same version, which it downloads from the npm registry
 * (`@oven/bun-<os>-<arch>`) on first use and keeps in its cache (`BUN_INSTALL_CACHE_DIR`,
 * default `~/.bun/install/cache`). Where the registry cannot be reached (the private network
 * namespace of `npm test`), only what is cached can be built: `--fetch` fills the cache first.
 * A macOS binary whose signature Bun left broken is re-signed ad hoc (macho_signature.ts).
 *
 * @module
 */
import { mkdtempSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execute } from "./exec.ts";
import { adHocSign, machOSignatureProblem } from "./macho_signature.ts";
import { binaryName, bunTarget, type Target } from "./targets.ts";

/**
 * The options every binary is built with, chosen by measuring linux-x64 (size, and the median
 * of 30 runs of `peerlink --version`; README "Single binaries" has the table):
 * - `--bytecode` (with `--format=esm`, since cli.ts awaits at top level): start-up 30 ms -> 13 ms
 *   natively and 1.0 s -> 0.7 s on arm64 under qemu, for 3 MiB more (of 105 MiB).
 * - `--sourcemap`: stack traces (`peerlink -v`) name src/ files and lines instead of positions
 *   in the bundle; 0.4 MiB, no start-up cost. Bun embeds the map and also writes a `.map` file
 *   beside the binary, which {@linkcode compileWithBun} drops.
 * - no `--minify`: it saves 0.2 MiB and no start-up time once bytecode is used, and would
 *   rename the functions in stack traces.
 * - no `.env` / `bunfig.toml` autoloading: a binary must not change behaviour because of files
 *   in the folder it happens to be started from.
 */
export const BUN_COMPILE_FLAGS: readonly string[] = [
  "--bytecode",
  "--format=esm",
  "--sourcemap",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
];

/** A binary that was built. */
export interface BuiltBinary {
  ok: true;
  target: Target;
  /** Its path. */
  file: string;
  /** Its size. */
  bytes: number;
  /** macOS: why Bun's signature was replaced by an ad-hoc one (see macho_signature.ts), if it was. */
  resigned?: string;
}

/** A target that could not be built. */
export interface FailedBuild {
  ok: false;
  target: Target;
  /** The target's Bun runtime is not cached and could not be downloaded. */
  runtimeUnavailable: boolean;
  /** What happened and what to do, on one line, starting with the target's name. */
  message: string;
}

/** What became of one target. */
export type BunBuild = BuiltBinary | FailedBuild;

/**
 * Builds one target's binary into `outDir` (as `peerlink-<target>[.exe]`, replacing an older
 * one only once the new one is complete).
 *
 * @param root The repository (holds cli.ts and node_modules/.bin/bun).
 * @param target What to build for.
 * @param outDir Where the binary goes.
 * @param flags Build options (default {@linkcode BUN_COMPILE_FLAGS}).
 * @returns The file and its size, or why it failed.
 */
export async function compileWithBun(
  root: string,
  target: Target,
  outDir: string,
  flags: readonly string[] = BUN_COMPILE_FLAGS,
): Promise<BunBuild> {
  // Built in a folder of its own: no half-written binary in outDir, and Bun's `.map` stays there.
  const scratch = mkdtempSync(join(outDir, `.build-${target.name}-`));
  try {
    const built = join(scratch, binaryName(target));
    const bun = join(root, "node_modules", ".bin", "bun");
    const result = await execute(
      bun,
      ["build", "cli.ts", "--compile", `--target=${bunTarget(target)}`, ...flags, "--outfile", built],
      { cwd: root },
    );
    if (result.status !== 0) return failure(target, `${result.stdout}\n${result.stderr}`);
    const resigned = target.os === "darwin" ? machOSignatureProblem(built) : undefined;
    if (resigned) {
      adHocSign(built, "peerlink");
      const problem = machOSignatureProblem(built);
      if (problem) {
        const message =
          `${target.name}: Bun left the code signature broken (${resigned}), and re-signing failed: ${problem}`;
        return { ok: false, target, runtimeUnavailable: false, message };
      }
    }
    const file = join(outDir, binaryName(target));
    renameSync(built, file);
    return { ok: true, target, file, bytes: statSync(file).size, ...(resigned ? { resigned } : {}) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function failure(target: Target, output: string): BunBuild {
  // Bun: "Failed to download 'bun-linux-aarch64-v1.4.5': DNSResolveFailed"
  const download = /Failed to download '([^']+)': *(\S*)/.exec(output);
  if (download) {
    const [, runtime, cause] = download;
    return {
      ok: false,
      target,
      runtimeUnavailable: true,
      message: `${target.name}: Bun embeds its runtime for that target (${runtime}), which is not in Bun's cache ` +
        `(BUN_INSTALL_CACHE_DIR, default ~/.bun/install/cache) and could not be downloaded (${
          cause || "no reason"
        }): ` +
        `run 'npm run compile -- --fetch' where the npm registry can be reached, then build again`,
    };
  }
  const lines = output.trim().split("\n").filter((line) => line.trim() !== "");
  return {
    ok: false,
    target,
    runtimeUnavailable: false,
    message: `${target.name}: bun build --compile failed: ${lines.slice(-5).join(" | ") || "no output"}`,
  };
}

/**
 * Makes Bun download (into its cache) the runtime of every target but the machine's own, by
 * building each once into a scratch folder, so that later builds need no network.
 *
 * @param root The repository.
 * @param targets The targets to fetch for (the machine's own needs nothing).
 * @returns One result per target; the binaries are already deleted.
 */
export async function fetchRuntimes(root: string, targets: readonly Target[]): Promise<BunBuild[]> {
  const scratch = mkdtempSync(join(tmpdir(), "peerlink-fetch-"));
  try {
    const results: BunBuild[] = [];
    // One at a time: these are downloads of about 40 MB each, parallel would gain little.
    for (const target of targets) results.push(await compileWithBun(root, target, scratch, []));
    return results;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
