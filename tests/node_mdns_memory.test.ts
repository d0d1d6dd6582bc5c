import { test } from "node:test";
import assert from "node:assert/strict";
import { Discovery } from "../src/discovery.ts";
import { deriveRealm } from "../src/derive.ts";
import { currentPeer } from "../src/rpc/context.ts";
import { PeerNotFound, PeerTimeoutError } from "../src/errors.ts";
import { NameConflictError } from "../src/mdns/errors.ts";
import { NodeWorld } from "./support/node_world.ts";

test("PeerLink over mDNS (memory): two nodes discover each other, call, fan out and see goodbye", async () => {
  const w = new NodeWorld();
  try {
    const a = w.node("10.0.0.1", "Alpha").register("add", (x: number, y: number) => x + y);
    const b = w.node("10.0.0.2", "Beta").register("who", () => currentPeer()?.name);
    const downs: string[] = [];
    a.on("peer-down", (p, reason) => downs.push(`${p.name}:${reason}`));
    await w.start(a, b);
    assert.deepEqual(a.peers().map((p) => [p.name, p.address, p.udpPort, p.tcpPort]), [
      ["Beta", "10.0.0.2", b.ports!.udpPort, b.ports!.tcpPort],
    ]);
    const seen = a.peers()[0];
    assert.deepEqual(seen.capabilities, ["persist", "bin", "dedupe"]);
    assert.ok(seen.runtime === "deno" || seen.runtime === "bun" || seen.runtime === "node");
    assert.match(seen.version ?? "", /^\d+\.\d+\.\d+/);

    assert.equal(await w.during(b.call("Alpha", "add", [1, 2], { transport: "udp" }), 1000), 3);
    assert.equal(await w.during(b.call("Alpha", "add", [1, 2], { transport: "tcp" }), 1000), 3);
    assert.equal(await w.during(b.peer("Alpha").add(5, 5), 1000), 10);
    assert.equal(await w.during(a.call("Beta", "who"), 1000), "Alpha");
    const fanOut = await w.during(a.call("ALL", "who"), 1000);
    assert.deepEqual(fanOut.map((r) => [r.peer, r.ok]), [["Beta", true]]);

    const stopping = b.stop();
    await w.clock.advance(100);
    await stopping;
    assert.deepEqual(downs, ["Beta:goodbye"]);
    assert.throws(() => a.peer("Beta"), PeerNotFound);
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): a peer that vanished is reported down soon after a failed call", async () => {
  const w = new NodeWorld();
  try {
    const a = w.node("10.0.0.1", "Alpha");
    const b = w.node("10.0.0.2", "Beta");
    const downs: string[] = [];
    a.on("peer-down", (p, reason) => downs.push(`${p.name}:${reason}`));
    await w.start(a, b);
    w.network.detach("10.0.0.2");
    const failed = await w.during(a.call("Beta", "__ping__", [], { timeout: 500 }).catch((e) => e), 1000);
    assert.ok(failed instanceof PeerTimeoutError, String(failed));
    await w.clock.advance(5000); // far below the 120 s record TTL
    assert.deepEqual(downs, ["Beta:expired"]);
    assert.deepEqual(a.peers(), []);
  } finally {
    w.network.attach("10.0.0.2");
    await w.close();
  }
});

