/**
 * `npm run compile`: single-file `peerlink` binaries built from cli.ts, for devices with no
 * JavaScript runtime installed. Run `node scripts/compile.ts --help` for the options.
 *
 * @module
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BuiltBinary, compileWithBun, fetchRuntimes } from "./compile/bun.ts";
import { CHECKSUMS_FILE, writeChecksums } from "./compile/checksums.ts";
import { compileWithDeno } from "./compile/deno.ts";
import { checkVersion } from "./compile/smoke.ts";
import { CompileStop, EXIT } from "./compile/stop.ts";
import { binaryName, findTarget, hostTarget, type Target, TARGETS } from "./compile/targets.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Two builds at once: `--all` takes 4.3 s instead of 6.7 s one by one; 3 or 7 at once gain nothing more. */
const PARALLEL_BUILDS = 2;

const USAGE = `Single-file peerlink binaries built from cli.ts (Bun's bun build --compile): one file
that runs where no JavaScript runtime is installed.

Usage: npm run compile -- [--target T]... [--all] [--out-dir DIR]
       npm run compile -- --fetch
       npm run compile -- --deno [--out-dir DIR]
       (or node scripts/compile.ts ...)

  (no option)     the binary for this machine
  --target T      a target from the list below; repeat or comma-separate for several
  --all           every target
  --out-dir DIR   where binaries and ${CHECKSUMS_FILE} go (default: dist/bin)
  --fetch         download, into Bun's cache, the Bun runtime of every target but this
                  machine's, and build nothing; needs the npm registry. Later builds of any
                  target then work without network (as in the private namespace of npm test).
  --deno          deno compile instead, for this machine only: DIR/peerlink-deno-<target>.
                  It embeds denort, which Deno downloads from dl.deno.land (no npm package
                  ships it); where it cannot, it stops (exit 3) and says why. DENORT_BIN=FILE
                  gives it a denort from Deno's release archive instead.

Targets:
${TARGETS.map((t) => `  ${t.name.padEnd(18)}${t.devices}`).join("\n")}

Writes DIR/peerlink-<target> (.exe for Windows) and DIR/${CHECKSUMS_FILE}, which lists every
binary in DIR (check with: sha256sum -c ${CHECKSUMS_FILE}). The binary for this machine must run
--version before it counts as built. A cross target's Bun runtime (about 40 MB from the npm
registry, package @oven/bun-<os>-<arch>) is downloaded once and cached by Bun.

Exit codes: 0 built, 1 a build or its check failed, 2 usage, 3 denort unavailable (--deno),
            4 a target's Bun runtime is not cached and cannot be downloaded (run --fetch).
`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArguments(argv);
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.OK;
  }
  const choosing = values.all === true || (values.target ?? []).length > 0;
  if ((values.fetch || values.deno) && choosing) {
    throw new CompileStop(
      `--${values.fetch ? "fetch" : "deno"} takes no --target or --all (${
        values.fetch ? "it fetches for every target" : "deno compile builds for this machine only"
      })`,
      EXIT.USAGE,
    );
  }
  const outDir = resolve(values["out-dir"] ?? join(ROOT, "dist", "bin"));
  const host = hostTarget();
  const targets = values.fetch || values.deno ? [] : chosenTargets(values.all === true, values.target ?? [], host);
  const tool = join(ROOT, "node_modules", ".bin", values.deno ? "deno" : "bun");
  if (!existsSync(tool)) throw new CompileStop(`${tool} is missing: run 'npm ci' first`, EXIT.FAILED);
  if (values.fetch) return await fetch(host);
  mkdirSync(outDir, { recursive: true });
  if (values.deno) {
    if (!host) throw new CompileStop(`deno compile: this machine (${machine()}) is not a target`, EXIT.FAILED);
    const out = join(outDir, binaryName(host).replace("peerlink-", "peerlink-deno-"));
    await compileWithDeno(ROOT, host, out);
    await report(out, host);
    await checksums(outDir);
    return EXIT.OK;
  }
  const builds = await inParallel(targets, (target) => compileWithBun(ROOT, target, outDir));
  let failed = false;
  let runtimeMissing = false;
  for (const build of builds) {
    if (build.ok) {
      await report(build.file, host, build);
      continue;
    }
    process.stderr.write(`compile: ${build.message}\n`);
    if (build.runtimeUnavailable) runtimeMissing = true;
    else failed = true;
  }
  await checksums(outDir);
  return failed ? EXIT.FAILED : runtimeMissing ? EXIT.BUN_RUNTIME_UNAVAILABLE : EXIT.OK;
}

