/**
 * Shared steps of the distribution tests: a copy of the repository in a temporary folder
 * (so the build never races another test run over the real `dist/`), the npm tarball packed
 * from it, that tarball installed into an empty folder without network, and a helper to run
 * programs with a bounded time. Each step runs at most once per test process.
 */
import { execFile, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { signalChild } from "../../cli/launch.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));
/** The dev-dependency binaries (Deno, Bun, Node 24, tsc). */
export const BIN: string = join(ROOT, "node_modules", ".bin");
/** The machine's own Node: the oldest Node we support (20), not the Node 24 dev dependency. */
export const SYSTEM_NODE: string = process.env.PEERLINK_SYSTEM_NODE ?? "/usr/bin/node";
/** The oldest Node major the package supports: the `engines.node` of package.json (`">=20"`). */
export const OLDEST_NODE_MAJOR: number = Number(
  /^>=\s*(\d+)/.exec((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines?.node ?? "") as string)?.[1],
);
/** The npm that comes with {@linkcode SYSTEM_NODE}. */
export const SYSTEM_NPM: string = join(dirname(SYSTEM_NODE), "npm");
/** The npx that comes with {@linkcode SYSTEM_NODE}. */
export const SYSTEM_NPX: string = join(dirname(SYSTEM_NODE), "npx");
/** PATH for the packaging steps: the system Node first, never node_modules/.bin. */
export const SYSTEM_PATH: string = [...new Set([dirname(SYSTEM_NODE), "/usr/local/bin", "/usr/bin", "/bin"])].join(":");

const STEP_TIMEOUT_MS = 180_000;
/** Top-level entries of the repository that the copy leaves out. */
const NOT_COPIED = new Set(["node_modules", ".git", "dist", ".test-results", "peerlink"]);

/** The finished output of a program run by {@linkcode run}. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion (bounded by `timeoutMs`), capturing its output.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param options Working directory, extra environment and time limit.
 * @returns Exit status and output.
 */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): RunResult {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", npm_config_update_notifier: "false", ...options.env },
    encoding: "utf8",
    timeout: options.timeoutMs ?? STEP_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Like {@linkcode run}, but throws, with the program's output, unless it exits 0.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param options As for {@linkcode run}.
 * @returns Exit status and output.
 */
export function mustRun(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): RunResult {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} (in ${options.cwd ?? ROOT}) exited ${result.status}\n` +
        `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    );
  }
  return result;
}

/**
 * Why the packaging steps cannot run here, or `false` when they can. With
 * `PEERLINK_REQUIRE_PACKAGING=1` (CI) always `false`: a missing tool then fails the tests.
 */
export function packagingSkip(): string | false {
  return process.env.PEERLINK_REQUIRE_PACKAGING === "1" ? false : packagingUnavailable();
}

function packagingUnavailable(): string | false {
  if (!existsSync(SYSTEM_NODE)) return `no system Node at ${SYSTEM_NODE} (set PEERLINK_SYSTEM_NODE)`;
  if (!existsSync(SYSTEM_NPM)) return `no npm beside ${SYSTEM_NODE}`;
  for (const bin of ["tsc", "node", "bun"]) {
    if (!existsSync(join(BIN, bin))) return `node_modules/.bin/${bin} is missing: run 'npm ci'`;
  }
  if (!existsSync(join(ROOT, "cli.ts"))) return "cli.ts (the CLI entry point) does not exist yet";
  if (!existsSync(join(ROOT, "mod.ts"))) return "mod.ts (the public API) does not exist yet";
  return false;
}

let workDir: string | undefined;

/** A temporary folder for this test process, removed by {@linkcode cleanUp}. */
export function work(): string {
  workDir ??= mkdtempSync(join(tmpdir(), "peerlink-dist-"));
  return workDir;
}

/** Removes everything the distribution steps made. */
export function cleanUp(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
  stagedRepo = packed = installed = undefined;
}

let stagedRepo: string | undefined;

/**
 * A copy of the repository's files (not node_modules, .git or an old dist/) with
 * node_modules linked in: everything `npm pack` would see in a fresh checkout.
 *
 * @returns The copy's path.
 */