test("PeerLink over mDNS (memory): nodes of different realms never see each other", async () => {
  const w = new NodeWorld();
  try {
    const x = w.node("10.0.0.1", "X", { secret: "kitchen" });
    const y = w.node("10.0.0.2", "Y", { secret: "kitchen" });
    const z = w.node("10.0.0.3", "Z", { secret: "garage" });
    const open = w.node("10.0.0.4", "Open");
    await w.start(x, y, z, open);
    // Proofs are checked with Web Crypto, in real time: advance until both have checked, then
    // give the nodes of other realms the same time to (wrongly) accept anyone.
    await w.until(() => x.peers().length > 0 && y.peers().length > 0);
    await w.until(() => false, 1000);
    assert.deepEqual(x.peers().map((p) => p.name), ["Y"]);
    assert.deepEqual(y.peers().map((p) => p.name), ["X"]);
    assert.deepEqual(z.peers(), []);
    assert.deepEqual(open.peers(), []);
    assert.throws(() => x.peer("Z"), PeerNotFound);
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): a taken name rejects start(); allowRename takes 'Name (2)' and is callable", async () => {
  const w = new NodeWorld();
  try {
    const first = w.node("10.0.0.1", "Dup").register("id", () => "first");
    await w.start(first);
    const second = w.node("10.0.0.2", "Dup");
    await assert.rejects(w.start(second), NameConflictError);
    assert.equal(second.started, false);
    const renamed = w.node("10.0.0.3", "Dup", { allowRename: true }).register("id", () => "renamed");
    const caller = w.node("10.0.0.4", "Caller").register("who", () => currentPeer()?.name);
    await w.start(renamed, caller);
    assert.equal(renamed.name, "Dup (2)");
    assert.deepEqual(caller.peers().map((p) => p.name), ["Dup", "Dup (2)"]);
    assert.equal(await w.during(caller.call("Dup (2)", "id"), 1000), "renamed");
    assert.equal(await w.during(caller.call("Dup", "id"), 1000), "first");
    // Requests from the renamed node carry its new name.
    assert.equal(await w.during(renamed.call("Caller", "who"), 1000), "Dup (2)");
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): nodes with a secret seal their calls and prove their announcements", async () => {
  const w = new NodeWorld();
  try {
    const a = w.node("10.0.0.1", "A", { secret: "correct horse battery staple" }).register("f", () => "sealed");
    const b = w.node("10.0.0.2", "B", { secret: "correct horse battery staple" });
    await w.start(a, b);
    await w.until(() => b.peers().length > 0 && a.peers().length > 0);
    assert.deepEqual(b.peers().map((p) => p.name), ["A"]);
    assert.match(b.peers()[0].txt.auth ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await w.during(b.call("A", "f", [], { transport: "udp" }), 1000), "sealed");
    assert.equal(await w.during(b.call("A", "f", [], { transport: "tcp" }), 1000), "sealed");
    const security = b.stats()!.security;
    assert.equal(security.enabled, true);
    assert.ok(security.sealed >= 2 && security.opened >= 2, JSON.stringify(security));
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): a secret node ignores peers without a proof unless allowInsecurePeers", async () => {
  const w = new NodeWorld();
  const secret = "kitchen-lan-secret";
  try {
    // A Python 1.2 node with the same secret: same service type (realm), no proof, plaintext RPC.
    const python = w.node("10.0.0.1", "Py", { realm: deriveRealm(secret) }).register("f", () => "plain");
    const strict = w.node("10.0.0.2", "Strict", { secret });
    const lenient = w.node("10.0.0.3", "Lenient", { secret, allowInsecurePeers: true }).register("g", () => "ok");
    await w.start(python, strict, lenient);
    await w.until(() => lenient.peers().length === 2 && strict.peers().length > 0);
    assert.deepEqual(strict.peers().map((p) => p.name), ["Lenient"]);
    assert.deepEqual(lenient.peers().map((p) => p.name), ["Py", "Strict"]);
    assert.throws(() => strict.peer("Py"), PeerNotFound);
    assert.equal(await w.during(lenient.call("Py", "f"), 1000), "plain");
    assert.equal(await w.during(python.call("Lenient", "g"), 1000), "ok");
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): an announcement with a forged proof is refused even with allowInsecurePeers", async () => {
  const w = new NodeWorld();
  const secret = "garage-secret";
  try {
    const forger = w.node("10.0.0.1", "Forger", {
      realm: deriveRealm(secret),
      discovery: (o) => new Discovery({ ...o, txt: { ...o.txt, auth: "A".repeat(43) } }),
    });
    const victim = w.node("10.0.0.2", "Victim", { secret, allowInsecurePeers: true });
    await w.start(forger, victim);
    await w.until(() => forger.peers().length > 0);
    await w.until(() => victim.peers().length > 0, 2000); // gives the refused proof time to be checked
    assert.deepEqual(forger.peers().map((p) => p.name), ["Victim"]);
    assert.deepEqual(victim.peers(), []);
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): a renamed node with a secret republishes a valid proof", async () => {
  const w = new NodeWorld();
  const secret = "shared";
  try {
    const first = w.node("10.0.0.1", "Dup", { secret });
    await w.start(first);
    const second = w.node("10.0.0.2", "Dup", { secret, allowRename: true }).register("id", () => "second");
    await w.start(second);
    await w.until(() => first.peers().length > 0);
    assert.equal(second.name, "Dup (2)");
    assert.deepEqual(first.peers().map((p) => p.name), ["Dup (2)"]);
    assert.equal(await w.during(first.call("Dup (2)", "id"), 1000), "second");
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): the option discoveryLimits bounds the peer table", async () => {
  const w = new NodeWorld();
  try {
    const small = w.node("10.0.0.1", "Small", { discoveryLimits: { maxPeers: 1 } });
    const peers = [w.node("10.0.0.2", "P1"), w.node("10.0.0.3", "P2")];
    await w.start(small, ...peers);
    await w.clock.advance(5000);
    assert.equal(small.peers().length, 1, "one peer listed, the other refused");
    assert.equal(peers[0].peers().length, 2, "the others list everyone");
    const bad = w.node("10.0.0.4", "Bad", { discoveryLimits: { maxPeers: 0 } });
    await assert.rejects(bad.start(), /discovery limit maxPeers must be a positive integer, got 0/);
  } finally {
    await w.close();
  }
});
