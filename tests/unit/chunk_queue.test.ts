/**
 * The shared read queue of the Node and Bun adapters and the in-memory network
 * (src/chunk_queue.ts): water marks with pause/resume, end and failure after the queued
 * bytes, one pending read at a time, read sizes, and the delivery gate.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChunkQueue, READ_HIGH_WATER_BYTES, READ_LOW_WATER_BYTES } from "../../src/chunk_queue.ts";
import { NetError } from "../../src/net.ts";

const bytes = (length: number, fill = 1) => new Uint8Array(length).fill(fill);

/** Whether `promise` is still pending once every microtask queued so far (and those they queue) has run. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return !settled;
}

test("ChunkQueue pauses once at the high-water mark and resumes once below the low-water mark", async () => {
  const events: string[] = [];
  const queue = new ChunkQueue({
    highWaterMark: 10,
    lowWaterMark: 4,
    onPause: () => events.push(`pause@${queue.buffered}`),
    onResume: () => events.push(`resume@${queue.buffered}`),
  });
  for (let i = 0; i < 3; i++) queue.push(bytes(3, i)); // 9 bytes: below the mark
  assert.deepEqual(events, []);
  assert.equal(queue.paused, false);
  queue.push(bytes(3, 3)); // 12 bytes
  queue.push(bytes(3, 4)); // 15 bytes: still one pause
  assert.deepEqual(events, ["pause@12"]);
  assert.equal(queue.paused, true);
  assert.deepEqual(await queue.read(), bytes(3, 0)); // 12 left
  assert.deepEqual(await queue.read(), bytes(3, 1)); // 9
  assert.deepEqual(await queue.read(), bytes(3, 2)); // 6: not below 4 yet
  assert.deepEqual(events, ["pause@12"]);
  assert.deepEqual(await queue.read(), bytes(3, 3)); // 3: below the low-water mark
  assert.deepEqual(events, ["pause@12", "resume@3"]);
  assert.equal(queue.paused, false);
  assert.deepEqual(await queue.read(), bytes(3, 4));
  assert.deepEqual(events, ["pause@12", "resume@3"], "no second resume");
});

test("ChunkQueue defaults to 1 MiB / 256 KiB water marks", async () => {
  let pauses = 0;
  let resumes = 0;
  const queue = new ChunkQueue({ onPause: () => pauses++, onResume: () => resumes++ });
  const chunk = 64 * 1024;
  for (let queued = 0; queued < READ_HIGH_WATER_BYTES - chunk; queued += chunk) queue.push(bytes(chunk));
  assert.equal(pauses, 0, "one chunk short of the mark");
  queue.push(bytes(chunk));
  assert.equal(pauses, 1);
  while (queue.buffered >= READ_LOW_WATER_BYTES) {
    assert.equal(resumes, 0);
    await queue.read();
  }
  assert.equal(resumes, 1);
});

test("ChunkQueue hands a chunk straight to a waiting read without pausing", async () => {
  let pauses = 0;
  const queue = new ChunkQueue({ highWaterMark: 4, onPause: () => pauses++ });
  const read = queue.read();
  assert.equal(queue.reading, true);
  const chunk = bytes(100);
  queue.push(chunk);
  assert.equal(await read, chunk, "the same array, not a copy");
  assert.equal(queue.buffered, 0);
  assert.equal(pauses, 0);
});

test("ChunkQueue ends after the queued bytes and then reads null every time", async () => {
  const queue = new ChunkQueue();
  queue.push(bytes(2, 7));
  queue.push(bytes(1, 8));
  queue.end();
  queue.push(bytes(5, 9)); // after the end: dropped
  queue.push(new Uint8Array(0)); // empty: dropped
  assert.deepEqual(await queue.read(), bytes(2, 7));
  assert.deepEqual(await queue.read(), bytes(1, 8));
  assert.equal(await queue.read(), null);
  assert.equal(await queue.read(), null);
});

test("ChunkQueue end() settles a read already waiting with null", async () => {
  const queue = new ChunkQueue();
  const read = queue.read();
  assert.equal(await isPending(read), true);
  queue.end();
  assert.equal(await read, null);
});

test("ChunkQueue fail() rejects the pending read, and later reads, with the first failure", async () => {
  const queue = new ChunkQueue();
  const read = queue.read();
  const reset = new NetError("CONNECTION_RESET", "CONNECTION_RESET: reset by peer");
  queue.fail(reset);
  queue.fail(new Error("second failure")); // the first one wins
  await assert.rejects(read, (e) => e === reset);
  await assert.rejects(queue.read(), (e) => e === reset);
});

test("ChunkQueue delivers queued bytes before a failure, and a failure wins over an earlier end", async () => {
  const queue = new ChunkQueue();
  queue.push(bytes(4, 1));
  queue.end();
  const failure = new Error("reset after FIN");
  queue.fail(failure);
  assert.deepEqual(await queue.read(), bytes(4, 1));
  await assert.rejects(queue.read(), (e) => e === failure);
});

test("ChunkQueue allows one pending read at a time; the first still gets the next chunk", async () => {
  const queue = new ChunkQueue({ remote: { address: "10.0.0.2", port: 4000 } });
  const first = queue.read();
  const second = queue.read();
  assert.equal(await isPending(second), false, "a second read is refused at once");
  await assert.rejects(second, (e: unknown) => {
    assert.ok(e instanceof NetError);
    assert.equal(e.code, "OTHER");
    assert.equal(e.port, 4000);
    assert.match(e.message, /TCP read from 10\.0\.0\.2:4000: a read is already pending/);
    return true;
  });
  queue.push(bytes(3, 5));
  assert.equal(await isPending(first), false, "the first read is still the one waiting");
  assert.deepEqual(await first, bytes(3, 5));
  queue.push(bytes(1, 6));
  assert.deepEqual(await queue.read(), bytes(1, 6), "a new read is allowed once the first settled");
});

test("ChunkQueue interrupt() rejects only the pending read; clear() drops bytes and the pause silently", async () => {
  let resumes = 0;
  const queue = new ChunkQueue({ highWaterMark: 4, lowWaterMark: 2, onResume: () => resumes++ });
  const read = queue.read();
  const closed = new Error("closed locally");
  queue.interrupt(closed);
  await assert.rejects(read, (e) => e === closed);
  assert.equal(queue.reading, false);
  queue.push(bytes(6));
  assert.equal(queue.paused, true);
  queue.clear();
  assert.equal(queue.buffered, 0);
  assert.equal(queue.paused, false);
  assert.equal(resumes, 0, "clear() does not ask the source to resume");
  queue.push(bytes(1, 3));
  assert.deepEqual(await queue.read(), bytes(1, 3), "the queue is not failed");
});

test("ChunkQueue with maxReadBytes cuts large chunks and joins small ones", async () => {
  const queue = new ChunkQueue({ maxReadBytes: 4 });
  queue.push(Uint8Array.of(1, 2, 3, 4, 5, 6));
  queue.push(Uint8Array.of(7));
  queue.push(Uint8Array.of(8, 9));
  queue.push(Uint8Array.of(10, 11, 12));
  assert.deepEqual(await queue.read(), Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual(await queue.read(), Uint8Array.of(5, 6, 7), "the rest of the cut chunk joined with the next");
  assert.deepEqual(await queue.read(), Uint8Array.of(8, 9), "joining stops before the limit is passed");
  assert.deepEqual(await queue.read(), Uint8Array.of(10, 11, 12));
  assert.equal(queue.buffered, 0);
});

test("ChunkQueue holds bytes and the end back while canDeliver() is false, until pump()", async () => {
  let linkUp = false;
  const queue = new ChunkQueue({ canDeliver: () => linkUp });
  queue.push(bytes(2, 4));
  queue.end();
  const read = queue.read();
  assert.equal(await isPending(read), true, "nothing is delivered while the link is down");
  queue.pump();
  assert.equal(await isPending(read), true, "pump() re-checks the gate");
  linkUp = true;
  queue.pump();
  assert.deepEqual(await read, bytes(2, 4));
  assert.equal(await queue.read(), null);
});
