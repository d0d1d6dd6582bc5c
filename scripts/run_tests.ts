/**
 * The test matrix behind `npm test`: runs every test file under Deno, Bun and Node, reads
 * each runner's JUnit report, and ends with one line `N passed, N failed, N skipped`
 * summed over the runtimes. Exits non-zero on any failure.
 *
 * Usage: node scripts/run_tests.ts [--runtime deno,bun,node] [FILE_OR_DIR...]
 * `scripts/test.sh` runs it inside a private network namespace.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { countJunit, type Counts } from "./junit.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "..");
const BIN = join(ROOT, "node_modules", ".bin");
const PER_TEST_TIMEOUT_MS = 120_000;
/** A whole runtime pass that takes longer than this is killed and counted as a failure (deno test has no per-test timeout). */
const PER_RUNTIME_TIMEOUT_MS = 25 * 60_000;

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

const files = testFiles(positionals);
if (files.length === 0) {
  console.error("run_tests: no *.test.ts files found");
  process.exit(2);
}
// A fresh report folder per run, so concurrent runs never read each other's reports.
const RESULTS = mkdtempSync(join(tmpdir(), "peerlink-test-"));

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const lines: string[] = [];
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
  let counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  try {
    counts = countJunit(readFileSync(report, "utf8"));
  } catch {
    // No report: the runner itself crashed; counted below.
  }
  if (run.signal === "SIGKILL") {
    console.log(`${runtime}: killed after ${PER_RUNTIME_TIMEOUT_MS / 60_000} min: a test hangs`);
    counts.failed++;
  } else if (run.status !== 0 && counts.failed === 0) {
    console.log(`${runtime}: runner exited with ${run.status ?? run.signal} without a failing test in its report`);
    counts.failed++;
  }
  lines.push(`${runtime}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
}
console.log(`\n${lines.join("\n")}`);
rmSync(RESULTS, { recursive: true, force: true });
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
