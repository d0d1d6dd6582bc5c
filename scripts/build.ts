/**
 * The npm build: compiles mod.ts, cli.ts, src/ and runtimes/ with the TypeScript compiler
 * (tsconfig.build.json) to JavaScript plus `.d.ts` declarations in `dist/`, for Node >= 20,
 * Bun and Deno. `npm pack` and `npm publish` run it first (the `prepack` script).
 *
 * Usage: node scripts/build.ts [--out DIR]   (default: dist/ in the repository)
 *
 * After compiling it checks what npm will need: the `bin` entry starts with a `#!` line and
 * is executable, and every path in package.json's `exports`, `main`, `types` and `bin`
 * exists in the output. It exits non-zero, naming the missing file, when one does not.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SHEBANG = "#!/usr/bin/env node\n";
/** The folder of dist/ that `npm run compile` writes (scripts/compile.ts). */
const COMPILED_BINARIES = "bin";

/** The package.json fields the build must satisfy. */
interface PackageManifest {
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
}

/**
 * Every file path package.json points into the build, as written there (e.g. `./dist/mod.js`).
 *
 * @param manifest The parsed package.json.
 * @returns The paths, without duplicates.
 */
function manifestTargets(manifest: PackageManifest): string[] {
  const paths = new Set<string>();
  if (manifest.main) paths.add(manifest.main);
  if (manifest.types) paths.add(manifest.types);
  for (const path of Object.values(manifest.bin ?? {})) paths.add(path);
  for (const target of Object.values(manifest.exports ?? {})) {
    for (const path of typeof target === "string" ? [target] : Object.values(target)) paths.add(path);
  }
  return [...paths].filter((path) => path.replace(/^\.\//, "").startsWith("dist/"));
}

/**
 * Compiles the sources into `outDir` and checks the result against package.json.
 *
 * @param outDir Where the JavaScript and declarations go (replaced if it exists).
 * @returns The problems found; empty when the build is ready to pack.
 */
function build(outDir: string): string[] {
  clean(outDir);
  const tsc = join(ROOT, "node_modules", ".bin", "tsc");
  if (!existsSync(tsc)) return [`${tsc} is missing: run 'npm ci' first`];
  const compiled = spawnSync(tsc, ["-p", join(ROOT, "tsconfig.build.json"), "--outDir", outDir], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (compiled.status !== 0) {
    return [`tsc -p tsconfig.build.json failed (exit ${compiled.status ?? compiled.signal}): see its errors above`];
  }

  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as PackageManifest;
  const problems: string[] = [];
  const inOut = (path: string) => join(outDir, path.replace(/^\.?\/?dist\//, ""));
  for (const bin of Object.values(manifest.bin ?? {})) {
    const file = inOut(bin);
    if (!existsSync(file)) continue; // reported with the other missing targets below
    // npm links the bin into node_modules/.bin and executes it directly: it needs a #! line.
    const source = readFileSync(file, "utf8");
    if (!source.startsWith("#!")) writeFileSync(file, SHEBANG + source);
    chmodSync(file, 0o755);
  }
  for (const target of manifestTargets(manifest)) {
    if (!existsSync(inOut(target))) {
      problems.push(`package.json points to ${target}, but the build made no ${relative(ROOT, inOut(target))}`);
    }
  }
  return problems;
}

/**
 * Empties the output folder, except `bin/`: the single binaries of `npm run compile` live
 * there, and `npm pack` (which builds first) must not delete them (package.json keeps them
 * out of the tarball).
 *
 * @param outDir The build's output folder.
 */
function clean(outDir: string): void {
  if (!existsSync(outDir)) return;
  for (const entry of readdirSync(outDir)) {
    if (entry !== COMPILED_BINARIES) rmSync(join(outDir, entry), { recursive: true, force: true });
  }
}

const { values } = parseArgs({ options: { out: { type: "string", default: join(ROOT, "dist") } } });
const outDir = resolve(values.out!);
const problems = build(outDir);
for (const problem of problems) console.error(`build: ${problem}`);
if (problems.length > 0) process.exit(1);
console.log(`build: ${relative(process.cwd(), outDir) || "."} is ready`);
