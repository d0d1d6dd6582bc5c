/**
 * The Deno binary: `deno compile -A --unstable-net`, which embeds `denort`, a slim Deno runtime.
 *
 * Deno downloads denort from dl.deno.land on first use and caches it in `$DENO_DIR/dl/`; no
 * npm package ships it (the @deno/* packages carry only the full `deno`, which cannot stand in:
 * the result would run as the Deno CLI instead of the embedded program). Where that download
 * cannot work, the build stops with one line saying why and the ways around it:
 * - set `DENORT_BIN=/path/to/denort` (from Deno's release archive of the same version); or
 * - run it once where dl.deno.land can be reached and copy `$DENO_DIR/dl/` over.
 *
 * @module
 */
import { existsSync, realpathSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { execute } from "./exec.ts";
import { CompileStop, EXIT } from "./stop.ts";
import type { Target } from "./targets.ts";

/** Deno's Rust names for a target, as in the denort archive's file name. */
const RUST_TRIPLES: Record<string, string> = {
  "linux-x64": "x86_64-unknown-linux-gnu",
  "linux-arm64": "aarch64-unknown-linux-gnu",
  "darwin-x64": "x86_64-apple-darwin",
  "darwin-arm64": "aarch64-apple-darwin",
  "windows-x64": "x86_64-pc-windows-msvc",
};

/**
 * Builds the Deno binary for this machine.
 *
 * @param root The repository (holds cli.ts and node_modules/.bin/deno).
 * @param host This machine's target.
 * @param out The binary to write.
 * @throws {CompileStop} With {@linkcode EXIT.DENORT_UNAVAILABLE} when denort cannot be had.
 */
export async function compileWithDeno(root: string, host: Target, out: string): Promise<void> {
  const deno = join(root, "node_modules", ".bin", "deno");
  const triple = RUST_TRIPLES[host.name];
  if (!triple) throw new CompileStop(`deno compile has no runtime for ${host.name}`, EXIT.FAILED);
  const version = /^deno (\S+)/.exec((await execute(deno, ["--version"])).stdout)?.[1] ?? "?";
  const archive = `v${version}/denort-${triple}.zip`;
  const denoDir = JSON.parse((await execute(deno, ["info", "--json"])).stdout || "{}").denoDir as string | undefined;
  const cached = denoDir ? join(denoDir, "dl", "release", archive) : undefined;
  process.stdout.write(`compile: deno compile, runtime from the ${runtimeSource(deno, archive, cached)}\n`);

  const result = await execute(deno, ["compile", "-A", "--unstable-net", "-o", out, "cli.ts"], { cwd: root });
  if (result.status === 0) return;
  rmSync(out, { force: true });
  const output = `${result.stdout}\n${result.stderr}`;
  if (/dl\.deno\.land|Setting up base binary/.test(output)) {
    throw new CompileStop(
      `deno compile needs denort, the runtime it embeds, from https://dl.deno.land/release/${archive} ` +
        `(no npm package ships it) and cannot reach that host: set DENORT_BIN to the denort of that archive, ` +
        `or copy ${denoDir ?? "$DENO_DIR"}/dl/ from a machine that downloaded it (the Bun binaries need no ` +
        `download for this machine: npm run compile)`,
      EXIT.DENORT_UNAVAILABLE,
    );
  }
  process.stderr.write(output);
  throw new CompileStop("deno compile failed (its output is above)", EXIT.FAILED);
}

/** Where denort will come from; stops at once when `DENORT_BIN` cannot be right. */
function runtimeSource(deno: string, archive: string, cached: string | undefined): string {
  const given = process.env.DENORT_BIN;
  // deno compile takes an empty DENORT_BIN as the path "": empty means not given.
  if (given === "") delete process.env.DENORT_BIN;
  if (given) {
    if (!existsSync(given) || !statSync(given).isFile() || (statSync(given).mode & 0o111) === 0) {
      throw new CompileStop(`DENORT_BIN=${given} is not an executable file`, EXIT.DENORT_UNAVAILABLE);
    }
    if (realpathSync(given) === realpathSync(deno)) {
      throw new CompileStop(
        "DENORT_BIN points to the full deno binary, which cannot serve as denort (the result would run as the " +
          "Deno CLI): use the denort binary from Deno's release archive",
        EXIT.DENORT_UNAVAILABLE,
      );
    }
    return `DENORT_BIN=${given}`;
  }
  if (cached && existsSync(cached)) return `cached ${cached}`;
  return `download of https://dl.deno.land/release/${archive}`;
}
