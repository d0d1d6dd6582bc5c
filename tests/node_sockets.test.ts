import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { runtimeName, socketSkip } from "./support/env.ts";
import { PeerLink } from "../src/peerlink.ts";
import { currentPeer } from "../src/rpc/context.ts";
import { PeerNotFound, RemoteError } from "../src/errors.ts";
import type { PeerDownReason } from "../src/discovery.ts";

/** Names unique to this run, so parallel runs in one namespace never collide. */
const tag = Math.random().toString(36).slice(2, 7);

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("PeerLink sockets: two nodes in one process discover each other and call over UDP and TCP", {
  skip: socketSkip,
}, async () => {
  const a = new PeerLink(`A-${tag}`).register("add", (x: number, y: number) => x + y);
  const b = new PeerLink(`B-${tag}`)
    .register("who", async () => {
      const first = currentPeer();
      await new Promise((r) => setTimeout(r, 2));
      return [first?.name, first?.transport, currentPeer()?.name];
    })
    .register("size", (bytes: Uint8Array) => bytes.length);
  const downs: string[] = [];
  try {
    await Promise.all([a.start(), b.start()]);
    a.on("peer-down", (p, reason) => downs.push(`${p.name}:${reason}`));
    await a.waitForPeers(1, { timeout: 8000 });
    await b.waitForPeers(1, { timeout: 8000 });
    await until(() => a.peers().some((p) => p.name === b.name), 8000, "A to see B");
    await until(() => b.peers().some((p) => p.name === a.name), 8000, "B to see A");
    const seen = a.peers().find((p) => p.name === b.name)!;
    assert.equal(seen.udpPort, b.ports!.udpPort);
    assert.equal(seen.tcpPort, b.ports!.tcpPort);

    assert.equal(await b.call(a.name, "add", [2, 3], { transport: "udp" }), 5);
    assert.equal(await b.call(a.name, "add", [2, 3], { transport: "tcp" }), 5);
    assert.equal(await b.peer(a.name).add(20, 22), 42);
    assert.deepEqual(await a.call(b.name, "who", [], { transport: "udp" }), [a.name, "udp", a.name]);
    assert.deepEqual(await a.call(b.name, "who", [], { transport: "tcp" }), [a.name, "tcp", a.name]);
    assert.equal(await a.call(b.name, "size", [new Uint8Array(1 << 20)]), 1 << 20);
    const fanOut = await a.call("ALL", "size", [new Uint8Array(3)]);
    const mine = fanOut.find((r) => r.peer === b.name);
    assert.ok(mine?.ok && mine.value === 3, JSON.stringify(fanOut));
    assert.throws(() => a.peer(`B-${tag}`.slice(0, -1)), PeerNotFound);
    await assert.rejects(a.call(b.name, "missing"), RemoteError);
    assert.equal(await a.peer(b.name).isAlive(), true);

    const stoppedAt = Date.now();
    await b.stop();
    await until(() => downs.includes(`${b.name}:goodbye`), 2000, "peer-down goodbye");
    assert.ok(Date.now() - stoppedAt < 1000, `goodbye seen after ${Date.now() - stoppedAt} ms`);
    assert.ok(!a.peers().some((p) => p.name === b.name));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

/** Command line that runs `file` with the runtime executing this test. */
function childCommand(file: string, args: string[]): [string, string[]] {
  if (runtimeName === "deno") return [process.execPath, ["run", "-A", file, ...args]];
  return [process.execPath, [file, ...args]];
}

test("PeerLink sockets: nodes in two processes discover and call each other both ways", {
  skip: socketSkip,
}, async () => {
  const parent = new PeerLink(`Parent-${tag}`).register("hello", (name: string) => `hello ${name}`);
  const childName = `Child-${tag}`;
  const downs: { name: string; reason: PeerDownReason }[] = [];
  parent.on("peer-down", (p, reason) => downs.push({ name: p.name, reason }));
  await parent.start();
  const fixture = fileURLToPath(new URL("./node_child_fixture.ts", import.meta.url));
  const [command, args] = childCommand(fixture, [childName, parent.name]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: process.env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  try {
    await until(() => stdout.includes("\n") || child.exitCode !== null, 30_000, `child ready (stderr: ${stderr})`);
    assert.equal(child.exitCode, null, `child exited early: ${stderr}`);
    const ready = JSON.parse(stdout.split("\n")[0]);
    assert.equal(ready.ready, true);
    assert.equal(ready.runtime, runtimeName);
    assert.equal(ready.viaUdp, `hello ${childName}`);
    assert.equal(ready.viaTcp, `hello ${childName}`);

    await until(() => parent.peers().some((p) => p.name === childName), 10_000, "parent to see the child");
    assert.equal(await parent.call(childName, "add", [40, 2], { transport: "udp" }), 42);
    assert.equal(await parent.call(childName, "add", [1, 2], { transport: "tcp" }), 3);
    const childProxy = parent.peer<{ runtime(): string; echo(v: Uint8Array): Uint8Array }>(childName);
    assert.equal(await childProxy.runtime(), runtimeName);
    const blob = new Uint8Array(200_000).map((_, i) => (i * 7) % 256);
    assert.deepEqual(await childProxy.echo(blob), blob);
    assert.deepEqual(await parent.call(childName, "whoami", [], { transport: "udp" }), {
      name: parent.name,
      transport: "udp",
      later: parent.name,
    });
    const fanOut = await parent.call("ALL", "add", [1, 1]);
    assert.ok(fanOut.some((r) => r.peer === childName && r.ok && r.value === 2), JSON.stringify(fanOut));

    child.kill("SIGTERM");
    const code = await exited;
    assert.equal(code, 143, `child exit code (stderr: ${stderr})`);
    await until(() => downs.some((d) => d.name === childName), 3000, "peer-down after SIGTERM");
    assert.equal(downs.find((d) => d.name === childName)!.reason, "goodbye");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
    await parent.stop();
  }
});
