import { test } from "node:test";
import assert from "node:assert/strict";
import { currentPeer } from "../src/rpc/context.ts";
import { RpcEndpoint } from "../src/rpc/endpoint.ts";
import { deriveKeys } from "../src/security/keys.ts";
import { isSealed, SEAL_MAGIC } from "../src/security/envelope.ts";
import { InsecurePeerError, PayloadTooLarge, PeerConnectionError, PeerTimeoutError } from "../src/errors.ts";
import { LOCAL_CAPABILITIES, NO_CAPABILITIES } from "../src/wire/capabilities.ts";
import { concat, type SecurePair, securePair, settle } from "./support/security_harness.ts";

const SECRET = "kitchen-lan: 3e1f9a27c4b8";

/**
 * Positive control for the refusals below: a caller on the same network with `secret` (or
 * none) calls the same host over UDP and TCP and gets `f`'s answers, so a refusal is the
 * secret's doing, not a host that answers nobody.
 */
async function controlCalls(t: SecurePair, secret: string | undefined): Promise<unknown[]> {
  const control = new RpcEndpoint({ runtime: t.network.host("10.0.0.9"), name: "Control", secret });
  await control.start();
  try {
    return [
      await control.call(t.peer, "f", [], { transport: "udp" }),
      await control.call(t.peer, "f", [], { transport: "tcp" }),
    ];
  } finally {
    await control.stop();
  }
}

test("same secret: calls work over udp, tcp and auto, sealed, and handlers see an authenticated caller", async () => {
  const handlers = {
    who: () => ({ ...currentPeer() }),
    big: () => "b".repeat(5000),
  };
  const t = await securePair({ host: { secret: SECRET, handlers }, worker: { secret: SECRET } });
  try {
    for (const transport of ["udp", "tcp", "auto"] as const) {
      const caller = await t.worker.call(t.peer, "who", [], { transport }) as Record<string, unknown>;
      assert.equal(caller.name, "Worker");
      assert.equal(caller.authenticated, true, transport);
    }
    const oneShot = await t.worker.call({ ...t.peer, capabilities: undefined }, "who", [], { transport: "tcp" });
    assert.equal((oneShot as Record<string, unknown>).authenticated, true, "one-shot TCP connections are sealed too");
    assert.equal(await t.worker.call(t.peer, "big", []), "b".repeat(5000), "a large UDP reply is fetched over TCP");
    assert.equal(t.worker.stats().calls.retriedOverTcp, 1);
    assert.ok(t.recorded.datagrams.length >= 3);
    assert.ok(t.recorded.datagrams.every((d) => isSealed(d.data)), "every datagram the worker sent is sealed");
    assert.ok(t.recorded.streams.flat().length > 0);
    for (const stream of t.recorded.streams) assert.equal(concat(stream)[4], SEAL_MAGIC, "TCP frames are sealed");
    const host = t.host.stats().security;
    assert.equal(host.enabled, true);
    assert.ok(host.opened >= 6 && host.sealed >= 6, JSON.stringify(host));
    assert.equal(host.forged + host.replayed + host.stale + host.plaintextDropped + host.misdirected, 0);
  } finally {
    await t.close();
  }
});

test("same secret: a 4 MiB Uint8Array round-trips over TCP byte-exact, both ways", async () => {
  const keys = await deriveKeys(SECRET);
  const t = await securePair({
    host: { keys, handlers: { echo: (x: Uint8Array) => x } },
    worker: { keys },
  });
  try {
    const blob = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
    const back = await t.worker.call(t.peer, "echo", [blob], { timeout: 30_000 }) as Uint8Array;
    assert.ok(back instanceof Uint8Array);
    assert.equal(back.length, blob.length);
    assert.ok(Buffer.from(back).equals(Buffer.from(blob)));
    assert.equal(t.worker.stats().calls.tcp, 1);
    await assert.rejects(
      t.worker.call(t.peer, "echo", [new Uint8Array(4 * 1024 * 1024 + 1)]),
      PayloadTooLarge,
    );
  } finally {
    await t.close();
  }
});

