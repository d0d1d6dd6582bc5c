/**
 * Runs the adapter conformance suite (tests/support/conformance.ts) on real loopback
 * sockets against the adapter autoRuntime() picks on this runtime, and under Deno and Bun
 * also against the Node adapter on their node:dgram/node:net ("node-compat": Deno's
 * fallback path). Also checks runtime detection and the explicit adapter option.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { conformanceSuite, type ConformanceTarget } from "../support/conformance.ts";
import { runtimeName, socketSkip } from "../support/env.ts";
import { autoRuntime, detectRuntime, resolveRuntime } from "../../runtimes/auto.ts";
import { nodeRuntime } from "../../runtimes/node/mod.ts";
import { denoRuntime } from "../../runtimes/deno/mod.ts";
import { bunRuntime } from "../../runtimes/bun/mod.ts";
import { NetError, type SocketRuntime } from "../../src/net.ts";

const LOOPBACK = "127.0.0.1";

/**
 * TEST-NET-2 (198.51.100.0/24) routed to lo inside the test namespace: a SYN sent there
 * loops back, is not for a local address, and is dropped, so connect() can only time
 * out. Used only when that route exists and only inside the namespace (socketSkip false).
 */
function unresponsiveEndpoint(): ConformanceTarget["unresponsive"] {
  if (socketSkip) return undefined;
  try {
    const routes = readFileSync("/proc/net/route", "utf8").split("\n").map((line) => line.trim().split(/\s+/));
    // Columns: Iface Destination Gateway Flags ... Mask (hex, little-endian).
    const looped = routes.some(([iface, destination, , , , , , mask]) =>
      iface === "lo" && destination === "006433C6" && mask === "00FFFFFF"
    );
    return looped ? { address: "198.51.100.1", port: 9 } : undefined;
  } catch {
    return undefined;
  }
}

const unresponsive = unresponsiveEndpoint();
const noHangReason = "no loopback target can be made to hang: the test namespace has no route for 198.51.100.0/24 " +
  "via lo (scripts/netns.sh adds it); a refused or unreachable target would fail fast instead";

function loopbackTarget(label: string, runtime: SocketRuntime): ConformanceTarget {
  return {
    label,
    skip: socketSkip,
    hosts: () =>
      Promise.resolve({ a: runtime, b: runtime, addressA: LOOPBACK, addressB: LOOPBACK, close: async () => {} }),
    unresponsive,
    skipCases: unresponsive ? {} : { "connect-timeout": noHangReason },
  };
}

const expectedAdapter = runtimeName; // deno.json enables the unstable net API, so Deno gets its own adapter
let auto: SocketRuntime | undefined;
let autoError: unknown;
try {
  auto = autoRuntime();
} catch (error) {
  autoError = error;
}

test(`autoRuntime() picks the ${expectedAdapter} adapter on ${runtimeName}`, () => {
  assert.equal(detectRuntime(), runtimeName);
  assert.ok(auto, `autoRuntime() threw: ${autoError instanceof Error ? autoError.message : String(autoError)}`);
  assert.equal(auto.name, expectedAdapter);
  assert.ok(auto.networkInterfaces().some((nic) => nic.name === "lo" || nic.internal), "lists the loopback interface");
});

test("resolveRuntime() accepts an adapter object, a name, or auto, and rejects anything else", () => {
  const custom: SocketRuntime = { ...nodeRuntime(), name: "custom" };
  assert.equal(resolveRuntime(custom), custom);
  assert.equal(resolveRuntime("node").name, "node");
  if (auto) {
    assert.equal(resolveRuntime("auto").name, auto.name);
    assert.equal(resolveRuntime().name, auto.name);
  }
  assert.throws(
    () => resolveRuntime("python" as "node"),
    (e: unknown) => e instanceof TypeError && /"python"/.test(e.message),
  );
  assert.throws(() => resolveRuntime({} as SocketRuntime), TypeError);
});

test("adapter factories on the wrong runtime throw NetError UNSUPPORTED naming their file", () => {
  const others: Array<[string, () => SocketRuntime]> = [["deno", denoRuntime], ["bun", bunRuntime]];
  for (const [name, factory] of others.filter(([name]) => name !== runtimeName)) {
    assert.throws(factory, (e: unknown) => {
      assert.ok(e instanceof NetError, `${name}Runtime() threw ${String(e)}`);
      assert.equal(e.code, "UNSUPPORTED");
      assert.match(e.message, new RegExp(`runtimes/${name}/mod\\.ts`));
      return true;
    });
  }
});

if (auto) {
  conformanceSuite(loopbackTarget(auto.name, auto));
} else {
  const reason = `autoRuntime() failed on ${runtimeName}: ${
    autoError instanceof Error ? autoError.message : autoError
  }`;
  conformanceSuite({ ...loopbackTarget(runtimeName, nodeRuntime()), skip: socketSkip || reason });
}

// Deno's fallback (and a user's explicit choice under Bun) is the Node adapter on the
// runtime's own node:dgram/node:net. Under Node it is the auto adapter, run above.
if (runtimeName !== "node") {
  conformanceSuite(loopbackTarget("node-compat", nodeRuntime()));
}
