import { test } from "node:test";
import assert from "node:assert/strict";
import { Directory } from "../support/node_harness.ts";
import { SwarmNode, type SwarmNodeOptions, SwarmStartError } from "../../src/swarm.ts";
import { PeerLink } from "../../src/peerlink.ts";
import { derivePort } from "../../src/derive.ts";
import { PortInUseError } from "../../src/errors.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";

function lan() {
  const network = new MemoryNetwork({ seed: 11 });
  const directory = new Directory();
  let next = 1;
  const nodes: PeerLink[] = [];
  const at = (options: SwarmNodeOptions = {}): SwarmNodeOptions => {
    const address = `10.0.0.${next++}`;
    return { runtime: network.host(address), discovery: directory.factory(address), ...options };
  };
  return {
    network,
    directory,
    at,
    track<T extends PeerLink>(node: T): T {
      nodes.push(node);
      return node;
    },
    async close() {
      await Promise.allSettled(nodes.map((n) => n.stop()));
      await network.close();
    },
  };
}

test("SwarmNode.start() registers a handler map, starts, and serves calls", async () => {
  const t = lan();
  try {
    const host = t.track(
      await SwarmNode.start("Host", t.at({ handlers: { add: (a: number, b: number) => a + b, hello: () => "hi" } })),
    );
    assert.ok(host instanceof SwarmNode && host instanceof PeerLink);
    assert.equal(host.started, true);
    assert.deepEqual(host.functions(), ["add", "hello"]);
    const worker = t.track(await new SwarmNode("Worker", t.at({ handlers: new Map([["x", () => 1]]) })).start());
    assert.equal(await worker.call("Host", "add", [2, 2]), 4);
    assert.equal(await host.call("Worker", "x"), 1);
  } finally {
    await t.close();
  }
});

test("SwarmNode waits for the requested number of peers before resolving", async () => {
  const t = lan();
  try {
    t.track(await SwarmNode.start("P1", t.at()));
    const pending = SwarmNode.start("Waiter", t.at({ waitForPeers: 2, waitTimeout: 2000 }));
    let resolved = false;
    pending.then(() => (resolved = true), () => {});
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(resolved, false);
    t.track(await SwarmNode.start("P2", t.at()));
    const waiter = t.track(await pending);
    assert.deepEqual(waiter.peers().map((p) => p.name), ["P1", "P2"]);
  } finally {
    await t.close();
  }
});

test("SwarmNode: a wait that runs out stops the node and says how to fix it", async () => {
  const t = lan();
  try {
    const node = t.track(new SwarmNode("Alone", t.at({ waitForPeers: 1, waitTimeout: 50 })));
    const error = await node.start().then(() => undefined, (e) => e);
    assert.ok(error instanceof SwarmStartError, String(error));
    assert.equal(error.node, "Alone");
    assert.match(error.message, /SwarmNode 'Alone' could not start \(UDP port \d+, TCP port \d+\)/);
    assert.match(error.message, /same realm/);
    assert.equal(node.started, false);
  } finally {
    await t.close();
  }
});

test("SwarmNode: a busy port is wrapped with the node name, the port and what to do", async () => {
  const t = lan();
  try {
    const options = t.at({ port: 41000 });
    const host = t.network.host("10.0.0.1");
    const socket = await host.bindDatagram({ address: "0.0.0.0", port: 41000 }, () => {});
    try {
      const error = await SwarmNode.start("Busy", options).then(() => undefined, (e) => e);
      assert.ok(error instanceof SwarmStartError, String(error));
      assert.equal(error.code, "PORT_IN_USE");
      assert.equal(error.udpPort, 41000);
      assert.equal(error.tcpPort, derivePort("Busy", "", "tcp"));
      assert.ok(error.cause instanceof PortInUseError);
      assert.match(error.message, /SwarmNode 'Busy' could not start \(UDP port 41000/);
      assert.match(error.message, /Choose another port/);
    } finally {
      await socket.close();
    }
  } finally {
    await t.close();
  }
});

test("SwarmNode: a name conflict is wrapped with advice to rename", async () => {
  const t = lan();
  t.directory.taken.add("Taken");
  try {
    const error = await SwarmNode.start("Taken", t.at()).then(() => undefined, (e) => e);
    assert.ok(error instanceof SwarmStartError, String(error));
    assert.match(error.message, /SwarmNode 'Taken' could not start/);
    assert.match(error.message, /'Taken' is already used by another node/);
    assert.match(error.message, /allowRename: true/);
    assert.equal((error.cause as { code?: string }).code, "NAME_CONFLICT", "the cause keeps its code");
    assert.throws(() => new SwarmNode("X", { waitForPeers: -1 }), RangeError);
  } finally {
    await t.close();
  }
});
