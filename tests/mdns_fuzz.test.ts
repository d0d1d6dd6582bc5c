import { test } from "node:test";
import assert from "node:assert/strict";
import { Lan, query } from "./support/mdns_harness.ts";
import { decodeMessage, encodeMessage } from "../src/mdns/packet.ts";
import { mulberry32 } from "../src/testing/prng.ts";
import { mutate } from "./support/fuzz_mutate.ts";
import { fuzzSeed, INJECTED_FAULTS, withFault } from "./support/fuzz.ts";

/** Real packets: captured from a small LAN run, plus hand-made compressed ones. */
async function corpus(): Promise<Uint8Array[]> {
  const lan = new Lan({ seed: 11 });
  const packets: Uint8Array[] = [];
  try {
    const tap = await lan.sniffer(9);
    const a = await lan.node(1);
    const b = await lan.node(2);
    b.browse("_peerlink._tcp");
    const p = a.publish({
      instance: "Fuzz Target",
      type: "_peerlink._tcp",
      port: 4242,
      txt: { node: "Fuzz Target", udp_port: "4242", flag: true },
      subtypes: ["_sub1"],
    });
    await lan.advance(5000);
    await (await p).unpublish();
    await lan.advance(100);
    for (const c of tap.received) packets.push(encodeMessage(c.message));
    packets.push(encodeMessage(query([{ name: "_peerlink._tcp.local", type: "PTR", qu: true }], { id: 77 })));
  } finally {
    await lan.close();
  }
  // A compressed response as Bonjour would write it: PTR, SRV and TXT sharing name suffixes.
  packets.push(Uint8Array.from([
    ...[0, 0, 0x84, 0, 0, 0, 0, 3, 0, 0, 0, 0],
    ...[5, 0x5f, 0x68, 0x74, 0x74, 0x70, 4, 0x5f, 0x74, 0x63, 0x70, 5, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0],
    ...[0, 12, 0, 1, 0, 0, 0x11, 0x94, 0, 5, 2, 0x68, 0x69, 0xc0, 12],
    ...[0xc0, 40, 0, 33, 0x80, 1, 0, 0, 0, 120, 0, 8, 0, 0, 0, 0, 0, 80, 0xc0, 40],
    ...[0xc0, 40, 0, 16, 0x80, 1, 0, 0, 0, 120, 0, 4, 3, 0x61, 0x3d, 0x62],
  ]));
  return packets;
}

function randomPacket(random: () => number): Uint8Array {
  const length = Math.floor(random() * (random() < 0.9 ? 300 : 9100));
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (random() * 256) | 0;
  if (length >= 12 && random() < 0.7) {
    bytes[2] &= 0x87; // opcode 0
    bytes[3] &= 0xf0; // rcode 0
    for (const i of [4, 6, 8, 10]) bytes[i] = 0;
  }
  return bytes;
}

function* inputs(seeds: Uint8Array[], count: number, seed: number): Generator<Uint8Array> {
  const random = mulberry32(seed);
  for (let i = 0; i < count; i++) {
    yield random() < 0.35 ? randomPacket(random) : mutate(random, seeds[Math.floor(random() * seeds.length)]);
  }
}

/** What decoding `count` fuzz packets gave. */
interface DecodeReport {
  count: number;
  ok: number;
  dropped: number;
  /** Packets where the decoder itself failed (`internal` set): bugs, not bad input. */
  internal: number;
  reasons: Map<string, number>;
  elapsed: number;
  slowest: number;
}

function decodeFuzz(seeds: Uint8Array[], count: number, seed: number): DecodeReport {
  const report = { count, ok: 0, dropped: 0, internal: 0, reasons: new Map<string, number>(), elapsed: 0, slowest: 0 };
  const started = performance.now();
  for (const bytes of inputs(seeds, count, seed)) {
    const t = performance.now();
    const r = decodeMessage(bytes); // must not throw
    report.slowest = Math.max(report.slowest, performance.now() - t);
    if (r.ok) report.ok++;
    else {
      report.dropped++;
      if (r.internal !== undefined) report.internal++;
      const key = r.reason.replace(/\d+/g, "N").slice(0, 40);
      report.reasons.set(key, (report.reasons.get(key) ?? 0) + 1);
    }
  }
  report.elapsed = performance.now() - started;
  return report;
}

/** The decode fuzz test's assertions; the first is the internal-error count. */
function checkDecodeFuzz(r: DecodeReport): void {
  assert.equal(r.internal, 0, `${r.internal} internal errors: the decoder threw where the walk should have refused`);
  const decoderErrors = [...r.reasons.keys()].filter((k) => k.startsWith("decoder error"));
  assert.deepEqual(decoderErrors, [], "the walker caught everything before dns-packet could throw");
  assert.equal(r.ok + r.dropped, r.count, "every packet reached the decoder and got an outcome");
  assert.ok(r.ok > r.count / 20, `a fair share still decodes (${r.ok}), so the later layers get exercised`);
  assert.ok(r.dropped > r.count / 5, `${r.dropped} dropped`);
  // Generous bounds (10x what a loaded 2-core machine needs): the walk's limits keep each packet linear.
  assert.ok(r.elapsed < r.count * 2, `took ${r.elapsed} ms`);
  assert.ok(r.slowest < 1000, `slowest packet took ${r.slowest} ms`);
}

