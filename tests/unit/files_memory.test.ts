/**
 * Files on the in-memory network: list, get and put of 0-byte, 1-byte and larger files, the
 * part file and its sidecar, resume after an interruption, a source that changed, a damaged
 * part, every confinement rule with hostile paths, writable-share rules, concurrent and sealed
 * transfers, streams as source and destination, and the errors callers get.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { FileError, RemoteError } from "../../src/errors.ts";
import { asFileError } from "../../src/files/client.ts";
import type { PeerLink } from "../../src/peerlink.ts";
import type { PeerLinkOptions } from "../../src/options.ts";
import { memoryLan } from "../support/node_harness.ts";
import { HOSTILE_PATHS, patternFile, sha256File, sparseFile, type TempDir, tempDir } from "../support/files_fixture.ts";

interface Fixture {
  host: PeerLink;
  worker: PeerLink;
  /** The read-only share, at /pub. */
  pub: TempDir;
  /** The writable share, at /inbox. */
  inbox: TempDir;
  /** The worker's own folder. */
  local: TempDir;
  /** Another node on the same LAN (started on demand). */
  other(): Promise<PeerLink>;
  close(): Promise<void>;
}

async function fixture(options: PeerLinkOptions = {}, share: { hidden?: boolean; maxFileBytes?: number } = {}) {
  const lan = memoryLan();
  const pub = tempDir("pub");
  const inbox = tempDir("inbox");
  const local = tempDir("local");
  const host = lan.node("Host", options)
    .serveFiles(pub.path, { prefix: "/pub", hidden: share.hidden })
    .serveFiles(inbox.path, { prefix: "/inbox", writable: true, maxFileBytes: share.maxFileBytes });
  const worker = lan.node("Worker", options);
  await host.start();
  await worker.start();
  return {
    host,
    worker,
    pub,
    inbox,
    local,
    other: () => lan.node("Other", options).start(),
    async close() {
      await lan.close();
      for (const dir of [pub, inbox, local]) dir.remove();
    },
  } satisfies Fixture;
}

