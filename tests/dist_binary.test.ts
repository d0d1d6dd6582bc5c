/**
 * Single-file binaries (scripts/compile.sh): the Bun binary is built from cli.ts, runs
 * `--help` and `--version`, and its `discover` finds a node this test starts; the Deno
 * binary builds where `deno compile` can get its runtime (denort), and otherwise the script
 * stops with exit code 3 and says why.
 *
 * Runs once, under the bun pass of `npm test` (the binary is Bun whatever runs the test, and
 * building it three times would only cost time), inside the private network namespace.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "../src/version.ts";
import { PeerLink } from "../mod.ts";
import { runtimeName, socketSkip } from "./support/env.ts";
import { BIN, cleanUp, mustRun, ROOT, run, runAsync, startProcess, work } from "./support/dist_fixture.ts";

const skip: string | false = runtimeName !== "bun"
  ? "single-binary test runs once, under the bun pass"
  : socketSkip
  ? "single-binary test runs only inside the private network namespace of `npm test`"
  : !existsSync(join(ROOT, "cli.ts"))
  ? "cli.ts (the CLI entry point) does not exist yet"
  : !existsSync(join(BIN, "bun"))
  ? "node_modules/.bin/bun is missing: run 'npm ci'"
  : false;

after(cleanUp);

let bunBinary: string | undefined;

/** Builds the Bun binary once per test process with scripts/compile.sh. */
function builtBunBinary(): string {
  if (bunBinary) return bunBinary;
  const out = join(work(), "peerlink");
  mustRun("bash", [join(ROOT, "scripts", "compile.sh"), "bun", out]);
  bunBinary = out;
  return out;
}

test("the Bun single binary runs --help and --version", { skip }, () => {
  const binary = builtBunBinary();
  const help = run(binary, ["--help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /discover/);
  assert.match(help.stdout, /serve/);
  const version = run(binary, ["--version"]);
  assert.equal(version.status, 0, version.stderr);
  assert.ok(version.stdout.includes(VERSION), `--version printed ${version.stdout}`);
});

test("the Bun single binary's discover finds a node started by the test", { skip }, async () => {
  const binary = builtBunBinary();
  const name = `dist-binary-${process.pid}`;
  const node = new PeerLink(name);
  await node.start();
  try {
    const found = await runAsync(binary, ["discover", "--wait", "3s", "--json"], { timeoutMs: 20_000 });
    assert.equal(found.status, 0, `discover failed:\n${found.stdout}\n${found.stderr}`);
    const peers = found.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    const me = peers.find((peer) => peer.name === name);
    assert.ok(me, `discover did not list ${name}; it printed:\n${found.stdout}`);
    assert.equal(typeof me.address, "string");
  } finally {
    await node.stop();
  }
});

test("the Bun single binary serves, and pings its own server over UDP and TCP", { skip }, async () => {
  const binary = builtBunBinary();
  const name = `dist-binary-serve-${process.pid}`;
  const server = startProcess(binary, ["serve", "--name", name, "--quiet"]);
  let stopCode: number | null;
  try {
    await server.waitFor(/Ctrl-C to stop/, 15_000);
    for (const transport of ["udp", "tcp"]) {
      const ping = await runAsync(binary, ["ping", name, "--count", "2", "--transport", transport], {
        timeoutMs: 30_000,
      });
      assert.equal(ping.status, 0, `ping --transport ${transport} failed:\n${ping.stdout}\n${ping.stderr}`);
      const replies = ping.stdout.split("\n").filter((line) => line.includes(name) && /\bOK\b/.test(line));
      assert.equal(replies.length, 2, `two replies expected over ${transport}:\n${ping.stdout}`);
      assert.ok(replies.every((line) => line.includes(`via ${transport}`)), ping.stdout);
    }
  } finally {
    stopCode = await server.stop("SIGINT", 10_000);
  }
  assert.equal(stopCode, 0, `serve did not stop cleanly on SIGINT:\n${server.output()}`);
});

test("deno compile builds the binary, or stops with exit 3 and says why", { skip }, () => {
  const out = join(work(), "peerlink-deno");
  const result = run("bash", [join(ROOT, "scripts", "compile.sh"), "deno", out]);
  if (result.status === 0) {
    assert.ok(run(out, ["--version"]).stdout.includes(VERSION));
    return;
  }
  assert.equal(result.status, 3, `compile.sh deno failed other than for denort:\n${result.stdout}\n${result.stderr}`);
  // The reason names what is missing, where it comes from, and the ways around it.
  assert.match(result.stderr, /denort/);
  assert.match(result.stderr, /dl\.deno\.land/);
  assert.match(result.stderr, /DENORT_BIN/);
  assert.ok(!existsSync(out), "no half-written binary is left behind");
});
