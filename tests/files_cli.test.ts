/**
 * The file commands of the CLI on real sockets: `share` as a child process, `ls`, `get` and
 * `send` in-process against a sharing node: JSON lines without a terminal and a bar on one,
 * the final line (size, SHA-256, rate, resumed), Ctrl-C that keeps the part file and prints
 * the command that resumes, and the exit codes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { PeerLink } from "../mod.ts";
import { eventually, runMain, startCli } from "./support/cli_harness.ts";
import { socketSkip } from "./support/env.ts";
import { patternFile, sha256File, tempDir } from "./support/files_fixture.ts";

const realm = `files-cli-${process.pid}`;

async function withShares(body: (dirs: { pub: string; inbox: string; local: string }) => Promise<void>) {
  const [pub, inbox, local] = [tempDir("cli-pub"), tempDir("cli-inbox"), tempDir("cli-local")];
  const host = new PeerLink("FileHost", { realm })
    .serveFiles(pub.path)
    .serveFiles(inbox.path, { prefix: "/inbox", writable: true });
  await host.start();
  try {
    await body({ pub: pub.path, inbox: inbox.path, local: local.path });
  } finally {
    await host.stop();
    for (const dir of [pub, inbox, local]) dir.remove();
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.trimEnd().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

test("cli files: ls lists (text and --json), get and send print JSON lines and a final line, exit codes", {
  skip: socketSkip,
}, async () => {
  await withShares(async ({ pub, inbox, local }) => {
    const digest = patternFile(`${pub}/movie.bin`, 5 * 1024 * 1024 + 3, 2);
    const listed = await runMain(["ls", "FileHost", "/", "--realm", realm]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^dir +- +- +inbox\/$/m);
    assert.match(listed.stdout, /^file +5\.0 MiB +\d{4}-\d\d-\d\d \d\d:\d\d +movie\.bin$/m);
    const asJson = jsonLines((await runMain(["ls", "FileHost", "--json", "--realm", realm])).stdout);
    assert.deepEqual(asJson.map((e) => [e.name, e.type, e.size]), [["inbox", "dir", 0], [
      "movie.bin",
      "file",
      5 * 1024 * 1024 + 3,
    ]]);

    const dest = `${local}/movie.bin`;
    const got = await runMain(["get", "FileHost", "/movie.bin", "-o", dest, "--realm", realm]);
    assert.equal(got.code, 0, got.stderr);
    const done = jsonLines(got.stdout).at(-1)!;
    assert.equal(done.event, "done");
    assert.deepEqual([done.size, done.sha256, done.resumed, done.restarted], [
      5 * 1024 * 1024 + 3,
      digest,
      false,
      false,
    ]);
    assert.ok(typeof done.rate === "number" && done.rate > 0);
    assert.equal(sha256File(dest), digest);

    const again = await runMain(["get", "FileHost", "/movie.bin", "-o", dest, "--realm", realm]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^peerlink: FileError: FILE_EXISTS: .*--force/m);
    const missing = await runMain(["get", "FileHost", "/nope.bin", "-o", `${local}/nope`, "--realm", realm]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /FILE_NOT_FOUND/);
    const hostile = await runMain(["get", "FileHost", "/../etc/passwd", "-o", `${local}/x`, "--realm", realm]);
    assert.equal(hostile.code, 1);
    assert.match(hostile.stderr, /FILE_FORBIDDEN: .*rule dotdot/);
    const usage = await runMain(["get", "FileHost"]);
    assert.equal(usage.code, 2);

    const sent = await runMain(["send", dest, "FileHost", "/inbox/", "--realm", realm]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(jsonLines(sent.stdout).at(-1)!.sha256, digest);
    assert.equal(sha256File(`${inbox}/movie.bin`), digest);
    const refused = await runMain(["send", dest, "FileHost", "/inbox/", "--realm", realm]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /FILE_EXISTS/);
    const readOnly = await runMain(["send", dest, "FileHost", "/other.bin", "--realm", realm]);
    assert.match(readOnly.stderr, /FILE_READ_ONLY/);
    const forced = await runMain(["send", dest, "FileHost", "/inbox/movie.bin", "--force", "--realm", realm]);
    assert.equal(forced.code, 0, forced.stderr);
  });
});

test("cli files: on a terminal a progress bar on stderr and a human final line", { skip: socketSkip }, async () => {
  await withShares(async ({ pub, local }) => {
    const digest = patternFile(`${pub}/a.bin`, 2 * 1024 * 1024, 3);
    const got = await runMain(["get", "FileHost", "/a.bin", "-o", `${local}/a.bin`, "--realm", realm], {
      isTTY: true,
    });
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stderr, /\r\[#{24}\] 100% {2}2\.0 MiB \/ 2\.0 MiB {2}[\d.]+ MB\/s/);
    assert.match(
      got.stdout,
      new RegExp(`FileHost:/a\\.bin → .*a\\.bin {2}2\\.0 MiB {2}sha256 ${digest} {2}[\\d.]+ MB/s\\n$`),
    );
  });
});

test("cli files: Ctrl-C keeps the part file and prints the command that resumes it; that command finishes the file", {
  skip: socketSkip,
}, async () => {
  await withShares(async ({ pub, local }) => {
    const size = 96 * 1024 * 1024;
    const digest = patternFile(`${pub}/big.bin`, size, 4);
    const dest = `${local}/big.bin`;
    const interrupt = new AbortController();
    const running = runMain(["get", "FileHost", "/big.bin", "-o", dest, "--realm", realm], {
      signal: interrupt.signal,
    });
    assert.ok(await eventually(() => existsSync(`${dest}.part`) && statSync(`${dest}.part`).size > 0, 15_000));
    interrupt.abort("SIGINT");
    const stopped = await running;
    assert.equal(stopped.code, 130, stopped.stderr);
    const kept = statSync(`${dest}.part`).size;
    assert.ok(kept > 0 && kept < size, `kept ${kept}`);
    const resume = /Resume with:\n {2}(peerlink get .*)\n/.exec(stopped.stderr)?.[1];
    assert.ok(resume, stopped.stderr);
    assert.equal(resume, `peerlink get FileHost /big.bin -o ${dest}`);
    const finished = await runMain([...resume.split(" ").slice(1), "--realm", realm]);
    assert.equal(finished.code, 0, finished.stderr);
    const done = jsonLines(finished.stdout).at(-1)!;
    assert.equal(done.sha256, digest);
    assert.equal(done.resumed, true);
    assert.ok((done.resumedFrom as number) > 0);
    assert.equal(sha256File(dest), digest);
  });
});

test(
  "cli files: share serves a folder until SIGTERM and prints the name and the curl URL",
  { skip: socketSkip },
  async () => {
    const dir = tempDir("cli-share");
    patternFile(dir.join("x.bin"), 1000, 1);
    const share = startCli(["share", dir.path, "--name", "SharedDir", "--realm", realm]);
    try {
      const banner = await share.waitFor(
        /^Sharing '(.+)' as \/ \(read-only\) from 'SharedDir' on TCP (\d+)\n(?:.*\n)*? {2}curl http:\/\/[\d.]+:(\d+)\/FILE\n/m,
      );
      assert.equal(banner[1], dir.path);
      assert.equal(banner[3], banner[2], "the curl URL names the TCP port");
      const listed = await runMain(["ls", "SharedDir", "--json", "--realm", realm]);
      assert.deepEqual(jsonLines(listed.stdout).map((e) => e.name), ["x.bin"]);
      assert.equal(await share.stop("SIGTERM"), 0);
      assert.match(share.stdout(), /Stopped sharing/);
    } finally {
      await share.stop();
      dir.remove();
    }
  },
);
