import { test } from "node:test";
import assert from "node:assert/strict";
import { Lan, memoryLogger } from "./support/mdns_harness.ts";
import { Discovery, type DiscoveryOptions, type PeerDownReason, type PeerInfo } from "../src/discovery.ts";
import { NameConflictError } from "../src/mdns/mod.ts";
import { decodeTxt } from "../src/mdns/txt.ts";
import type { MdnsRecord } from "../src/mdns/records.ts";
import { mulberry32 } from "../src/testing/prng.ts";

const te = new TextEncoder();

class World {
  readonly lan = new Lan({ seed: 21 });
  readonly nodes: Discovery[] = [];
  #n = 0;

  discovery(i: number, name: string, extra: Partial<DiscoveryOptions> = {}): Discovery {
    const d = new Discovery({
      runtime: this.lan.host(i),
      clock: this.lan.clock,
      logger: memoryLogger(),
      random: mulberry32(100 + i * 13 + this.#n++),
      name,
      udpPort: 40000 + i,
      tcpPort: 41000 + i,
      instanceId: `id-${name}-${i}-${this.#n}`,
      ...extra,
    });
    this.nodes.push(d);
    return d;
  }

  async started(i: number, name: string, extra: Partial<DiscoveryOptions> = {}): Promise<Discovery> {
    const d = this.discovery(i, name, extra);
    const p = d.start();
    await this.lan.advance(1500);
    await p;
    return d;
  }

  async close(): Promise<void> {
    for (const d of this.nodes) await d.stop();
    await this.lan.close();
  }
}

function recorder(d: Discovery) {
  const log: string[] = [];
  d.on("peer-up", (p) => log.push(`up ${p.name} ${p.address}:${p.udpPort}`));
  d.on("peer-down", (p, r) => log.push(`down ${p.name} ${r}`));
  return log;
}

test("two nodes discover each other with ports, instance id, runtime, version, capabilities and TXT", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha", { txt: { ext: "dedupe,binary", rt: "deno", ver: "0.1.0" } });
    const b = await w.started(2, "Beta");
    await w.lan.advance(2000);
    const [seenByB] = b.peers();
    assert.equal(seenByB.name, "Alpha");
    assert.equal(seenByB.address, "10.0.0.1");
    assert.equal(seenByB.udpPort, 40001);
    assert.equal(seenByB.tcpPort, 41001);
    assert.match(seenByB.instanceId, /^id-Alpha-1/);
    assert.equal(seenByB.runtime, "deno");
    assert.equal(seenByB.version, "0.1.0");
    assert.deepEqual(seenByB.capabilities, ["dedupe", "binary"]);
    assert.equal(seenByB.txt.node, "Alpha");
    assert.deepEqual(a.peers().map((p) => [p.name, p.udpPort, p.capabilities]), [["Beta", 40002, []]]);
  } finally {
    await w.close();
  }
});

test("what goes on the wire is what Python PeerLink 1.2 publishes and reads", async () => {
  const w = new World();
  try {
    const tap = await w.lan.sniffer(9);
    await w.started(1, "Alpha");
    const answers = tap.responses().flatMap((c) => c.message.answers);
    const ptr = answers.find((r) => r.type === "PTR" && r.name === "_peerlink._tcp.local");
    assert.equal(ptr?.data, "Alpha._peerlink._tcp.local");
    const srv = answers.find((r) => r.type === "SRV");
    assert.ok(srv?.type === "SRV" && srv.data.port === 40001, "SRV port is the UDP port");
    const txt = answers.find((r) => r.type === "TXT");
    assert.ok(txt?.type === "TXT");
    const attrs = decodeTxt(txt.data);
    assert.equal(attrs.node, "Alpha");
    assert.equal(attrs.udp_port, "40001");
    assert.equal(attrs.tcp_port, "41001");
    assert.match(String(attrs.instance_id), /^id-Alpha/);
  } finally {
    await w.close();
  }
});

test("a node never reports itself", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alone");
    const log = recorder(a);
    await w.lan.advance(10_000);
    assert.deepEqual(a.peers(), []);
    assert.deepEqual(log, []);
  } finally {
    await w.close();
  }
});

