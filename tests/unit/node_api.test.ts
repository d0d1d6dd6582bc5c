import { test } from "node:test";
import process from "node:process";
import assert from "node:assert/strict";
import { memoryLan } from "../support/node_harness.ts";
import { PeerLink } from "../../src/peerlink.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import {
  NodeNotStarted,
  NodeStopped,
  PayloadTooLarge,
  PeerLinkError,
  PeerNotFound,
  PeerNotFoundError,
  PeerTimeoutError,
  RemoteError,
} from "../../src/errors.ts";
import type { CallResult } from "../../src/options.ts";

test("PeerLink: two nodes call each other by name over udp, tcp and auto", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").register("add", (x: number, y: number) => x + y).start();
    const b = await lan.node("B").register("mul", (x: number, y: number) => x * y).start();
    for (const transport of ["udp", "tcp", "auto"] as const) {
      assert.equal(await a.call("B", "mul", [6, 7], { transport }), 42, transport);
      assert.equal(await b.call("A", "add", [6, 7], { transport }), 13, transport);
    }
    const stats = a.stats()!;
    assert.ok(stats.calls.udp >= 2 && stats.calls.tcp >= 1, JSON.stringify(stats.calls));
  } finally {
    await lan.close();
  }
});

test("PeerLink: a large argument goes over TCP in auto mode and arrives byte-exact", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").register("sum", (bytes: Uint8Array) => bytes.reduce((s, v) => s + v, 0)).start();
    const blob = new Uint8Array(100_000).map((_, i) => i % 251);
    const expected = blob.reduce((s, v) => s + v, 0);
    assert.equal(await a.call("B", "sum", [blob]), expected);
    assert.equal(a.stats()!.calls.tcp, 1);
    await assert.rejects(a.call("B", "sum", [blob], { transport: "udp" }), PayloadTooLarge);
    assert.equal(a.stats()!.pendingCalls, 0);
  } finally {
    await lan.close();
  }
});

test("PeerLink: register() is chainable before and after start()", async () => {
  const lan = memoryLan();
  try {
    const b = lan.node("B").register("one", () => 1).register({ two: () => 2 });
    await b.start();
    const a = await lan.node("A").start();
    assert.equal(await a.call("B", "one"), 1);
    assert.equal(await a.call("B", "two"), 2);
    await assert.rejects(
      a.call("B", "three"),
      (e: unknown) => e instanceof RemoteError && e.remoteType === "NoSuchFunction",
    );
    assert.equal(b.register("three", () => 3), b);
    assert.equal(await a.call("B", "three"), 3);
    assert.deepEqual(b.functions(), ["one", "two", "three"]);
    assert.equal(b.unregister("three"), true);
    await assert.rejects(a.call("B", "three"), RemoteError);
    assert.throws(() => b.register("bad", 42 as unknown as () => void), TypeError);
  } finally {
    await lan.close();
  }
});

test("PeerLink: start() resolves to the node and twice is the same node", async () => {
  const lan = memoryLan();
  try {
    const node = lan.node("A");
    const [first, second] = await Promise.all([node.start(), node.start()]);
    assert.equal(first, node);
    assert.equal(second, node);
    assert.equal(node.started, true);
    assert.equal(await node.start(), node);
  } finally {
    await lan.close();
  }
});

test("PeerLink: peer() proxies call remote functions, with per-proxy options", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").register({ add: (x: number, y: number) => x + y, big: () => new Uint8Array(5000).fill(7) })
      .start();
    const b = a.peer("B");
    assert.equal(await b.add(2, 3), 5);
    const viaTcp = a.peer("B", { transport: "tcp", timeout: 2000 });
    const before = a.stats()!.calls.tcp;
    assert.equal(await viaTcp.add(1, 1), 2);
    assert.equal(a.stats()!.calls.tcp, before + 1);
    const big = await b.big<Uint8Array>();
    assert.equal(big.length, 5000);
    assert.equal(big[4999], 7);
    assert.equal(await b.isAlive(), true);
  } finally {
    await lan.close();
  }
});

