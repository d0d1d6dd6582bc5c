/**
 * The pieces of files, alone: share paths, the share table, ranges and request heads of the
 * HTTP path, the progress meter on the fake clock, zero detection, and FileError.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FILE_STATUS, FileError, PeerLinkError } from "../../src/errors.ts";
import { parseHead, parseRange } from "../../src/files/http.ts";
import { isAllZero } from "../../src/files/io.ts";
import { splitSharePath } from "../../src/files/paths.ts";
import { ProgressMeter } from "../../src/files/progress.ts";
import { makeShare, ShareTable } from "../../src/files/share.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { HOSTILE_PATHS, tempDir } from "../support/files_fixture.ts";

test("share paths: plain paths split, every hostile one is refused naming its rule", () => {
  assert.deepEqual(splitSharePath("/"), []);
  assert.deepEqual(splitSharePath("a/b.txt"), ["a", "b.txt"]);
  assert.deepEqual(splitSharePath("/a/b/"), ["a", "b"]);
  assert.deepEqual(splitSharePath("/a/.b", true), ["a", ".b"]);
  for (const [path, rule] of HOSTILE_PATHS) {
    assert.throws(() => splitSharePath(path), (e: FileError) => e.code === "FILE_FORBIDDEN" && e.rule === rule, path);
  }
  assert.throws(() => splitSharePath(42), (e: FileError) => e.rule === "type");
  assert.throws(() => splitSharePath("a".repeat(5000)), (e: FileError) => e.rule === "type");
});

test("share table: the longest prefix wins, mounts appear below their parents", () => {
  const a = tempDir("units-a");
  const b = tempDir("units-b");
  try {
    const table = new ShareTable();
    table.add(makeShare(a.path));
    table.add(makeShare(b.path, { prefix: "/x/inbox", writable: true }));
    assert.equal(table.locate("/x/inbox/f")!.share.writable, true);
    assert.deepEqual(table.locate("/x/inbox/f")!.inner, ["f"]);
    assert.equal(table.locate("/x/other")!.share.writable, false);
    assert.deepEqual(table.mountsBelow([]), ["x"]);
    assert.deepEqual(table.mountsBelow(["x"]), ["inbox"]);
    assert.equal(table.remove("/x/inbox"), true);
    assert.throws(() => makeShare(a.join("missing")), (e: FileError) => e.code === "FILE_NOT_FOUND");
    assert.throws(() => makeShare(a.path, { prefix: "/../x" }), TypeError);
  } finally {
    a.remove();
    b.remove();
  }
});

test("http ranges and heads: forms, limits and refusals with their status", () => {
  assert.deepEqual(parseRange("bytes=0-9", 100), [0, 10]);
  assert.deepEqual(parseRange("bytes=90-", 100), [90, 100]);
  assert.deepEqual(parseRange("bytes=95-500", 100), [95, 100]);
  assert.deepEqual(parseRange("bytes=-10", 100), [90, 100]);
  assert.deepEqual(parseRange("bytes=5000000000-5000000001", 6e9), [5e9, 5e9 + 2], "past 4 GiB");
  const status = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as { status: number }).status;
    }
    return 0;
  };
  assert.equal(status(() => parseRange("bytes=100-", 100)), 416);
  assert.equal(status(() => parseRange("bytes=-0", 100)), 416);
  assert.equal(status(() => parseRange("bytes=-", 100)), 400);
  assert.equal(status(() => parseRange("bytes=9-1", 100)), 400);
  const head = parseHead("GET http://host:80/a%20b?q=1 HTTP/1.1\r\nHost: h\r\nRange:  bytes=0-1 \r\n\r\n");
  assert.deepEqual([head.method, head.path, head.headers.get("range")], ["GET", "/a b", "bytes=0-1"]);
  assert.equal(status(() => parseHead("GET / HTTP/2\r\n\r\n")), 400);
  assert.equal(status(() => parseHead("GET /\r\n\r\n")), 400);
  assert.equal(status(() => parseHead("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")), 400);
});

test("progress: at most one report per interval on the fake clock, the rate of this run, a final report", async () => {
  const clock = new FakeClock(0);
  const seen: { bytes: number; rate: number }[] = [];
  const meter = new ProgressMeter(1000, (p) => seen.push({ bytes: p.bytes, rate: p.rate }), { start: 200, clock });
  meter.add(100); // first chunk: reported at once
  meter.add(100); // same instant: not reported
  await clock.advance(99);
  meter.add(100); // 99 ms later: still within the interval
  await clock.advance(1);
  meter.add(100); // 100 ms after the first report
  assert.deepEqual(seen.map((p) => p.bytes), [300, 600]);
  assert.equal(seen[1].rate, 4000, "400 bytes of this run in 0.1 s (the 200 resumed ones do not count)");
  await clock.advance(50);
  meter.add(400);
  assert.deepEqual(meter.finish(), { bytes: 1000, total: 1000, rate: 800 / 0.15 });
  assert.equal(seen.length, 3);
});

test("zeros and FileError", () => {
  assert.equal(isAllZero(new Uint8Array(0)), true);
  assert.equal(isAllZero(new Uint8Array(200_000)), true);
  const late = new Uint8Array(200_000);
  late[199_999] = 1;
  assert.equal(isAllZero(late), false);
  assert.equal(isAllZero(late.subarray(3, 100_000)), true, "a view at an odd offset");
  const error = new FileError("FILE_TOO_LARGE", "too big", { path: "/x" });
  assert.ok(error instanceof PeerLinkError);
  assert.deepEqual([error.name, error.code, error.status, error.path], ["FileError", "FILE_TOO_LARGE", 413, "/x"]);
  assert.equal(error.message, "FILE_TOO_LARGE: too big");
  assert.equal(new FileError("FILE_IO", "FILE_IO: once").message, "FILE_IO: once", "the code is not doubled");
  assert.deepEqual(Object.values(FILE_STATUS).every((s) => s >= 400 && s < 600), true);
});
