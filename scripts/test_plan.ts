/**
 * What `npm test` runs: the test groups, which files and runtimes a command line selects, and
 * the jobs (one test file under one runtime) in the order the runner starts them.
 *
 * Tests live in one folder per kind, `tests/<group>/`:
 * - `unit`: in-memory (the in-memory network and fake clock of `src/testing/`); no sockets, no
 *   namespace needed. The edit-test loop: `npm test -- unit` runs them on one runtime.
 * - `sockets`: real sockets on loopback, inside a private network namespace.
 * - `lan`: several hosts on a private LAN of namespaces (`scripts/lan.sh`), Avahi, BIND.
 * - `dist`: the packages and binaries we ship, and the benchmark's smoke test.
 *
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { RUNTIMES } from "./expected_skips.ts";

/** The test groups: folders under `tests/`, listed in the order their jobs start (slowest kinds first). */
export const GROUPS = ["dist", "lan", "sockets", "unit"] as const;

/** One of {@linkcode GROUPS}. */
export type Group = typeof GROUPS[number];

/**
 * The runtime of `npm test -- unit` when no `--runtime` is given: one runtime keeps the edit-test
 * loop short; all three still run every unit test in a full `npm test`.
 */
export const QUICK_RUNTIME = "bun";

/** One test file under one runtime. */
export interface TestJob {
  runtime: string;
  /** The file, relative to the repository (`tests/unit/fake_clock.test.ts`). */
  file: string;
  /** Its group, or undefined for a test file outside `tests/<group>/` (e.g. beside its module in `src/`). */
  group: Group | undefined;
}

/** What a command line selects. */
export interface Selection {
  /** Test files, relative to the repository, sorted. */
  files: string[];
  runtimes: string[];
  /** Whether this is the whole suite (then the by-design skip list is checked for stale lines). */
  full: boolean;
}

/**
 * The group of a test file, from its folder.
 *
 * @param file A path relative to the repository.
 * @returns `tests/<group>/...`'s group, or undefined.
 *
 * @example
 * ```ts
 * import { groupOf } from "./test_plan.ts";
 * console.log(groupOf("tests/lan/interop_avahi.test.ts")); // "lan"
 * ```
 */
export function groupOf(file: string): Group | undefined {
  const [top, folder] = file.split("/");
  return top === "tests" && (GROUPS as readonly string[]).includes(folder) ? folder as Group : undefined;
}

/**
 * Every `*.test.ts` file under the given files and folders (skipping `node_modules` and dot folders).
 *
 * @param root The repository's absolute path.
 * @param paths Files or folders, relative to `root`.
 * @returns Paths relative to `root`, sorted.
 * @throws {Error} When a path does not exist.
 */
export function findTestFiles(root: string, paths: readonly string[]): string[] {
  const found = new Set<string>();
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) {
        if (entry !== "node_modules" && !entry.startsWith(".")) walk(join(path, entry));
      }
    } else if (path.endsWith(".test.ts")) found.add(relative(root, path));
  };
  for (const path of paths) walk(resolve(root, path));
  return [...found].sort();
}

/**
 * Reads the command line's selection: group names (`unit`, `sockets`, `lan`, `dist`), files and
 * folders; nothing means every test in `tests/` and `src/`. Every runtime unless `--runtime`
 * says otherwise, except for the unit group alone, which runs on {@linkcode QUICK_RUNTIME}.
 *
 * @param root The repository's absolute path.
 * @param positionals The words after the options.
 * @param runtime The `--runtime` option (comma-separated), if given.
 * @returns The files and runtimes.
 * @throws {Error} On an unknown runtime.
 */
export function selectTests(root: string, positionals: readonly string[], runtime: string | undefined): Selection {
  const paths = positionals.map((p) => (GROUPS as readonly string[]).includes(p) ? join("tests", p) : p);
  const files = findTestFiles(root, paths.length ? paths : ["tests", "src"]);
  const unitOnly = positionals.length > 0 && positionals.every((p) => p === "unit");
  const runtimes = runtime !== undefined ? runtime.split(",").map((r) => r.trim()) : unitOnly ? [QUICK_RUNTIME] : [
    ...RUNTIMES,
  ];
  const unknown = runtimes.filter((r) => !(RUNTIMES as readonly string[]).includes(r));
  if (unknown.length > 0 || runtimes.length === 0) {
    throw new Error(`unknown runtime ${unknown.join(", ") || "(none)"}: use some of ${RUNTIMES.join(",")}`);
  }
  return { files, runtimes, full: positionals.length === 0 };
}

/**
 * The jobs of a selection, in the order they start: by group (slowest kinds first, files outside
 * a group last), then by runtime, then by file. Starting the long multi-host and packaging jobs
 * first leaves the many short unit jobs to fill the end, so the run finishes with all workers busy
 * instead of one long job; going through a group's files once per runtime keeps the three jobs of
 * one heavy file (2 GiB transfers, fuzzing) from running at the same time.
 *
 * @param selection Files and runtimes.
 * @returns One job per file and runtime.
 *
 * @example
 * ```ts
 * import { planJobs } from "./test_plan.ts";
 * const jobs = planJobs({ files: ["tests/unit/a.test.ts", "tests/lan/b.test.ts"], runtimes: ["deno"], full: false });
 * console.log(jobs.map((j) => j.file)); // ["tests/lan/b.test.ts", "tests/unit/a.test.ts"]
 * ```
 */
export function planJobs(selection: Selection): TestJob[] {
  const rank = (group: Group | undefined) => group === undefined ? GROUPS.length : GROUPS.indexOf(group);
  const jobs: TestJob[] = [];
  for (const file of selection.files) {
    for (const runtime of selection.runtimes) jobs.push({ runtime, file, group: groupOf(file) });
  }
  const order = (runtime: string) => selection.runtimes.indexOf(runtime);
  return jobs.sort((a, b) =>
    rank(a.group) - rank(b.group) || order(a.runtime) - order(b.runtime) || a.file.localeCompare(b.file)
  );
}
