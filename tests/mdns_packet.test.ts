import { test } from "node:test";
import assert from "node:assert/strict";
import dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";
import { decodeMessage, encodeMessage, type MdnsMessage, messageSize } from "../src/mdns/packet.ts";
import type { MdnsRecord } from "../src/mdns/records.ts";
import { compareRecordSets, rdataBytes } from "../src/mdns/records.ts";
import { walkMessage } from "../src/mdns/walk.ts";

const te = new TextEncoder();

function message(partial: Partial<MdnsMessage>): MdnsMessage {
  return { id: 0, response: false, questions: [], answers: [], authorities: [], additionals: [], ...partial };
}

function decodeOk(bytes: Uint8Array): MdnsMessage {
  const r = decodeMessage(bytes);
  if (!r.ok) throw new Error(`expected a message, got drop: ${r.reason}`);
  return r.message;
}

const service: MdnsRecord[] = [
  { name: "_peerlink._tcp.local", type: "PTR", ttl: 4500, flush: false, data: "Worker._peerlink._tcp.local" },
  {
    name: "Worker._peerlink._tcp.local",
    type: "SRV",
    ttl: 120,
    flush: true,
    data: { priority: 0, weight: 0, port: 50123, target: "pl-1.local" },
  },
  { name: "Worker._peerlink._tcp.local", type: "TXT", ttl: 120, flush: true, data: [te.encode("node=Worker")] },
  { name: "pl-1.local", type: "A", ttl: 120, flush: true, data: "192.168.1.7" },
  { name: "pl-1.local", type: "AAAA", ttl: 120, flush: true, data: "fe80::1" },
];

test("encodeMessage() and decodeMessage() round-trip every record type with TTLs and flush bits", () => {
  const bytes = encodeMessage(message({ response: true, answers: service.slice(0, 1), additionals: service.slice(1) }));
  const m = decodeOk(bytes);
  assert.equal(m.response, true);
  assert.deepEqual(m.answers, service.slice(0, 1));
  assert.deepEqual(m.additionals, service.slice(1));
  assert.equal(bytes.length, messageSize(message({ response: true, answers: service })));
});

test("responses carry the AA bit and queries do not", () => {
  const r = encodeMessage(message({ response: true, answers: service.slice(0, 1) }));
  const q = encodeMessage(message({ questions: [{ name: "_x._tcp.local", type: "PTR", qu: false }] }));
  assert.equal(dnsPacket.decode(Buffer.from(r)).flag_aa, true);
  assert.equal(dnsPacket.decode(Buffer.from(q)).flag_aa, false);
});

test("the QU bit is written and read (dns-packet alone cannot)", () => {
  const bytes = encodeMessage(message({
    questions: [
      { name: "a.local", type: "A", qu: true },
      { name: "b._x._tcp.local", type: "ANY", qu: false },
      { name: "c.local", type: "AAAA", qu: true },
    ],
  }));
  const raw = dnsPacket.decode(Buffer.from(bytes));
  assert.equal(raw.questions?.[0].class, "UNKNOWN_32769", "dns-packet shows the bit as an unknown class");
  const m = decodeOk(bytes);
  assert.deepEqual(m.questions.map((q) => [q.name, q.type, q.qu]), [
    ["a.local", "A", true],
    ["b._x._tcp.local", "ANY", false],
    ["c.local", "AAAA", true],
  ]);
});

test("the TC bit in a query round-trips (known answers continue in the next packet)", () => {
  const m = decodeOk(
    encodeMessage(message({ truncated: true, questions: [{ name: "_x._tcp.local", type: "PTR", qu: false }] })),
  );
  assert.equal(m.truncated, true);
});

test("a TXT string over 255 bytes is refused before encoding", () => {
  const bad: MdnsRecord = { name: "x._y._tcp.local", type: "TXT", ttl: 120, flush: true, data: [new Uint8Array(256)] };
  assert.throws(() => encodeMessage(message({ response: true, answers: [bad] })), /exceeds 255/);
});

test("names with labels over 63 bytes or dots in labels are refused with a NameError", () => {
  const long = "x".repeat(64) + ".local";
  assert.throws(() => encodeMessage(message({ questions: [{ name: long, type: "A", qu: false }] })), /at most 63/);
});

test("decodeMessage() drops short, oversized, non-QUERY opcode and non-zero rcode packets with reasons", () => {
  assert.match(reason(new Uint8Array(5)), /shorter/);
  assert.match(reason(new Uint8Array(9001)), /larger than 9000/);
  const ok = encodeMessage(message({ questions: [{ name: "a.local", type: "A", qu: false }] }));
  const opcode = ok.slice();
  opcode[2] |= 0x28; // opcode 5 (UPDATE)
  assert.match(reason(opcode), /opcode/);
  const rcode = ok.slice();
  rcode[3] |= 0x03;
  assert.match(reason(rcode), /rcode/);
});

function reason(bytes: Uint8Array): string {
  const r = decodeMessage(bytes);
  assert.equal(r.ok, false);
  return r.ok ? "" : r.reason;
}

