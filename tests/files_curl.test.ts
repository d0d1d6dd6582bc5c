/**
 * `curl` (the Debian package) against a node's TCP port on real sockets: a shared file in
 * full, a range, a resumed download (`-C -`), HEAD and ETag, a multi-GiB sparse file's tail by
 * range, an upload with `-T`, and 403/404 for hostile paths (`--path-as-is`, so curl sends
 * them unchanged).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { PeerLink } from "../mod.ts";
import { socketSkip } from "./support/env.ts";
import { pattern, patternFile, sha256File, sparseFile, tempDir } from "./support/files_fixture.ts";

const curlSkip = socketSkip || (await hasCurl() ? false : "curl is not installed (apt-get install curl)");

function hasCurl(): Promise<boolean> {
  return new Promise((resolve) => execFile("curl", ["--version"], (error) => resolve(!error)));
}

/** Runs curl; resolves with its exit code, stdout and stderr. */
function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("curl", ["-sS", "--max-time", "20", ...args], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 99) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

test(
  "curl downloads a shared file in full, by range and resumed with -C -; HEAD, ETag and 304",
  { skip: curlSkip },
  async () => {
    const pub = tempDir("curl-pub");
    const out = tempDir("curl-out");
    const node = new PeerLink("CurlHost", { realm: `curl-${process.pid}`, port: 0, tcpPort: 0 }).serveFiles(pub.path);
    try {
      await node.start();
      const base = `http://127.0.0.1:${node.ports!.tcpPort}`;
      const digest = patternFile(pub.join("movie.bin"), 3 * 1024 * 1024 + 11, 4);
      const data = readFileSync(pub.join("movie.bin"));

      const full = await curl(["-o", out.join("full.bin"), "-w", "%{http_code}", `${base}/movie.bin`]);
      assert.deepEqual([full.code, full.stdout], [0, "200"], full.stderr);
      assert.equal(sha256File(out.join("full.bin")), digest);

      const range = await curl([
        "-r",
        "1000-1999",
        "-o",
        out.join("range.bin"),
        "-w",
        "%{http_code}",
        `${base}/movie.bin`,
      ]);
      assert.equal(range.stdout, "206");
      assert.deepEqual(new Uint8Array(readFileSync(out.join("range.bin"))), new Uint8Array(data.subarray(1000, 2000)));

      writeFileSync(out.join("resumed.bin"), data.subarray(0, 1_234_567));
      const resumed = await curl(["-C", "-", "-o", out.join("resumed.bin"), "-w", "%{http_code}", `${base}/movie.bin`]);
      assert.deepEqual([resumed.code, resumed.stdout], [0, "206"], resumed.stderr);
      assert.equal(sha256File(out.join("resumed.bin")), digest, "curl -C - completed the file");

      const head = await curl(["-I", `${base}/movie.bin`]);
      assert.match(head.stdout, /^HTTP\/1\.1 200 OK\r$/m);
      assert.match(head.stdout, new RegExp(`^Content-Length: ${data.length}\\r$`, "m"));
      assert.match(head.stdout, /^Connection: close\r$/m);
      const etag = /^ETag: (.+)\r$/m.exec(head.stdout)![1];
      const cached = await curl([
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        `If-None-Match: ${etag}`,
        `${base}/movie.bin`,
      ]);
      assert.equal(cached.stdout, "304");
    } finally {
      await node.stop();
      pub.remove();
      out.remove();
    }
  },
);

test("curl gets 403 for hostile paths (naming the rule) and 404 for missing ones", { skip: curlSkip }, async () => {
  const pub = tempDir("curl-pub");
  const outside = tempDir("curl-outside");
  const node = new PeerLink("CurlHost2", { realm: `curl2-${process.pid}`, port: 0, tcpPort: 0 }).serveFiles(pub.path);
  try {
    writeFileSync(outside.join("secret.txt"), "secret");
    writeFileSync(pub.join("a.txt"), "a");
    writeFileSync(pub.join(".htpasswd"), "x");
    symlinkSync(outside.join("secret.txt"), pub.join("leak.txt"));
    await node.start();
    const base = `http://127.0.0.1:${node.ports!.tcpPort}`;
    const cases: [string, number, string][] = [
      ["/../etc/passwd", 403, "dotdot"],
      ["/%2e%2e/%2e%2e/etc/passwd", 403, "dotdot"],
      ["/a.txt%00.jpg", 403, "nul"],
      ["/..%5c..%5cwindows", 403, "backslash"],
      ["//etc/passwd", 403, "absolute"],
      ["/.htpasswd", 403, "hidden"],
      ["/leak.txt", 403, "symlink"],
      ["/missing.txt", 404, "does not exist"],
    ];
    for (const [path, status, said] of cases) {
      const result = await curl(["--path-as-is", "-w", "\n%{http_code}", `${base}${path}`]);
      const lines = result.stdout.trimEnd().split("\n");
      assert.equal(Number(lines.at(-1)), status, `${path}: ${result.stdout}`);
      assert.match(lines.slice(0, -1).join("\n"), new RegExp(said), `${path}: the answer says why`);
      assert.doesNotMatch(result.stdout, /secret/);
    }
  } finally {
    await node.stop();
    pub.remove();
    outside.remove();
  }
});

test("curl reads the tail of a 5 GiB sparse file by range, and uploads with -T into a writable share", {
  skip: curlSkip,
}, async () => {
  const pub = tempDir("curl-pub");
  const inbox = tempDir("curl-inbox");
  const node = new PeerLink("CurlHost3", { realm: `curl3-${process.pid}`, port: 0, tcpPort: 0 })
    .serveFiles(pub.path)
    .serveFiles(inbox.path, { prefix: "/inbox", writable: true });
  try {
    const size = 5 * 1024 ** 3 + 7;
    await sparseFile(pub.join("disk.img"), size, [size - 2]);
    await node.start();
    const base = `http://127.0.0.1:${node.ports!.tcpPort}`;
    const head = await curl(["-I", `${base}/disk.img`]);
    assert.match(head.stdout, new RegExp(`^Content-Length: ${size}\\r$`, "m"), "a length over 4 GiB");
    const tail = await curl(["-r", `${size - 4}-`, "-o", inbox.join("tail"), "-w", "%{http_code}", `${base}/disk.img`]);
    assert.equal(tail.stdout, "206");
    assert.deepEqual([...readFileSync(inbox.join("tail"))], [0, 0, 0xa5, (size - 2) & 0xff]);

    const upload = tempDir("curl-up");
    try {
      writeFileSync(upload.join("note.bin"), pattern(70_000, 2));
      const put = await curl(["-T", upload.join("note.bin"), "-w", "\n%{http_code}", `${base}/inbox/note.bin`]);
      assert.match(put.stdout, /\n201$/, put.stdout);
      assert.equal(sha256File(inbox.join("note.bin")), sha256File(upload.join("note.bin")));
      const again = await curl([
        "-T",
        upload.join("note.bin"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        `${base}/inbox/note.bin`,
      ]);
      assert.equal(again.stdout, "409", "an upload never replaces a file");
    } finally {
      upload.remove();
    }
  } finally {
    await node.stop();
    pub.remove();
    inbox.remove();
  }
});
