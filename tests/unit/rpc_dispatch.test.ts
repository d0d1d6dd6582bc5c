import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { RpcEndpoint } from "../../src/rpc/endpoint.ts";
import { Dispatcher, errorTypeName, HandlerRegistry } from "../../src/rpc/dispatch.ts";
import { currentPeer, runWithCurrentPeer } from "../../src/rpc/context.ts";
import { LOCAL_CAPABILITIES } from "../../src/wire/capabilities.ts";
import { BusyError, RemoteError } from "../../src/errors.ts";

const caller = { name: "A", address: "10.0.0.1", port: 5, transport: "udp" as const };
const request = (rpc: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) => ({
  type: "request" as const,
  id: "1",
  src: "A",
  dst: "Host",
  rpc,
  args,
  kwargs,
});

test("dispatch answers 'no such function' for prototype names and unregistered functions", async () => {
  const registry = HandlerRegistry.from({ add: (a: number, b: number) => a + b });
  const dispatcher = new Dispatcher({ node: "Host", registry });
  for (
    const name of [
      "__proto__",
      "constructor",
      "prototype",
      "hasOwnProperty",
      "toString",
      "valueOf",
      "__defineGetter__",
      "missing",
    ]
  ) {
    const reply = await dispatcher.dispatch(request(name), caller);
    assert.deepEqual(reply.message, {
      type: "error",
      id: "1",
      error: { type: "NoSuchFunction", message: `No such function '${name}' registered on 'Host'.` },
    }, name);
  }
  assert.equal(dispatcher.stats().invocations, 0);
  assert.equal(dispatcher.stats().unknownFunctions, 8);
});

test("HandlerRegistry.from() takes only own enumerable functions of a record", () => {
  const proto = { inherited: () => 1 };
  const record = Object.create(proto) as Record<string, () => number>;
  record.own = () => 2;
  const registry = HandlerRegistry.from(record);
  assert.deepEqual(registry.names(), ["own"]);
  assert.equal(registry.get("inherited"), undefined);
  assert.throws(() => registry.register("", () => 1), TypeError);
  assert.throws(() => registry.register("x", "nope" as unknown as () => void), /must be a function/);
});

test("prototype names answer NoSuchFunction end to end", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  const host = new RpcEndpoint({ runtime: network.host("10.0.0.2"), name: "Host", handlers: {} });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker" });
  const { udpPort, tcpPort } = await host.start();
  await worker.start();
  const peer = { name: "Host", address: "10.0.0.2", udpPort, tcpPort, capabilities: LOCAL_CAPABILITIES };
  try {
    for (const name of ["__proto__", "constructor", "prototype", "hasOwnProperty"]) {
      for (const transport of ["udp", "tcp"] as const) {
        await assert.rejects(worker.call(peer, name, [], { transport }), (err) => {
          assert.ok(err instanceof RemoteError);
          assert.equal(err.remoteType, "NoSuchFunction");
          return true;
        });
      }
    }
    assert.equal(host.stats().handlers.invocations, 0);
  } finally {
    await worker.stop();
    await host.stop();
    await network.close();
  }
});

test("kwargs reach the handler as a trailing object; none means no extra argument", async () => {
  const seen: unknown[][] = [];
  const dispatcher = new Dispatcher({
    node: "Host",
    registry: new HandlerRegistry().register("f", (...args: unknown[]) => (seen.push(args), args.length)),
  });
  await dispatcher.dispatch(request("f", [1], { scale: 2 }), caller);
  await dispatcher.dispatch(request("f", [1]), caller);
  assert.deepEqual(seen, [[1, { scale: 2 }], [1]]);
});

test("the built-in __ping__ answers like Python, unless a handler replaces it", async () => {
  const registry = new HandlerRegistry();
  const dispatcher = new Dispatcher({ node: "Host", registry });
  const reply = (await dispatcher.dispatch(request("__ping__"), caller)).message as {
    result: { ok: boolean; ts: number };
  };
  assert.equal(reply.result.ok, true);
  assert.ok(Math.abs(reply.result.ts - Date.now() / 1000) < 60);
  registry.register("__ping__", () => "custom");
  assert.equal(
    ((await dispatcher.dispatch(request("__ping__"), caller)).message as { result: string }).result,
    "custom",
  );
});

test("a handler returning an unsendable value yields a TypeError reply naming the path", async () => {
  const dispatcher = new Dispatcher({
    node: "Host",
    registry: new HandlerRegistry().register("f", () => ({ ok: 1, bad: () => 0 })),
  });
  const reply = (await dispatcher.dispatch(request("f"), caller)).message as {
    error: { type: string; message: string };
  };
  assert.equal(reply.error.type, "TypeError");
  assert.match(
    reply.error.message,
    /handler 'f' returned a value that cannot be sent: Cannot send result\.bad: a function/,
  );
});

test("errorTypeName() reports names, subclass names and non-errors", () => {
  class Custom extends Error {}
  const named = new Error("x");
  named.name = "Named";
  assert.equal(errorTypeName(new TypeError("x")), "TypeError");
  assert.equal(errorTypeName(new Custom("x")), "Custom");
  assert.equal(errorTypeName(named), "Named");
  assert.equal(errorTypeName("a string"), "Error");
});

test("currentPeer() follows the handler across timers; runWithCurrentPeer() sets and clears it", async () => {
  const peer = { name: "Host", address: "10.0.0.2", port: 1, transport: "tcp" as const };
  const seen = await runWithCurrentPeer(peer, async () => {
    await new Promise((resolve) => setTimeout(resolve, 2));
    const inner = runWithCurrentPeer(undefined, () => currentPeer());
    return [currentPeer()?.name, inner];
  });
  assert.deepEqual(seen, ["Host", undefined]);
  assert.equal(currentPeer(), undefined);
  assert.equal(runWithCurrentPeer(peer, (a: number, b: number) => a + b, 1, 2), 3);
});

test("handlers beyond maxConcurrentHandlers are refused with BusyError", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const host = new RpcEndpoint({
    runtime: network.host("10.0.0.2"),
    name: "Host",
    handlers: { wait: () => gate },
    limits: { maxConcurrentHandlers: 1 },
  });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker" });
  const { udpPort, tcpPort } = await host.start();
  await worker.start();
  const peer = { name: "Host", address: "10.0.0.2", udpPort, tcpPort, capabilities: LOCAL_CAPABILITIES };
  try {
    const first = worker.call(peer, "wait", [], { transport: "tcp" });
    await new Promise((resolve) => setTimeout(resolve, 2));
    await assert.rejects(worker.call(peer, "wait", [], { transport: "tcp" }), (err) => {
      assert.ok(err instanceof BusyError);
      assert.equal(err.code, "BUSY");
      assert.equal(err.peer, "Host");
      assert.match(err.message, /busy: 1 calls running \(maxConcurrentHandlers\)/);
      return true;
    });
    release();
    assert.equal(await first, null, "undefined travels as JSON null");
    assert.equal(host.stats().handlers.busy, 1);
  } finally {
    await worker.stop();
    await host.stop();
    await network.close();
  }
});
