/**
 * The pieces of files, alone: share paths, the share table, ranges and request heads of the
 * HTTP path, the progress meter on the fake clock, zero detection, the write-behind sparse
 * writer (on a file handle whose writes the test completes), and FileError.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FILE_STATUS, FileError, PeerLinkError } from "../../src/errors.ts";
import { parseHead, parseRange } from "../../src/files/http.ts";
import type { FileHandle } from "node:fs/promises";
import { isAllZero, SparseWriter } from "../../src/files/io.ts";
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

/** A file handle whose writes wait until the test lets them finish (or fail). */
function heldHandle() {
  const writes: { at: number; bytes: number[]; finish: () => void; fail: (e: Error) => void }[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const handle = {
    write(buffer: Uint8Array, offset: number, length: number, position: number) {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      return new Promise<{ bytesWritten: number }>((resolve, reject) => {
        let done = false;
        const end = (then: () => void) => () => void (!done && (done = true, inFlight--, then()));
        writes.push({
          at: position,
          bytes: [...buffer.subarray(offset, offset + length)],
          finish: end(() => resolve({ bytesWritten: length })),
          fail: (e) => end(() => reject(e))(),
        });
      });
    },
    writev(buffers: Uint8Array[], position: number) {
      const all = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
      buffers.reduce((at, b) => (all.set(b, at), at + b.length), 0);
      return handle.write(all, 0, all.length, position).then(({ bytesWritten }) => ({ bytesWritten, buffers }));
    },
    truncate: () => Promise.resolve(),
  };
  return { handle: handle as unknown as FileHandle, writes, mostInFlight: () => mostInFlight };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test("sparse writer: writes run behind, one at a time and in order; what arrives meanwhile is one write, bounded", async () => {
  const { handle, writes, mostInFlight } = heldHandle();
  const writer = new SparseWriter(handle, 8);
  const chunk = (n: number) => new Uint8Array(4).fill(n);
  await writer.write(chunk(1), 0); // starts writing at once and returns
  assert.equal(writes.length, 1);
  await writer.write(chunk(2), 4);
  await writer.write(chunk(3), 8); // gathered behind the first write: 8 bytes, the batch is full
  let fourthQueued = false;
  const fourth = writer.write(chunk(4), 12).then(() => (fourthQueued = true));
  await tick();
  assert.equal(fourthQueued, false, "a full batch waiting holds the writer back (bounded buffering)");
  assert.equal(writes.length, 1, "one write in flight at a time");
  writes[0].finish();
  await fourth;
  assert.deepEqual(writes.map((w) => [w.at, w.bytes]), [[0, [1, 1, 1, 1]], [4, [2, 2, 2, 2, 3, 3, 3, 3]]]);
  const finisher = setInterval(() => writes.forEach((w) => w.finish()), 1);
  try {
    await writer.write(new Uint8Array(4), 16); // zeros: a hole, not written
    await writer.write(chunk(6), 20); // not next to the batch: it waits for its own write
    await writer.flush();
  } finally {
    clearInterval(finisher);
  }
  assert.deepEqual(writes.slice(2).map((w) => [w.at, w.bytes]), [[12, [4, 4, 4, 4]], [20, [6, 6, 6, 6]]]);
  assert.equal(mostInFlight(), 1);
});

test("sparse writer: a failed write is thrown by the next call, and settle() waits for the write in flight", async () => {
  const { handle, writes } = heldHandle();
  const writer = new SparseWriter(handle);
  await writer.write(new Uint8Array([1]), 0);
  await writer.write(new Uint8Array([2]), 1);
  writes[0].fail(new Error("ENOSPC: no space left on device"));
  await tick();
  await assert.rejects(writer.write(new Uint8Array([3]), 2), /ENOSPC/);
  await assert.rejects(writer.flush(), /ENOSPC/);
  assert.equal(writes.length, 1, "nothing queued is written after a failure");

  const other = heldHandle();
  const second = new SparseWriter(other.handle);
  await second.write(new Uint8Array([1]), 0);
  let settled = false;
  const settling = second.settle().then(() => (settled = true));
  await tick();
  assert.equal(settled, false, "settle() waits while a write is in flight");
  other.writes[0].finish();
  await settling;
});
