/**
 * The version lives in src/version.ts; the registries' manifests must carry the same string,
 * or `peerlink --version` would disagree with what JSR or npm publish.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { VERSION } from "../../src/version.ts";

/** Reads a JSON file at the repository root. */
function rootJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../${name}`, import.meta.url), "utf8")) as Record<string, unknown>;
}

test("VERSION is a semantic version", () => {
  assert.match(VERSION, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/);
});

test("package.json version matches src/version.ts", () => {
  assert.equal(rootJson("package.json").version, VERSION, "bump package.json's version with src/version.ts");
});

test("deno.json version matches src/version.ts", () => {
  assert.equal(rootJson("deno.json").version, VERSION, "bump deno.json's version with src/version.ts");
});

test("package-lock.json records the same version as package.json", () => {
  const lock = rootJson("package-lock.json") as { version?: string; packages?: Record<string, { version?: string }> };
  assert.equal(lock.version, VERSION, "run `npm install` after bumping the version to refresh package-lock.json");
  assert.equal(lock.packages?.[""]?.version, VERSION);
});

test("package.json and deno.json publish the same entry points", () => {
  const npmExports = Object.keys(rootJson("package.json").exports as Record<string, unknown>)
    .filter((key) => key !== "./package.json");
  const jsrExports = Object.keys(rootJson("deno.json").exports as Record<string, unknown>);
  assert.deepEqual(npmExports.sort(), jsrExports.sort());
});
