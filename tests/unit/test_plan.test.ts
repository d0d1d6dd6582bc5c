import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findTestFiles, groupOf, planJobs, QUICK_RUNTIME, selectTests } from "../../scripts/test_plan.ts";

/** A repository-like tree with one test file per group, one beside its module, and files that are not tests. */
function withTree(fn: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), "peerlink-plan-"));
  const files = [
    "tests/unit/b.test.ts",
    "tests/unit/a.test.ts",
    "tests/sockets/c.test.ts",
    "tests/lan/d.test.ts",
    "tests/dist/e.test.ts",
    "tests/support/helper.ts",
    "tests/support/.hidden/x.test.ts",
    "src/wire/f.test.ts",
    "src/wire/f.ts",
    "src/node_modules/dep/g.test.ts",
  ];
  try {
    for (const file of files) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), "");
    }
    fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("groupOf() reads the group from the folder under tests/", () => {
  assert.equal(groupOf("tests/unit/fake_clock.test.ts"), "unit");
  assert.equal(groupOf("tests/lan/interop_avahi.test.ts"), "lan");
  assert.equal(groupOf("tests/support/lan.ts"), undefined);
  assert.equal(groupOf("src/wire/codec.test.ts"), undefined);
  assert.equal(groupOf("unit/x.test.ts"), undefined);
});

test("findTestFiles() walks folders for *.test.ts, sorted, skipping node_modules and dot folders", () => {
  withTree((root) => {
    assert.deepEqual(findTestFiles(root, ["tests", "src"]), [
      "src/wire/f.test.ts",
      "tests/dist/e.test.ts",
      "tests/lan/d.test.ts",
      "tests/sockets/c.test.ts",
      "tests/unit/a.test.ts",
      "tests/unit/b.test.ts",
    ]);
    assert.deepEqual(findTestFiles(root, ["tests/unit/b.test.ts", "tests/unit"]), [
      "tests/unit/a.test.ts",
      "tests/unit/b.test.ts",
    ]);
    assert.throws(() => findTestFiles(root, ["tests/nowhere"]), /ENOENT/);
  });
});

test("selectTests(): everything on every runtime by default; groups and paths narrow it", () => {
  withTree((root) => {
    const all = selectTests(root, [], undefined);
    assert.equal(all.files.length, 6);
    assert.deepEqual(all.runtimes, ["deno", "bun", "node"]);
    assert.equal(all.full, true, "the whole suite: stale skip lines can be told");

    const lan = selectTests(root, ["lan", "tests/unit/a.test.ts"], undefined);
    assert.deepEqual(lan.files, ["tests/lan/d.test.ts", "tests/unit/a.test.ts"]);
    assert.deepEqual(lan.runtimes, ["deno", "bun", "node"]);
    assert.equal(lan.full, false);

    assert.deepEqual(selectTests(root, ["sockets"], "node,deno").runtimes, ["node", "deno"]);
    assert.throws(() => selectTests(root, [], "deno,python"), /unknown runtime python/);
  });
});

test("selectTests(): the unit group alone runs on one runtime unless --runtime says otherwise", () => {
  withTree((root) => {
    const unit = selectTests(root, ["unit"], undefined);
    assert.deepEqual(unit.files, ["tests/unit/a.test.ts", "tests/unit/b.test.ts"]);
    assert.deepEqual(unit.runtimes, [QUICK_RUNTIME]);
    assert.deepEqual(selectTests(root, ["unit"], "deno,bun,node").runtimes, ["deno", "bun", "node"]);
    assert.deepEqual(selectTests(root, ["unit", "sockets"], undefined).runtimes, ["deno", "bun", "node"]);
  });
});

test("planJobs(): one job per file and runtime; packaging and LAN jobs first, a group's files once per runtime", () => {
  const jobs = planJobs({
    files: [
      "src/wire/f.test.ts",
      "tests/dist/e.test.ts",
      "tests/lan/d.test.ts",
      "tests/lan/e.test.ts",
      "tests/sockets/c.test.ts",
      "tests/unit/a.test.ts",
    ],
    runtimes: ["node", "deno"],
    full: true,
  });
  assert.deepEqual(jobs.map((j) => `${j.runtime} ${j.file} ${j.group}`), [
    "node tests/dist/e.test.ts dist",
    "deno tests/dist/e.test.ts dist",
    "node tests/lan/d.test.ts lan",
    "node tests/lan/e.test.ts lan",
    "deno tests/lan/d.test.ts lan",
    "deno tests/lan/e.test.ts lan",
    "node tests/sockets/c.test.ts sockets",
    "deno tests/sockets/c.test.ts sockets",
    "node tests/unit/a.test.ts unit",
    "deno tests/unit/a.test.ts unit",
    "node src/wire/f.test.ts undefined",
    "deno src/wire/f.test.ts undefined",
  ]);
});
