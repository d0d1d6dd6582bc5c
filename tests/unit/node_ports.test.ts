import { test } from "node:test";
import assert from "node:assert/strict";
import { Directory } from "../support/node_harness.ts";
import type { DiscoveryOptions } from "../../src/discovery.ts";
import { PeerLink } from "../../src/peerlink.ts";
import { derivePort, deriveRealm } from "../../src/derive.ts";
import { NameConflict, PortInUseError } from "../../src/errors.ts";
import { debugFromEnv, type Logger } from "../../src/log.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";

/** A node on a fresh network whose discovery options are captured. */
function setup(name: string, options: ConstructorParameters<typeof PeerLink>[1] = {}) {
  const network = new MemoryNetwork({ seed: 7 });
  const host = network.host("10.0.0.1");
  const directory = new Directory();
  const published: DiscoveryOptions[] = [];
  const factory = directory.factory("10.0.0.1");
  const node = new PeerLink(name, {
    runtime: host,
    discovery: (o) => {
      published.push(o);
      return factory(o);
    },
    ...options,
  });
  return { network, host, node, published };
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

test("ports: UDP and TCP default to derivePort(name) and derivePort(name, realm, 'tcp')", async () => {
  const { network, node, published } = setup("Worker");
  try {
    await node.start();
    assert.deepEqual(node.ports, { udpPort: derivePort("Worker"), tcpPort: derivePort("Worker", "", "tcp") });
    assert.equal(node.ports!.udpPort, 62463); // Python PeerLink 1.2's number for "Worker"
    assert.equal(published[0].udpPort, node.ports!.udpPort);
    assert.equal(published[0].tcpPort, node.ports!.tcpPort);
    assert.equal(published[0].realm, undefined);
    assert.equal(published[0].name, "Worker");
    assert.match(published[0].instanceId, /^[0-9a-f-]{36}$/);
    const txt = published[0].txt;
    assert.match((typeof txt === "function" ? txt("Worker") : txt)?.ext ?? "", /persist/);
  } finally {
    await node.stop();
    await network.close();
  }
});

test("ports: a secret derives the realm as Python does, and the ports follow the realm", async () => {
  const { network, node, published } = setup("Worker", { secret: "hunter2" });
  try {
    assert.equal(node.realm, "1d3b40d1060fb2b0");
    assert.equal(node.realm, deriveRealm("hunter2"));
    await node.start();
    assert.equal(published[0].realm, "1d3b40d1060fb2b0");
    assert.deepEqual(node.ports, {
      udpPort: derivePort("Worker", node.realm),
      tcpPort: derivePort("Worker", node.realm, "tcp"),
    });
    assert.equal(node.ports!.udpPort, 53285);
  } finally {
    await node.stop();
    await network.close();
  }
});

test("ports: an explicit realm is used as given", async () => {
  const { network, node, published } = setup("Worker", { realm: "lab" });
  try {
    await node.start();
    assert.equal(published[0].realm, "lab");
    assert.equal(node.ports!.udpPort, derivePort("Worker", "lab"));
    assert.throws(() => new PeerLink("X", { realm: "a", secret: "b" }), /realm or secret, not both/);
  } finally {
    await node.stop();
    await network.close();
  }
});

test("ports: a busy derived port falls back to an OS-chosen port with a warning, and discovery advertises it", async () => {
  const logger = recordingLogger();
  const { network, host, node, published } = setup("Worker", { logger });
  const squatter = await host.bindDatagram({ address: "0.0.0.0", port: derivePort("Worker") }, () => {});
  const tcpSquatter = await host.listen({ address: "0.0.0.0", port: derivePort("Worker", "", "tcp") }, () => {});
  try {
    await node.start();
    const ports = node.ports!;
    assert.notEqual(ports.udpPort, derivePort("Worker"));
    assert.notEqual(ports.tcpPort, derivePort("Worker", "", "tcp"));
    assert.ok(ports.udpPort > 0 && ports.tcpPort > 0);
    assert.equal(published[0].udpPort, ports.udpPort);
    assert.equal(published[0].tcpPort, ports.tcpPort);
    const warnings = logger.lines.filter((l) => l.startsWith("warn"));
    assert.equal(warnings.length, 1, `one line for both ports:\n${warnings.join("\n")}`);
    assert.match(
      warnings[0],
      new RegExp(
        `UDP port ${derivePort("Worker")} and TCP port ${
          derivePort("Worker", "", "tcp")
        } \\(derived from the name\\) are busy; using UDP ${ports.udpPort} and TCP ${ports.tcpPort} instead`,
      ),
    );
  } finally {
    await node.stop();
    await squatter.close();
    await tcpSquatter.close();
    await network.close();
  }
});

test("ports: a second node of the same name on this host hears once that the name is in use", async () => {
  const network = new MemoryNetwork({ seed: 7 });
  const host = network.host("10.0.0.1");
  const first = new PeerLink("Worker", { runtime: host });
  const logger = recordingLogger();
  const second = new PeerLink("Worker", { runtime: host, logger });
  try {
    await first.start();
    const error = await second.start().then(() => undefined, (e) => e);
    assert.ok(error instanceof NameConflict, String(error));
    assert.equal(error.code, "NAME_CONFLICT");
    assert.match(error.message, /^the name 'Worker' is already used by another node/);
    assert.deepEqual(logger.lines.filter((l) => !l.startsWith("debug")), [], "no warning about the busy ports");
    assert.equal(second.started, false);
  } finally {
    await second.stop();
    await first.stop();
    await network.close();
  }
});

test("ports: a busy explicit port rejects start() naming the port and the node", async () => {
  const { network, host, node } = setup("Worker", { port: 40000 });
  const squatter = await host.bindDatagram({ address: "0.0.0.0", port: 40000 }, () => {});
  try {
    const error = await node.start().then(() => undefined, (e) => e);
    assert.ok(error instanceof PortInUseError, String(error));
    assert.equal(error.port, 40000);
    assert.equal(error.node, "Worker");
    assert.match(error.message, /UDP port 40000 of 'Worker' is already in use/);
    assert.equal(node.started, false);
    await squatter.close();
    await node.start(); // the failed start left nothing bound
    assert.equal(node.ports!.udpPort, 40000);
  } finally {
    await node.stop();
    await squatter.close();
    await network.close();
  }
});

test("ports: a busy explicit TCP port rejects and frees the UDP port it had bound", async () => {
  const { network, host, node } = setup("Worker", { port: 40001, tcpPort: 40002 });
  const squatter = await host.listen({ address: "0.0.0.0", port: 40002 }, () => {});
  try {
    await assert.rejects(node.start(), (e: unknown) => e instanceof PortInUseError && e.transport === "tcp");
    const probe = await host.bindDatagram({ address: "0.0.0.0", port: 40001 }, () => {});
    await probe.close();
  } finally {
    await squatter.close();
    await network.close();
  }
});

test("options: invalid names, ports and timeouts are refused at construction", () => {
  assert.throws(() => new PeerLink(""), TypeError);
  assert.throws(() => new PeerLink("a.b"), /dot/);
  assert.throws(() => new PeerLink("x".repeat(64)), /63/);
  assert.throws(() => new PeerLink(42 as unknown as string), TypeError);
  assert.throws(() => new PeerLink("A", { port: 70000 }), RangeError);
  assert.throws(() => new PeerLink("A", { tcpPort: -1 }), RangeError);
  assert.throws(() => new PeerLink("A", { timeout: 0 }), RangeError);
  assert.equal(new PeerLink("Ünïcode Node (2)").name, "Ünïcode Node (2)");
});

test("logging: quiet by default, verbose lines carry the node's prefix once per node", async () => {
  const captured: string[] = [];
  const original = { error: console.error, warn: console.warn, log: console.log, info: console.info };
  const capture = (...args: unknown[]) => void captured.push(args.map(String).join(" "));
  const network = new MemoryNetwork({ seed: 3 });
  const directory = new Directory();
  const make = (name: string, address: string, verbose?: boolean) =>
    new PeerLink(name, { runtime: network.host(address), discovery: directory.factory(address), verbose });
  console.error =
    console.warn =
    console.log =
    console.info =
      capture;
  try {
    if (!debugFromEnv()) {
      const quiet = await make("Quiet", "10.0.0.9").start();
      await quiet.stop();
      assert.deepEqual(captured, []);
    }
    const a = await make("Alpha", "10.0.0.1", true).start();
    const b = await make("Beta", "10.0.0.2", true).start();
    await a.call("Beta", "__ping__");
    await a.stop();
    await b.stop();
  } finally {
    Object.assign(console, original);
    await network.close();
  }
  const alphaStarted = captured.filter((l) => l.startsWith("[peerlink Alpha]") && l.includes("started as"));
  const betaStarted = captured.filter((l) => l.startsWith("[peerlink Beta]") && l.includes("started as"));
  assert.equal(alphaStarted.length, 1, captured.join("\n"));
  assert.equal(betaStarted.length, 1, captured.join("\n"));
  assert.ok(captured.every((l) => /^\[peerlink (Alpha|Beta)\]/.test(l)), captured.join("\n"));
});
