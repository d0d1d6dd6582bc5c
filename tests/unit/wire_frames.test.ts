import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameWriter } from "../../src/wire/frame_writer.ts";
import { FrameReader, readUint32, writeFrame, writeFrameHeader } from "../../src/wire/frames.ts";
import { PayloadTooLarge } from "../../src/errors.ts";
import type { StreamConnection } from "../../src/net.ts";
import { Buffer } from "node:buffer";

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  writeFrameHeader(out, 0, body.length);
  out.set(body, 4);
  return out;
}

function bytes(n: number, salt = 0): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + salt) & 0xff);
}

/** A StreamConnection stand-in that records writes. */
function recorder(): StreamConnection & { written: Uint8Array[] } {
  const written: Uint8Array[] = [];
  const addr = { address: "127.0.0.1", port: 1, family: "IPv4" as const };
  return {
    written,
    localAddress: addr,
    remoteAddress: addr,
    read: () => Promise.resolve(null),
    write: async (data: Uint8Array) => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      written.push(data.slice());
    },
    closeWrite: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

test("header helpers are big-endian and cover the full 32-bit range", () => {
  const buf = new Uint8Array(4);
  writeFrameHeader(buf, 0, 0xc0000000);
  assert.deepEqual([...buf], [0xc0, 0, 0, 0]);
  assert.equal(readUint32(buf, 0), 3 * 2 ** 30);
  writeFrameHeader(buf, 0, 258);
  assert.deepEqual([...buf], [0, 0, 1, 2]);
});

test("FrameReader reassembles frames split at every byte", () => {
  const bodies = [bytes(0), bytes(1), bytes(300, 1), bytes(5, 2)];
  const stream = new Uint8Array(bodies.reduce((n, b) => n + 4 + b.length, 0));
  let at = 0;
  for (const b of bodies) {
    stream.set(frame(b), at);
    at += 4 + b.length;
  }
  const reader = new FrameReader(1024);
  const out: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i++) out.push(...reader.push(stream.subarray(i, i + 1)));
  assert.equal(out.length, bodies.length);
  bodies.forEach((b, i) => assert.deepEqual([...out[i]], [...b]));
  assert.ok(reader.idle);
});

test("FrameReader returns many frames from one chunk as views without copying", () => {
  const chunk = new Uint8Array([...frame(bytes(3)), ...frame(bytes(4, 9)), ...frame(bytes(2, 5)).subarray(0, 3)]);
  const reader = new FrameReader(100);
  const frames = reader.push(chunk);
  assert.equal(frames.length, 2);
  assert.equal(frames[0].buffer, chunk.buffer);
  assert.deepEqual([...frames[1]], [...bytes(4, 9)]);
  assert.equal(reader.idle, false);
  const rest = reader.push(frame(bytes(2, 5)).subarray(3));
  assert.deepEqual([...rest[0]], [...bytes(2, 5)]);
});

test("FrameReader assembles a large frame from many chunks in linear time", () => {
  // 4 MiB in 100-byte chunks: linear takes tens of ms; re-copying what arrived at every chunk
  // would copy ~90 GB, far beyond the (loose, shared-machine) bound below.
  const body = bytes(4 * 1024 * 1024, 3);
  const whole = frame(body);
  const reader = new FrameReader(8 * 1024 * 1024);
  const started = performance.now();
  let result: readonly Uint8Array[] = [];
  for (let at = 0; at < whole.length; at += 100) result = reader.push(whole.subarray(at, at + 100));
  const elapsed = performance.now() - started;
  assert.equal(result.length, 1);
  assert.equal(result[0].length, body.length);
  assert.ok(Buffer.from(result[0]).equals(Buffer.from(body)));
  assert.ok(elapsed < 20_000, `took ${elapsed} ms`);
});

test("FrameReader rejects a 3 GiB header from its 4 bytes alone", () => {
  const reader = new FrameReader(8 * 1024 * 1024);
  assert.deepEqual(reader.push(new Uint8Array([0xc0, 0])), []);
  assert.throws(() => reader.push(new Uint8Array([0, 0])), (err: unknown) => {
    assert.ok(err instanceof PayloadTooLarge);
    assert.equal(err.size, 3 * 2 ** 30);
    assert.match(err.message, /^TCP receive: frame header announces 3221225472 bytes > limit \(8388608\)/);
    return true;
  });
  assert.ok(reader.pendingBytes < 100, "no body was allocated");
  assert.throws(() => reader.push(new Uint8Array([1])), PayloadTooLarge);
});

test("writeFrame() refuses an oversize frame before writing any byte", async () => {
  const conn = recorder();
  const first = new Uint8Array(4 + 10);
  await assert.rejects(writeFrame(conn, [first, bytes(100)], 50), (err: unknown) => {
    assert.ok(err instanceof PayloadTooLarge);
    assert.equal(err.size, 110);
    return true;
  });
  assert.equal(conn.written.length, 0);
  await writeFrame(conn, [first, bytes(36)], 50);
  assert.equal(readUint32(conn.written[0], 0), 46);
  assert.equal(conn.written.length, 2);
});