test("fuzz: 100,000 random and mutated packets reach the decoder and are decoded or dropped with a reason; no internal error", async () => {
  const report = decodeFuzz(await corpus(), 100_000, fuzzSeed("mdns decode"));
  console.log(`mdns decode fuzz: ${report.ok} decoded, ${report.dropped} dropped, ${report.internal} internal errors`);
  checkDecodeFuzz(report);
});

test("fuzz (can fail): an injected fault in the walk or in dns-packet's step makes the decode check fail", async () => {
  const seeds = await corpus();
  for (const site of ["mdns.walk", "mdns.decode"] as const) {
    const { result, thrown } = await withFault(
      INJECTED_FAULTS.onePercent(site),
      () => Promise.resolve(decodeFuzz(seeds, 3_000, fuzzSeed("mdns decode, fault"))),
    );
    assert.ok(thrown > 0, `the ${site} fault fired`);
    assert.equal(result.internal, thrown, "each fault came back as an internal error, not as a drop reason");
    assert.throws(() => checkDecodeFuzz(result), /internal errors/);
  }
});

/** What the responder under fire counted. */
interface ResponderReport {
  sent: number;
  /** Datagrams that reached the target's decoder (accepted, or dropped after decoding), by its own counters. */
  decoded: number;
  internalErrors: number;
  stillAnswers: boolean;
  resolvedPort: number | undefined;
  cacheSize: number;
}

async function responderFuzz(seeds: Uint8Array[], count: number, seed: number): Promise<ResponderReport> {
  const lan = new Lan({ seed: 5 });
  try {
    const target = await lan.node(1);
    const peer = await lan.node(2);
    const seen: string[] = [];
    target.browse("_peerlink._tcp", { onUp: (i) => seen.push(i.name) });
    const pt = target.publish({ instance: "Target", type: "_peerlink._tcp", port: 1, allowRename: true });
    const pp = peer.publish({ instance: "Peer", type: "_peerlink._tcp", port: 2 });
    await lan.advance(40_000);
    await Promise.all([pt, pp]);
    assert.ok(seen.includes("Peer"));
    const attacker = await lan.sniffer(9);
    let sent = 0;
    for (const bytes of inputs(seeds, count, seed)) {
      await attacker.sendRaw(bytes);
      if (++sent % 2000 === 0) await lan.advance(50); // let timers run (answers, expiries)
    }
    await lan.advance(5000);
    const stats = target.stats.transport;
    let decoded = stats.accepted + (stats.dropped["response not from port 5353"] ?? 0) + stats.internalErrors;
    for (const [reason, n] of Object.entries(stats.dropped)) if (reason.startsWith("malformed: ")) decoded += n;
    // Still working: answers a legitimate query and resolves the real peer.
    attacker.clear();
    await attacker.send(query([{ name: "_peerlink._tcp.local", type: "PTR" }]));
    await lan.advance(2000);
    const stillAnswers = attacker.responses().some((c) => c.address === "10.0.0.1");
    const r = target.resolve("Peer", "_peerlink._tcp", { timeout: 5000 });
    await lan.advance(5000);
    const resolvedPort = await r.then((s) => s.port, () => undefined);
    return {
      sent,
      decoded,
      internalErrors: stats.internalErrors + peer.stats.transport.internalErrors,
      stillAnswers,
      resolvedPort,
      cacheSize: target.stats.cacheSize,
    };
  } finally {
    await lan.close();
  }
}

/** The responder fuzz test's assertions; the first is the internal-error count. */
function checkResponderFuzz(r: ResponderReport, floor: number): void {
  assert.equal(r.internalErrors, 0, `${r.internalErrors} internal errors: a decoder or handler threw a bug`);
  assert.ok(r.decoded >= floor, `only ${r.decoded} of ${r.sent} packets reached the target's decoder`);
  assert.ok(r.stillAnswers, "the target still answers");
  assert.equal(r.resolvedPort, 2, "the target still resolves the real peer");
  assert.ok(r.cacheSize < 5000, `cache bounded: ${r.cacheSize}`);
}

test("fuzz: 100,000 packets reach a running responder's decoder (its own counts) and leave it working; no internal error", async () => {
  const report = await responderFuzz(await corpus(), 101_000, fuzzSeed("mdns responder"));
  console.log(`mdns responder fuzz: ${report.decoded} of ${report.sent} packets reached the target's decoder`);
  checkResponderFuzz(report, 100_000);
});

test("fuzz (can fail): an injected decoder fault makes the responder check fail", async () => {
  const seeds = await corpus();
  const { result, thrown } = await withFault(
    INJECTED_FAULTS.onePercent("mdns.decode"),
    () => responderFuzz(seeds, 3_000, fuzzSeed("mdns responder, fault")),
  );
  assert.ok(thrown > 0, "the fault fired");
  assert.ok(result.internalErrors > 0, "the nodes counted internal errors");
  assert.throws(() => checkResponderFuzz(result, 2_500), /internal errors/);
});
