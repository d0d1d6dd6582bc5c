import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { countJunit, readJunit, summaryLine } from "../../scripts/junit.ts";
import { compareSkips, parseExpectedSkips, readExpectedSkips } from "../../scripts/expected_skips.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");

test("countJunit() counts passed, failed and skipped testcases of each runner's report", () => {
  const deno = `<testsuites><testsuite name="a" tests="3">
    <testcase name="ok one" classname="a" time="0.1"></testcase>
    <testcase name="bad" classname="a"><failure message="boom">AssertionError</failure></testcase>
    <testcase name="ignored" classname="a"><skipped/></testcase></testsuite></testsuites>`;
  assert.deepEqual(countJunit(deno), { passed: 1, failed: 1, skipped: 1 });
  const bun = `<testcase name="passes" classname="grp" time="0.005996" file="t/a.test.ts" line="4" assertions="0" />
    <testcase name="skipped" classname="grp"><skipped /></testcase>`;
  assert.deepEqual(countJunit(bun), { passed: 1, failed: 0, skipped: 1 });
  const node = `<testcase name="t/a.test.ts" time="0.05" classname="test" failure="test failed">
    <failure type="testCodeFailure" message="test failed">x</failure></testcase>`;
  assert.deepEqual(countJunit(node), { passed: 0, failed: 1, skipped: 0 });
});

test("countJunit() is not fooled by '>' or '<' inside a test name", () => {
  const xml = `<testcase name="a <b> c > d" classname="test"/><testcase name="e > f" failure="x"></testcase>`;
  assert.deepEqual(countJunit(xml), { passed: 1, failed: 1, skipped: 0 });
});

test("readJunit() gives each test's name, repository file and outcome, with Node's skip reason", () => {
  const root = "/repo";
  const deno = `<testcase name="a &amp; b &lt;c&gt; &quot;d&quot;" classname="./tests/x.test.ts"><skipped/></testcase>`;
  const bun = `<testcase name="e" classname="" file="tests/y.test.ts" />`;
  const node = `<testcase name="f" classname="test" file="/repo/tests/z.test.ts">
    <skipped type="skipped" message="needs Deno: it checks Deno&apos;s adapter"/></testcase>`;
  assert.deepEqual(readJunit(deno + bun + node, root), [
    { name: 'a & b <c> "d"', file: "tests/x.test.ts", outcome: "skipped" },
    { name: "e", file: "tests/y.test.ts", outcome: "passed" },
    { name: "f", file: "tests/z.test.ts", outcome: "skipped", reason: "needs Deno: it checks Deno's adapter" },
  ]);
});

test("readJunit() keeps each runner's failure message, so the summary can say why a test failed", () => {
  const deno = `<testcase name="d" classname="./t.ts"><failure message="Uncaught AssertionError: one
1 !== 2">AssertionError</failure></testcase>`;
  const bun =
    `<testcase name="b" file="t.ts"><failure type="AssertionError" message="one&#10;1 !== 2">x</failure></testcase>`;
  const node = `<testcase name="n" file="t.ts"><failure type="testCodeFailure" message="one&#10;1 !== 2">
[Error [ERR_TEST_FAILURE]: one</failure></testcase><testcase name="q" file="t.ts"><failure message="{&amp;quot;a&amp;quot;:1}"/></testcase>`;
  assert.deepEqual(readJunit(deno + bun + node).map((c) => [c.name, c.outcome, c.failure]), [
    ["d", "failed", "Uncaught AssertionError: one\n1 !== 2"],
    ["b", "failed", "one\n1 !== 2"],
    ["n", "failed", "one\n1 !== 2"],
    ["q", "failed", '{"a":1}'],
  ]);
});

test("the summary line sums the runtimes and counts distinct tests by name once", () => {
  const run = (outcomes: Array<[string, "passed" | "failed" | "skipped"]>) =>
    outcomes.map(([name, outcome]) => ({ name, file: "tests/a.test.ts", outcome }));
  const deno = run([["one", "passed"], ["two", "passed"], ["deno only", "passed"], ["three", "skipped"]]);
  const node = run([["one", "passed"], ["two", "failed"], ["three", "passed"]]);
  assert.equal(summaryLine([deno, node]), "5 passed (4 distinct), 1 failed, 1 skipped");
  assert.equal(
    summaryLine([deno], 1),
    "3 passed (3 distinct), 1 failed, 1 skipped",
    "a crashed runner counts as a failure",
  );
});

test("expected skips: one line per skip; unlisted skips, listed tests that ran and stale lines are all reported", () => {
  const list = parseExpectedSkips(`# comment
bun,node | only on deno | needs Deno
* | never here | by design everywhere
deno | renamed away | gone
`);
  assert.deepEqual(list.map((e) => [e.runtimes, e.name, e.reason, e.line]), [
    [["bun", "node"], "only on deno", "needs Deno", 2],
    [["deno", "bun", "node"], "never here", "by design everywhere", 3],
    [["deno"], "renamed away", "gone", 4],
  ]);
  const at = (name: string, outcome: "passed" | "skipped", reason?: string) => ({
    name,
    file: "tests/a.test.ts",
    outcome,
    ...(reason ? { reason } : {}),
  });
  const matching = new Map([
    ["deno", [at("only on deno", "passed"), at("never here", "skipped")]],
    ["node", [at("only on deno", "skipped"), at("never here", "skipped")]],
  ]);
  assert.deepEqual(compareSkips(matching, list, false), { unexpected: [], missing: [], stale: [] });
  const differing = new Map([
    ["deno", [at("only on deno", "skipped"), at("never here", "skipped"), at("socket test", "skipped", "no netns")]],
    ["node", [at("only on deno", "passed"), at("never here", "skipped")]],
  ]);
  assert.deepEqual(compareSkips(differing, list, true), {
    unexpected: [
      "deno: only on deno [tests/a.test.ts]",
      "deno: socket test (no netns) [tests/a.test.ts]",
    ],
    missing: ["node: only on deno (listed on line 2, but it passed)"],
    stale: ["line 4: renamed away"],
  });
  assert.deepEqual(compareSkips(differing, list, false).stale, [], "a partial run cannot tell a stale line");
  assert.throws(() => parseExpectedSkips("deno | no reason"), /line 1/);
  assert.throws(() => parseExpectedSkips("python | a | b"), /runtimes must be/);
});

test("the by-design skip list parses, and every line names a test that exists in tests/", () => {
  const list = readExpectedSkips(join(ROOT, "tests", "support", "expected_skips.txt"));
  assert.ok(list.length > 0);
  const files = readdirSync(join(ROOT, "tests"), { recursive: true, encoding: "utf8" });
  const sources = files.filter((f) => f.endsWith(".ts")).map((f) => readFileSync(join(ROOT, "tests", f), "utf8"))
    .join("\n");
  for (const entry of list) {
    // Names built from a template (`${target.name}: runs the CLI here`) are found by their fixed part.
    const fixed = entry.name.includes(": runs the CLI here") ? ": runs the CLI here" : entry.name;
    assert.ok(sources.includes(fixed), `line ${entry.line}: no test named "${entry.name}"`);
  }
});
