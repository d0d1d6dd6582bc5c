import { test } from "node:test";
import assert from "node:assert/strict";
import { BinaryRef, ESCAPE_TAG, reviveValue, ValueEncoder, withBinaryMode } from "../../src/wire/values.ts";
import { decodeBase64, encodeBase64 } from "../../src/wire/base64.ts";
import { BadMessage } from "../../src/errors.ts";
import { Buffer } from "node:buffer";

function roundTrip(value: unknown, mode: "base64" | "segments" = "base64"): unknown {
  const encoder = new ValueEncoder();
  const prepared = encoder.prepare(value, "args");
  const text = withBinaryMode(mode, () => JSON.stringify(prepared));
  return reviveValue(JSON.parse(text), "args", mode === "segments" ? encoder.binaries : undefined);
}

function sendError(value: unknown): string {
  try {
    new ValueEncoder().prepare(value, "args");
  } catch (err) {
    assert.ok(err instanceof TypeError, `expected TypeError, got ${err}`);
    return err.message;
  }
  assert.fail("prepare() accepted a value JSON cannot carry");
}

test("ValueEncoder refuses functions, symbols and BigInt naming the argument path", () => {
  assert.equal(
    sendError([1, { foo: () => 1 }]),
    "Cannot send args[1].foo: a function cannot be sent; send data, not code.",
  );
  assert.match(sendError([Symbol("s")]), /^Cannot send args\[0\]: a Symbol cannot be carried by JSON/);
  assert.match(sendError([{ "a b": [10n] }]), /^Cannot send args\[0\]\["a b"\]\[0\]: a BigInt cannot be carried/);
});

test("ValueEncoder refuses cycles, NaN, Map, Set and non-Uint8Array binary", () => {
  const cyclic: Record<string, unknown> = { name: "x" };
  cyclic.self = cyclic;
  assert.match(sendError([cyclic]), /^Cannot send args\[0\]\.self: it refers back to itself \(a cycle\)/);
  assert.match(sendError([NaN]), /^Cannot send args\[0\]: NaN is not a JSON number/);
  assert.match(sendError([{ x: Infinity }]), /args\[0\]\.x: Infinity/);
  assert.match(sendError([new Map()]), /args\[0\]: a Map cannot be carried by JSON/);
  assert.match(sendError([new Set([1])]), /args\[0\]: a Set cannot/);
  assert.match(
    sendError([new Float32Array(2)]),
    /args\[0\]: Float32Array is not supported; send binary data as a Uint8Array/,
  );
  assert.match(sendError([new ArrayBuffer(2)]), /ArrayBuffer is not supported/);
});

test("ValueEncoder allows shared (acyclic) references and keeps them as copies", () => {
  const shared = { n: 1 };
  assert.deepEqual(roundTrip([shared, shared, { again: shared }]), [{ n: 1 }, { n: 1 }, { again: { n: 1 } }]);
});

test("ValueEncoder follows JSON semantics for undefined, toJSON and boxed values", () => {
  const date = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
  assert.deepEqual(roundTrip([undefined, { a: undefined, b: 2 }, date, Object(5)]), [
    null,
    { b: 2 },
    "2024-01-02T03:04:05.000Z",
    5,
  ]);
});

test("ValueEncoder does not copy values that need no change", () => {
  const args = [1, "two", { three: [3] }];
  assert.equal(new ValueEncoder().prepare(args, "args"), args);
});

test("ValueEncoder bounds nesting depth when sending", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 150; i++) deep = [deep];
  assert.match(sendError(deep), /nested deeper than 100 levels/);
  let ok: unknown = 1;
  for (let i = 0; i < 99; i++) ok = [ok];
  assert.doesNotThrow(() => new ValueEncoder().prepare(ok, "args"));
});

test("Uint8Array at any depth round-trips byte-exact as base64 and as segments", () => {
  const bytes = new Uint8Array(1000).map((_, i) => (i * 37) & 0xff);
  const value = [bytes, { nested: [{ deeper: bytes.subarray(10, 20) }] }, new Uint8Array(0)];
  for (const mode of ["base64", "segments"] as const) {
    const back = roundTrip(value, mode) as [Uint8Array, { nested: [{ deeper: Uint8Array }] }, Uint8Array];
    assert.ok(back[0] instanceof Uint8Array, mode);
    assert.deepEqual([...back[0]], [...bytes]);
    assert.deepEqual([...back[1].nested[0].deeper], [...bytes.subarray(10, 20)]);
    assert.equal(back[2].length, 0);
  }
});

