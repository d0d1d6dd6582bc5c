import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeDatagram, decodeFrame, OutgoingMessage } from "../src/wire/codec.ts";
import { parseMessage, requestIdOf } from "../src/wire/messages.ts";
import { BadMessage } from "../src/errors.ts";

const text = new TextEncoder();
const utf8 = new TextDecoder();

// As Python PeerLink 1.2 writes them: json.dumps(msg) with its default ", " and ": " separators.
const PY_REQUEST =
  '{"type": "request", "id": "6f1c2d3e-0000-4000-8000-000000000001", "src": "PyNode", "dst": "TsNode", "rpc": "add", "args": [1, 2], "kwargs": {"scale": 10}}';
const PY_RESPONSE = '{"type": "response", "id": "abc", "result": {"ok": true, "ts": 1700000000.5}}';
const PY_ERROR =
  '{"type": "error", "id": "abc", "error": {"type": "ZeroDivisionError", "message": "division by zero"}}';

function badMessage(raw: string): BadMessage {
  try {
    decodeDatagram(text.encode(raw));
  } catch (err) {
    assert.ok(err instanceof BadMessage, `expected BadMessage for ${raw}, got ${err}`);
    return err;
  }
  assert.fail(`accepted ${raw}`);
}

test("decodeDatagram() reads Python PeerLink 1.2 requests, responses and errors", () => {
  const request = decodeDatagram(text.encode(PY_REQUEST));
  assert.deepEqual(request, {
    type: "request",
    id: "6f1c2d3e-0000-4000-8000-000000000001",
    src: "PyNode",
    dst: "TsNode",
    rpc: "add",
    args: [1, 2],
    kwargs: { scale: 10 },
  });
  assert.deepEqual(decodeDatagram(text.encode(PY_RESPONSE)), {
    type: "response",
    id: "abc",
    result: { ok: true, ts: 1700000000.5 },
  });
  assert.deepEqual(decodeDatagram(text.encode(PY_ERROR)), {
    type: "error",
    id: "abc",
    error: { type: "ZeroDivisionError", message: "division by zero" },
  });
});

test("OutgoingMessage.request() writes Python's member order and no extensions unless asked", () => {
  const msg = OutgoingMessage.request({ id: "1", src: "A", dst: "B", rpc: "f", args: [1], kwargs: {} });
  assert.equal(
    utf8.decode(msg.datagram()),
    '{"type":"request","id":"1","src":"A","dst":"B","rpc":"f","args":[1],"kwargs":{}}',
  );
  const ext = OutgoingMessage.request({ id: "1", src: "A", dst: "B", rpc: "f", args: [], kwargs: {}, plx: 1 });
  assert.match(utf8.decode(ext.datagram()), /,"plx":1}$/);
  assert.equal((decodeDatagram(ext.datagram()) as { plx?: number }).plx, 1);
});

test("error replies round-trip with the retry hint", () => {
  const msg = OutgoingMessage.error("9", { type: "PayloadTooLarge", message: "too big" }, "tcp");
  assert.deepEqual(decodeDatagram(msg.datagram()), {
    type: "error",
    id: "9",
    error: { type: "PayloadTooLarge", message: "too big" },
    retry: "tcp",
  });
});

test("parseMessage() refuses wrong types and missing fields", () => {
  const valid = JSON.parse(PY_REQUEST);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...valid, type: "requests" }, /unknown message type/],
    [{ ...valid, id: 5 }, /request\.id must be a string/],
    [{ ...valid, id: "" }, /request\.id must not be empty/],
    [{ ...valid, id: "x".repeat(300) }, /longer than 256/],
    [{ ...valid, rpc: ["add"] }, /request\.rpc must be a string/],
    [{ ...valid, src: undefined }, /request\.src must be a string/],
    [{ ...valid, args: { 0: 1 } }, /request\.args must be an array/],
    [{ ...valid, args: undefined }, /request\.args must be an array/],
    [{ ...valid, kwargs: [] }, /request\.kwargs must be an object/],
    [{ ...valid, kwargs: null }, /request\.kwargs must be an object/],
    [{ type: "response", id: "1" }, /response\.result is missing/],
    [{ type: "error", id: "1", error: "boom" }, /error\.error must be/],
    [{ type: "error", id: "1", error: { type: 1, message: "m" } }, /error\.error must be/],
  ];
  for (const [raw, pattern] of cases) {
    assert.throws(() => parseMessage(raw), (err: unknown) => err instanceof BadMessage && pattern.test(err.message));
  }
  for (const raw of [null, 1, "x", [], true]) assert.throws(() => parseMessage(raw), BadMessage);
});

test("a malformed request keeps its readable id so the receiver can answer", () => {
  const err = badMessage('{"type":"request","id":"abc","src":"A","dst":"B","rpc":"f","args":"nope","kwargs":{}}');
  assert.equal(err.requestId, "abc");
  assert.equal(badMessage('{"type":"request","id":7}').requestId, undefined);
  assert.equal(badMessage('{"type":"response","id":"x"}').requestId, undefined);
  assert.equal(requestIdOf({ type: "request", id: "q" }), "q");
});