test("FrameWriter keeps concurrent frames whole and in order", async () => {
  const conn = recorder();
  const writer = new FrameWriter(conn, 1000);
  const make = (n: number, len: number) => {
    const first = new Uint8Array(4 + 1);
    first[4] = n;
    return [first, bytes(len, n)];
  };
  const oversize = writer.write(make(9, 2000));
  const writes = [writer.write(make(1, 10)), writer.write(make(2, 20)), writer.write(make(3, 5))];
  await assert.rejects(oversize, PayloadTooLarge);
  await Promise.all(writes);
  assert.equal(writer.queued, 0);
  const reader = new FrameReader(1000);
  const frames = conn.written.flatMap((chunk) => [...reader.push(chunk)]);
  assert.deepEqual(frames.map((f) => f[0]), [1, 2, 3]);
  assert.deepEqual(frames.map((f) => f.length), [11, 21, 6]);
});

test("FrameWriter sends frames queued behind a write in progress together, in one write", async () => {
  const conn = recorder();
  const writer = new FrameWriter(conn, 1000);
  const frame = (n: number) => {
    const first = new Uint8Array(4 + 3);
    first.set([n, n, n], 4);
    return [first];
  };
  await Promise.all(Array.from({ length: 50 }, (_, i) => writer.write(frame(i))));
  assert.equal(writer.queued, 0);
  // The first frame leaves at once; the 49 queued behind it leave in one buffer.
  assert.equal(conn.written.length, 2);
  assert.equal(writer.writes, 2);
  const reader = new FrameReader(1000);
  const frames = conn.written.flatMap((chunk) => [...reader.push(chunk)]);
  assert.deepEqual(frames.map((f) => f[0]), Array.from({ length: 50 }, (_, i) => i));
});

test("FrameWriter writes a large frame's parts as they are, without copying them", async () => {
  const seen: Uint8Array[] = [];
  const conn = { ...recorder(), write: (data: Uint8Array) => (seen.push(data), Promise.resolve()) };
  const writer = new FrameWriter(conn, 1 << 20);
  const big = bytes(100_000, 7);
  await Promise.all([writer.write([new Uint8Array(4)]), writer.write([new Uint8Array(4), big])]);
  assert.ok(seen.includes(big), "the 100 kB segment was copied");
});

test("FrameWriter rejects only the frames a failed write carried", async () => {
  let failures = 1;
  const written: Uint8Array[] = [];
  const conn = {
    ...recorder(),
    write: async (data: Uint8Array) => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (failures-- > 0) throw new Error("reset");
      written.push(data.slice());
    },
  };
  const writer = new FrameWriter(conn, 1000);
  const first = writer.write([new Uint8Array(5)]);
  const second = writer.write([new Uint8Array(6)]);
  await assert.rejects(first, /reset/);
  await second;
  assert.equal(written.length, 1);
  assert.equal(readUint32(written[0], 0), 2);
  assert.equal(writer.queued, 0);
});

test("FrameReader holds memory for the bytes received, not for the length a header announces", () => {
  const reader = new FrameReader(8 * 1024 * 1024);
  const header = new Uint8Array(4);
  writeFrameHeader(header, 0, 8 * 1024 * 1024);
  reader.push(header);
  for (let i = 0; i < 100; i++) reader.push(new Uint8Array([i])); // one byte a "second"
  assert.equal(reader.expectedBytes, 8 * 1024 * 1024);
  assert.equal(reader.pendingBytes, 104);
  assert.ok(reader.bufferedBytes <= 16 * 1024, `buffered ${reader.bufferedBytes}`);
  let done: readonly Uint8Array[] = [];
  for (let sent = 100; sent < 8 * 1024 * 1024; sent += 65_536) {
    done = reader.push(new Uint8Array(Math.min(65_536, 8 * 1024 * 1024 - sent)).fill(7));
    if (done.length === 0) assert.ok(reader.bufferedBytes <= 2 * (sent + 65_536) + 16 * 1024);
  }
  assert.equal(done.length, 1);
  assert.equal(done[0].length, 8 * 1024 * 1024);
  assert.equal(done[0][99], 99);
  assert.equal(done[0][100], 7);
  assert.ok(reader.idle);
  assert.equal(reader.bufferedBytes, 0);
});

test("FrameReader reassembles a frame from mixed small and large pieces byte for byte", () => {
  const size = 300_000;
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + 7) & 0xff;
  const wire = new Uint8Array(4 + size + 4 + 3);
  writeFrameHeader(wire, 0, size);
  wire.set(body, 4);
  writeFrameHeader(wire, 4 + size, 3);
  wire.set([1, 2, 3], 8 + size);
  // Piece sizes cycle through tiny, just-below and above the keep-as-view threshold.
  const sizes = [1, 3, 16_383, 16_384, 70_000, 5, 40_000, 9_999];
  const reader = new FrameReader(1 << 20);
  const frames: Uint8Array[] = [];
  let held = 0;
  let direct = false;
  for (let at = 0, i = 0; at < wire.length; i++) {
    const piece = wire.slice(at, Math.min(wire.length, at + sizes[i % sizes.length]));
    at += piece.length;
    frames.push(...reader.push(piece));
    if (reader.idle) continue;
    const received = reader.pendingBytes - 4;
    if (received * 2 < size) held = Math.max(held, reader.bufferedBytes - received);
    else {
      // Past half the frame: its whole buffer, never more than twice the bytes received.
      direct ||= reader.bufferedBytes === size;
      assert.ok(reader.bufferedBytes <= 2 * received, `${reader.bufferedBytes} held for ${received} received`);
    }
  }
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0], body);
  assert.deepEqual([...frames[1]], [1, 2, 3]);
  assert.ok(held <= 16 * 1024, `memory beyond the received bytes before half the frame: ${held}`);
  assert.ok(direct, "the second half was copied into the frame's own buffer");
  assert.equal(reader.bufferedBytes, 0);
});
