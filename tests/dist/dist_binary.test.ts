/**
 * Single binaries (scripts/compile.ts): `--all` builds every target once (at load, cached for
 * the whole file) into a temporary folder with its SHA256SUMS; each binary's headers must say
 * the right format, CPU and loader, and macOS ones must carry a signature that matches them.
 * Binaries that can run here then pass every CLI check of tests/support/binary_cli_checks.ts
 * against native nodes: linux-x64 natively, linux-arm64 under qemu-user (Debian qemu-user and
 * libc6-arm64-cross). The musl ones cannot run here (see muslSkip), the macOS and Windows ones
 * never can. The script's refusals are checked too: an uncached Bun runtime without network
 * (exit 4), an unknown target (2), and `--deno` without denort (3), each with one definite
 * outcome.
 *
 * Runs once, under the bun pass of `npm test` (the binaries are Bun whatever runs the test),
 * inside the private network namespace, where no runtime can be downloaded: `.ci/run` fetches
 * the cross targets' Bun runtimes first (`npm run compile -- --fetch`). Without them the cross
 * targets skip, saying so; PEERLINK_REQUIRE_BINARIES=1 (CI) makes that, and a missing qemu,
 * a failure instead.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { COMMANDS } from "../../cli/main.ts";
import { machOSignatureProblem } from "../../scripts/compile/macho_signature.ts";
import { binaryName, hostTarget, type Target, TARGETS } from "../../scripts/compile/targets.ts";
import { runtimeName, socketSkip } from "../support/env.ts";
import { BIN, cleanUp, ROOT, run, runAsync, type RunResult, work } from "../support/dist_fixture.ts";
import { BINARY_CHECKS, type RunnableBinary } from "../support/binary_cli_checks.ts";
import { type ExecutableFormat, readExecutableFormat } from "../support/executable_format.ts";

const COMPILE = join(ROOT, "scripts", "compile.ts");
const NODE = join(BIN, "node");
const EXIT_USAGE = 2;
const EXIT_DENORT_UNAVAILABLE = 3;
const EXIT_BUN_RUNTIME_UNAVAILABLE = 4;
const required = process.env.PEERLINK_REQUIRE_BINARIES === "1";
const host = hostTarget();

const skip: string | false = runtimeName !== "bun"
  ? "single-binary test runs once, under the bun pass"
  : socketSkip
  ? "single-binary test runs only inside the private network namespace of `npm test`"
  : !existsSync(join(BIN, "bun"))
  ? "node_modules/.bin/bun is missing: run 'npm ci'"
  : host?.name !== "linux-x64"
  ? `the binary checks are written for a linux-x64 build machine, this is ${process.platform}-${process.arch}`
  : false;

after(cleanUp);

/**
 * Registers a test of the binaries; where they cannot be tested (another runtime's pass, no
 * namespace), one skipped test says why instead of every test skipping on its own.
 */
function binaryTest(name: string, options: { skip?: string | false }, body: () => void | Promise<void>): void {
  if (!skip) test(name, options, body);
}
if (skip) test("single binaries: built, checked and run", { skip }, () => {});

/** The binaries, built once for the whole file. */
interface Built {
  dir: string;
  /** What `compile.ts` said. */
  result: RunResult;
  /** Why the cross targets are missing (their Bun runtimes are not cached), or false. */
  crossSkip: string | false;
}

async function buildAll(): Promise<Built> {
  const dir = join(work(), "bin");
  const all = await runAsync(NODE, [COMPILE, "--all", "--out-dir", dir]);
  if (all.status !== EXIT_BUN_RUNTIME_UNAVAILABLE || required) return { dir, result: all, crossSkip: false };
  // The cross targets' Bun runtimes are not cached: build this machine's binary alone.
  const why = all.stderr.trim().split("\n")[0];
  const own = await runAsync(NODE, [COMPILE, "--target", host!.name, "--out-dir", dir]);
  return { dir, result: own, crossSkip: `Bun runtimes for the cross targets are not cached (${why})` };
}

const built = skip ? undefined : await buildAll();

function binary(target: Target): string {
  assert.ok(built, "nothing was built");
  assert.equal(built.result.status, 0, `compile.ts failed:\n${built.result.stdout}\n${built.result.stderr}`);
  return join(built.dir, binaryName(target));
}

/** Skip reason for a test of `target`'s binary. */
function targetSkip(target: Target): string | false {
  return (target !== host && built?.crossSkip) || false;
}

