import { test } from "node:test";
import assert from "node:assert/strict";
import type { PeerLink } from "../../src/peerlink.ts";
import { Discovery, serviceTypeFor } from "../../src/discovery.ts";
import { encodeMessage } from "../../src/mdns/packet.ts";
import { derivePort, deriveRealm } from "../../src/derive.ts";
import type { PeerDiscovery } from "../../src/options.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import { InsecurePeerError, PeerLeftError, PeerNotFound, PeerTimeoutError, RemoteError } from "../../src/errors.ts";
import { NameConflictError } from "../../src/mdns/errors.ts";
import { NodeWorld } from "../support/node_world.ts";
import { runtimeName } from "../support/env.ts";

/**
 * Another host claims an instance name after its owner announced it (RFC 6762 section 9), twice:
 * the owner probes again, finds the name defended, and renames itself.
 */
async function claimName(w: NodeWorld, fullName: string): Promise<void> {
  const claim = encodeMessage({
    id: 0,
    response: true,
    questions: [],
    answers: [{
      name: fullName,
      type: "SRV",
      ttl: 120,
      flush: true,
      data: { priority: 0, weight: 0, port: 9, target: "intruder.local" },
    }],
    authorities: [],
    additionals: [],
  });
  const intruder = await w.network.host("10.0.0.9").bindDatagram(
    { address: "0.0.0.0", port: 5353, reuseAddress: true },
    () => {},
  );
  try {
    await intruder.send(claim, "224.0.0.251", 5353);
    await w.clock.advance(300);
    await intruder.send(claim, "224.0.0.251", 5353);
  } finally {
    await intruder.close();
  }
}

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
    assert.deepEqual(seen.capabilities, ["persist", "bin", "dedupe", "stream"]);
    assert.equal(seen.runtime, runtimeName, "the runtime that runs both nodes");
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
    // Advance until both have found each other, then give the nodes of other realms the
    // same time to (wrongly) accept anyone.
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

/**
 * A Python PeerLink 1.2 node as it really behaves with a secret: its discovery never sees the
 * secret, so it announces on the PUBLIC type `_peerlink._tcp` with Python's TXT keys only (no
 * realm, no proof, no extensions), and the secret only derives its ports. Its RPC is plaintext.
 */
function python12(w: NodeWorld, address: string, name: string, secret: string): PeerLink {
  const realm = deriveRealm(secret);
  return w.node(address, name, {
    port: derivePort(name, realm),
    tcpPort: derivePort(name, realm, "tcp"),
    discovery: (o) => new Discovery({ ...o, txt: {} }),
  });
}

