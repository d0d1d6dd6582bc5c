import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { createPeerProxy, isLocalPropertyName, LOCAL_PROPERTY_NAMES } from "../../src/proxy.ts";

/** A proxy whose invoke spy records every remote call. */
function spyProxy(reply: (fn: string, args: unknown[]) => unknown = () => "remote") {
  const calls: { fn: string; args: unknown[] }[] = [];
  const proxy = createPeerProxy(async (fn, args) => {
    calls.push({ fn, args });
    return await reply(fn, args);
  }, "NodeB");
  return { proxy, calls };
}

test("proxy: awaiting a proxy yields the proxy and sends nothing", async () => {
  const { proxy, calls } = spyProxy();
  const awaited = await proxy;
  assert.equal(awaited, proxy);
  assert.equal(await Promise.resolve(proxy), proxy);
  assert.deepEqual(calls, []);
});

test("proxy: returning a proxy from an async function sends nothing", async () => {
  const { proxy, calls } = spyProxy();
  const make = async () => {
    await null;
    return proxy;
  };
  assert.equal(await make(), proxy);
  assert.deepEqual(calls, []);
});

test("proxy: JSON.stringify gives {} and sends nothing", () => {
  const { proxy, calls } = spyProxy();
  assert.equal(JSON.stringify(proxy), "{}");
  assert.equal(JSON.stringify({ peer: proxy }), '{"peer":{}}');
  assert.deepEqual(calls, []);
});

test("proxy: structuredClone neither hangs nor sends", () => {
  const { proxy, calls } = spyProxy();
  let outcome: string;
  try {
    structuredClone(proxy);
    outcome = "cloned";
  } catch (err) {
    outcome = (err as Error).name;
  }
  assert.ok(outcome === "DataCloneError" || outcome === "cloned", `unexpected outcome ${outcome}`);
  assert.deepEqual(calls, []);
});

test("proxy: console.log, util.inspect and the runtime's inspect send nothing", () => {
  const { proxy, calls } = spyProxy();
  const text = inspect(proxy);
  assert.match(text, /PeerProxy/);
  assert.match(text, /NodeB/);
  assert.match(inspect(proxy, { showProxy: true, depth: 4 }), /Proxy/);
  const g = globalThis as { Deno?: { inspect(v: unknown): string }; Bun?: { inspect(v: unknown): string } };
  if (g.Deno) assert.match(g.Deno.inspect(proxy), /NodeB/);
  if (g.Bun) assert.match(g.Bun.inspect(proxy), /NodeB/);
  console.log(proxy);
  console.dir(proxy);
  assert.deepEqual(calls, []);
});

test("proxy: String() and template literals name the peer without a call", () => {
  const { proxy, calls } = spyProxy();
  assert.equal(String(proxy), "[PeerProxy NodeB]");
  assert.equal(`${proxy}`, "[PeerProxy NodeB]");
  assert.equal(Object.prototype.toString.call(proxy), "[object PeerProxy]");
  assert.deepEqual(calls, []);
});

test("proxy: every Symbol key reads as local and sends nothing", () => {
  const { proxy, calls } = spyProxy();
  const symbols = [
    Symbol.iterator,
    Symbol.asyncIterator,
    Symbol.toPrimitive,
    Symbol.hasInstance,
    Symbol.for("nodejs.util.inspect.custom"),
    Symbol.for("Deno.customInspect"),
    Symbol("anything"),
    ...(typeof Symbol.asyncDispose === "symbol" ? [Symbol.asyncDispose] : []),
    ...(typeof Symbol.dispose === "symbol" ? [Symbol.dispose] : []),
  ];
  const record = proxy as unknown as Record<symbol, unknown>;
  for (const sym of symbols) {
    assert.equal(record[sym], undefined, `${String(sym)} should read undefined`);
    assert.equal(isLocalPropertyName(sym), true);
  }
  assert.equal(record[Symbol.toStringTag], "PeerProxy");
  assert.deepEqual(calls, []);
});

test("proxy: names that JS machinery probes are never sent", async () => {
  const { proxy, calls } = spyProxy();
  const record = proxy as unknown as Record<string, unknown>;
  const probes = [
    "then",
    "catch",
    "finally",
    "toJSON",
    "constructor",
    "valueOf",
    "toString",
    "inspect",
    "nodeType",
    "$$typeof",
    "asymmetricMatch",
    "__proto__",
    "hasOwnProperty",
    "prototype",
  ];
  for (const name of probes) {
    assert.ok(LOCAL_PROPERTY_NAMES.has(name), `${name} should be local`);
    const value = record[name];
    if (name === "toString") assert.equal(typeof value, "function");
    else assert.equal(value, undefined, `${name} should read undefined`);
    assert.equal(name in proxy, false, `"${name}" in proxy should be false`);
  }
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(calls, []);
});

test("proxy: other names call invoke with the name and the arguments", async () => {
  const { proxy, calls } = spyProxy((fn, args) => `${fn}:${args.length}`);
  assert.equal(await proxy.add(1, 2), "add:2");
  assert.equal(await proxy.getMap(), "getMap:0");
  assert.deepEqual(calls, [{ fn: "add", args: [1, 2] }, { fn: "getMap", args: [] }]);
  assert.equal("add" in proxy, true);
});

test("proxy: a remote function is created once per name", () => {
  const { proxy } = spyProxy();
  assert.equal(proxy.add, proxy.add);
  assert.notEqual(proxy.add, proxy.sub);
});

test("proxy: isAlive() pings with __ping__ and never rejects", async () => {
  const ok = spyProxy(() => ({ ok: true, ts: 1 }));
  assert.equal(await ok.proxy.isAlive(), true);
  assert.deepEqual(ok.calls, [{ fn: "__ping__", args: [] }]);
  const failing = spyProxy(() => {
    throw new Error("timed out");
  });
  assert.equal(await failing.proxy.isAlive(), false);
  const odd = spyProxy(() => "pong");
  assert.equal(await odd.proxy.isAlive(), false);
});

test("proxy: assigning or defining properties throws and the proxy stays empty", () => {
  const { proxy, calls } = spyProxy();
  const record = proxy as unknown as Record<string, unknown>;
  assert.throws(() => {
    record.add = 1;
  }, TypeError);
  assert.throws(() => Object.defineProperty(proxy, "x", { value: 1 }), TypeError);
  assert.deepEqual(Object.keys(proxy), []);
  assert.deepEqual({ ...proxy }, {});
  assert.deepEqual(calls, []);
});
