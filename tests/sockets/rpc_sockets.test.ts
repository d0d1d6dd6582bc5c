import { test } from "node:test";
import assert from "node:assert/strict";
import { socketSkip } from "../support/env.ts";
import { autoRuntime } from "../../runtimes/auto.ts";
import { RpcEndpoint } from "../../src/rpc/endpoint.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import { LOCAL_CAPABILITIES, NO_CAPABILITIES } from "../../src/wire/capabilities.ts";
import { PortInUseError } from "../../src/errors.ts";

test("real sockets: two endpoints call each other over UDP and TCP on 127.0.0.1", { skip: socketSkip }, async () => {
  const runtime = autoRuntime();
  const a = new RpcEndpoint({
    runtime,
    name: "A",
    address: "127.0.0.1",
    handlers: { whoami: () => `A serving ${currentPeer()?.name} via ${currentPeer()?.transport}` },
  });
  const b = new RpcEndpoint({
    runtime,
    name: "B",
    address: "127.0.0.1",
    handlers: { echo: (x: unknown) => x, big: () => "b".repeat(20_000) },
  });
  const portsA = await a.start();
  const portsB = await b.start();
  try {
    const toA = { name: "A", address: "127.0.0.1", ...portsA, capabilities: LOCAL_CAPABILITIES };
    const toB = { name: "B", address: "127.0.0.1", ...portsB, capabilities: LOCAL_CAPABILITIES };
    assert.equal(await b.call(toA, "whoami", [], { transport: "udp" }), "A serving B via udp");
    assert.equal(await b.call(toA, "whoami", [], { transport: "tcp" }), "A serving B via tcp");
    const blob = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 13) & 0xff);
    const back = await a.call(toB, "echo", [{ blob, label: "x" }], { timeout: 20_000 }) as { blob: Uint8Array };
    assert.equal(back.blob.length, blob.length);
    assert.ok(back.blob.every((v, i) => v === blob[i]));
    assert.equal((await a.call(toB, "big", [])) as string, "b".repeat(20_000), "large UDP reply fetched over TCP");
    assert.equal(a.stats().calls.retriedOverTcp, 1);
    const toPythonStyleB = { ...toB, capabilities: NO_CAPABILITIES };
    assert.deepEqual(await a.call(toPythonStyleB, "echo", [[1, "two"]], { transport: "tcp" }), [1, "two"]);
    const clash = new RpcEndpoint({ runtime, name: "C", address: "127.0.0.1", udpPort: portsA.udpPort });
    await assert.rejects(clash.start(), (err) => err instanceof PortInUseError && err.port === portsA.udpPort);
  } finally {
    await a.stop();
    await b.stop();
  }
});
