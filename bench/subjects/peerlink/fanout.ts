/**
 * The fan-out and memory benchmark's processes: a caller node that times `call("ALL", ...)`
 * and reports its resident memory, and peer processes that each run several nodes.
 *
 * @module
 */
import { measureLatency } from "../../worker/measure.ts";
import { settledRss } from "../../worker/protocol.ts";
import { num, type RoleFactory } from "../../worker/role.ts";

interface FanNode {
  start(): Promise<unknown>;
  stop(): Promise<void>;
  register(name: string, fn: (...args: never[]) => unknown): unknown;
  waitForPeers(count: number, options?: { timeout?: number }): Promise<unknown[]>;
  call(target: string, fn: string, args?: unknown[]): Promise<unknown>;
}

async function createNode(name: string, realm: string): Promise<FanNode> {
  const { PeerLink } = await import("../../../mod.ts");
  const node = new PeerLink(name, { realm }) as unknown as FanNode;
  node.register("add", (a: number, b: number) => a + b);
  return node;
}

/**
 * Starts `count` nodes in this process, all at once.
 *
 * @param realm Realm of this benchmark.
 * @param prefix Name prefix; nodes are `<prefix>-0`, `<prefix>-1`, ...
 * @param count How many.
 * @returns Stops them all.
 */
export async function startPeers(realm: string, prefix: string, count: number): Promise<() => Promise<void>> {
  const nodes = await Promise.all(Array.from({ length: count }, (_, i) => createNode(`${prefix}-${i}`, realm)));
  await Promise.all(nodes.map((node) => node.start()));
  return async () => void (await Promise.allSettled(nodes.map((node) => node.stop())));
}

/** The caller node. */
export interface FanCaller {
  /**
   * Waits until `expect` peers are known.
   *
   * @returns How many are known.
   */
  waitFor(expect: number): Promise<number>;
  /**
   * Waits for `expect` peers, then times `call("ALL", "add", [1, 2])`.
   *
   * @returns Median and p99 total time in ms, and how many peers answered.
   */
  fanOut(expect: number, count: number, warmup: number): Promise<{ median: number; p99: number; peers: number }>;
  /** Stops the node. */
  close(): Promise<void>;
}

/**
 * Starts the caller node.
 *
 * @param realm Realm of this benchmark.
 * @returns The caller.
 */
export async function startCaller(realm: string): Promise<FanCaller> {
  const node = await createNode("bench-caller", realm);
  await node.start();
  return {
    waitFor: async (expect) => (await node.waitForPeers(expect, { timeout: 30_000 })).length,
    async fanOut(expect, count, warmup) {
      await node.waitForPeers(expect, { timeout: 30_000 });
      let answered = 0;
      const result = await measureLatency(
        async () => {
          const results = (await node.call("ALL", "add", [1, 2])) as { ok: boolean }[];
          answered = results.filter((r) => r.ok).length;
          if (answered < expect) throw new Error(`fan-out: ${answered} of ${expect} peers answered`);
        },
        count,
        warmup,
      );
      return { median: result.median, p99: result.p99, peers: answered };
    },
    close: () => node.stop(),
  };
}

/**
 * Roles: `peerlink/fanout#peers` (config `realm`, `prefix`, `count`) and `peerlink/fanout#caller`
 * (config `realm`). Both report their resident memory when ready (and on `rss`).
 */
export const roles: Record<string, RoleFactory> = {
  async peers(config) {
    const stop = await startPeers(String(config.realm), String(config.prefix), num(config, "count"));
    return { ready: { ...settledRss() }, handlers: {}, close: stop };
  },
  async caller(config) {
    const caller = await startCaller(String(config.realm));
    return {
      ready: { ...settledRss() },
      handlers: {
        wait: async (c) => ({ peers: await caller.waitFor(num(c, "expect")) }),
        fanout: async (c) => ({ ...(await caller.fanOut(num(c, "expect"), num(c, "count"), num(c, "warmup"))) }),
      },
      close: () => caller.close(),
    };
  },
};