binaryTest("compile --all writes every target's binary and a SHA256SUMS that sha256sum -c accepts", {
  skip: built?.crossSkip,
}, () => {
  const names = TARGETS.map(binaryName);
  binary(host!);
  assert.deepEqual(readdirSync(built!.dir).sort(), [...names, "SHA256SUMS"].sort(), "nothing else left behind");
  const listed = readFileSync(join(built!.dir, "SHA256SUMS"), "utf8").trimEnd().split("\n");
  assert.deepEqual(listed.map((line) => line.replace(/^[0-9a-f]{64} {2}/, "")).sort(), [...names].sort());
  const checked = run("sha256sum", ["-c", "SHA256SUMS"], { cwd: built!.dir });
  assert.equal(checked.status, 0, checked.stdout + checked.stderr);
  assert.equal(checked.stdout.match(/: OK$/gm)?.length, names.length, checked.stdout);
});

/** What each target's headers must say. */
function expectedFormat(target: Target): ExecutableFormat {
  const loaders: Record<string, string> = {
    "x64 glibc": "/lib64/ld-linux-x86-64.so.2",
    "arm64 glibc": "/lib/ld-linux-aarch64.so.1",
    "x64 musl": "/lib/ld-musl-x86_64.so.1",
    "arm64 musl": "/lib/ld-musl-aarch64.so.1",
  };
  if (target.os === "linux") {
    return {
      format: "elf",
      arch: target.arch,
      executable: true,
      interpreter: loaders[`${target.arch} ${target.libc}`],
    };
  }
  if (target.os === "darwin") return { format: "mach-o", arch: target.arch, executable: true };
  return { format: "pe", arch: target.arch, executable: true, subsystem: "console" };
}

for (const target of TARGETS) {
  const expected = expectedFormat(target);
  const { format, arch, interpreter, subsystem } = expected;
  const loader = interpreter ? ` for ${interpreter}` : subsystem ? ` (${subsystem})` : "";
  const signed = target.os === "darwin" ? ", validly signed" : "";
  binaryTest(`${target.name}: a ${format} ${arch} executable${loader}${signed}, with every CLI command`, {
    skip: targetSkip(target),
  }, () => {
    const file = binary(target);
    assert.deepEqual({ ...readExecutableFormat(file) }, expected);
    if (target.os === "darwin") assert.equal(machOSignatureProblem(file), undefined, "macOS would refuse it");
    const bytes = readFileSync(file);
    for (const command of COMMANDS) {
      assert.ok(bytes.includes(command.summary), `the '${command.name}' command is not in the binary`);
    }
  });
}

binaryTest("the Mach-O signature check accepts Bun's own darwin-arm64 signature and catches one changed byte", {
  skip: targetSkip(TARGETS.find((t) => t.name === "darwin-arm64")!),
}, () => {
  // Built by Bun alone: its signer, not ours, made this signature.
  const file = join(work(), "bun-signed-darwin-arm64");
  const bun = run(join(BIN, "bun"), ["build", "cli.ts", "--compile", "--target=bun-darwin-arm64", "--outfile", file]);
  assert.equal(bun.status, 0, bun.stderr);
  assert.equal(machOSignatureProblem(file), undefined);
  const changed = `${file}-changed`;
  copyFileSync(file, changed);
  const offset = 40_000_000;
  const fd = openSync(changed, "r+");
  writeSync(fd, Buffer.from([readFileSync(file)[offset] ^ 0xff]), 0, 1, offset);
  closeSync(fd);
  assert.match(machOSignatureProblem(changed) ?? "", /^page 9765 \(from byte 39997440\) does not match/);
});

/** How each target runs here, or why it cannot. */
function runner(target: Target): { launcher: string[]; slowdown: number } | string {
  if (target.libc === "musl") return muslSkip(target) ?? { launcher: [], slowdown: 1 };
  if (target.arch === "x64") return { launcher: [], slowdown: 1 };
  const qemu = ["/usr/bin/qemu-aarch64", "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"].filter((f) =>
    !existsSync(f)
  );
  if (qemu.length > 0 && !required) {
    return `cannot emulate arm64 here: ${qemu.join(" and ")} missing (Debian qemu-user, libc6-arm64-cross)`;
  }
  return { launcher: ["/usr/bin/qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"], slowdown: 3 };
}

/**
 * Debian's `musl` has the x86-64 loader and C library, but Bun's musl builds also link
 * libstdc++.so.6 built for musl (Alpine's libstdc++), which Debian does not ship; and it has no
 * arm64 musl at all. The loader itself says what is missing.
 */
function muslSkip(target: Target): string | undefined {
  const loader = target.arch === "x64" ? "/lib/ld-musl-x86_64.so.1" : "/lib/ld-musl-aarch64.so.1";
  if (!existsSync(loader)) return `no ${loader} here (Debian's musl ships only the build machine's architecture)`;
  if (!built || built.result.status !== 0 || built.crossSkip) return "not built";
  const listed = run(loader, ["--list", binary(target)]);
  const missing = [...listed.stderr.matchAll(/Error loading shared library ([^:]+):/g)].map((m) => m[1]);
  if (listed.status === 0) return undefined;
  return `the musl loader cannot load it: ${missing.join(", ") || listed.stderr.trim().split("\n")[0]} ` +
    "(Bun's musl build links libstdc++.so.6 built for musl, as Alpine's libstdc++ package has it; Debian has none)";
}

