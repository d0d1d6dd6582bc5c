import { test } from "node:test";
import assert from "node:assert/strict";
import { Lan, query } from "./support/mdns_harness.ts";
import { decodeMessage, encodeMessage } from "../src/mdns/packet.ts";
import { mulberry32 } from "../src/testing/prng.ts";
import { mutate } from "./support/fuzz_mutate.ts";

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

test("fuzz: 100,000 random and mutated packets are decoded or dropped with a reason, never thrown, in bounded time", async () => {
  const seeds = await corpus();
  assert.ok(seeds.length >= 10, `corpus of ${seeds.length} real packets`);
  let ok = 0;
  let dropped = 0;
  const reasons = new Map<string, number>();
  const started = performance.now();
  let slowest = 0;
  for (const bytes of inputs(seeds, 100_000, 1)) {
    const t = performance.now();
    const r = decodeMessage(bytes); // must not throw
    slowest = Math.max(slowest, performance.now() - t);
    if (r.ok) ok++;
    else {
      dropped++;
      const key = r.reason.replace(/\d+/g, "N").slice(0, 40);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
  }
  const elapsed = performance.now() - started;
  assert.equal(ok + dropped, 100_000);
  assert.ok(ok > 5_000, `a fair share still decodes (${ok}), so the later layers get exercised`);
  assert.ok(dropped > 20_000, `${dropped} dropped`);
  assert.ok(!reasons.has("decoder error"), "the walker caught everything before dns-packet could throw");
  assert.ok(elapsed < 20_000, `took ${elapsed} ms`);
  assert.ok(slowest < 100, `slowest packet took ${slowest} ms`);
});

test("fuzz: 100,000 packets sent at a running responder and querier leave them working", async () => {
  const seeds = await corpus();
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
    const started = performance.now();
    let sent = 0;
    for (const bytes of inputs(seeds, 100_000, 2)) {
      await attacker.sendRaw(bytes);
      if (++sent % 2000 === 0) await lan.advance(50); // let timers run (answers, expiries)
    }
    await lan.advance(5000);
    const elapsed = performance.now() - started;
    const stats = target.stats.transport;
    assert.equal(stats.dropped["handler error"] ?? 0, 0, "no exception escaped the handlers");
    assert.ok(stats.received >= 100_000);
    assert.ok(elapsed < 60_000, `took ${elapsed} ms`);
    // Still working: answers a legitimate query and resolves the real peer.
    attacker.clear();
    await attacker.send(query([{ name: "_peerlink._tcp.local", type: "PTR" }]));
    await lan.advance(2000);
    assert.ok(attacker.responses().some((c) => c.address === "10.0.0.1"), "the target still answers");
    const r = target.resolve("Peer", "_peerlink._tcp", { timeout: 5000 });
    await lan.advance(5000);
    assert.equal((await r).port, 2);
    assert.ok(target.stats.cacheSize < 5000, `cache bounded: ${target.stats.cacheSize}`);
  } finally {
    await lan.close();
  }
});
