import { test } from "node:test";
import assert from "node:assert/strict";
import { countJunit } from "../scripts/junit.ts";

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
