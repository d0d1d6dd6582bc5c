import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { RpcEndpoint, type RpcEndpointOptions } from "../../src/rpc/endpoint.ts";
import { type RpcPair, rpcPair } from "../support/rpc_pair.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import { PeerLinkError, RemoteError } from "../../src/errors.ts";

type Pair = RpcPair;

/** Two started endpoints on an in-memory LAN: "Worker" (10.0.0.1) calls "Host" (10.0.0.2). */
function pair(
  hostOptions: Partial<RpcEndpointOptions> = {},
  options: { fake?: boolean; loss?: number; python?: boolean } = {},
): Promise<Pair> {
  return rpcPair({ host: hostOptions, seed: 42, ...options });
}

test("RpcEndpoint: a call round-trips over udp, tcp and auto", async () => {
  const t = await pair({ handlers: { add: (a: number, b: number) => a + b } });
  try {
    for (const transport of ["udp", "tcp", "auto"] as const) {
      assert.equal(await t.worker.call(t.peer, "add", [2, 3], { transport }), 5, transport);
    }
    const stats = t.worker.stats();
    assert.equal(stats.calls.udp, 2);
    assert.equal(stats.calls.tcp, 1);
    assert.equal(stats.pendingCalls, 0);
    assert.equal(t.host.stats().handlers.invocations, 3);
  } finally {
    await t.close();
  }
});

test("RpcEndpoint: currentPeer() names the caller inside handlers, across awaits", async () => {
  const t = await pair({
    handlers: {
      who: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        const caller = currentPeer();
        return [caller?.name, caller?.address, caller?.transport];
      },
    },
  });
  try {
    assert.deepEqual(await t.worker.call(t.peer, "who", [], { transport: "udp" }), ["Worker", "10.0.0.1", "udp"]);
    assert.deepEqual(await t.worker.call(t.peer, "who", [], { transport: "tcp" }), ["Worker", "10.0.0.1", "tcp"]);
    assert.equal(currentPeer(), undefined);
  } finally {
    await t.close();
  }
});

test("RpcEndpoint: a handler's throw reaches the caller as RemoteError with its fields", async () => {
  class QuotaExceeded extends Error {}
  const t = await pair({
    handlers: {
      fail: () => {
        throw new RangeError("value out of range");
      },
      quota: async () => {
        await Promise.resolve();
        throw new QuotaExceeded("over quota");
      },
    },
  });
  try {
    for (const transport of ["udp", "tcp"] as const) {
      await assert.rejects(t.worker.call(t.peer, "fail", [], { transport }), (err: unknown) => {
        assert.ok(err instanceof RemoteError);
        assert.ok(err instanceof PeerLinkError);
        assert.equal(err.remoteType, "RangeError");
        assert.equal(err.remoteMessage, "value out of range");
        assert.equal(err.peer, "Host");
        assert.equal(err.function, "fail");
        assert.equal(err.message, "'fail' on 'Host' failed: RangeError: value out of range");
        return true;
      });
    }
    await assert.rejects(t.worker.call(t.peer, "quota", []), { name: "RemoteError", remoteType: "QuotaExceeded" });
  } finally {
    await t.close();
  }
});

test("RpcEndpoint: the built-in __ping__ answers { ok: true, ts } over both transports", async () => {
  const t = await pair();
  try {
    for (const transport of ["udp", "tcp"] as const) {
      const reply = await t.worker.call(t.peer, "__ping__", [], { transport }) as { ok: boolean; ts: number };
      assert.equal(reply.ok, true);
      assert.equal(typeof reply.ts, "number");
    }
  } finally {
    await t.close();
  }
});

test("RpcEndpoint: handlers registered after start() are served", async () => {
  const t = await pair();
  try {
    await assert.rejects(t.worker.call(t.peer, "late", []), { name: "RemoteError", remoteType: "NoSuchFunction" });
    t.host.handlers.register("late", () => "here now");
    assert.equal(await t.worker.call(t.peer, "late", []), "here now");
  } finally {
    await t.close();
  }
});

test("RpcEndpoint: await using stops the endpoint", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  const runtime = network.host("10.0.0.1");
  let port: number;
  {
    await using endpoint = new RpcEndpoint({ runtime, name: "Scoped" });
    port = (await endpoint.start()).udpPort;
    assert.equal(endpoint.started, true);
  }
  // The port is free again: binding it works.
  const again = new RpcEndpoint({ runtime, name: "Again", udpPort: port });
  await again.start();
  await again.stop();
  await network.close();
});