test("stop() is seen as peer-down (goodbye) at once", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    const b = await w.started(2, "Beta");
    await w.lan.advance(2000);
    const log = recorder(a);
    await b.stop();
    await w.lan.advance(0);
    assert.deepEqual(log, ["down Beta goodbye"]);
    assert.deepEqual(a.peers(), []);
  } finally {
    await w.close();
  }
});

test("a peer that restarts with a new instance id and port is reported down (replaced), then up", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    await w.started(2, "Beta");
    await w.lan.advance(2000);
    const log = recorder(a);
    await w.lan.host(2).closeAll(); // crash: no goodbye
    await w.started(2, "Beta", { udpPort: 45555, instanceId: "id-Beta-restarted" });
    await w.lan.advance(2000);
    assert.deepEqual(log, ["down Beta replaced", "up Beta 10.0.0.2:45555"]);
    assert.equal(a.resolve("Beta")?.instanceId, "id-Beta-restarted");
  } finally {
    await w.close();
  }
});

test("lastSeen is refreshed by every announcement", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    await w.started(2, "Beta");
    await w.lan.advance(500);
    const first = a.resolve("Beta")!.lastSeen;
    await w.lan.advance(10_000); // Beta announces again at 7 and 15 s after it started
    const later = a.resolve("Beta")!.lastSeen;
    assert.ok(later - first >= 3000, `lastSeen moved by ${later - first} ms`);
  } finally {
    await w.close();
  }
});

test("reportUnreachable(): a vanished peer is reported down (expired) within 2 s; a live one is not", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    await w.started(2, "Gone");
    await w.started(3, "Live");
    await w.lan.advance(2000);
    const log = recorder(a);
    w.lan.net.detach("10.0.0.2");
    a.reportUnreachable("Gone");
    a.reportUnreachable("Live");
    a.reportUnreachable("Nobody");
    await w.lan.advance(2000);
    assert.deepEqual(log, ["down Gone expired"]);
    assert.deepEqual(a.peers().map((p) => p.name), ["Live"]);
  } finally {
    await w.close();
  }
});

test("a peer whose records expire unanswered is reported down (expired)", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    await w.started(2, "Beta");
    await w.lan.advance(2000);
    const log = recorder(a);
    w.lan.net.detach("10.0.0.2");
    await w.lan.advance(125_000);
    assert.deepEqual(log, ["down Beta expired"]);
  } finally {
    await w.close();
  }
});

test("waitForPeers() resolves once enough peers are known and rejects on timeout listing the known ones", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    const wait = a.waitForPeers(2, { timeout: 10_000 });
    await w.started(2, "Beta");
    await w.started(3, "Gamma");
    await w.lan.advance(1000);
    assert.deepEqual((await wait).map((p) => p.name).sort(), ["Beta", "Gamma"]);
    const tooMany = a.waitForPeers(5, { timeout: 1000 }).then(() => "resolved", (e) => e);
    await w.lan.advance(1000);
    const err = await tooMany;
    assert.ok(err instanceof Error);
    assert.equal((err as { code?: string }).code, "TIMEOUT");
    assert.match(err.message, /found 2 of 5 peers within 1000 ms\. Known: \['Beta', 'Gamma'\]/);
    const controller = new AbortController();
    const aborted = a.waitForPeers(9, { timeout: 60_000, signal: controller.signal }).then(() => "resolved", (e) => e);
    controller.abort(new Error("user gave up"));
    assert.match(String(await aborted), /user gave up/);
  } finally {
    await w.close();
  }
});

test("resolve() matches names exactly", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    await w.started(2, "NodeB");
    await w.lan.advance(1000);
    assert.equal(a.resolve("NodeB")?.name, "NodeB");
    assert.equal(a.resolve("Node"), undefined);
    assert.equal(a.resolve("nodeb"), undefined);
  } finally {
    await w.close();
  }
});

test("realms: nodes of different realms, or with and without one, never see each other", async () => {
  const w = new World();
  try {
    const r1 = await w.started(1, "R1", { realm: "0123456789abcdef" });
    const r1b = await w.started(2, "R1b", { realm: "0123456789abcdef" });
    const r2 = await w.started(3, "R2", { realm: "fedcba9876543210" });
    const open = await w.started(4, "Open");
    await w.lan.advance(3000);
    assert.deepEqual(r1.peers().map((p) => p.name), ["R1b"]);
    assert.deepEqual(r1b.peers().map((p) => p.name), ["R1"]);
    assert.deepEqual(r2.peers(), []);
    assert.deepEqual(open.peers(), []);
  } finally {
    await w.close();
  }
});