async function rejectsWith(promise: Promise<unknown>, code: string, rule?: string): Promise<FileError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FileError, `expected a FileError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (rule) assert.equal(error.rule, rule, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

test("files: list, get and put of 0-byte, 1-byte and odd-sized files, byte-exact with the right SHA-256", async () => {
  const f = await fixture();
  try {
    const sizes = [0, 1, 65_535, 65_537, 3 * 256 * 1024 + 5];
    const digests = sizes.map((size, i) => patternFile(f.pub.join(`f${size}.bin`), size, i));
    const listed = await f.worker.listFiles("Host", "/pub");
    assert.deepEqual(
      listed.map((e) => [e.name, e.size, e.type]),
      sizes.map((size) => [`f${size}.bin`, size, "file"]).sort(),
    );
    for (const [i, size] of sizes.entries()) {
      const dest = f.local.join(`got${size}.bin`);
      const got = await f.worker.getFile("Host", `/pub/f${size}.bin`, dest);
      assert.deepEqual(got, { bytes: size, sha256: digests[i], resumedFrom: 0, restarted: false });
      assert.equal(sha256File(dest), digests[i]);
      assert.ok(!existsSync(`${dest}.part`) && !existsSync(`${dest}.part.json`), "no part file left");
      const put = await f.worker.putFile("Host", dest, `/inbox/put${size}.bin`);
      assert.deepEqual(put, { bytes: size, sha256: digests[i], resumedFrom: 0, restarted: false });
      assert.equal(sha256File(f.inbox.join(`put${size}.bin`)), digests[i]);
    }
    const root = await f.worker.listFiles("Host", "/");
    assert.deepEqual(root.map((e) => [e.name, e.type]), [["inbox", "dir"], ["pub", "dir"]], "the mounts");
    assert.deepEqual(f.host.functions(), [], "the __files_* functions stay out of functions()");
  } finally {
    await f.close();
  }
});

test("files: a sparse file travels as holes: the copy is byte-exact and allocates no data blocks", async () => {
  const f = await fixture();
  try {
    const size = 300 * 1024 * 1024 + 7;
    await sparseFile(f.pub.join("sparse.img"), size, [0, 1 << 20, size - 2]);
    const dest = f.local.join("sparse.img");
    const got = await f.worker.getFile("Host", "/pub/sparse.img", dest);
    assert.equal(got.bytes, size);
    assert.equal(got.sha256, sha256File(f.pub.join("sparse.img")));
    assert.equal(sha256File(dest), got.sha256);
    const blocks = (statSync(dest) as { blocks: number }).blocks;
    assert.ok(blocks * 512 < 1024 * 1024, `the copy allocated ${blocks * 512} bytes for 3 marker bytes`);
  } finally {
    await f.close();
  }
});

test("files: an interrupted get leaves NAME.part and its sidecar; the next get resumes and verifies the whole file", async () => {
  const f = await fixture();
  try {
    const digest = patternFile(f.pub.join("big.bin"), 8 * 1024 * 1024, 5);
    const dest = f.local.join("big.bin");
    const stop = new AbortController();
    await assert.rejects(
      f.worker.getFile("Host", "/pub/big.bin", dest, {
        signal: stop.signal,
        onProgress: () => stop.abort(), // the first report comes with the first chunk
      }),
      (error: Error) => error.name === "AbortError",
    );
    const kept = statSync(`${dest}.part`).size;
    assert.ok(kept > 0 && kept < 8 * 1024 * 1024, `the part holds ${kept} bytes`);
    const sidecar = JSON.parse(readFileSync(`${dest}.part.json`, "utf8"));
    assert.deepEqual([sidecar.peer, sidecar.path, sidecar.size], ["Host", "/pub/big.bin", 8 * 1024 * 1024]);
    const got = await f.worker.getFile("Host", "/pub/big.bin", dest);
    assert.deepEqual(got, { bytes: 8 * 1024 * 1024, sha256: digest, resumedFrom: kept, restarted: false });
    assert.equal(sha256File(dest), digest);
    assert.ok(!existsSync(`${dest}.part.json`));
  } finally {
    await f.close();
  }
});

test("files: a source that changed since the part was made starts over and says so", async () => {
  const f = await fixture();
  try {
    patternFile(f.pub.join("doc.bin"), 4 * 1024 * 1024, 1);
    const dest = f.local.join("doc.bin");
    const stop = new AbortController();
    await assert.rejects(f.worker.getFile("Host", "/pub/doc.bin", dest, {
      signal: stop.signal,
      onProgress: () => stop.abort(),
    }));
    assert.ok(statSync(`${dest}.part`).size > 0);
    const changed = patternFile(f.pub.join("doc.bin"), 4 * 1024 * 1024, 2);
    utimesSync(f.pub.join("doc.bin"), new Date(), new Date(Date.now() + 5000));
    const got = await f.worker.getFile("Host", "/pub/doc.bin", dest);
    assert.deepEqual(got, { bytes: 4 * 1024 * 1024, sha256: changed, resumedFrom: 0, restarted: true });
    assert.equal(sha256File(dest), changed);
  } finally {
    await f.close();
  }
});

test("files: a damaged part file fails the whole-file check: FILE_CORRUPT, and the part is deleted", async () => {
  const f = await fixture();
  try {
    patternFile(f.pub.join("x.bin"), 1024 * 1024, 9);
    const dest = f.local.join("x.bin");
    // A part that claims to come from this file, with wrong bytes in it.
    const stats = statSync(f.pub.join("x.bin"));
    writeFileSync(`${dest}.part`, new Uint8Array(4096).fill(7));
    const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    writeFileSync(
      `${dest}.part.json`,
      JSON.stringify({ peerlink: "part", peer: "Host", path: "/pub/x.bin", size: stats.size, mtime: 0, etag }),
    );
    const error = await rejectsWith(f.worker.getFile("Host", "/pub/x.bin", dest), "FILE_CORRUPT");
    assert.match(error.message, /damaged.*part file was deleted/);
    assert.ok(!existsSync(`${dest}.part`) && !existsSync(`${dest}.part.json`) && !existsSync(dest));
    const again = await f.worker.getFile("Host", "/pub/x.bin", dest);
    assert.equal(again.resumedFrom, 0);
    assert.equal(sha256File(dest), again.sha256);
  } finally {
    await f.close();
  }
});

test("files: an interrupted put resumes from the share's part file; a changed source starts over", async () => {
  const f = await fixture();
  try {
    const source = f.local.join("up.bin");
    const size = 48 * 1024 * 1024;
    const digest = patternFile(source, size, 3);
    const stop = new AbortController();
    const putting = f.worker.putFile("Host", source, "/inbox/up.bin", { signal: stop.signal });
    // Stopped once the share has written a few MiB.
    const part = f.inbox.join("up.bin.part");
    for (let i = 0; i < 2000 && !(existsSync(part) && statSync(part).size >= 4 * 1024 * 1024); i++) {
      await new Promise((r) => setTimeout(r, 1));
    }
    stop.abort();
    await assert.rejects(putting, (error: Error) => error.name === "AbortError");
    // The share notices the cancelled stream and keeps what it wrote.
    const kept = statSync(part).size;
    assert.ok(kept >= 4 * 1024 * 1024 && kept < size, `the share kept ${kept} bytes`);
    assert.deepEqual((await f.worker.listFiles("Host", "/inbox")).map((e) => e.name), [], "a part is not listed");
    const put = await f.worker.putFile("Host", source, "/inbox/up.bin");
    assert.equal(put.sha256, digest);
    assert.ok(put.resumedFrom > 0, `resumed from ${put.resumedFrom}`);
    assert.equal(put.restarted, false);
    assert.equal(sha256File(f.inbox.join("up.bin")), digest);

    // Interrupted again on another name, then the source changes: the share starts over.
    const stop2 = new AbortController();
    await assert.rejects(f.worker.putFile("Host", source, "/inbox/up2.bin", {
      signal: stop2.signal,
      onProgress: () => stop2.abort(),
    }));
    for (let i = 0; i < 200 && !existsSync(f.inbox.join("up2.bin.part")); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const changed = patternFile(source, 6 * 1024 * 1024, 4);
    utimesSync(source, new Date(), new Date(Date.now() + 5000));
    const fresh = await f.worker.putFile("Host", source, "/inbox/up2.bin");
    assert.deepEqual([fresh.resumedFrom, fresh.restarted, fresh.sha256], [0, true, changed]);
    assert.equal(sha256File(f.inbox.join("up2.bin")), changed);
  } finally {
    await f.close();
  }
});

test("files: every confinement rule refuses hostile paths with FILE_FORBIDDEN naming it (get, list, put)", async () => {
  const f = await fixture();
  const outside = tempDir("outside");
  try {
    writeFileSync(outside.join("secret.txt"), "secret");
    writeFileSync(f.pub.join("a.txt"), "a");
    writeFileSync(f.pub.join(".env"), "KEY=1");
    mkdirSync(f.pub.join(".git"));
    writeFileSync(f.pub.join(".git", "config"), "x");
    symlinkSync(outside.join("secret.txt"), f.pub.join("leak.txt"));
    symlinkSync(outside.path, f.pub.join("leakdir"));
    symlinkSync(f.pub.join("a.txt"), f.pub.join("alias.txt")); // inside: allowed
    symlinkSync(outside.path, f.inbox.join("out"));
    symlinkSync(outside.join("secret.txt"), f.inbox.join("link.txt"));
    execFileSync("mkfifo", [f.pub.join("fifo")]);
    for (const [path, rule] of HOSTILE_PATHS) {
      await rejectsWith(f.worker.getFile("Host", path, f.local.join("x")), "FILE_FORBIDDEN", rule);
      await rejectsWith(f.worker.listFiles("Host", path), "FILE_FORBIDDEN", rule);
      await rejectsWith(
        f.worker.putFile("Host", f.pub.join("a.txt"), path.replace("/pub", "/inbox")),
        "FILE_FORBIDDEN",
        rule,
      );
    }
    await rejectsWith(f.worker.getFile("Host", "/pub/leak.txt", f.local.join("x")), "FILE_FORBIDDEN", "symlink");
    await rejectsWith(
      f.worker.getFile("Host", "/pub/leakdir/secret.txt", f.local.join("x")),
      "FILE_FORBIDDEN",
      "symlink",
    );
    await rejectsWith(f.worker.listFiles("Host", "/pub/leakdir"), "FILE_FORBIDDEN", "symlink");
    await rejectsWith(f.worker.getFile("Host", "/pub/fifo", f.local.join("x")), "FILE_FORBIDDEN", "not-regular");
    await rejectsWith(f.worker.putFile("Host", f.pub.join("a.txt"), "/inbox/out/new.txt"), "FILE_FORBIDDEN", "symlink");
    await rejectsWith(
      f.worker.putFile("Host", f.pub.join("a.txt"), "/inbox/link.txt", { overwrite: true }),
      "FILE_FORBIDDEN",
      "symlink",
    );
    await rejectsWith(f.worker.putFile("Host", f.pub.join("a.txt"), "/inbox/x.part"), "FILE_FORBIDDEN", "partial");
    assert.equal(readFileSync(outside.join("secret.txt"), "utf8"), "secret", "nothing outside was touched");
    assert.deepEqual(await import("node:fs").then((fs) => fs.readdirSync(outside.path)), ["secret.txt"]);
    // What is allowed: a symlink that stays inside; the listing leaves out hidden names, links out and the FIFO.
    const alias = await f.worker.getFile("Host", "/pub/alias.txt", f.local.join("alias.txt"));
    assert.equal(alias.bytes, 1);
    assert.deepEqual((await f.worker.listFiles("Host", "/pub")).map((e) => e.name), ["a.txt", "alias.txt"]);
    await rejectsWith(f.worker.getFile("Host", "/nowhere/a.txt", f.local.join("y")), "FILE_NOT_FOUND");
    await rejectsWith(f.worker.getFile("Host", "/pub/missing.txt", f.local.join("y")), "FILE_NOT_FOUND");
  } finally {
    outside.remove();
    await f.close();
  }
});

test("files: the hidden option serves dot names", async () => {
  const f = await fixture({}, { hidden: true });
  try {
    writeFileSync(f.pub.join(".env"), "KEY=1");
    assert.deepEqual((await f.worker.listFiles("Host", "/pub")).map((e) => e.name), [".env"]);
    const got = await f.worker.getFile("Host", "/pub/.env", f.local.join("env"));
    assert.equal(got.bytes, 5);
  } finally {
    await f.close();
  }
});

test("files: writable-share rules: read-only, overwrite, size limit, local overwrite, busy", async () => {
  const f = await fixture({}, { maxFileBytes: 1024 * 1024 });
  try {
    const source = f.local.join("s.bin");
    patternFile(source, 600 * 1024, 1);
    await rejectsWith(f.worker.putFile("Host", source, "/pub/s.bin"), "FILE_READ_ONLY");
    await f.worker.putFile("Host", source, "/inbox/s.bin");
    const exists = await rejectsWith(f.worker.putFile("Host", source, "/inbox/s.bin"), "FILE_EXISTS");
    assert.equal(exists.status, 409);
    const replaced = await f.worker.putFile("Host", source, "/inbox/s.bin", { overwrite: true });
    assert.equal(replaced.bytes, 600 * 1024);
    patternFile(f.local.join("big.bin"), 1024 * 1024 + 1, 2);
    const large = await rejectsWith(
      f.worker.putFile("Host", f.local.join("big.bin"), "/inbox/big.bin"),
      "FILE_TOO_LARGE",
    );
    assert.equal(large.status, 413);
    assert.ok(!existsSync(f.inbox.join("big.bin.part")), "refused before any byte");
    await rejectsWith(f.worker.getFile("Host", "/inbox/s.bin", source), "FILE_EXISTS");
    const over = await f.worker.getFile("Host", "/inbox/s.bin", source, { overwrite: true });
    assert.equal(over.bytes, 600 * 1024);
    // Two puts of one name at once from two peers: the second is refused with FILE_BUSY, the
    // first lands.
    const other = await f.other();
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    const slow = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(500));
        await held; // the rest only after the second put was refused
        controller.enqueue(new Uint8Array(500));
        controller.close();
      },
    });
    const first = f.worker.putFile("Host", slow, "/inbox/twice.bin", { size: 1000 });
    for (let i = 0; i < 2000 && !existsSync(f.inbox.join("twice.bin.part")); i++) {
      await new Promise((r) => setTimeout(r, 1));
    }
    await rejectsWith(other.putFile("Host", source, "/inbox/twice.bin"), "FILE_BUSY");
    release();
    assert.equal((await first).bytes, 1000);
    // From one peer, each waits for the one before (a put resumed right after an interrupted
    // one must not be refused), then finds the file there: never FILE_BUSY, also when two
    // waiting puts wake together and one takes the target first.
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => f.worker.putFile("Host", source, "/inbox/thrice.bin")),
    );
    const codes = results.map((r) => r.status === "fulfilled" ? "ok" : (r.reason as FileError).code).sort();
    assert.deepEqual(codes, ["FILE_EXISTS", "FILE_EXISTS", "ok"]);
  } finally {
    await f.close();
  }
});

test("files: concurrent gets and puts on one connection all arrive intact", async () => {
  const f = await fixture();
  try {
    const digests = [0, 1, 2, 3].map((i) => patternFile(f.pub.join(`c${i}.bin`), 2 * 1024 * 1024 + i, i));
    const sources = [4, 5].map((i) => {
      const path = f.local.join(`u${i}.bin`);
      return { path, digest: patternFile(path, 1024 * 1024 + i, i) };
    });
    const [gets, puts] = await Promise.all([
      Promise.all(digests.map((_, i) => f.worker.getFile("Host", `/pub/c${i}.bin`, f.local.join(`c${i}.bin`)))),
      Promise.all(sources.map((s, i) => f.worker.putFile("Host", s.path, `/inbox/u${i}.bin`))),
    ]);
    assert.deepEqual(gets.map((g) => g.sha256), digests);
    assert.deepEqual(puts.map((p) => p.sha256), sources.map((s) => s.digest));
    for (const [i] of digests.entries()) assert.equal(sha256File(f.local.join(`c${i}.bin`)), digests[i]);
    assert.equal(f.worker.stats()!.tcpClient.connects, 1, "one pooled connection carried them all");
  } finally {
    await f.close();
  }
});

test("files: with a secret every transfer is sealed", async () => {
  const f = await fixture({ secret: "files memory test secret 51c2" });
  try {
    const digest = patternFile(f.pub.join("s.bin"), 1024 * 1024, 8);
    const before = f.host.stats()!.security;
    const got = await f.worker.getFile("Host", "/pub/s.bin", f.local.join("s.bin"));
    const put = await f.worker.putFile("Host", f.local.join("s.bin"), "/inbox/s.bin");
    assert.deepEqual([got.sha256, put.sha256], [digest, digest]);
    const after = f.host.stats()!.security;
    assert.equal(after.enabled, true);
    assert.ok(after.sealed - before.sealed >= 16, `${after.sealed - before.sealed} frames sealed by the host`);
    assert.ok(after.opened - before.opened >= 16, `${after.opened - before.opened} frames opened by the host`);
    assert.equal(after.plaintextDropped + after.forged, 0);
  } finally {
    await f.close();
  }
});

test("files: streams as destination and source (no part file), with progress to the total", async () => {
  const f = await fixture();
  try {
    const digest = patternFile(f.pub.join("s.bin"), 700_001, 6);
    const chunks: Uint8Array[] = [];
    const seen: number[] = [];
    const got = await f.worker.getFile(
      "Host",
      "/pub/s.bin",
      new WritableStream({ write: (c) => void chunks.push(c) }),
      {
        onProgress: (p) => seen.push(p.bytes),
      },
    );
    assert.equal(got.sha256, digest);
    assert.equal(chunks.reduce((n, c) => n + c.length, 0), 700_001);
    assert.equal(seen.at(-1), 700_001);
    const all = new Uint8Array(700_001);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    const put = await f.worker.putFile("Host", new Blob([all]).stream(), "/inbox/from-stream.bin", { size: 700_001 });
    assert.equal(put.sha256, digest);
    await assert.rejects(
      f.worker.putFile("Host", new Blob([all]).stream(), "/inbox/short.bin", { size: 700_002 }),
      (error: Error) => error instanceof FileError && error.code === "FILE_CHANGED",
    );
  } finally {
    await f.close();
  }
});

test("files: asFileError turns a peer's FileError into one with its code and rule, preferring a carried code", () => {
  const remote = (type: string, message: string, carried: Pick<RemoteError, "remoteCode" | "remoteData"> = {
    remoteData: {},
  }) =>
    new RemoteError({ peer: "Host", function: "__files_get", remoteType: type, remoteMessage: message, ...carried });
  const forbidden = asFileError(remote("FileError", "FILE_FORBIDDEN: '/..' is refused (rule dotdot): no")) as FileError;
  assert.ok(forbidden instanceof FileError);
  assert.deepEqual([forbidden.code, forbidden.status, forbidden.rule], ["FILE_FORBIDDEN", 403, "dotdot"]);
  const carried = asFileError(
    remote("FileError", "gone", { remoteCode: "FILE_NOT_FOUND", remoteData: {} }),
  ) as FileError;
  assert.deepEqual([carried.code, carried.status], ["FILE_NOT_FOUND", 404]);
  const carriedRule = asFileError(
    remote("FileError", "refused", { remoteCode: "FILE_FORBIDDEN", remoteData: { rule: "symlink" } }),
  ) as FileError;
  assert.deepEqual([carriedRule.code, carriedRule.rule], ["FILE_FORBIDDEN", "symlink"]);
  const other = remote("TypeError", "FILE_NOT_FOUND: looks like one but is not");
  assert.equal(asFileError(other), other);
  const plain = new Error("x");
  assert.equal(asFileError(plain), plain);
});
