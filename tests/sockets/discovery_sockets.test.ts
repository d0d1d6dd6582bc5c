import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { runtimeName, socketSkip } from "../support/env.ts";
import { signalChild } from "../../cli/launch.ts";
import { Discovery, type PeerDownReason } from "../../src/discovery.ts";
import { autoRuntime } from "../../runtimes/auto.ts";
import { Mdns } from "../../src/mdns/mod.ts";

const tag = randomBytes(3).toString("hex");

function discovery(name: string, udpPort: number): Discovery {
  return new Discovery({
    runtime: autoRuntime(),
    name,
    udpPort,
    tcpPort: udpPort + 1,
    instanceId: crypto.randomUUID(),
  });
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("real sockets: two Discovery instances discover each other", { skip: socketSkip }, async () => {
  const a = discovery(`A-${tag}`, 41001);
  const b = discovery(`B-${tag}`, 41003);
  try {
    await Promise.all([a.start(), b.start()]);
    const [peerOfA] = await a.waitForPeers(1, { timeout: 10_000 });
    const [peerOfB] = await b.waitForPeers(1, { timeout: 10_000 });
    assert.equal(peerOfA.name, b.name);
    assert.equal(peerOfA.udpPort, 41003);
    assert.equal(peerOfA.tcpPort, 41004);
    assert.equal(peerOfA.address, "127.0.0.1");
    assert.equal(peerOfB.name, a.name);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("real sockets: stop() is seen as peer-down at once, by its goodbye", { skip: socketSkip }, async () => {
  const a = discovery(`Watcher-${tag}`, 41011);
  const b = discovery(`Leaver-${tag}`, 41013);
  try {
    await Promise.all([a.start(), b.start()]);
    await a.waitForPeers(1, { timeout: 10_000 });
    const downs: Array<[string, PeerDownReason, number]> = [];
    a.on("peer-down", (p, reason) => downs.push([p.name, reason, Date.now()]));
    const stoppedAt = Date.now();
    await b.stop();
    await until(() => downs.length > 0, 5000, "peer-down");
    assert.equal(downs[0][0], b.name);
    assert.equal(downs[0][1], "goodbye", "the goodbye, not an expiry, brought it down");
    // Typically 1 ms (README's benchmark); 10x the benchmark's 200 ms bound on a shared 2-core machine.
    assert.ok(downs[0][2] - stoppedAt < 2000, `seen after ${downs[0][2] - stoppedAt} ms`);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("real sockets: a process killed with SIGKILL is reported down within seconds after reportUnreachable()", {
  skip: socketSkip,
}, async () => {
  const watcher = discovery(`Survivor-${tag}`, 41021);
  const victim = `Victim-${tag}`;
  const fixture = fileURLToPath(new URL("../support/discovery_child_fixture.ts", import.meta.url));
  const args = runtimeName === "deno" ? ["run", "-A", fixture, victim] : [fixture, victim];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: process.env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const downs: Array<[string, PeerDownReason]> = [];
  watcher.on("peer-down", (p, reason) => downs.push([p.name, reason]));
  try {
    await watcher.start();
    await until(() => stdout.includes("\n") || child.exitCode !== null, 30_000, `child ready (stderr: ${stderr})`);
    assert.equal(child.exitCode, null, `child exited early: ${stderr}`);
    await until(() => watcher.resolve(victim) !== undefined, 10_000, "the watcher to see the child");
    signalChild(child, "SIGKILL");
    await exited;
    const killedAt = Date.now();
    watcher.reportUnreachable(victim);
    await until(() => downs.some(([n]) => n === victim), 30_000, "peer-down of the killed child");
    assert.deepEqual(downs.find(([n]) => n === victim), [victim, "expired"]);
    assert.ok(Date.now() - killedAt < 30_000, "well before the 120 s TTL");
    assert.equal(watcher.resolve(victim), undefined);
  } finally {
    signalChild(child, "SIGKILL");
    await exited;
    await watcher.stop();
  }
});

test("real sockets: the mDNS layer publishes a service that another instance resolves", {
  skip: socketSkip,
}, async () => {
  const a = new Mdns({ runtime: autoRuntime() });
  const b = new Mdns({ runtime: autoRuntime() });
  try {
    await a.start();
    await b.start();
    const type = `_t${tag}._tcp`;
    const published = await a.publish({ instance: "Echo", type, port: 9999, txt: { hello: "world" } });
    assert.equal(published.fullName, `Echo.${type}.local`);
    const instance = await b.resolve("Echo", type, { timeout: 5000 });
    assert.equal(instance.port, 9999);
    assert.equal(instance.txt.hello, "world");
    assert.ok(instance.addresses.includes("127.0.0.1"), instance.addresses.join(","));
    assert.equal(a.stats.transport.internalErrors + b.stats.transport.internalErrors, 0);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