test("a node without the secret cannot call a secured node: plaintext is dropped and counted, never answered", async () => {
  let runs = 0;
  const t = await securePair({ host: { secret: SECRET, handlers: { f: () => ++runs } } });
  try {
    await assert.rejects(t.worker.call(t.peer, "f", [], { transport: "udp", timeout: 300 }), PeerTimeoutError);
    await assert.rejects(
      t.worker.call(t.peer, "f", [], { transport: "tcp", timeout: 2000 }),
      (err) => err instanceof PeerConnectionError && err.code === "CONNECTION_LOST",
    );
    assert.equal(runs, 0);
    const host = t.host.stats();
    assert.ok(host.security.plaintextDropped >= 2, JSON.stringify(host.security));
    assert.equal(host.tcpServer.securityClosed, 1);
    assert.equal(t.worker.stats().udp.received, 0, "nothing was sent back over UDP");
    assert.deepEqual(await controlCalls(t, SECRET), [1, 2], "positive control: with the secret, the host answers");
  } finally {
    await t.close();
  }
});

test("a node with a wrong secret can neither call nor be answered; each attempt is counted as forged", async () => {
  let runs = 0;
  const t = await securePair({
    host: { secret: SECRET, handlers: { f: () => ++runs } },
    worker: { secret: SECRET + "x" },
  });
  try {
    await assert.rejects(t.worker.call(t.peer, "f", [], { transport: "udp", timeout: 300 }), PeerTimeoutError);
    await assert.rejects(t.worker.call(t.peer, "f", [], { transport: "tcp", timeout: 2000 }), PeerConnectionError);
    assert.equal(runs, 0);
    const security = t.host.stats().security;
    assert.ok(security.forged >= 2, JSON.stringify(security));
    assert.equal(security.opened, 0);
    assert.equal(t.worker.stats().udp.received, 0);
    assert.deepEqual(await controlCalls(t, SECRET), [1, 2], "positive control: the right secret is answered");
  } finally {
    await t.close();
  }
});

test("a secured node calling a node without a secret gets no answer; the plain node counts sealed input", async () => {
  const t = await securePair({ host: { handlers: { f: () => 1 } }, worker: { secret: SECRET } });
  try {
    await assert.rejects(t.worker.call(t.peer, "f", [], { transport: "udp", timeout: 300 }), PeerTimeoutError);
    assert.equal(t.host.stats().handlers.invocations, 0);
    assert.ok(t.host.stats().security.sealedWithoutSecret >= 1);
    assert.equal(t.host.stats().security.enabled, false);
    assert.deepEqual(
      await controlCalls(t, undefined),
      [1, 1],
      "positive control: a caller without a secret is answered",
    );
  } finally {
    await t.close();
  }
});

test("a captured UDP request replayed at once, and 31 s later, is dropped: the handler ran once", async () => {
  let runs = 0;
  const t = await securePair({
    host: { secret: SECRET, handlers: { pay: (n: number) => (runs++, n) } },
    worker: { secret: SECRET },
    fake: true,
  });
  const attacker = t.network.host("10.0.0.66");
  const heard: Uint8Array[] = [];
  const socket = await attacker.bindDatagram({ address: "0.0.0.0", port: 0 }, (d) => void heard.push(d.data));
  try {
    assert.equal(await t.worker.call(t.peer, "pay", [100], { transport: "udp" }), 100);
    const captured = t.recorded.datagrams.find((d) => d.port === t.peer.udpPort)!;
    assert.ok(captured && isSealed(captured.data));
    await socket.send(captured.data, "10.0.0.2", t.peer.udpPort);
    await settle();
    assert.equal(t.host.stats().security.replayed, 1);
    await t.clock!.advance(31_000);
    await socket.send(captured.data, "10.0.0.2", t.peer.udpPort);
    await settle();
    assert.equal(t.host.stats().security.stale, 1);
    assert.equal(runs, 1);
    assert.equal(heard.length, 0, "a replay is never answered");
  } finally {
    await socket.close();
    await t.close();
  }
});