test("decodeMessage() rejects compression loops and forward pointers without calling into dns-packet's decoder", () => {
  // header: 1 question; name = pointer to itself at offset 12
  const self = Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assert.match(reason(self), /backwards/);
  const forward = Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 0, 1, 0, 1]);
  assert.match(reason(forward), /backwards/);
});

test("decodeMessage() rejects long pointer chains in bounded time", () => {
  // Record 1: "a" with opaque rdata holding 4000 pointers, each to the previous one.
  // Record 2: its owner name points at the last pointer of the chain.
  const n = 4000;
  const rdata: number[] = [];
  for (let i = 0; i < n; i++) {
    const target = i === 0 ? 12 : 25 + 2 * (i - 1);
    rdata.push(0xc0 | (target >> 8), target & 0xff);
  }
  const last = 25 + 2 * (n - 1);
  const bytes = Uint8Array.from([
    ...[0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0],
    ...[1, 0x61, 0, 0xff, 0x00, 0, 1, 0, 0, 0, 10, (2 * n) >> 8, (2 * n) & 0xff, ...rdata],
    ...[0xc0 | (last >> 8), last & 0xff, 0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 10, 0, 0, 1],
  ]);
  const started = performance.now();
  assert.match(reason(bytes), /too many compression pointers/);
  assert.ok(performance.now() - started < 500, "bounded: the walk stops at 32 pointers instead of following them all");
});

test("decodeMessage() rejects impossible record counts before decoding", () => {
  const bytes = Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  assert.match(reason(bytes), /counts exceed/);
});

test("decodeMessage() rejects A records whose rdata is not 4 bytes (dns-packet would misread the rest)", () => {
  const good = encodeMessage(message({ response: true, answers: [service[3]] }));
  const bad = good.slice();
  bad[bad.length - 5] = 5; // rdlength low byte: 4 -> 5
  assert.match(reason(bad), /A rdata|past the end/);
});

test("truncating a valid packet anywhere yields a clean drop", () => {
  const bytes = encodeMessage(message({ response: true, answers: service }));
  for (let n = 0; n < bytes.length; n++) {
    const r = decodeMessage(bytes.subarray(0, n));
    assert.equal(r.ok, false, `prefix of ${n} bytes`);
  }
});

test("unknown types are kept with raw rdata, other classes and OPT records are dropped", () => {
  const raw = dnsPacket.encode({
    type: "response",
    answers: [
      { type: "HINFO", name: "h.local", ttl: 10, data: { cpu: "x", os: "y" } },
      { type: "A", name: "h.local", ttl: 10, class: "CH", data: "1.2.3.4" },
    ],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1440, options: [] } as unknown as dnsPacket.Answer],
  });
  const m = decodeOk(new Uint8Array(raw));
  assert.equal(m.answers.length, 1);
  const other = m.answers[0];
  assert.equal(other.type, "OTHER");
  if (other.type === "OTHER") {
    assert.equal(other.rrtype, 13);
    assert.deepEqual([...other.data], [1, 0x78, 1, 0x79]);
  }
  assert.equal(m.additionals.length, 0);
});

test("compressed names from other implementations decode", () => {
  // Hand-built response: PTR _x._tcp.local -> "i" + pointer to "_x._tcp.local" at offset 12.
  const name = [2, 0x5f, 0x78, 4, 0x5f, 0x74, 0x63, 0x70, 5, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0];
  const bytes = Uint8Array.from([
    0,
    0,
    0x84,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    ...name,
    0,
    12,
    0,
    1,
    0,
    0,
    0x11,
    0x94,
    0,
    4,
    1,
    0x69,
    0xc0,
    12,
  ]);
  const m = decodeOk(bytes);
  assert.deepEqual(m.answers[0], {
    name: "_x._tcp.local",
    type: "PTR",
    ttl: 4500,
    flush: false,
    data: "i._x._tcp.local",
  });
});

test("walkMessage() reports question class offsets and record types", () => {
  const bytes = encodeMessage(
    message({ questions: [{ name: "a.local", type: "A", qu: true }], answers: [service[3]] }),
  );
  const w = walkMessage(bytes);
  assert.ok(typeof w !== "string");
  assert.equal(w.questions[0].classRaw, 0x8001);
  assert.equal(w.records[0].type, 1);
});

test("rdataBytes() gives wire rdata and compareRecordSets() orders by type then bytes", () => {
  assert.deepEqual([...rdataBytes(service[3])], [192, 168, 1, 7]);
  assert.deepEqual([...rdataBytes(service[4])].slice(0, 2), [0xfe, 0x80]);
  const a: MdnsRecord = { name: "h.local", type: "A", ttl: 120, flush: true, data: "10.0.0.1" };
  const b: MdnsRecord = { ...a, data: "10.0.0.2" };
  assert.ok(compareRecordSets([a], [b]) < 0);
  assert.ok(compareRecordSets([b], [a]) > 0);
  assert.equal(compareRecordSets([a, b], [b, a]), 0);
  assert.ok(compareRecordSets([a, b], [a]) > 0, "a longer list with an equal prefix wins");
});