test("PeerLink over mDNS (memory): a Python 1.2 node with the same secret (public type, no proof) is met only with allowInsecurePeers", async () => {
  const w = new NodeWorld();
  const secret = "kitchen-lan-secret";
  try {
    const python = python12(w, "10.0.0.1", "Py", secret).register("f", () => "plain");
    const strict = w.node("10.0.0.2", "Strict", { secret }).register("s", () => "sealed");
    const lenient = w.node("10.0.0.3", "Lenient", { secret, allowInsecurePeers: true }).register("g", () => "ok");
    await w.start(python, strict, lenient);
    await w.until(() => lenient.peers().length === 2 && strict.peers().length > 0 && python.peers().length > 0);
    await w.until(() => false, 1000); // time for anything wrong to show up
    assert.deepEqual(strict.peers().map((p) => p.name), ["Lenient"], "strict: only peers that proved the secret");
    assert.deepEqual(lenient.peers().map((p) => p.name), ["Py", "Strict"]);
    assert.deepEqual(
      python.peers().map((p) => p.name),
      ["Lenient"],
      "Python finds the lenient node on the public type",
    );
    assert.throws(() => strict.peer("Py"), PeerNotFound);
    assert.deepEqual(python.peers()[0].txt.realm, undefined, "the public announcement names no realm");
    // Both directions work, in plaintext, to Python's realm-derived ports.
    const py = lenient.peers().find((p) => p.name === "Py")!;
    assert.deepEqual([py.udpPort, py.tcpPort], [
      derivePort("Py", deriveRealm(secret)),
      derivePort("Py", deriveRealm(secret), "tcp"),
    ]);
    assert.equal(await w.during(lenient.call("Py", "f"), 1000), "plain");
    assert.equal(await w.during(python.call("Lenient", "g"), 1000), "ok");
    // Between the two nodes with the secret, calls stay sealed.
    const sealedBefore = strict.stats()!.security.opened;
    assert.equal(await w.during(lenient.call("Strict", "s"), 1000), "sealed");
    assert.equal(strict.stats()!.security.opened, sealedBefore + 1);
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): a public announcement never replaces or shadows a peer that proved the secret", async () => {
  const w = new NodeWorld();
  const secret = "kitchen-lan-secret";
  try {
    const real = w.node("10.0.0.2", "Host", { secret }).register("who", () => "real");
    const lenient = w.node("10.0.0.3", "Lenient", { secret, allowInsecurePeers: true });
    await w.start(real, lenient);
    await w.until(() => lenient.peers().length > 0);
    // Someone without the secret announces the same name on the public type.
    const impostor = python12(w, "10.0.0.66", "Host", "guess").register("who", () => "impostor");
    await w.start(impostor);
    await w.until(() => false, 3000);
    assert.deepEqual(lenient.peers().map((p) => [p.name, p.address]), [["Host", "10.0.0.2"]]);
    assert.equal(await w.during(lenient.call("Host", "who"), 1000), "real");
    // When the real one leaves, the public one of that name is what is left.
    const stopping = real.stop();
    await w.clock.advance(100);
    await stopping;
    await w.until(() => lenient.peers().some((p) => p.address === "10.0.0.66"), 5000);
    assert.deepEqual(lenient.peers().map((p) => [p.name, p.address]), [["Host", "10.0.0.66"]]);
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): renamed after a late conflict, a node with allowInsecurePeers is announced to Python under its new name", async () => {
  const w = new NodeWorld();
  const secret = "kitchen-lan-secret";
  try {
    const python = python12(w, "10.0.0.1", "Py", secret);
    const worker = w.node("10.0.0.2", "Worker", { secret, allowInsecurePeers: true, allowRename: true })
      .register("id", () => "worker");
    await w.start(python, worker);
    await w.until(() => python.peers().length > 0);
    assert.deepEqual(python.peers().map((p) => p.name), ["Worker"]);
    await claimName(w, `Worker.${serviceTypeFor(deriveRealm(secret))}.local`);
    await w.until(() => python.peers().some((p) => p.name === "Worker (2)"), 10_000);
    assert.equal(worker.name, "Worker (2)");
    assert.deepEqual(python.peers().map((p) => p.name), ["Worker (2)"], "the old public name said goodbye");
    assert.equal(await w.during(python.call("Worker (2)", "id"), 1000), "worker");
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

for (const secret of [undefined, "late rename secret"]) {
  test(`PeerLink over mDNS (memory): a late rename takes effect at once${secret ? " with a secret" : ""}: callable under the new name, its calls accepted`, async () => {
    const w = new NodeWorld();
    try {
      const worker = w.node("10.0.0.1", "Worker", { secret, allowRename: true }).register("id", () => "worker");
      const caller = w.node("10.0.0.3", "Caller", { secret }).register("who", () => currentPeer()?.name);
      await w.start(worker, caller);
      await w.until(() => caller.peers().length > 0);
      const ports = worker.ports;
      assert.equal(await w.during(caller.call("Worker", "id"), 1000), "worker", "positive control");
      // Another host claims the name after Worker announced it (RFC 6762 section 9), twice:
      // Worker probes again, finds the name defended, and renames itself.
      await claimName(w, `Worker.${serviceTypeFor(secret ? deriveRealm(secret) : undefined)}.local`);
      await w.until(() => worker.name === "Worker (2)" && caller.peers().some((p) => p.name === "Worker (2)"), 10_000);
      assert.equal(worker.name, "Worker (2)");
      assert.deepEqual(worker.ports, ports, "renamed without a restart: the same ports");
      assert.equal(await w.during(caller.call("Worker (2)", "id"), 1000), "worker");
      assert.equal(await w.during(worker.call("Caller", "who"), 1000), "Worker (2)", "its requests carry the new name");
      if (secret) {
        const security = caller.stats()!.security;
        assert.equal(security.misdirected + security.forged, 0, JSON.stringify(security));
        assert.match(caller.peers().find((p) => p.name === "Worker (2)")!.txt.auth ?? "", /^[A-Za-z0-9_-]{43}$/);
      }
    } finally {
      await w.close();
    }
  });
}

test("PeerLink over mDNS (memory): calls pending to a peer that left fail at once (goodbye, or silence after a crash)", async () => {
  const w = new NodeWorld();
  try {
    const a = w.node("10.0.0.1", "Alpha");
    const b = w.node("10.0.0.2", "Beta").register("hang", () => new Promise(() => {}));
    await w.start(a, b);
    const pending = (["udp", "tcp"] as const).map((transport) =>
      a.call("Beta", "hang", [], { transport, timeout: 60_000 }).catch((e) => e)
    );
    await w.until(() => b.stats()!.handlers.running === 2, 1000);
    const stopping = b.stop({ grace: 0 });
    // Far below the calls' 60 s timeout: they fail as soon as the goodbye arrives.
    const errors = await w.during(Promise.all(pending), 200);
    for (const error of errors) {
      assert.ok(error instanceof PeerLeftError, String(error));
      assert.equal(error.reason, "goodbye");
    }
    await w.during(stopping, 1000);

    // A crash (or a lost link): no goodbye. A call that times out makes discovery check on the
    // peer, and when it is reported gone the other pending call fails too, long before its timeout.
    const c = w.node("10.0.0.3", "Gamma").register("hang", () => new Promise(() => {}));
    await w.start(c);
    await w.until(() => a.peers().some((p) => p.name === "Gamma"));
    w.network.detach("10.0.0.3");
    const long = a.call("Gamma", "hang", [], { transport: "udp", timeout: 60_000 }).catch((e) => e);
    const short = await w.during(a.call("Gamma", "__ping__", [], { timeout: 500 }).catch((e) => e), 1000);
    assert.ok(short instanceof PeerTimeoutError, String(short));
    const error = await w.during(long, 5000);
    assert.ok(error instanceof PeerLeftError, String(error));
    assert.equal(error.reason, "expired");
    w.network.attach("10.0.0.3");
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): streams with a peer that crashed fail with PeerLeftError on both sides", async () => {
  const w = new NodeWorld();
  try {
    // Streams that never end by themselves: only the peer's departure can end them.
    const endless = () => new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
    let upload: Promise<unknown> | undefined;
    const reader = w.node("10.0.0.1", "Reader");
    const server = w.node("10.0.0.2", "Server")
      .register("feed", () => endless())
      .register("sink", (input: ReadableStream<Uint8Array>) => {
        upload = input.getReader().read().then(() => "ended", (e) => e);
        return "reading";
      });
    const uploader = w.node("10.0.0.3", "Uploader");
    await w.start(reader, server, uploader);
    const feed = await w.during(reader.call("Server", "feed") as Promise<ReadableStream<Uint8Array>>, 1000);
    const download = feed.getReader().read().then(() => "ended", (e) => e);
    assert.equal(await w.during(uploader.call("Server", "sink", [endless()]), 1000), "reading");
    await w.until(() => server.stats()!.streams.open === 2);

    // The uploader crashes (no goodbye, no FIN). The server learns it when a call to it times
    // out: the stream its handler reads fails, instead of waiting forever.
    w.network.detach("10.0.0.3");
    await w.during(server.call("Uploader", "__ping__", [], { timeout: 500 }).catch(() => {}), 1000);
    const uploadError = await w.during(upload!, 5000);
    assert.ok(uploadError instanceof PeerLeftError, String(uploadError));
    assert.equal(uploadError.peer, "Uploader");
    assert.equal(uploadError.reason, "expired");
    await w.until(() => server.stats()!.streams.open === 1);
    assert.equal(server.stats()!.streams.open, 1, "the reader's stream goes on");

    // The server crashes: the reader's stream from it fails the same way.
    w.network.detach("10.0.0.2");
    await w.during(reader.call("Server", "__ping__", [], { timeout: 500 }).catch(() => {}), 1000);
    const error = await w.during(download, 5000);
    assert.ok(error instanceof PeerLeftError, String(error));
    assert.equal(error.function, "");
    assert.match(error.message, /^'Server' left the network \(expired.*while a stream with it was open/);
    assert.equal(reader.stats()!.streams.open, 0);
    w.network.attach("10.0.0.2");
    w.network.attach("10.0.0.3");
  } finally {
    await w.close();
  }
});

test("PeerLink over mDNS (memory): a client-only node (announce: false) calls without ever being seen", async () => {
  const w = new NodeWorld();
  try {
    const events: string[] = [];
    const host = w.node("10.0.0.1", "Host").register("who", () => currentPeer()?.name);
    host.on("peer-up", (p) => events.push(`up ${p.name}`));
    host.on("peer-down", (p) => events.push(`down ${p.name}`));
    await w.start(host);
    // Two clients of one name: no probing, so no conflict, and start() does not wait for it.
    const clients = [
      w.node("10.0.0.2", "Dash", { announce: false }),
      w.node("10.0.0.3", "Dash", { announce: false }),
    ];
    await w.during(Promise.all(clients.map((c) => c.start())), 50);
    for (const client of clients) {
      await w.until(() => client.peers().length === 1);
      assert.deepEqual(client.peers().map((p) => p.name), ["Host"]);
      assert.equal(await w.during(client.call("Host", "who", [], { transport: "udp" }), 1000), "Dash");
      assert.equal(await w.during(client.call("Host", "who", [], { transport: "tcp" }), 1000), "Dash");
      assert.equal(client.ports!.tcpPort, 0, "no TCP listener");
      assert.notEqual(client.ports!.udpPort, 0);
    }
    // A request that reaches a client's UDP socket is answered, with a refusal.
    const viaUdp = await w.during(
      w.node("10.0.0.4", "Prober", {
        announce: false,
        discovery: () => staticPeer({ name: "Dash", address: "10.0.0.2", udpPort: clients[0].ports!.udpPort }),
      }).start().then((prober) => prober.call("Dash", "who", [], { transport: "udp" })).catch((e) => e),
      1000,
    );
    assert.ok(viaUdp instanceof RemoteError && viaUdp.remoteType === "NotServing", String(viaUdp));
    assert.match(viaUdp.message, /'Dash' is a client only \(announce: false\) and serves no functions/);
    await w.during(Promise.all(clients.map((c) => c.stop())), 1000);
    await w.until(() => false, 1000);
    assert.deepEqual(events, [], "the host never saw a client come or go");
    assert.deepEqual(host.peers(), []);
  } finally {
    await w.close();
  }
});

/** A discovery that knows one peer and publishes nothing. */
function staticPeer(peer: { name: string; address: string; udpPort: number }): PeerDiscovery {
  const info = { ...peer, tcpPort: 1, lastSeen: 0, instanceId: "static", capabilities: [], txt: {} };
  return {
    name: "Prober",
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    peers: () => [info],
    resolve: (name) => (name === peer.name ? info : undefined),
    waitForPeers: () => Promise.resolve([info]),
    on: () => () => {},
    reportUnreachable: () => {},
  };
}

test("PeerLink over mDNS (memory): a node of the realm without the secret fails at once calling a node that takes only sealed calls", async () => {
  const w = new NodeWorld();
  const secret = "kitchen-lan-secret";
  try {
    // Same realm (service type) as the nodes with the secret, but no secret: it lists them.
    const plain = w.node("10.0.0.1", "Plain", { realm: deriveRealm(secret) });
    const strict = w.node("10.0.0.2", "Strict", { secret }).register("s", () => "sealed");
    const lenient = w.node("10.0.0.3", "Lenient", { secret, allowInsecurePeers: true }).register("g", () => "ok");
    await w.start(plain, strict, lenient);
    await w.until(() => plain.peers().length === 2);
    assert.deepEqual(plain.peers().map((p) => p.name), ["Lenient", "Strict"]);
    // Strict drops plaintext: the call fails at once on the caller, naming the mismatch,
    // instead of timing out while only Strict logs why.
    const error = await w.during(plain.call("Strict", "s", [], { timeout: 60_000 }).catch((e) => e), 50);
    assert.ok(error instanceof InsecurePeerError, String(error));
    assert.equal(error.missingSecret, "caller");
    assert.equal(error.peer, "Strict");
    assert.match(error.message, /^'Strict' has a secret \(it announced a proof, TXT auth\) and drops plaintext calls/);
    assert.equal(strict.stats()!.security.plaintextDropped, 0, "nothing was sent");
    // Lenient takes plaintext too (TXT plain=1): the call goes through.
    assert.equal(plain.peers().find((p) => p.name === "Lenient")!.txt.plain, "1");
    assert.equal(await w.during(plain.call("Lenient", "g"), 1000), "ok");
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
