import { test } from "node:test";
import assert from "node:assert/strict";
import { socketSkip } from "./support/env.ts";
import { autoRuntime } from "../runtimes/auto.ts";
import { RpcEndpoint } from "../src/rpc/endpoint.ts";
import { currentPeer } from "../src/rpc/context.ts";
import { deriveKeys } from "../src/security/keys.ts";
import { LOCAL_CAPABILITIES } from "../src/wire/capabilities.ts";
import { PeerConnectionError, PeerTimeoutError } from "../src/errors.ts";

const SECRET = "real-socket secret 0c4e7d";

test("real sockets: nodes with the same secret call each other sealed over UDP and TCP, including 4 MiB", {
  skip: socketSkip,
}, async () => {
  const runtime = autoRuntime();
  const keys = await deriveKeys(SECRET);
  const host = new RpcEndpoint({
    runtime,
    name: "Host",
    address: "127.0.0.1",
    keys,
    handlers: { echo: (x: unknown) => x, who: () => [currentPeer()?.name, currentPeer()?.authenticated] },
  });
  const worker = new RpcEndpoint({ runtime, name: "Worker", address: "127.0.0.1", secret: SECRET });
  const ports = await host.start();
  await worker.start();
  const peer = { name: "Host", address: "127.0.0.1", ...ports, capabilities: LOCAL_CAPABILITIES };
  try {
    assert.deepEqual(await worker.call(peer, "who", [], { transport: "udp" }), ["Worker", true]);
    assert.deepEqual(await worker.call(peer, "who", [], { transport: "tcp" }), ["Worker", true]);
    const blob = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 7 + (i >>> 9)) & 0xff);
    const back = await worker.call(peer, "echo", [blob], { timeout: 30_000 }) as Uint8Array;
    assert.equal(back.length, blob.length);
    assert.ok(Buffer.from(back).equals(Buffer.from(blob)));
    assert.equal(await worker.call(peer, "echo", ["x".repeat(3000)]), "x".repeat(3000), "large reply via TCP");
    const security = host.stats().security;
    assert.ok(security.opened >= 4);
    assert.equal(security.forged + security.replayed + security.stale + security.plaintextDropped, 0);
  } finally {
    await worker.stop();
    await host.stop();
  }
});

test("real sockets: a node with a wrong secret or none cannot call a secured node", { skip: socketSkip }, async () => {
  const runtime = autoRuntime();
  let runs = 0;
  const host = new RpcEndpoint({
    runtime,
    name: "Host",
    address: "127.0.0.1",
    secret: SECRET,
    handlers: { f: () => ++runs },
  });
  const wrong = new RpcEndpoint({ runtime, name: "Wrong", address: "127.0.0.1", secret: SECRET + "!" });
  const none = new RpcEndpoint({ runtime, name: "None", address: "127.0.0.1" });
  const right = new RpcEndpoint({ runtime, name: "Right", address: "127.0.0.1", secret: SECRET });
  const ports = await host.start();
  await wrong.start();
  await none.start();
  await right.start();
  const peer = { name: "Host", address: "127.0.0.1", ...ports, capabilities: LOCAL_CAPABILITIES };
  try {
    for (const caller of [wrong, none]) {
      await assert.rejects(caller.call(peer, "f", [], { transport: "udp", timeout: 300 }), PeerTimeoutError);
      await assert.rejects(caller.call(peer, "f", [], { transport: "tcp", timeout: 3000 }), PeerConnectionError);
    }
    assert.equal(runs, 0);
    const security = host.stats().security;
    assert.ok(security.forged >= 2 && security.plaintextDropped >= 2, JSON.stringify(security));
    // Positive control: the same host answers a caller with the right secret.
    assert.equal(await right.call(peer, "f", [], { transport: "udp" }), 1);
    assert.equal(await right.call(peer, "f", [], { transport: "tcp" }), 2);
  } finally {
    await Promise.all([wrong.stop(), none.stop(), right.stop()]);
    await host.stop();
  }
});