function parseArguments(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        target: { type: "string", multiple: true },
        all: { type: "boolean" },
        "out-dir": { type: "string" },
        fetch: { type: "boolean" },
        deno: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new CompileStop(`${(error as Error).message} (see --help)`, EXIT.USAGE);
  }
}

/** The targets asked for: `--all`, the `--target`s, or else this machine's. */
function chosenTargets(all: boolean, names: string[], host: Target | undefined): Target[] {
  if (all) return [...TARGETS];
  const targets: Target[] = [];
  for (const name of names.flatMap((list) => list.split(",")).map((n) => n.trim()).filter(Boolean)) {
    const target = findTarget(name);
    if (!target) {
      throw new CompileStop(
        `unknown target '${name}': use one of ${TARGETS.map((t) => t.name).join(", ")}`,
        EXIT.USAGE,
      );
    }
    if (!targets.includes(target)) targets.push(target);
  }
  if (targets.length > 0) return targets;
  if (!host) {
    throw new CompileStop(`this machine (${machine()}) is not a target: choose one with --target`, EXIT.USAGE);
  }
  return [host];
}

async function fetch(host: Target | undefined): Promise<number> {
  const results = await fetchRuntimes(ROOT, TARGETS.filter((target) => target !== host));
  for (const result of results) {
    if (!result.ok) process.stderr.write(`compile: ${result.message}\n`);
  }
  const fetched = results.filter((result) => result.ok).map((result) => result.target.name);
  process.stdout.write(`compile: Bun runtimes cached for ${fetched.join(", ") || "no target"}\n`);
  if (results.every((result) => result.ok)) return EXIT.OK;
  return results.some((result) => !result.ok && !result.runtimeUnavailable)
    ? EXIT.FAILED
    : EXIT.BUN_RUNTIME_UNAVAILABLE;
}

/** One line per binary; the one for this machine must also run `--version`. */
async function report(file: string, host: Target | undefined, build?: BuiltBinary): Promise<void> {
  const target = build?.target ?? host;
  const size = build ? ` ${(build.bytes / 1024 / 1024).toFixed(1)} MiB` : "";
  const resigned = build?.resigned ? `, re-signed ad hoc as Bun's signature was broken: ${build.resigned}` : "";
  let line = `compile: ${shown(file)} (${target?.name}${size}${resigned})`;
  if (target === host) {
    try {
      line += ` prints: ${await checkVersion(file)}`;
    } catch (error) {
      throw new CompileStop((error as Error).message, EXIT.FAILED);
    }
  }
  process.stdout.write(`${line}\n`);
}

async function checksums(outDir: string): Promise<void> {
  const { file, names } = await writeChecksums(outDir);
  if (names.length > 0) {
    process.stdout.write(
      `compile: ${shown(file)} lists ${names.length} ${names.length === 1 ? "binary" : "binaries"}\n`,
    );
  }
}

/** Runs `work` on every item, at most {@linkcode PARALLEL_BUILDS} at a time, results in order. */
async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_BUILDS, items.length) }, worker));
  return results;
}

function machine(): string {
  return `${process.platform}-${process.arch}`;
}

function shown(file: string): string {
  const path = relative(process.cwd(), file);
  return path.startsWith("..") ? file : path;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof CompileStop)) throw error;
  process.stderr.write(`compile: ${error.message}\n`);
  process.exitCode = error.exitCode;
}