export function stagedRepository(): string {
  if (stagedRepo) return stagedRepo;
  const copy = join(work(), "repo");
  mkdirSync(copy);
  for (const entry of readdirSync(ROOT)) {
    if (!NOT_COPIED.has(entry) && !entry.endsWith(".tgz")) {
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  stagedRepo = copy;
  return copy;
}

let packed: string | undefined;

/**
 * Packs the staged repository with the system npm (its `prepack` script runs the build).
 *
 * @returns The tarball's path.
 */
export function packedTarball(): string {
  if (packed) return packed;
  const destination = join(work(), "pack");
  mkdirSync(destination);
  mustRun(SYSTEM_NPM, ["pack", "--pack-destination", destination], {
    cwd: stagedRepository(),
    env: { PATH: SYSTEM_PATH },
  });
  const tarballs = readdirSync(destination).filter((f) => f.endsWith(".tgz"));
  if (tarballs.length !== 1) throw new Error(`npm pack made ${tarballs.length} tarballs in ${destination}`);
  packed = join(destination, tarballs[0]);
  return packed;
}

/** How {@linkcode installedPackage} got the dependencies without network. */
export type InstallSource = "npm cache" | "local tarballs";

let installed: { dir: string; source: InstallSource } | undefined;

/**
 * Installs the tarball into an empty folder, offline: from npm's cache (filled by `npm ci`),
 * or, when the cache lacks something, from tarballs packed out of our own node_modules.
 *
 * @param manifest Fields of the folder's package.json (default `{ type: "module" }`), as a
 *   user's project has them before `npm install`.
 * @returns The folder, and where the dependencies came from.
 */
export function installedPackage(manifest: Record<string, unknown> = {}): { dir: string; source: InstallSource } {
  if (installed) return installed;
  const tarball = packedTarball();
  const dir = join(work(), "consumer");
  mkdirSync(dir);
  const install = (specs: string[]) =>
    run(SYSTEM_NPM, ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", ...specs], {
      cwd: dir,
      env: { PATH: SYSTEM_PATH },
    });
  writeConsumerManifest(dir, manifest);
  const fromCache = install([tarball]);
  if (fromCache.status === 0) {
    installed = { dir, source: "npm cache" };
    return installed;
  }
  if (!/ENOTCACHED/.test(fromCache.stderr)) {
    throw new Error(`npm install --offline ${tarball} failed:\n${fromCache.stdout}\n${fromCache.stderr}`);
  }
  // The cache lacks a dependency: pack each runtime dependency from our node_modules instead.
  const deps = join(work(), "deps");
  mkdirSync(deps);
  for (const folder of runtimeDependencyFolders()) {
    mustRun(SYSTEM_NPM, ["pack", "--ignore-scripts", "--pack-destination", deps, folder], {
      env: { PATH: SYSTEM_PATH },
    });
  }
  writeConsumerManifest(dir, manifest);
  const fromTarballs = install([tarball, ...readdirSync(deps).map((f) => join(deps, f))]);
  if (fromTarballs.status !== 0) {
    throw new Error(`npm install --offline with local dependency tarballs failed:\n${fromTarballs.stderr}`);
  }
  installed = { dir, source: "local tarballs" };
  return installed;
}

function writeConsumerManifest(dir: string, manifest: Record<string, unknown>): void {
  rmSync(join(dir, "node_modules"), { recursive: true, force: true });
  rmSync(join(dir, "package-lock.json"), { force: true });
  // The dependencies come from the install below (the tarball), not from the manifest.
  const { dependencies: _ignored, ...fields } = manifest;
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", ...fields }),
  );
}

/** The node_modules folders of package.json's dependencies and theirs, transitively. */
function runtimeDependencyFolders(): string[] {
  const found = new Set<string>();
  const visit = (name: string) => {
    const folder = join(ROOT, "node_modules", name);
    if (found.has(folder)) return;
    found.add(folder);
    const manifest = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep);
  };
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  for (const dep of Object.keys(root.dependencies ?? {})) visit(dep);
  return [...found];
}

/** A program running in the background, started by {@linkcode startProcess}. */
export interface BackgroundProcess {
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves once its output matches `pattern`; rejects after `timeoutMs` or if it exits first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** Sends `signal` and resolves with the exit code; kills it after `timeoutMs`. */
  stop(signal: "SIGTERM" | "SIGINT" | "SIGKILL", timeoutMs: number): Promise<number | null>;
}

/**
 * Starts a program without blocking the event loop, so the test can talk to it meanwhile.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param options Working directory and extra environment.
 * @returns A handle to wait on its output and stop it.
 */
export function startProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): BackgroundProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on("close", (code) => resolve(exitCode = code));
    child.on("error", (error) => {
      text += `\n[spawn error: ${error.message}]`;
      resolve(exitCode = -1);
    });
  });
  child.stdout!.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  child.stderr!.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  return {
    output: () => text,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (exitCode !== undefined) {
          throw new Error(`${command} exited (${exitCode}) before printing ${pattern}:\n${text}`);
        }
        if (Date.now() > deadline) {
          throw new Error(`${command} did not print ${pattern} within ${timeoutMs} ms:\n${text}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async stop(signal, timeoutMs) {
      if (exitCode !== undefined) return exitCode;
      signalChild(child, signal);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<null>((resolve) => {
        timer = setTimeout(() => {
          signalChild(child, "SIGKILL");
          resolve(null);
        }, timeoutMs);
      });
      const code = await Promise.race([exited, killed]);
      clearTimeout(timer);
      await exited;
      return code;
    },
  };
}

/**
 * Runs a program to completion without blocking the event loop.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param options Working directory, extra environment and time limit.
 * @returns Exit status (`null` when killed at the time limit) and output.
 */
export function runAsync(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      timeout: options.timeoutMs ?? STEP_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ status, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