test("PeerLink: awaiting or returning a node's proxy sends nothing", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    let calls = 0;
    await lan.node("B").register("then", () => calls++).start();
    const proxy = a.peer("B");
    const awaited = await proxy;
    assert.equal(awaited, proxy);
    const make = async () => {
      await null;
      return a.peer("B");
    };
    assert.equal(typeof (await make()).anything, "function");
    JSON.stringify(proxy);
    assert.equal(calls, 0);
    assert.equal(a.stats()!.calls.started, 0);
  } finally {
    await lan.close();
  }
});

test("PeerLink: peer() throws PeerNotFound at once, listing the known peers", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("NodeB").start();
    await lan.node("Worker1").start();
    const before = a.stats()!;
    assert.throws(() => a.peer("Host"), (e: unknown) => {
      assert.ok(e instanceof PeerNotFound);
      assert.ok(e instanceof PeerNotFoundError);
      assert.ok(e instanceof PeerLinkError);
      assert.equal(e.message, "Peer 'Host' not found.  Known: ['NodeB', 'Worker1']");
      assert.deepEqual(e.known, ["NodeB", "Worker1"]);
      return true;
    });
    await assert.rejects(a.call("Host", "f"), PeerNotFound);
    // "At once": refused before anything was started or sent, not after a timeout.
    const after = a.stats()!;
    assert.equal(after.calls.started, before.calls.started);
    assert.equal(after.udp.sent + after.tcpClient.connects, before.udp.sent + before.tcpClient.connects);
    assert.equal(after.pendingCalls, 0);
  } finally {
    await lan.close();
  }
});

test("PeerLink: peer names match exactly: 'Node' never reaches 'NodeB'", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    let hits = 0;
    await lan.node("NodeB").register("hit", () => ++hits).start();
    assert.throws(() => a.peer("Node"), PeerNotFound);
    assert.throws(() => a.peer("nodeb"), PeerNotFound);
    assert.throws(() => a.peer("NodeB "), PeerNotFound);
    await assert.rejects(a.call("Node", "hit"), PeerNotFound);
    assert.equal(hits, 0);
    assert.equal(await a.call("NodeB", "hit"), 1);
  } finally {
    await lan.close();
  }
});

test("PeerLink: call('ALL') returns one CallResult per peer and never rejects for one failure", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").register("status", () => "b-ok").start();
    await lan.node("C").register("status", () => {
      throw new RangeError("c is broken");
    }).start();
    await lan.node("D").start(); // no such function
    const results: CallResult<string>[] = await a.call<string>("ALL", "status");
    assert.deepEqual(results.map((r) => r.peer), ["B", "C", "D"]);
    const [b, c, d] = results;
    assert.ok(b.ok && b.value === "b-ok");
    assert.ok(!c.ok && c.error instanceof RemoteError && c.error.remoteType === "RangeError");
    assert.ok(!d.ok && d.error instanceof RemoteError && d.error.remoteType === "NoSuchFunction");
    for (const r of results) assert.ok(r.elapsedMs >= 0);
  } finally {
    await lan.close();
  }
});

test("PeerLink: call('ALL') with no peers resolves to an empty list", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    assert.deepEqual(await a.call("ALL", "status"), []);
    assert.throws(() => new PeerLink("ALL"), TypeError);
  } finally {
    await lan.close();
  }
});

test("PeerLink: RemoteError carries the remote type, message, peer and function", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    class QuotaExceeded extends Error {}
    await lan.node("B").register("div", (x: number, y: number) => {
      if (y === 0) throw new QuotaExceeded(`cannot divide ${x} by zero`);
      return x / y;
    }).start();
    const error = await a.call("B", "div", [1, 0]).then(() => undefined, (e) => e);
    assert.ok(error instanceof RemoteError);
    assert.equal(error.remoteType, "QuotaExceeded");
    assert.equal(error.remoteMessage, "cannot divide 1 by zero");
    assert.equal(error.peer, "B");
    assert.equal(error.function, "div");
    assert.match(error.message, /'div' on 'B' failed: QuotaExceeded: cannot divide 1 by zero/);
  } finally {
    await lan.close();
  }
});