test("a sealed request with one byte changed is dropped, and the untouched one still works once", async () => {
  let runs = 0;
  const t = await securePair({
    host: { secret: SECRET, handlers: { f: () => ++runs } },
    worker: { secret: SECRET },
  });
  const attacker = t.network.host("10.0.0.66");
  const socket = await attacker.bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  try {
    // Capture a request that never reached the host: cut the link, call, heal.
    t.network.partition(["10.0.0.1"], ["10.0.0.2"]);
    await assert.rejects(t.worker.call(t.peer, "f", [], { transport: "udp", timeout: 50 }), PeerTimeoutError);
    t.network.heal();
    const captured = t.recorded.datagrams.find((d) => d.port === t.peer.udpPort)!.data;
    for (const at of [0, 5, 20, 40, captured.length - 1]) {
      const tampered = captured.slice();
      tampered[at] ^= 0x20;
      await socket.send(tampered, "10.0.0.2", t.peer.udpPort);
    }
    await settle();
    assert.equal(runs, 0);
    const security = t.host.stats().security;
    assert.equal(security.forged + security.malformed + security.stale, 4, JSON.stringify(security));
    assert.equal(t.host.stats().security.plaintextDropped, 1, "byte 0 changed: no longer sealed, so plaintext");
    await socket.send(captured, "10.0.0.2", t.peer.udpPort);
    await socket.send(captured, "10.0.0.2", t.peer.udpPort);
    await settle();
    assert.equal(runs, 1, "the genuine request ran once; its copy was a replay");
  } finally {
    await socket.close();
    await t.close();
  }
});

test("a captured TCP request frame replayed on a new connection closes it without running the handler", async () => {
  let runs = 0;
  const t = await securePair({
    host: { secret: SECRET, handlers: { f: () => ++runs } },
    worker: { secret: SECRET },
  });
  try {
    assert.equal(await t.worker.call(t.peer, "f", [], { transport: "tcp" }), 1);
    const captured = concat(t.recorded.streams[0]);
    const conn = await t.network.host("10.0.0.66").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    await conn.write(captured);
    assert.equal(await conn.read(), null, "the server closed the connection without answering");
    await conn.close();
    assert.equal(runs, 1);
    assert.equal(t.host.stats().security.replayed, 1);
    assert.equal(t.host.stats().tcpServer.securityClosed, 1);
  } finally {
    await t.close();
  }
});

test("a sealed request redirected to another node with the same secret is dropped as misdirected", async () => {
  let runs = 0;
  const t = await securePair({
    host: { secret: SECRET, handlers: { f: () => 1 } },
    worker: { secret: SECRET },
  });
  const other = new RpcEndpoint({
    runtime: t.network.host("10.0.0.3"),
    name: "Other",
    secret: SECRET,
    handlers: { f: () => ++runs },
  });
  const otherPorts = await other.start();
  const attacker = await t.network.host("10.0.0.66").bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  try {
    t.network.partition(["10.0.0.1"], ["10.0.0.2"]);
    await assert.rejects(t.worker.call(t.peer, "f", [], { transport: "udp", timeout: 50 }), PeerTimeoutError);
    t.network.heal();
    const captured = t.recorded.datagrams.find((d) => d.port === t.peer.udpPort)!.data;
    await attacker.send(captured, "10.0.0.3", otherPorts.udpPort);
    // Reflected back at the sender: it is a request from Worker to Host, not to Worker.
    await attacker.send(captured, "10.0.0.1", t.worker.ports!.udpPort);
    await settle();
    assert.equal(runs, 0);
    assert.equal(other.stats().security.misdirected, 1);
    assert.equal(t.worker.stats().security.misdirected, 1);
  } finally {
    await attacker.close();
    await other.stop();
    await t.close();
  }
});