test("__proto__ anywhere in a message is refused, and nothing gets polluted", () => {
  const raws = [
    '{"type":"request","id":"1","src":"A","dst":"B","rpc":"f","args":[{"__proto__":{"admin":true}}],"kwargs":{}}',
    '{"type":"request","id":"1","src":"A","dst":"B","rpc":"f","args":[],"kwargs":{"__proto__":{"admin":true}}}',
    '{"__proto__":{"admin":true},"type":"request","id":"1","src":"A","dst":"B","rpc":"f","args":[],"kwargs":{}}',
    '{"type":"response","id":"1","result":{"x":{"__proto__":{"admin":true}}}}',
  ];
  for (const raw of raws) assert.match(badMessage(raw).message, /__proto__/);
  assert.equal(({} as { admin?: boolean }).admin, undefined);
});

test("decoding rejects invalid UTF-8, invalid JSON and empty input", () => {
  assert.throws(() => decodeDatagram(new Uint8Array([0xff, 0x7b, 0x7d])), /not valid UTF-8/);
  assert.throws(() => decodeDatagram(text.encode("{nope")), /not valid JSON/);
  assert.throws(() => decodeDatagram(new Uint8Array(0)), BadMessage);
  assert.throws(() => decodeFrame(new Uint8Array(0), 1024), BadMessage);
});

test("Python's bare NaN, Infinity and -Infinity decode as numbers in values; strings and names are left alone", () => {
  assert.deepEqual(
    decodeDatagram(
      text.encode('{"type": "response", "id": "a", "result": [NaN, Infinity, -Infinity, "NaN", {"x": NaN}]}'),
    ),
    { type: "response", id: "a", result: [NaN, Infinity, -Infinity, "NaN", { x: NaN }] },
  );
  const request = decodeFrame(
    text.encode(
      '{"type": "request", "id": "r", "src": "Py", "dst": "B", "rpc": "f", "args": [NaN, "Infinity"], "kwargs": {"k": -Infinity}}',
    ),
    1 << 20,
  );
  assert.deepEqual(request, {
    type: "request",
    id: "r",
    src: "Py",
    dst: "B",
    rpc: "f",
    args: [NaN, "Infinity"],
    kwargs: { k: -Infinity },
  });
  // A token inside a string, escaped quotes included, is text; a bare one anywhere else still has to be JSON.
  assert.deepEqual(
    decodeDatagram(text.encode('{"type": "response", "id": "a", "result": ["say \\"NaN\\"", NaN]}')),
    { type: "response", id: "a", result: ['say "NaN"', NaN] },
  );
  assert.throws(() => decodeDatagram(text.encode('{"type": "response", "id": "a", "result": NaNa}')), /not valid JSON/);
  assert.throws(() => decodeDatagram(text.encode('{"type": "response", "id": "a", "result": nan}')), /not valid JSON/);
  // 1e999 is still refused: no sender writes it (Python writes Infinity).
  assert.throws(() => decodeDatagram(text.encode('{"type":"response","id":"a","result":[NaN, 1e999]}')), /too large/);
});

test("decoding deeply nested hostile JSON is refused, not a crash", () => {
  const nested = '{"type":"request","id":"1","src":"A","dst":"B","rpc":"f","args":' + "[".repeat(200_000) +
    "]".repeat(200_000) + ',"kwargs":{}}';
  const err = badMessage(nested);
  assert.match(err.message, /nested deeper than 100 levels/);
  assert.equal(err.requestId, "1");
});

test("mutated messages only ever fail with BadMessage", () => {
  // Deterministic mutation fuzz: flip, drop and insert bytes of valid messages.
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const samples = [PY_REQUEST, PY_RESPONSE, PY_ERROR].map((s) => text.encode(s));
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const source = samples[i % samples.length];
    const bytes = Array.from(source);
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * bytes.length);
      const op = random();
      if (op < 0.4) bytes[at] = Math.floor(random() * 256);
      else if (op < 0.7) bytes.splice(at, 1);
      else bytes.splice(at, 0, '{}[]":,\\0a_'.charCodeAt(Math.floor(random() * 13)));
    }
    try {
      const msg = decodeDatagram(new Uint8Array(bytes));
      assert.ok(["request", "response", "error"].includes(msg.type));
      if (msg.type === "request") {
        assert.ok(Array.isArray(msg.args));
        assert.equal(typeof msg.rpc, "string");
      }
    } catch (err) {
      assert.ok(err instanceof BadMessage, `unexpected ${err}`);
      rejected++;
    }
  }
  assert.ok(rejected > 1000, `only ${rejected} of 3000 mutations were rejected`);
});

test("a deeply nested value where a name belongs is refused as BadMessage, without overflowing the stack", () => {
  const deep = "[".repeat(20_000) + "]".repeat(20_000);
  for (const raw of [`{"type":${deep},"id":"1"}`, `{"type":"request","id":"1","src":${deep}}`]) {
    assert.throws(() => parseMessage(JSON.parse(raw)), BadMessage);
  }
});
