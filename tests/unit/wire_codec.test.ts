import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeDatagram, decodeFrame, OutgoingMessage } from "../../src/wire/codec.ts";
import { BINARY_FRAME_MAGIC, maxWireFrame, splitFrameBody } from "../../src/wire/binary_frame.ts";
import { FrameReader, readUint32 } from "../../src/wire/frames.ts";
import { BadMessage, PayloadTooLarge } from "../../src/errors.ts";
import { MAX_SAFE_UDP_PAYLOAD, TCP_MAX_FRAME } from "../../src/constants.ts";
import type { RequestMessage, ResponseMessage } from "../../src/wire/messages.ts";

const MiB = 1024 * 1024;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Frame parts -> the body a receiver's FrameReader yields. */
function receive(parts: Uint8Array[], maxFrame = TCP_MAX_FRAME): Uint8Array {
  const frames = new FrameReader(maxWireFrame(maxFrame)).push(concat(parts));
  assert.equal(frames.length, 1);
  return frames[0];
}

function request(args: unknown[]): OutgoingMessage {
  return OutgoingMessage.request({ id: "id-1", src: "A", dst: "B", rpc: "f", args, kwargs: {}, plx: 1 });
}

test("binary TCP frames carry Uint8Array values as raw segments at any depth", () => {
  const a = new Uint8Array(5000).map((_, i) => i & 0xff);
  const b = new Uint8Array([1, 2, 3]);
  const msg = request([a, { deep: [{ b }] }, "text"]);
  const parts = msg.frame(true, TCP_MAX_FRAME);
  assert.equal(parts.length, 3);
  assert.equal(parts[1], a, "segments are written without copying");
  const body = receive(parts);
  assert.equal(body[0], BINARY_FRAME_MAGIC);
  const back = decodeFrame(body, TCP_MAX_FRAME) as RequestMessage;
  assert.deepEqual([...(back.args[0] as Uint8Array)], [...a]);
  assert.deepEqual([...((back.args[1] as { deep: [{ b: Uint8Array }] }).deep[0].b)], [1, 2, 3]);
  assert.equal(back.args[2], "text");
  assert.equal(body.length, 4 + 18 + (parts[0].length - 4 - 18) + 5003 - 4, "no base64 bloat");
});

test("plain JSON frames (for Python peers) carry binary as base64 and start with '{'", () => {
  const msg = request([new Uint8Array([104, 105])]);
  const body = receive(msg.frame(false, TCP_MAX_FRAME));
  assert.equal(String.fromCharCode(body[0]), "{");
  assert.match(new TextDecoder().decode(body), /"args":\[\{"__bytes__":"aGk="\}\]/);
  const back = decodeFrame(body, TCP_MAX_FRAME) as RequestMessage;
  assert.deepEqual([...(back.args[0] as Uint8Array)], [104, 105]);
});

test("messages without binary values use plain frames even toward binary-capable peers", () => {
  const parts = request([1, 2]).frame(true, TCP_MAX_FRAME);
  assert.equal(parts.length, 1);
  assert.equal(parts[0][4], "{".charCodeAt(0));
});

test("datagrams are plain JSON with base64 binary", () => {
  const msg = request([new Uint8Array(300)]);
  const datagram = msg.datagram();
  assert.ok(datagram.length > 400 && datagram.length <= MAX_SAFE_UDP_PAYLOAD);
  assert.equal(msg.minDatagramBytes, 400);
  assert.equal(msg.datagram(), datagram, "cached");
  const back = decodeDatagram(datagram) as RequestMessage;
  assert.equal((back.args[0] as Uint8Array).length, 300);
});

test("a 4 MiB Uint8Array fits a binary frame; 4 MiB + 1 is refused before encoding the frame", () => {
  const max = new Uint8Array(4 * MiB).map((_, i) => (i * 7) & 0xff);
  const parts = OutgoingMessage.response("r", max).frame(true, TCP_MAX_FRAME);
  const back = decodeFrame(receive(parts), TCP_MAX_FRAME) as ResponseMessage;
  const result = back.result as Uint8Array;
  assert.equal(result.length, 4 * MiB);
  assert.equal(result[4 * MiB - 1], ((4 * MiB - 1) * 7) & 0xff);
  assert.throws(() => OutgoingMessage.response("r", new Uint8Array(4 * MiB + 1)).frame(true, TCP_MAX_FRAME), (err) => {
    assert.ok(err instanceof PayloadTooLarge);
    assert.equal(err.size, 4 * MiB + 1);
    assert.match(err.message, /^TCP send: 4194305 bytes of binary data > TCP_MAX_FRAME \(4194304\)/);
    return true;
  });
});

