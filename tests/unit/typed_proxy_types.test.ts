import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLan } from "../support/node_harness.ts";
import type { PeerLink } from "../../src/peerlink.ts";
import type { RemoteApi } from "../../src/proxy.ts";
import type { Wire } from "../../src/wire/types.ts";

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

/** `true` exactly when `X` and `Y` are the same type (not merely assignable both ways). */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;

class Order {
  id: number;
  placed: Date;
  note?: string;
  constructor(id: number, placed: Date) {
    this.id = id;
    this.placed = placed;
  }
  total(): number {
    return this.id;
  }
}

/** An API whose types meet the wire: dates, undefined, class instances, streams, and values that cannot travel. */
interface WireApi {
  now(): Date;
  stamp(at: Date): { at: Date; by: string | undefined; tags: (string | undefined)[] };
  order(id: number): Order;
  orders(): Promise<Order[]>;
  nothing(): void;
  maybe(): number | undefined;
  pair(): [Date, Uint8Array];
  anything(x: unknown): unknown;
  ticks(every: number): AsyncIterable<{ at: Date; n: number }>;
  report(): { title: string; rows: AsyncIterable<{ at: Date }> }; // a stream nested in the result
  ingest(batch: { name: string; items: ReadableStream<number> }): number;
  frames(): ReadableStream<Uint8Array>;
  upload(chunks: ReadableStream<Uint8Array>): number;
  optional(a: number, b?: string): string;
  lookup(table: Map<string, number>): number;
  tally(ids: Set<number>): number;
  big(n: bigint): string;
  callback(fn: () => void): void;
  nested(opts: { limits: { max: bigint } }): void;
  getMap(): Map<string, number>;
  bigResult(): Promise<bigint>;
  badStream(): AsyncIterable<Map<string, number>>;
  floats(values: Float64Array): number;
}

/**
 * Never called: `deno check tests/` (CI) verifies each line. The `Equal` lines pin what each
 * remote function takes and what arrives; each `@ts-expect-error` line must fail to compile.
 */
function wireTypes(node: PeerLink) {
  const api = node.peer<WireApi>("Host");
  const checks: true[] = [
    true as Equal<ReturnType<typeof api.now>, Promise<string>>,
    true as Equal<
      ReturnType<typeof api.stamp>,
      Promise<{ at: string; by?: string; tags: (string | null)[] }>
    >,
    true as Equal<Parameters<typeof api.stamp>, [at: Date]>,
    true as Equal<ReturnType<typeof api.order>, Promise<{ id: number; placed: string; note?: string }>>,
    true as Equal<ReturnType<typeof api.orders>, Promise<{ id: number; placed: string; note?: string }[]>>,
    true as Equal<ReturnType<typeof api.nothing>, Promise<null>>,
    true as Equal<ReturnType<typeof api.maybe>, Promise<number | null>>,
    true as Equal<ReturnType<typeof api.pair>, Promise<[string, Uint8Array]>>,
    true as Equal<ReturnType<typeof api.anything>, Promise<unknown>>,
    true as Equal<ReturnType<typeof api.ticks>, Promise<ReadableStream<{ at: string; n: number }>>>,
    true as Equal<ReturnType<typeof api.frames>, Promise<ReadableStream<Uint8Array>>>,
    true as Equal<
      Parameters<typeof api.upload>,
      [chunks: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>]
    >,
    true as Equal<Parameters<typeof api.optional>, [a: number, b?: string]>,
    true as Equal<ReturnType<typeof api.report>, Promise<{ title: string; rows: ReadableStream<{ at: string }> }>>,
    true as Equal<Parameters<typeof api.ingest>, [batch: { name: string; items: ReadableStream<number> }]>,
    true as Equal<Wire<Order>, { id: number; placed: string; note?: string }>,
    true as Equal<Wire<Record<string, Date>>, { [key: string]: string }>,
  ];
  async function* chunks() {
    yield new Uint8Array(1);
  }
  api.upload(chunks());
  api.upload(new ReadableStream<Uint8Array>());
  // @ts-expect-error the stamp arrives as a string: it is not a Date
  const at: Promise<{ at: Date }> = api.stamp(new Date());
  // @ts-expect-error a class instance arrives as plain data, without its methods
  api.order(1).then((o) => o.total());
  // @ts-expect-error a Map cannot travel: convert it with Object.fromEntries(map)
  api.lookup(new Map([["a", 1]]));
  // @ts-expect-error a Set cannot travel
  api.tally(new Set([1]));
  // @ts-expect-error a BigInt cannot travel
  api.big(1n);
  // @ts-expect-error a function cannot travel
  api.callback(() => {});
  // @ts-expect-error nor a BigInt deep inside an argument
  api.nested({ limits: { max: 1n } });
  // @ts-expect-error a handler returning a Map cannot be called through the proxy
  api.getMap();
  // @ts-expect-error nor one resolving to a BigInt
  api.bigResult();
  // @ts-expect-error nor a stream of Maps
  api.badStream();
  // @ts-expect-error typed arrays other than Uint8Array cannot travel
  api.floats(new Float64Array(1));
  // @ts-expect-error a stream parameter takes streams, not an array
  api.upload([new Uint8Array(1)]);
  return [checks, at];
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
    assert.equal(typeof wireTypes, "function");
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

test("typed proxy: what arrives is what the types say (Date as ISO string, undefined as null, plain data)", async () => {
  const lan = memoryLan();
  try {
    const placed = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
    const api = {
      now: () => placed,
      order: (id: number) => new Order(id, placed),
      nothing: () => {},
      stamp: (at: Date) => ({ at, by: undefined, tags: ["a", undefined] }),
      optional: (a: number, b?: string) => `${a} ${b === undefined ? "(none)" : b === null ? "null" : b}`,
    };
    await lan.node("Host").register(api).start();
    const worker = await lan.node("Worker").start();
    const host = worker.peer<typeof api>("Host");
    const now: string = await host.now();
    assert.equal(now, "2025-01-02T03:04:05.000Z");
    const order = await host.order(7);
    assert.deepEqual(order, { id: 7, placed: "2025-01-02T03:04:05.000Z" });
    assert.equal((order as unknown as { total?: unknown }).total, undefined);
    const nothing: null = await host.nothing();
    assert.equal(nothing, null);
    const stamp = await host.stamp(placed);
    assert.deepEqual(stamp, { at: "2025-01-02T03:04:05.000Z", tags: ["a", null] });
    assert.equal("by" in stamp, false, "an undefined member is left out");
    // An optional parameter left out, or given as undefined, arrives undefined (not null).
    assert.equal(await host.optional(1), "1 (none)");
    assert.equal(await host.optional(1, undefined), "1 (none)");
    assert.equal(await host.optional(1, "x"), "1 x");
  } finally {
    await lan.close();
  }
});