test("PeerLink: RemoteError carries the thrown error's code and JSON-safe own properties between TS peers", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    class QuotaError extends Error {
      limit = 10;
    }
    await lan.node("B").register({
      reserve: () => {
        throw Object.assign(new QuotaError("over quota"), {
          code: "E_QUOTA",
          used: { today: 12 },
          blob: new Uint8Array([1, 2]),
          retry: () => 0, // JSON cannot carry it: left out, the rest still arrives
        });
      },
      plain: () => {
        throw { message: "thrown as a plain object", code: "E_PLAIN", hint: "retry" };
      },
      bare: () => {
        throw { a: 1 };
      },
      text: () => {
        throw "oops";
      },
    }).start();
    for (const transport of ["udp", "tcp"] as const) {
      const error = await a.call("B", "reserve", [], { transport }).then(() => undefined, (e) => e);
      assert.ok(error instanceof RemoteError, String(error));
      assert.equal(error.code, "REMOTE_ERROR");
      assert.equal(error.remoteType, "QuotaError");
      assert.equal(error.remoteCode, "E_QUOTA");
      assert.deepEqual(error.remoteData, { limit: 10, used: { today: 12 }, blob: new Uint8Array([1, 2]) });
    }
    const plain = await a.call("B", "plain").then(() => undefined, (e) => e);
    assert.equal(plain.remoteMessage, "thrown as a plain object");
    assert.equal(plain.remoteCode, "E_PLAIN");
    assert.deepEqual(plain.remoteData, { hint: "retry" });
    const bare = await a.call("B", "bare").then(() => undefined, (e) => e);
    assert.equal(bare.remoteMessage, '{"a":1}', "readable, not [object Object]");
    assert.deepEqual(bare.remoteData, { a: 1 });
    const text = await a.call("B", "text").then(() => undefined, (e) => e);
    assert.equal(text.remoteMessage, "oops");
    assert.equal(text.remoteCode, undefined);
    assert.deepEqual(text.remoteData, {});
  } finally {
    await lan.close();
  }
});

test("PeerLink: AbortSignal.timeout() ends a call with a TimeoutError, as fetch does", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").register("hang", () => new Promise(() => {})).start();
    for (const transport of ["udp", "tcp"] as const) {
      const error = await a.call("B", "hang", [], { transport, signal: AbortSignal.timeout(20), timeout: 60_000 })
        .then(() => undefined, (e) => e);
      assert.equal(error?.name, "TimeoutError", String(error));
    }
    assert.equal(a.stats()!.pendingCalls, 0);
  } finally {
    await lan.close();
  }
});

test("PeerLink: currentPeer() names the caller across awaits and timers", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").register("who", async () => {
      const before = currentPeer();
      await new Promise((r) => setTimeout(r, 5));
      const afterTimer = await new Promise<ReturnType<typeof currentPeer>>((r) =>
        setTimeout(() => r(currentPeer()), 1)
      );
      return [before?.name, before?.address, before?.transport, afterTimer?.name];
    }).start();
    assert.equal(currentPeer(), undefined);
    assert.deepEqual(await a.call("B", "who", [], { transport: "udp" }), ["A", "10.0.0.1", "udp", "A"]);
    assert.deepEqual(await a.call("B", "who", [], { transport: "tcp" }), ["A", "10.0.0.1", "tcp", "A"]);
    assert.equal(currentPeer(), undefined);
  } finally {
    await lan.close();
  }
});

test("PeerLink: stop() rejects pending calls with 'node stopped' and is idempotent", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    let release!: () => void;
    await lan.node("B").register("slow", () => new Promise<void>((r) => (release = r))).start();
    const pending = a.call("B", "slow", [], { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 20));
    const first = a.stop();
    const second = a.stop();
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof NodeStopped && /node stopped/.test((e as Error).message),
    );
    await Promise.all([first, second]);
    await a.stop();
    assert.equal(a.started, false);
    await assert.rejects(a.call("B", "slow"), NodeNotStarted);
    assert.equal(a.stats(), undefined);
    release?.();
  } finally {
    await lan.close();
  }
});

test("PeerLink: a stopped node can start again and is callable", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    const b = await lan.node("B").register("ping2", () => "pong").start();
    assert.equal(await a.call("B", "ping2"), "pong");
    await b.stop();
    assert.throws(() => a.peer("B"), PeerNotFound);
    await b.start();
    assert.equal(await a.call("B", "ping2"), "pong");
  } finally {
    await lan.close();
  }
});