test("allowInsecurePeers: a secured node also serves and calls plaintext peers; without it, it refuses them", async () => {
  const t = await securePair({
    host: { secret: SECRET, allowInsecurePeers: true, handlers: { who: () => currentPeer()?.authenticated ?? null } },
    worker: { handlers: { hi: () => "plain hello" } },
  });
  const strict = new RpcEndpoint({ runtime: t.network.host("10.0.0.4"), name: "Strict", secret: SECRET });
  await strict.start();
  try {
    assert.equal(await t.worker.call(t.peer, "who", [], { transport: "udp" }), false);
    assert.equal(await t.worker.call(t.peer, "who", [], { transport: "tcp" }), false);
    const toWorker = {
      name: "Worker",
      address: "10.0.0.1",
      ...t.worker.ports!,
      capabilities: LOCAL_CAPABILITIES,
      insecure: true,
    };
    assert.equal(await t.host.call(toWorker, "hi", []), "plain hello");
    assert.equal(
      await t.host.call({ ...toWorker, capabilities: NO_CAPABILITIES }, "hi", [], { transport: "tcp" }),
      "plain hello",
    );
    await assert.rejects(strict.call(toWorker, "hi", []), (err) => {
      assert.ok(err instanceof InsecurePeerError);
      assert.equal(err.code, "INSECURE_PEER");
      assert.match(err.message, /allowInsecurePeers/);
      return true;
    });
    assert.equal(strict.stats().calls.started, 0, "nothing was sent");
    // A sealed caller still gets sealed service from the lenient host.
    const sealedPeer = { ...t.peer };
    assert.equal(await strict.call(sealedPeer, "who", []), true);
  } finally {
    await strict.stop();
    await t.close();
  }
});

test("RpcEndpoint refuses an empty secret, foreign keys, and a name too long to seal", () => {
  const runtime = { name: "none" } as never;
  assert.throws(() => new RpcEndpoint({ runtime, name: "A", secret: "" }), TypeError);
  assert.throws(() => new RpcEndpoint({ runtime, name: "A", keys: {} as never }), TypeError);
  assert.throws(() => new RpcEndpoint({ runtime, name: "é".repeat(200), secret: "s" }), /at most 255 UTF-8 bytes/);
  assert.equal(new RpcEndpoint({ runtime, name: "A", secret: "s" }).secured, true);
  assert.equal(new RpcEndpoint({ runtime, name: "A" }).secured, false);
});

test("with a secret, the envelope counts against the datagram limit, and a flood of copies runs a handler once", async () => {
  let runs = 0;
  const t = await securePair({
    host: { secret: SECRET, handlers: { f: () => ++runs } },
    worker: { secret: SECRET },
  });
  const attacker = await t.network.host("10.0.0.66").bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  try {
    // A request that fits 1200 bytes in plaintext but not once sealed.
    await assert.rejects(t.worker.call(t.peer, "f", ["x".repeat(1100)], { transport: "udp" }), (err) => {
      assert.ok(err instanceof PayloadTooLarge);
      assert.match(err.message, /UDP send: \d+ bytes > MAX_SAFE_UDP_PAYLOAD \(1200\)/);
      assert.ok(err.size > 1200);
      return true;
    });
    assert.equal(await t.worker.call(t.peer, "f", ["x".repeat(1100)]), 1, "auto sends it over TCP");
    // Ten copies of one sealed datagram at once: each is verified as it arrives (sealing is
    // synchronous: no crypto work can queue up), the first runs, the other nine are replays.
    t.network.partition(["10.0.0.1"], ["10.0.0.2"]);
    await assert.rejects(t.worker.call(t.peer, "f", [], { transport: "udp", timeout: 50 }), PeerTimeoutError);
    t.network.heal();
    const captured = t.recorded.datagrams.filter((d) => d.port === t.peer.udpPort).at(-1)!.data;
    await Promise.all(Array.from({ length: 10 }, () => attacker.send(captured, "10.0.0.2", t.peer.udpPort)));
    await settle();
    const security = t.host.stats().security;
    assert.equal(security.replayed, 9, "every copy after the first is a replay");
    assert.equal(runs, 2);
  } finally {
    await attacker.close();
    await t.close();
  }
});