function announce(type: string, name: string, txt: string[], address = "10.0.0.7"): MdnsRecord[] {
  const full = `${name}.${type}`;
  return [
    { name: type, type: "PTR", ttl: 4500, flush: false, data: full },
    {
      name: full,
      type: "SRV",
      ttl: 120,
      flush: true,
      data: { priority: 0, weight: 0, port: 50999, target: "py.local" },
    },
    { name: full, type: "TXT", ttl: 4500, flush: true, data: txt.map((s) => te.encode(s)) },
    { name: "py.local", type: "A", ttl: 120, flush: true, data: address },
  ];
}

test("a TXT realm that does not match ours is ignored even on our service type; a Python peer without one is accepted", async () => {
  const w = new World();
  try {
    const realm = "0123456789abcdef";
    const a = await w.started(1, "Alpha", { realm });
    const fake = await w.lan.sniffer(7);
    const type = `_peerlink-${realm}._tcp.local`;
    const send = (records: MdnsRecord[]) =>
      fake.send({ id: 0, response: true, questions: [], answers: records, authorities: [], additionals: [] });
    await send(
      announce(type, "Intruder", ["node=Intruder", "udp_port=1", "tcp_port=2", "instance_id=x", "realm=ffff"]),
    );
    await send(announce(type, "Python", ["node=Python", "udp_port=50999", "tcp_port=51000", "instance_id=py1"]));
    await w.lan.advance(100);
    assert.deepEqual(a.peers().map((p) => [p.name, p.udpPort, p.tcpPort, p.instanceId, p.capabilities]), [
      ["Python", 50999, 51000, "py1", []],
    ]);
  } finally {
    await w.close();
  }
});

test("acceptPeer decides which peers are reported (sync or async)", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha", {
      acceptPeer: async (p: PeerInfo) => {
        await Promise.resolve();
        return p.txt.proof === "ok";
      },
    });
    await w.started(2, "Good", { txt: { proof: "ok" } });
    await w.started(3, "Bad", { txt: { proof: "forged" } });
    await w.lan.advance(2000);
    assert.deepEqual(a.peers().map((p) => p.name), ["Good"]);
  } finally {
    await w.close();
  }
});

test("acceptPeer: at most maxPendingChecks run at once, in order; a verdict on a superseded announcement or a departed peer is dropped", async () => {
  const w = new World();
  try {
    const pending: Array<{ name: string; id: string; decide: (ok: boolean) => void }> = [];
    const a = await w.started(1, "Alpha", {
      limits: { maxPendingChecks: 2 },
      acceptPeer: (p) => new Promise<boolean>((decide) => pending.push({ name: p.name, id: p.instanceId, decide })),
    });
    await w.started(2, "B");
    await w.started(3, "C");
    const d = await w.started(4, "D");
    await w.lan.advance(2000);
    assert.deepEqual(pending.map((p) => p.name), ["B", "C"]);
    assert.deepEqual([a.stats().checking, a.stats().queued], [2, 1]);
    // B restarts while its check runs: that verdict is about an announcement that is gone.
    await w.lan.host(2).closeAll();
    await w.started(2, "B", { instanceId: "id-B-again", udpPort: 45555 });
    await w.lan.advance(2000);
    pending.shift()!.decide(true);
    pending.shift()!.decide(true);
    await w.lan.advance(10);
    assert.deepEqual(a.peers().map((p) => p.name), ["C"]);
    assert.deepEqual(pending.map((p) => [p.name, p.id.startsWith("id-D") ? "D's" : p.id]), [["D", "D's"], [
      "B",
      "id-B-again",
    ]]);
    // D leaves while its check runs: admitting it now would list a peer that is gone.
    await d.stop();
    await w.lan.advance(100);
    pending.shift()!.decide(true);
    pending.shift()!.decide(true);
    await w.lan.advance(10);
    assert.deepEqual(a.peers().map((p) => [p.name, p.udpPort]), [["B", 45555], ["C", 40003]]);
    assert.deepEqual(
      [a.stats().checking, a.stats().queued, a.stats().kept],
      [0, 0, 2],
      "admitted through acceptPeer: kept",
    );
  } finally {
    await w.close();
  }
});