test("PeerLink: await using stops the node at the end of the block", async () => {
  const lan = memoryLan();
  try {
    const watcher = await lan.node("Watcher").start();
    const downs: string[] = [];
    watcher.on("peer-down", (p, reason) => downs.push(`${p.name}:${reason}`));
    let escaped: PeerLink | undefined;
    {
      await using node = await lan.node("Scoped").start();
      escaped = node;
      assert.equal(node.started, true);
    }
    assert.equal(escaped.started, false);
    assert.deepEqual(downs, ["Scoped:goodbye"]);
  } finally {
    await lan.close();
  }
});

test("PeerLink: calls before start() reject with NodeNotStarted", async () => {
  const node = new PeerLink("Lonely");
  await assert.rejects(node.call("B", "f"), NodeNotStarted);
  assert.throws(() => node.peer("B"), NodeNotStarted);
  await assert.rejects(node.waitForPeers(1), NodeNotStarted);
  assert.deepEqual(node.peers(), []);
  assert.equal(node.ports, undefined);
  await node.stop(); // never started: fine
});

test("PeerLink: __ping__ answers { ok: true, ts } and isAlive() follows the peer", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    const b = await lan.node("B").start();
    const before = Date.now() / 1000;
    const reply = await a.call<{ ok: boolean; ts: number }>("B", "__ping__");
    assert.equal(reply.ok, true);
    assert.ok(reply.ts >= before - 1 && reply.ts <= Date.now() / 1000 + 1, `ts ${reply.ts}`);
    const proxy = a.peer("B", { timeout: 300 });
    assert.equal(await proxy.isAlive(), true);
    lan.network.detach("10.0.0.2");
    assert.equal(await proxy.isAlive(), false);
    lan.network.attach("10.0.0.2");
    await b.stop();
    assert.equal(await proxy.isAlive(), false);
  } finally {
    await lan.close();
  }
});

test("PeerLink: peer-up, peer-down and setPeerLifecycle report peers", async () => {
  const lan = memoryLan();
  try {
    const a = lan.node("A");
    const events: string[] = [];
    a.on("peer-up", (p) => events.push(`up ${p.name} ${p.address}`));
    const off = a.on("peer-down", (p, reason) => events.push(`down ${p.name} ${reason}`));
    const lifecycle: unknown[][] = [];
    a.setPeerLifecycle(
      (name, address, udpPort, tcpPort) => lifecycle.push(["up", name, address, udpPort > 0, tcpPort > 0]),
      (name, reason) => lifecycle.push(["down", name, reason]),
    );
    await a.start();
    const b = await lan.node("B").start();
    await b.stop();
    off();
    const c = await lan.node("C").start();
    await c.stop();
    assert.deepEqual(events, ["up B 10.0.0.2", "down B goodbye", "up C 10.0.0.3"]);
    assert.deepEqual(lifecycle, [
      ["up", "B", "10.0.0.2", true, true],
      ["down", "B", "goodbye"],
      ["up", "C", "10.0.0.3", true, true],
      ["down", "C", "goodbye"],
    ]);
    a.setPeerLifecycle();
    await (await lan.node("D").start()).stop();
    assert.equal(lifecycle.length, 4);
    assert.throws(() => a.on("peer-gone" as "peer-up", () => {}), TypeError);
  } finally {
    await lan.close();
  }
});

test("PeerLink: a throwing listener is logged and does not break discovery", async () => {
  const lan = memoryLan();
  const lines: string[] = [];
  const logger = { debug() {}, info() {}, warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  try {
    const a = lan.node("A", { logger });
    const seen: string[] = [];
    a.on("peer-up", () => {
      throw new Error("listener bug");
    });
    a.on("peer-up", (p) => seen.push(p.name));
    await a.start();
    await lan.node("B").start();
    assert.deepEqual(seen, ["B"]);
    assert.ok(lines.some((l) => l.includes("listener bug")), lines.join("\n"));
    assert.equal(a.peers().length, 1);
  } finally {
    await lan.close();
  }
});

test("PeerLink: waitForPeers() resolves when peers arrive and ends when the node stops", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    const waiting = a.waitForPeers(2, { timeout: 2000 });
    await lan.node("B").start();
    await lan.node("C").start();
    const peers = await waiting;
    assert.deepEqual(peers.map((p) => p.name).sort(), ["B", "C"]);
    const stuck = a.waitForPeers(5, { timeout: 5000 });
    await a.stop();
    // NodeStopped, not the PeerTimeoutError its 5 s timeout would give: stop() ended the wait.
    await assert.rejects(stuck, NodeStopped);
  } finally {
    await lan.close();
  }
});

