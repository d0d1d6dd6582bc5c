/**
 * The JSR package as `deno publish` would upload it: the dry run passes (type check, no slow
 * types), it ships only the sources users need, and the public API's documentation is complete
 * (`deno doc --lint` over every entry point in deno.json's `exports`).
 *
 * Runs once, under the deno pass of `npm test` (it spawns Deno itself; the node pass packs the
 * npm tarball and the bun pass builds the single binary). Runs only inside the private network
 * namespace: the dry run needs no network, and there it cannot reach jsr.io by accident.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeName, socketSkip } from "../support/env.ts";
import { BIN, ROOT, run } from "../support/dist_fixture.ts";

const skip: string | false = runtimeName !== "deno"
  ? "JSR packaging test runs once, under the deno pass"
  : socketSkip
  ? "JSR packaging test runs only inside the private network namespace of `npm test`, so it never reaches jsr.io"
  : !existsSync(join(BIN, "deno"))
  ? "node_modules/.bin/deno is missing: run 'npm ci'"
  : false;

/** deno.json's `exports`: entry name to file. */
function jsrExports(): Record<string, string> {
  return (JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { exports: Record<string, string> }).exports;
}

let dryRun: { status: number | null; output: string } | undefined;

/** Runs `deno publish --dry-run` once. */
function publishDryRun(): { status: number | null; output: string } {
  if (!dryRun) {
    const result = run(join(BIN, "deno"), ["publish", "--dry-run", "--allow-dirty"], { timeoutMs: 180_000 });
    dryRun = { status: result.status, output: result.stdout + result.stderr };
  }
  return dryRun;
}

test("deno publish --dry-run passes: types check, no slow types", { skip }, () => {
  const { status, output } = publishDryRun();
  assert.equal(status, 0, `deno publish --dry-run failed:\n${output}`);
  assert.match(output, /Dry run complete/);
});

test("the JSR package ships the sources and docs, and no tests, scripts or builds", { skip }, () => {
  const { status, output } = publishDryRun();
  assert.equal(status, 0, "the dry run failed (see the test above)");
  // The listing: one "   file:///path/to/file (1.2KB)" line per file.
  const files = [...output.matchAll(/^\s+file:\/\/(\S+) \(/gm)].map((m) => m[1].slice(ROOT.length).replace(/^\//, ""));
  assert.ok(files.length > 0, `no file list in the dry run's output:\n${output}`);
  const allowed = /^(mod\.ts|cli\.ts|deno\.json|README\.md|LICENSE|(src|runtimes|cli)\/.+\.ts)$/;
  assert.deepEqual(files.filter((f) => !allowed.test(f) || f.endsWith(".test.ts")), [], "unexpected files published");
  for (const entry of Object.values(jsrExports())) {
    assert.ok(files.includes(entry.replace(/^\.\//, "")), `entry point ${entry} is not published`);
  }
});

test("deno doc --lint reports nothing for the public entry points", { skip }, () => {
  const entries = Object.values(jsrExports());
  const result = run(join(BIN, "deno"), ["doc", "--lint", ...entries], { timeoutMs: 120_000 });
  const problems = (result.stdout + result.stderr).split("\n").filter((line) => /^error\[|-->/.test(line));
  assert.equal(result.status, 0, `deno doc --lint ${entries.join(" ")}:\n${problems.join("\n")}`);
});
