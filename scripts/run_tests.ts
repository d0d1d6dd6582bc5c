/**
 * The test matrix behind `npm test`: runs every test file under Deno, Bun and Node, several
 * files at once, each job (one file under one runtime) in a fresh private network namespace of
 * its own, so concurrent jobs never see each other's multicast, ports or LANs. Prints each
 * job's output as one block when it ends, reads each job's JUnit report, and ends with the
 * failing tests again and one line `N passed (M distinct), N failed, N skipped` summed over the
 * runtimes (M: tests, by name, that passed in at least one runtime).
 *
 * Exits non-zero on any failure, and when the skips differ from the by-design list
 * `tests/support/expected_skips.txt` (see `expected_skips.ts`): a skip the list does not have,
 * or a listed skip that ran. `PEERLINK_ALLOW_SKIPS=1` reports such differences without failing
 * (`scripts/test.sh` sets it when it cannot make a network namespace).
 *
 * Usage: node scripts/run_tests.ts [--runtime deno,bun,node] [--jobs N] [GROUP|FILE|DIR...]
 * GROUP is unit, sockets, lan or dist (see `test_plan.ts`). `scripts/test.sh` runs it inside a
 * private network namespace.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { compareSkips, readExpectedSkips } from "./expected_skips.ts";
import { countJunit, readJunit, summaryLine, type TestCase } from "./junit.ts";
import { GROUPS, planJobs, selectTests, type TestJob } from "./test_plan.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "..");
const BIN = join(ROOT, "node_modules", ".bin");
const NETNS_SH = join(ROOT, "scripts", "netns.sh");
/** Bun's and Node's limit per test: above the slowest test (a 2 GiB transfer) on a loaded machine. */
const PER_TEST_TIMEOUT_MS = 240_000;
/** A job (one file, one runtime) that takes longer is killed and counted as a failure (deno test has no per-test timeout). */
const PER_JOB_TIMEOUT_MS = 10 * 60_000;
/** How many of the slowest jobs the summary names, to show where the time goes. */
const SLOWEST_SHOWN = 5;
/** The by-design skips, one line each. */
const EXPECTED_SKIPS = join(ROOT, "tests", "support", "expected_skips.txt");
/**
 * Jobs at a time, by default. A job spends about 70% of its time waiting (mDNS probing, LANs,
 * child processes), so four per CPU keep the CPUs busy; more only slow the jobs down. Measured
 * on 2 CPUs: 4 jobs 374 s, 8 jobs 232 s, 12 jobs 254 s (and timing-sensitive tests failed).
 */
const DEFAULT_JOBS = 4 * availableParallelism();

const { values, positionals } = parseArgs({
  options: { runtime: { type: "string" }, jobs: { type: "string" } },
  allowPositionals: true,
});

function commandFor(runtime: string, file: string, report: string): string[] {
  switch (runtime) {
    case "deno":
      return [join(BIN, "deno"), "test", "-A", "--no-check", `--junit-path=${report}`, file];
    case "bun":
      return [
        join(BIN, "bun"),
        "test",
        `--timeout=${PER_TEST_TIMEOUT_MS}`,
        "--reporter=junit",
        `--reporter-outfile=${report}`,
        `./${file}`,
      ];
    case "node":
      // The file itself, not `node --test FILE` (which runs it in a second process): one Node start per job.
      return [
        join(BIN, "node"),
        `--test-timeout=${PER_TEST_TIMEOUT_MS}`,
        "--test-reporter=spec",
        "--test-reporter-destination=stdout",
        "--test-reporter=junit",
        `--test-reporter-destination=${report}`,
        file,
      ];
  }
  throw new Error(`unknown runtime ${runtime}: use deno, bun or node`);
}

/**
 * How each job gets a network namespace of its own: inside the namespace of `scripts/netns.sh` we
 * are root of our user namespace, so `unshare -n` makes a fresh one, set up as netns.sh does.
 * Without it (no namespace at all: socket tests skip) jobs share this one.
 */
function isolationPrefix(): string[] {
  if (process.env.PEERLINK_NETNS !== "1") return [];
  const probe = spawnSync("unshare", ["-n", "true"], { stdio: "ignore" });
  if (probe.status === 0) return ["unshare", "-n", NETNS_SH, "--inside"];
  console.error(
    "run_tests: cannot make a network namespace per job here ('unshare -n' failed): running one job at a time",
  );
  return [];
}