// macOS and Windows binaries never run here: the header tests above are theirs.
TARGETS.filter((target) => target.os === "linux").forEach((target, index) => {
  if (skip) return;
  const how = targetSkip(target) || runner(target);
  if (typeof how === "string") {
    binaryTest(`${target.name}: runs the CLI here`, { skip: how }, () => {});
    return;
  }
  const runnable: RunnableBinary = { target: target.name, file: join(built!.dir, binaryName(target)), ...how };
  const realm = `bin-${(process.pid % 46656).toString(36)}${index}`;
  for (const check of BINARY_CHECKS) {
    binaryTest(`${target.name}: ${check.title}`, {}, () => {
      binary(target);
      return check.run(runnable, realm);
    });
  }
});

test("every CLI command has a binary check (tests/support/binary_cli_checks.ts)", () => {
  const checked = new Set(BINARY_CHECKS.map((check) => check.command));
  const unchecked = COMMANDS.map((command) => command.name).filter((name) => !checked.has(name));
  assert.deepEqual(unchecked, [], "add a check for each: a binary must do everything the CLI does");
});

binaryTest("a target whose Bun runtime is not cached stops with exit 4 and one line naming --fetch", {}, async () => {
  const emptyCache = mkdtempSync(join(work(), "bun-cache-"));
  const out = join(work(), "uncached");
  const result = await runAsync(NODE, [COMPILE, "--target", "linux-arm64", "--out-dir", out], {
    env: { BUN_INSTALL_CACHE_DIR: emptyCache },
  });
  assert.equal(result.status, EXIT_BUN_RUNTIME_UNAVAILABLE, result.stdout + result.stderr);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^compile: linux-arm64: .*bun-linux-aarch64-v[\d.]+.*npm run compile -- --fetch/);
  assert.deepEqual(readdirSync(out), [], "no binary and no scratch folder left behind");
});

binaryTest(
  "an unknown target, or --fetch/--deno with targets, is a usage error (exit 2) that says why",
  {},
  async () => {
    const both = await runAsync(NODE, [COMPILE, "--deno", "--all"]);
    assert.equal(both.status, EXIT_USAGE);
    assert.match(
      both.stderr,
      /^compile: --deno takes no --target or --all \(deno compile builds for this machine only\)\n$/,
    );
    const result = await runAsync(NODE, [COMPILE, "--target", "linux-mips"]);
    assert.equal(result.status, EXIT_USAGE);
    assert.equal(
      result.stderr,
      `compile: unknown target 'linux-mips': use one of ${TARGETS.map((t) => t.name).join(", ")}\n`,
    );
  },
);

binaryTest(
  "--deno without denort (none given, none cached, no network) stops with exit 3 and one line why",
  {},
  async () => {
    const denoDir = mkdtempSync(join(work(), "deno-dir-"));
    const out = mkdtempSync(join(work(), "deno-out-"));
    const result = await runAsync(NODE, [COMPILE, "--deno", "--out-dir", out], {
      env: { DENO_DIR: denoDir, DENORT_BIN: "" },
    });
    assert.equal(result.status, EXIT_DENORT_UNAVAILABLE, result.stdout + result.stderr);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], /^compile: deno compile needs denort.*https:\/\/dl\.deno\.land\/release\/v[\d.]+\/denort-/);
    assert.match(lines[0], /DENORT_BIN/);
    assert.match(lines[0], new RegExp(`copy ${denoDir}/dl/`));
    assert.deepEqual(readdirSync(out), [], "no half-written binary");
  },
);

binaryTest("--deno refuses a DENORT_BIN that is the full deno binary, or no executable, with exit 3", {}, async () => {
  const out = mkdtempSync(join(work(), "deno-out-"));
  const full = await runAsync(NODE, [COMPILE, "--deno", "--out-dir", out], { env: { DENORT_BIN: join(BIN, "deno") } });
  assert.equal(full.status, EXIT_DENORT_UNAVAILABLE, full.stderr);
  assert.match(full.stderr, /^compile: DENORT_BIN points to the full deno binary, which cannot serve as denort/);
  const missing = join(work(), "no-such-denort");
  const none = await runAsync(NODE, [COMPILE, "--deno", "--out-dir", out], { env: { DENORT_BIN: missing } });
  assert.equal(none.status, EXIT_DENORT_UNAVAILABLE, none.stderr);
  assert.equal(none.stderr, `compile: DENORT_BIN=${missing} is not an executable file\n`);
  assert.deepEqual(readdirSync(out), [], "nothing was written");
});