test('a name in use rejects start() with NameConflictError; allowRename takes "Name (2)" and says so in TXT', async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Worker");
    const clash = w.discovery(2, "Worker");
    const failed = clash.start().then(() => "started", (e) => e);
    await w.lan.advance(2000);
    assert.ok((await failed) instanceof NameConflictError);
    const renamed = await w.started(3, "Worker", { allowRename: true });
    await w.lan.advance(1500);
    assert.equal(renamed.name, "Worker (2)");
    const seen = a.resolve("Worker (2)");
    assert.equal(seen?.txt.node, "Worker (2)");
    assert.equal(seen?.udpPort, 40003);
  } finally {
    await w.close();
  }
});

test("reserved TXT keys cannot be overridden, and an invalid name is refused", () => {
  const w = new World();
  assert.throws(() => w.discovery(1, "X", { txt: { node: "Y" } }), /TXT key "node" is set by PeerLink/);
  assert.throws(() => w.discovery(1, "a.b"), /dot/);
});

test("peer-up and peer-down listeners can unsubscribe, and a throwing listener does not break discovery", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    const seen: string[] = [];
    a.on("peer-up", () => {
      throw new Error("listener bug");
    });
    const off = a.on("peer-up", (p) => seen.push(p.name));
    const downs: PeerDownReason[] = [];
    a.on("peer-down", (_p, r) => downs.push(r));
    await w.started(2, "Beta");
    off();
    await w.started(3, "Gamma");
    await w.lan.advance(1000);
    assert.deepEqual(seen, ["Beta"]);
    assert.deepEqual(a.peers().map((p) => p.name).sort(), ["Beta", "Gamma"]);
  } finally {
    await w.close();
  }
});

test("resolve() and peers() reflect a re-announcement's lastSeen at once; earlier snapshots stay as they were", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    const fake = await w.lan.sniffer(7);
    const records = announce("_peerlink._tcp.local", "Python", ["udp_port=50999", "instance_id=py1"]);
    const send = () =>
      fake.send({ id: 0, response: true, questions: [], answers: records, authorities: [], additionals: [] });
    await send();
    await w.lan.advance(0);
    const first = a.resolve("Python");
    assert.ok(first, "the peer is known after its first announcement");
    await w.lan.advance(5000);
    await send();
    await w.lan.advance(0);
    const again = a.resolve("Python");
    assert.equal(again?.lastSeen, first.lastSeen + 5000);
    assert.equal(a.peers().find((p) => p.name === "Python")?.lastSeen, first.lastSeen + 5000);
    assert.equal(again.instanceId, "py1");
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.txt), "handed-out peers are immutable snapshots");
    assert.notEqual(first.lastSeen, again.lastSeen, "an earlier snapshot keeps its own lastSeen");
  } finally {
    await w.close();
  }
});

test("resolve() reports a replaced peer's new instance and port at once, with down (replaced) then up", async () => {
  const w = new World();
  try {
    const a = await w.started(1, "Alpha");
    const fake = await w.lan.sniffer(7);
    const send = (records: MdnsRecord[]) =>
      fake.send({ id: 0, response: true, questions: [], answers: records, authorities: [], additionals: [] });
    const type = "_peerlink._tcp.local";
    await send(announce(type, "Python", ["udp_port=50999", "tcp_port=51000", "instance_id=py1"]));
    await w.lan.advance(2000);
    assert.equal(a.resolve("Python")?.udpPort, 50999);
    const log = recorder(a);
    await send(announce(type, "Python", ["udp_port=50777", "tcp_port=50778", "instance_id=py2"]));
    await w.lan.advance(0);
    const now = a.resolve("Python");
    assert.deepEqual([now?.instanceId, now?.address, now?.udpPort, now?.tcpPort], ["py2", "10.0.0.7", 50777, 50778]);
    assert.deepEqual(a.peers().map((p) => [p.name, p.instanceId]), [["Python", "py2"]]);
    assert.deepEqual(log, ["down Python replaced", "up Python 10.0.0.7:50777"]);
  } finally {
    await w.close();
  }
});