test("user objects shaped like binary tags are escaped and arrive unchanged", () => {
  const tricky = [{ __bytes__: "aGk=" }, { __seg__: 0 }, { __esc__: { x: 1 } }, { __bytes__: 1, other: 2 }];
  const encoder = new ValueEncoder();
  const prepared = encoder.prepare(tricky, "args") as unknown[];
  assert.deepEqual(prepared[0], { [ESCAPE_TAG]: { __bytes__: "aGk=" } });
  assert.deepEqual(roundTrip(tricky), tricky);
  assert.deepEqual(roundTrip(tricky, "segments"), tricky);
});

test("reviveValue rejects __proto__ keys at any depth, also inside escapes", () => {
  for (const text of ['{"__proto__":{"polluted":1}}', '[1,{"a":{"__proto__":null}}]', '{"__esc__":{"__proto__":1}}']) {
    assert.throws(() => reviveValue(JSON.parse(text), "request.args"), (err: unknown) => {
      assert.ok(err instanceof BadMessage);
      assert.match(err.message, /forbidden key '__proto__'/);
      return true;
    });
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("reviveValue bounds nesting depth without recursing through hostile input", () => {
  const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
  assert.throws(() => reviveValue(deep, "request.args"), /nested deeper than 100 levels/);
  const objects = JSON.parse('{"a":'.repeat(5000) + "1" + "}".repeat(5000));
  assert.throws(() => reviveValue(objects, "request.args"), BadMessage);
});

test("reviveValue rejects invalid base64 and out-of-range segments, keeps seg tags as data in plain JSON", () => {
  assert.throws(() => reviveValue(JSON.parse('[{"__bytes__":"a b="}]'), "args"), /not valid base64/);
  assert.throws(() => reviveValue(JSON.parse('[{"__bytes__":"aGk"}]'), "args"), /not valid base64/);
  assert.throws(() => reviveValue(JSON.parse('[{"__seg__":1}]'), "args", [new Uint8Array(1)]), /segment 1 of 1/);
  assert.throws(() => reviveValue(JSON.parse('[{"__seg__":"0"}]'), "args", []), BadMessage);
  assert.deepEqual(reviveValue(JSON.parse('[{"__seg__":0}]'), "args"), [{ __seg__: 0 }]);
  assert.deepEqual(reviveValue(JSON.parse('[{"__bytes__":7}]'), "args"), [{ __bytes__: 7 }]);
});

test("base64 helpers are strict and exact", () => {
  for (let n = 0; n < 70; n++) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 91 + n) & 0xff);
    const text = encodeBase64(bytes);
    assert.equal(text, Buffer.from(bytes).toString("base64"));
    assert.deepEqual([...decodeBase64(text)!], [...bytes]);
  }
  assert.equal(decodeBase64("aGk"), undefined);
  assert.equal(decodeBase64("aG k"), undefined);
  assert.equal(decodeBase64("aGk-"), undefined);
  assert.equal(decodeBase64("a==="), undefined);
  const small = decodeBase64("aGk=")!;
  assert.equal(small.byteOffset, 0);
  assert.equal(small.buffer.byteLength, 2);
});

test("BinaryRef serializes by mode", () => {
  const ref = new BinaryRef(new Uint8Array([1, 2, 3]), 2);
  assert.equal(withBinaryMode("segments", () => JSON.stringify(ref)), '{"__seg__":2}');
  assert.equal(withBinaryMode("base64", () => JSON.stringify(ref)), '{"__bytes__":"AQID"}');
});

test("reviveValue refuses numbers that overflowed to Infinity while parsing, at any position", () => {
  for (const text of ["1e999", "[1,-1e400]", '{"a":[{"b":1e309}]}', '{"__esc__":{"__bytes__":1e999}}']) {
    assert.throws(() => reviveValue(JSON.parse(text), "request.args"), (err: unknown) => {
      assert.ok(err instanceof BadMessage);
      assert.match(err.message, /too large for a double/);
      return true;
    });
  }
  assert.deepEqual(reviveValue(JSON.parse("[1.7976931348623157e308, -0, 5e-324]"), "x"), [
    1.7976931348623157e308,
    -0,
    5e-324,
  ]);
});