test("PeerLink: peers() is a sorted snapshot without this node", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("Zed").start();
    await lan.node("Bee").start();
    const peers = a.peers();
    assert.deepEqual(peers.map((p) => p.name), ["Bee", "Zed"]);
    for (const p of peers) {
      assert.ok(p.udpPort > 0 && p.tcpPort > 0 && p.instanceId.length > 0 && typeof p.lastSeen === "number");
    }
    peers.pop();
    assert.equal(a.peers().length, 2);
  } finally {
    await lan.close();
  }
});

test("PeerLink: a call that times out names peer, function and time, and reports the peer unreachable", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").register("f", () => 1).start();
    lan.network.detach("10.0.0.2");
    const error = await a.call("B", "f", [], { timeout: 150 }).then(() => undefined, (e) => e);
    assert.ok(error instanceof PeerTimeoutError, String(error));
    assert.equal(error.peer, "B");
    assert.equal(error.function, "f");
    assert.equal(error.timeoutMs, 150);
    assert.deepEqual(lan.directory.unreachable, [{ reporter: "A", peer: "B" }]);
    // A RemoteError is an answer: the peer is alive, nothing is reported.
    lan.network.attach("10.0.0.2");
    await assert.rejects(a.call("B", "nope"), RemoteError);
    assert.equal(lan.directory.unreachable.length, 1);
  } finally {
    await lan.close();
  }
});

test("PeerLink: an aborted call rejects promptly with AbortError", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const b = await lan.node("B").register("slow", () => released).start();
    const controller = new AbortController();
    const call = a.call("B", "slow", [], { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    try {
      await assert.rejects(call, (e: unknown) => (e as Error).name === "AbortError");
      // "Promptly": while the handler still runs (it never returns until released), not at its end
      // and not at the call's timeout (which would be a PeerTimeoutError).
      assert.equal(b.stats()!.handlers.running, 1);
    } finally {
      release();
    }
    assert.equal(a.stats()!.pendingCalls, 0);
  } finally {
    await lan.close();
  }
});

test("PeerLink: values JSON cannot carry are refused at the caller with a TypeError", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    let ran = 0;
    await lan.node("B").register("f", () => ++ran).start();
    await assert.rejects(a.call("B", "f", [1, { fn: () => 1 }]), TypeError);
    await assert.rejects(a.call("B", "f", [10n]), TypeError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await assert.rejects(a.call("B", "f", [cycle]), TypeError);
    assert.equal(ran, 0);
    assert.equal(a.stats()!.pendingCalls, 0);
  } finally {
    await lan.close();
  }
});

test("PeerLink: inherited names called explicitly answer 'no such function' and run nothing", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").register("real", () => "ok").start();
    for (const name of ["__proto__", "constructor", "prototype", "hasOwnProperty", "toString", "valueOf"]) {
      await assert.rejects(
        a.call("B", name, []),
        (e: unknown) => e instanceof RemoteError && e.remoteType === "NoSuchFunction",
        name,
      );
    }
    assert.equal(await a.call("B", "real"), "ok");
  } finally {
    await lan.close();
  }
});

test("PeerLink: stopOnSignals() installs SIGINT and SIGTERM handlers that stop() removes", async () => {
  const lan = memoryLan();
  try {
    const node = await lan.node("A").start();
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    const remove = node.stopOnSignals();
    assert.deepEqual([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")], [
      before[0] + 1,
      before[1] + 1,
    ]);
    node.stopOnSignals(); // calling again replaces, never stacks
    assert.equal(process.listenerCount("SIGINT"), before[0] + 1);
    await node.stop();
    assert.deepEqual([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")], before);
    remove(); // harmless after stop
    assert.equal(process.listenerCount("SIGTERM"), before[1]);
  } finally {
    await lan.close();
  }
});
