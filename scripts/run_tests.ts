/**
 * The test matrix behind `npm test`: runs every test file under Deno, Bun and Node, reads
 * each runner's JUnit report, and ends with one line `N passed (M distinct), N failed,
 * N skipped` summed over the runtimes (M: tests, by file and name, that passed in at least
 * one runtime). Exits non-zero on any failure, and when the skips differ from the by-design
 * list `tests/support/expected_skips.txt` (see `expected_skips.ts`): a skip the list does not
 * have, or a listed skip that ran. `PEERLINK_ALLOW_SKIPS=1` reports such differences without
 * failing (`scripts/test.sh` sets it when it cannot make a network namespace).
 *
 * Usage: node scripts/run_tests.ts [--runtime deno,bun,node] [FILE_OR_DIR...]
 * `scripts/test.sh` runs it inside a private network namespace.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compareSkips, readExpectedSkips } from "./expected_skips.ts";
import { countJunit, readJunit, summaryLine, type TestCase } from "./junit.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "..");
const BIN = join(ROOT, "node_modules", ".bin");
const PER_TEST_TIMEOUT_MS = 120_000;
/** A whole runtime pass that takes longer than this is killed and counted as a failure (deno test has no per-test timeout). */
const PER_RUNTIME_TIMEOUT_MS = 25 * 60_000;
/** The by-design skips, one line each. */
const EXPECTED_SKIPS = join(ROOT, "tests", "support", "expected_skips.txt");

const { values, positionals } = parseArgs({
  options: { runtime: { type: "string", default: "deno,bun,node" } },
  allowPositionals: true,
});

function testFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) {
      for (const entry of readdirSync(p).sort()) {
        if (entry !== "node_modules" && !entry.startsWith(".")) walk(join(p, entry));
      }
    } else if (p.endsWith(".test.ts")) out.push(p);
  };
  for (const p of paths.length ? paths : ["tests", "src"]) walk(resolve(ROOT, p));
  return out.map((f) => f.slice(ROOT.length + 1));
}

function commandFor(runtime: string, files: string[], report: string): string[] {
  switch (runtime) {
    case "deno":
      return [join(BIN, "deno"), "test", "-A", "--no-check", `--junit-path=${report}`, ...files];
    case "bun":
      return [
        join(BIN, "bun"),
        "test",
        `--timeout=${PER_TEST_TIMEOUT_MS}`,
        "--reporter=junit",
        `--reporter-outfile=${report}`,
        ...files.map((f) => `./${f}`),
      ];
    case "node":
      return [
        join(BIN, "node"),
        "--test",
        "--test-concurrency=1",
        `--test-timeout=${PER_TEST_TIMEOUT_MS}`,
        "--test-reporter=spec",
        "--test-reporter-destination=stdout",
        "--test-reporter=junit",
        `--test-reporter-destination=${report}`,
        ...files,
      ];
  }
  throw new Error(`unknown runtime ${runtime}: use deno, bun or node`);
}

if (process.env.PEERLINK_REQUIRE_NETNS === "1" && process.env.PEERLINK_NETNS !== "1") {
  console.error(
    "run_tests: PEERLINK_REQUIRE_NETNS=1 but this is not the private network namespace of scripts/netns.sh: " +
      "run `npm test` (scripts/test.sh), which makes it, instead of skipping every socket test",
  );
  process.exit(2);
}
const files = testFiles(positionals);
if (files.length === 0) {
  console.error("run_tests: no *.test.ts files found");
  process.exit(2);
}
// A fresh report folder per run, so concurrent runs never read each other's reports.
const RESULTS = mkdtempSync(join(tmpdir(), "peerlink-test-"));

const runs = new Map<string, TestCase[]>();
const lines: string[] = [];
let runnerFailures = 0;
for (const runtime of values.runtime!.split(",")) {
  const report = join(RESULTS, `${runtime}.xml`);
  const [cmd, ...args] = commandFor(runtime, files, report);
  console.log(`\n=== ${runtime}: ${files.length} test files ===`);
  const run = spawnSync(cmd, args, {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, PEERLINK_TEST_RUNTIME: runtime, NO_COLOR: "1" },
    timeout: PER_RUNTIME_TIMEOUT_MS,
    killSignal: "SIGKILL",
  });
  if (run.error) console.log(`${runtime}: ${run.error.message}`);
  let cases: TestCase[] = [];
  try {
    cases = readJunit(readFileSync(report, "utf8"), ROOT);
  } catch {
    // No report: the runner itself crashed; counted below.
  }
  const counts = countJunit(cases);
  if (run.signal === "SIGKILL") {
    console.log(`${runtime}: killed after ${PER_RUNTIME_TIMEOUT_MS / 60_000} min: a test hangs`);
    counts.failed++;
    runnerFailures++;
  } else if (run.status !== 0 && counts.failed === 0) {
    console.log(`${runtime}: runner exited with ${run.status ?? run.signal} without a failing test in its report`);
    counts.failed++;
    runnerFailures++;
  }
  runs.set(runtime, cases);
  lines.push(`${runtime}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
}
console.log(`\n${lines.join("\n")}`);
rmSync(RESULTS, { recursive: true, force: true });

// Skips must be the by-design ones: anything else is a test that silently did not run.
const problems = compareSkips(runs, readExpectedSkips(EXPECTED_SKIPS), positionals.length === 0);
const skipProblems = problems.unexpected.length + problems.missing.length + problems.stale.length;
const allowSkips = process.env.PEERLINK_ALLOW_SKIPS === "1";
if (skipProblems > 0) {
  const list = (title: string, items: string[]) => items.length ? `${title}:\n  ${items.join("\n  ")}\n` : "";
  console.log(
    `\nskips differ from tests/support/expected_skips.txt${allowSkips ? " (allowed: PEERLINK_ALLOW_SKIPS=1)" : ""}:\n` +
      list("skipped, but not a by-design skip (fix the setup, or add a line with the reason)", problems.unexpected) +
      list("listed as a by-design skip, but ran (remove the line)", problems.missing) +
      list("listed, but no such test ran (renamed or removed?)", problems.stale),
  );
}
console.log(summaryLine([...runs.values()], runnerFailures));
const failed = runnerFailures > 0 || [...runs.values()].some((cases) => cases.some((c) => c.outcome === "failed"));
process.exit(failed || (skipProblems > 0 && !allowSkips) ? 1 : 0);