test("JSON text over the limit is refused; toward Python base64 counts at its encoded size", () => {
  assert.throws(() => request(["x".repeat(TCP_MAX_FRAME)]).frame(false, TCP_MAX_FRAME), (err) => {
    assert.ok(err instanceof PayloadTooLarge);
    assert.ok(err.size > TCP_MAX_FRAME);
    return true;
  });
  assert.throws(() => request([new Uint8Array(3 * MiB + 1)]).frame(false, TCP_MAX_FRAME), PayloadTooLarge);
  assert.doesNotThrow(() => request([new Uint8Array(3 * MiB + 1)]).frame(true, TCP_MAX_FRAME));
});

test("non-ASCII text is encoded as UTF-8 exactly once", () => {
  const text = "ünïcödé 节点 🚀".repeat(1000);
  const parts = request([text]).frame(true, TCP_MAX_FRAME);
  const body = receive(parts);
  assert.equal(readUint32(parts[0], 0), body.length);
  assert.equal((decodeFrame(body, TCP_MAX_FRAME) as RequestMessage).args[0], text);
});

test("splitFrameBody() rejects inconsistent binary layouts", () => {
  const good = receive(request([new Uint8Array(10), new Uint8Array(20)]).frame(true, TCP_MAX_FRAME));
  assert.equal(splitFrameBody(good, TCP_MAX_FRAME).segments?.length, 2);
  const mutate = (edit: (b: Uint8Array) => Uint8Array) => () => splitFrameBody(edit(good.slice()), TCP_MAX_FRAME);
  assert.throws(mutate((b) => b.subarray(0, b.length - 1)), /lengths disagree/);
  assert.throws(mutate((b) => ((b[1] = 2), b)), /version 2 is not supported/);
  assert.throws(mutate((b) => ((b[6] = 0xff), b)), /segments > 65536/);
  assert.throws(mutate((b) => ((b[2] = 0x7f), b)), /JSON of \d+ bytes exceeds/);
  assert.throws(mutate((b) => ((b[10] = 0x7f), b)), /bytes of segments >/);
  assert.throws(() => splitFrameBody(new Uint8Array([0xff, 1, 0]), TCP_MAX_FRAME), /shorter than its header/);
  assert.throws(mutate((b) => b.subarray(0, 12)), BadMessage);
});

/** Builds a binary frame body by hand, following the layout documented in binary_frame.ts. */
function binaryBody(json: string, segments: Uint8Array[]): Uint8Array {
  const jsonBytes = new TextEncoder().encode(json);
  const table = 10 + 4 * segments.length;
  const body = new Uint8Array(table + jsonBytes.length + segments.reduce((n, s) => n + s.length, 0));
  const view = new DataView(body.buffer);
  body[0] = 0xff;
  body[1] = 1;
  view.setUint32(2, jsonBytes.length);
  view.setUint32(6, segments.length);
  segments.forEach((s, i) => view.setUint32(10 + 4 * i, s.length));
  body.set(jsonBytes, table);
  let at = table + jsonBytes.length;
  for (const s of segments) {
    body.set(s, at);
    at += s.length;
  }
  return body;
}

test("hand-built binary frames decode, and references to missing segments are refused", () => {
  const json = (seg: number) =>
    `{"type":"request","id":"1","src":"A","dst":"B","rpc":"f","args":[{"__seg__":${seg}}],"kwargs":{}}`;
  const ok = decodeFrame(binaryBody(json(0), [new Uint8Array([9, 8])]), TCP_MAX_FRAME) as RequestMessage;
  assert.deepEqual([...(ok.args[0] as Uint8Array)], [9, 8]);
  assert.throws(
    () => decodeFrame(binaryBody(json(3), [new Uint8Array(4)]), TCP_MAX_FRAME),
    /refers to binary segment 3 of 1/,
  );
  assert.throws(() => decodeFrame(binaryBody(json(0), []), TCP_MAX_FRAME), /segment 0 of 0/);
});
