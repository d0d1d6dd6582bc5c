import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLan } from "../support/node_harness.ts";
import type { PeerLink } from "../../src/peerlink.ts";
import type { RemoteApi } from "../../src/proxy.ts";

/** The API the "Host" node serves, as its handlers are written. */
const hostHandlers = {
  add: (a: number, b: number) => a + b,
  greet: (name: string) => Promise.resolve(`hello ${name}`),
  bytes: (n: number) => new Uint8Array(n).fill(n),
};
type HostApi = typeof hostHandlers;

/** An interface-style API, with a non-function member that the proxy must not expose. */
interface StatusApi {
  status(): { load: number };
  version: string;
}

/**
 * Never called: each line below must fail type checking (`deno check tests/` in CI), so the
 * `@ts-expect-error` comments prove the typed proxy rejects misuse. If a type got looser,
 * the directive itself would become the error.
 */
function typeErrors(node: PeerLink) {
  const host = node.peer<HostApi>("Host");
  // @ts-expect-error wrong argument type
  host.add("1", 2);
  // @ts-expect-error missing argument
  host.add(1);
  // @ts-expect-error unknown remote function
  host.subtract(1, 2);
  // @ts-expect-error the result is a Promise of number, not a number
  const sum: number = host.add(1, 2);
  // @ts-expect-error awaited result is a string, not a number
  const text: Promise<number> = host.greet("x");
  const status = node.peer<StatusApi>("Host");
  // @ts-expect-error non-function members are not remote functions
  status.version;
  // @ts-expect-error isAlive resolves to a boolean
  const alive: Promise<string> = status.isAlive();
  return [sum, text, alive];
}

test("typed proxy: methods are typed from the API and return promises of awaited results", async () => {
  const lan = memoryLan();
  try {
    await lan.node("Host").register(hostHandlers).start();
    const worker = await lan.node("Worker").start();
    const host: RemoteApi<HostApi> = worker.peer<HostApi>("Host");
    const sum: number = await host.add(2, 3);
    const greeting: string = await host.greet("Ada");
    const bytes: Uint8Array = await host.bytes(4);
    assert.equal(sum, 5);
    assert.equal(greeting, "hello Ada");
    assert.deepEqual([...bytes], [4, 4, 4, 4]);
    const alive: boolean = await host.isAlive();
    assert.equal(alive, true);
    assert.equal(typeof typeErrors, "function");
  } finally {
    await lan.close();
  }
});

test("typed proxy: an untyped proxy allows any name and a chosen result type", async () => {
  const lan = memoryLan();
  try {
    await lan.node("Host").register(hostHandlers).start();
    const worker = await lan.node("Worker").start();
    const host = worker.peer("Host");
    const sum = await host.add<number>(40, 2);
    assert.equal(sum + 0, 42);
    const unknownResult: unknown = await host.greet("Bo");
    assert.equal(unknownResult, "hello Bo");
  } finally {
    await lan.close();
  }
});