interface JobResult {
  job: TestJob;
  cases: TestCase[];
  /** Why the job failed outside its report (killed, crashed), if it did. */
  runnerFailure?: string;
  output: string;
  ms: number;
}

/** Ends a job's whole process group (the runtime and whatever it started), ignoring a group already gone. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

const running = new Set<ChildProcess>();

function runJob(job: TestJob, prefix: readonly string[], workDir: string, index: number): Promise<JobResult> {
  const report = join(workDir, `${index}.xml`);
  const log = join(workDir, `${index}.log`);
  const fd = openSync(log, "w");
  const [cmd, ...args] = [...prefix, ...commandFor(job.runtime, job.file, report)];
  const started = performance.now();
  // Its own process group, so a hanging job is ended with everything it started.
  const child = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ["ignore", fd, fd],
    detached: true,
    env: {
      ...process.env,
      PEERLINK_TEST_RUNTIME: job.runtime,
      NO_COLOR: "1",
      // Node keeps the compiled (and type-stripped) modules for the next jobs, as Deno and Bun do on their own.
      NODE_COMPILE_CACHE: join(workDir, "node-compile-cache"),
    },
  });
  closeSync(fd);
  running.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, PER_JOB_TIMEOUT_MS);
  return new Promise((done) => {
    let finished = false;
    const finish = (status: number | null, error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      running.delete(child);
      killGroup(child);
      let cases: TestCase[] = [];
      try {
        cases = readJunit(readFileSync(report, "utf8"), ROOT);
      } catch {
        // No report: the runner crashed or was killed; counted below.
      }
      const failedInReport = cases.some((c) => c.outcome === "failed");
      const runnerFailure = timedOut
        ? `killed after ${PER_JOB_TIMEOUT_MS / 60_000} min: a test hangs`
        : error
        ? `could not run: ${error.message}`
        : status !== 0 && !failedInReport
        ? `the runner exited with ${status} without a failing test in its report`
        : undefined;
      done({
        job,
        cases,
        ...(runnerFailure ? { runnerFailure } : {}),
        output: readFileSync(log, "utf8"),
        ms: performance.now() - started,
      });
    };
    child.once("error", (error) => finish(null, error));
    child.once("exit", (code, signal) => finish(code ?? (signal ? 128 : null)));
  });
}

/** Runs the jobs, `width` at a time in list order; `onEnd` gets each result as its job ends. */
async function runPool(
  jobs: readonly TestJob[],
  width: number,
  start: (job: TestJob, index: number) => Promise<JobResult>,
  onEnd: (result: JobResult) => void,
): Promise<JobResult[]> {
  const results: JobResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      const result = await start(jobs[index], index);
      results.push(result);
      onEnd(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function main(): Promise<number> | number {
  if (process.env.PEERLINK_REQUIRE_NETNS === "1" && process.env.PEERLINK_NETNS !== "1") {
    console.error(
      "run_tests: PEERLINK_REQUIRE_NETNS=1 but this is not the private network namespace of scripts/netns.sh: " +
        "run `npm test` (scripts/test.sh), which makes it, instead of skipping every socket test",
    );
    return 2;
  }
  const selection = selectTests(ROOT, positionals, values.runtime);
  if (selection.files.length === 0) {
    console.error("run_tests: no *.test.ts files found");
    return 2;
  }
  const jobs = planJobs(selection);
  const prefix = isolationPrefix();
  const requested = values.jobs === undefined ? DEFAULT_JOBS : Number(values.jobs);
  if (!Number.isInteger(requested) || requested < 1) {
    console.error(`run_tests: --jobs takes a whole number of at least 1, got ${values.jobs}`);
    return 2;
  }
  // Without a namespace per job, socket tests would share ports and multicast: one at a time.
  const width = prefix.length === 0 && process.env.PEERLINK_NETNS === "1" ? 1 : requested;
  console.log(
    `=== ${selection.files.length} test files under ${selection.runtimes.join(", ")}: ` +
      `${jobs.length} jobs, ${width} at a time ===`,
  );
  // A fresh report folder per run, so concurrent runs never read each other's reports.
  const workDir = mkdtempSync(join(tmpdir(), "peerlink-test-"));
  const stop = (signal: NodeJS.Signals) => {
    for (const child of running) killGroup(child);
    rmSync(workDir, { recursive: true, force: true });
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const started = performance.now();
  let ended = 0;
  return runPool(jobs, width, (job, index) => runJob(job, prefix, workDir, index), (result) => {
    const counts = countJunit(result.cases);
    const verdict = result.runnerFailure ?? (counts.failed > 0 ? `${counts.failed} FAILED` : "ok");
    process.stdout.write(
      `\n--- [${++ended}/${jobs.length}] ${result.job.runtime} ${result.job.file}: ${verdict}, ${
        seconds(result.ms)
      } ---\n${result.output}`,
    );
  }).then((results) => {
    rmSync(workDir, { recursive: true, force: true });
    return report(results, selection.runtimes, selection.full, performance.now() - started);
  });
}

function report(results: readonly JobResult[], runtimes: readonly string[], full: boolean, wallMs: number): number {
  const runs = new Map<string, TestCase[]>(runtimes.map((r) => [r, []]));
  const runnerFailures = results.filter((r) => r.runnerFailure);
  for (const result of results) runs.get(result.job.runtime)!.push(...result.cases);

  console.log(`\nwall ${seconds(wallMs)}; time in jobs per group:`);
  for (const group of [...GROUPS, undefined]) {
    const ofGroup = results.filter((r) => r.job.group === group);
    if (ofGroup.length === 0) continue;
    const byRuntime = runtimes.map((runtime) =>
      `${runtime} ${seconds(ofGroup.filter((r) => r.job.runtime === runtime).reduce((sum, r) => sum + r.ms, 0))}`
    );
    console.log(`  ${group ?? "other"}: ${byRuntime.join(", ")}`);
  }
  const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, SLOWEST_SHOWN);
  console.log(`slowest: ${slowest.map((r) => `${r.job.runtime} ${r.job.file} ${seconds(r.ms)}`).join(", ")}`);
  console.log("");
  for (const runtime of runtimes) {
    const counts = countJunit(runs.get(runtime)!);
    counts.failed += runnerFailures.filter((r) => r.job.runtime === runtime).length;
    console.log(`${runtime}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  }

  const failures = [
    ...runnerFailures.map((r) => `${r.job.runtime} ${r.job.file}: ${r.runnerFailure}`),
    ...results.flatMap((r) =>
      r.cases.filter((c) => c.outcome === "failed").map((c) =>
        `${r.job.runtime} ${r.job.file}: ${c.name}${c.failure ? `\n${excerpt(c.failure)}` : ""}`
      )
    ),
  ];
  if (failures.length > 0) {
    console.log(
      `\nfailed (what they said; their whole output is in the block of the same runtime and file above):\n  ${
        failures.join("\n  ")
      }`,
    );
  }

  // Skips must be the by-design ones: anything else is a test that silently did not run.
  const problems = compareSkips(runs, readExpectedSkips(EXPECTED_SKIPS), full);
  const skipProblems = problems.unexpected.length + problems.missing.length + problems.stale.length;
  const allowSkips = process.env.PEERLINK_ALLOW_SKIPS === "1";
  if (skipProblems > 0) {
    const list = (title: string, items: string[]) => items.length ? `${title}:\n  ${items.join("\n  ")}\n` : "";
    console.log(
      `\nskips differ from tests/support/expected_skips.txt${
        allowSkips ? " (allowed: PEERLINK_ALLOW_SKIPS=1)" : ""
      }:\n` +
        list("skipped, but not a by-design skip (fix the setup, or add a line with the reason)", problems.unexpected) +
        list("listed as a by-design skip, but ran (remove the line)", problems.missing) +
        list("listed, but no such test ran (renamed or removed?)", problems.stale),
    );
  }
  console.log(summaryLine([...runs.values()], runnerFailures.length));
  return failures.length > 0 || (skipProblems > 0 && !allowSkips) ? 1 : 0;
}

/** The start of a failure's message, indented under its test: a log's tail then says why it failed. */
function excerpt(message: string, lines = 12, chars = 1500): string {
  const kept = message.trim().slice(0, chars).split("\n").slice(0, lines);
  return kept.map((line) => `      ${line}`).join("\n");
}

process.exitCode = await main();
