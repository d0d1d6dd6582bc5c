import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeTxt, encodeTxt, MAX_TXT_RDATA, TxtError } from "../../src/mdns/txt.ts";
import { packQueries, packResponses } from "../../src/mdns/split.ts";
import { encodeMessage } from "../../src/mdns/packet.ts";
import type { MdnsRecord } from "../../src/mdns/records.ts";

const te = new TextEncoder();
const td = new TextDecoder();

test("encodeTxt() writes key=value strings, boolean keys alone, and one empty string for no attributes", () => {
  const strings = encodeTxt({ node: "Worker", secure: true, empty: "", raw: Uint8Array.of(0, 255) });
  assert.deepEqual(strings.slice(0, 3).map((s) => td.decode(s)), ["node=Worker", "secure", "empty="]);
  assert.deepEqual([...strings[3]], [0x72, 0x61, 0x77, 0x3d, 0, 255]);
  assert.deepEqual(encodeTxt({}).map((s) => s.length), [0]);
});

test("encodeTxt() refuses strings over 255 bytes, naming the key", () => {
  assert.throws(
    () => encodeTxt({ big: "x".repeat(252) }),
    (e) => e instanceof TxtError && /"big" is 256 bytes/.test(e.message),
  );
  assert.equal(encodeTxt({ big: "x".repeat(251) })[0].length, 255);
  assert.throws(() => encodeTxt({ k: "é".repeat(127) }), /255/, "counts UTF-8 bytes, not characters");
});

test("encodeTxt() refuses keys that differ only in case, empty keys, and keys with = or non-ASCII", () => {
  assert.throws(() => encodeTxt({ Path: "/a", path: "/b" }), /appears twice.*case-insensitive/);
  assert.throws(() => encodeTxt({ "": "x" }), /empty/);
  assert.throws(() => encodeTxt({ "a=b": "x" }), /without "="/);
  assert.throws(() => encodeTxt({ "clé": "x" }), /printable US-ASCII/);
});

test("encodeTxt() keeps the whole record under 1300 bytes", () => {
  const many: Record<string, string> = {};
  for (let i = 0; i < 10; i++) many[`k${i}`] = "v".repeat(200);
  assert.throws(() => encodeTxt(many), new RegExp(`under ${MAX_TXT_RDATA} bytes`));
});

test("decodeTxt(): keys are case-insensitive and the first occurrence wins; strings without a key are ignored", () => {
  const attrs = decodeTxt(["Node=First", "node=Second", "=orphan", "flag", "empty=", ""].map((s) => te.encode(s)));
  assert.deepEqual({ ...attrs }, { node: "First", flag: true, empty: "" });
});

test("decodeTxt() is lenient with invalid UTF-8 and values containing =", () => {
  const attrs = decodeTxt([Uint8Array.of(0x6b, 0x3d, 0xff), te.encode("eq=a=b")]);
  assert.equal(attrs.k, "\ufffd");
  assert.equal(attrs.eq, "a=b");
});

const txtRecord = (name: string, size: number): MdnsRecord => ({
  name,
  type: "TXT",
  ttl: 120,
  flush: true,
  data: [new Uint8Array(size)],
});

test("packResponses() splits answers and additionals under the limit without cutting records", () => {
  const answers = Array.from({ length: 6 }, (_, i) => txtRecord(`a${i}.local`, 250));
  const extra = Array.from({ length: 6 }, (_, i) => txtRecord(`x${i}.local`, 250));
  const messages = packResponses(answers, extra);
  assert.ok(messages.length >= 3);
  for (const m of messages) assert.ok(encodeMessage(m).length <= 1440);
  assert.equal(messages.flatMap((m) => m.answers).length, 6);
  assert.equal(messages.flatMap((m) => m.additionals).length, 6);
  assert.deepEqual(packResponses([], extra), [], "no answers, no response");
});

test("packResponses() repeats the ID and questions in every packet (legacy unicast)", () => {
  const questions = [{ name: "a0.local", type: "TXT", qu: false }];
  const messages = packResponses(Array.from({ length: 8 }, (_, i) => txtRecord(`a${i}.local`, 250)), [], {
    id: 9,
    questions,
  });
  assert.ok(messages.length > 1);
  for (const m of messages) {
    assert.equal(m.id, 9);
    assert.deepEqual(m.questions, questions);
  }
});

test("packQueries() sets TC when known answers continue in the next packet (RFC 6762 7.2)", () => {
  const known = Array.from({ length: 40 }, (_, i): MdnsRecord => ({
    name: "_peerlink._tcp.local",
    type: "PTR",
    ttl: 4000,
    flush: false,
    data: `Some rather long instance name number ${i}._peerlink._tcp.local`,
  }));
  const messages = packQueries([{ name: "_peerlink._tcp.local", type: "PTR", qu: false }], known);
  assert.ok(messages.length >= 3);
  assert.equal(messages[0].questions.length, 1);
  assert.ok(messages.slice(1).every((m) => m.questions.length === 0));
  assert.deepEqual(messages.map((m) => m.truncated === true), [...messages.slice(1).map(() => true), false]);
  assert.equal(messages.flatMap((m) => m.answers).length, 40);
  for (const m of messages) assert.ok(encodeMessage(m).length <= 1440);
});
