/**
 * Fan-out to 10 and 30 peers, and resident memory idle and with 30 peers, for one runtime: a
 * caller process and several processes of peer nodes.
 *
 * @module
 */
import type { Worker } from "../driver/proc.ts";
import { metricSpec } from "../report/table.ts";
import { sleep } from "../worker/protocol.ts";
import { describe, type RunContext, spawnOrNote } from "./context.ts";

/**
 * Fan-out to 10 and 30 peers, and resident memory idle and with 30 peers, for one runtime.
 *
 * @param ctx The run.
 */
export async function runFanout(ctx: RunContext): Promise<void> {
  const { settings: s, table } = ctx;
  const realm = `${ctx.realm}-fan`;
  const mb = (bytes: unknown) => Number(bytes) / 1e6;
  const last = Math.max(...s.fanout.sizes);
  const bareSpec = metricSpec("memory", "runtime", "bare", "MB");
  const idleSpec = metricSpec("memory", "peerlink", "idle", "MB");
  const perNodeSpec = metricSpec("memory", "peerlink", "per_node", "MB");
  const fullSpec = metricSpec("memory", "peerlink", `peers${last}`, "MB");
  const fanSpec = (n: number) => metricSpec("fanout", "peerlink", `peers${n}`, "ms");
  ctx.log(`${ctx.runtime}: fan-out and memory`);
  const bareRss = ctx.bareRss === undefined ? undefined : mb(ctx.bareRss);
  if (bareRss === undefined) table.mark(bareSpec, "error", "the bare runtime process did not report its memory");
  else table.add(bareSpec, bareRss);
  const caller = await spawnOrNote(ctx, "peerlink/fanout#caller", { realm });
  const peers: Worker[] = [];
  const allSpecs = [idleSpec, perNodeSpec, fullSpec, ...s.fanout.sizes.map(fanSpec)];
  try {
    if (typeof caller === "string") {
      for (const m of allSpecs) table.mark(m, "unavailable", caller);
      ctx.peerlinkUnavailable ??= caller;
      return;
    }
    await sleep(s.memorySettleMs);
    table.add(idleSpec, mb((await caller.request("rss")).rss));
    let running = 0;
    for (const size of [...s.fanout.sizes].sort((a, b) => a - b)) {
      const missing = size - running;
      const processes = Math.ceil(missing / s.fanout.nodesPerProcess);
      const started = await Promise.all(Array.from({ length: processes }, (_, k) => {
        const count = Math.min(s.fanout.nodesPerProcess, missing - k * s.fanout.nodesPerProcess);
        return spawnOrNote(ctx, "peerlink/fanout#peers", { realm, prefix: `peer${peers.length + k}`, count }, 60_000);
      }));
      for (const p of started) if (typeof p !== "string") peers.push(p);
      const failed = started.find((p) => typeof p === "string");
      if (failed !== undefined) throw new Error(`peer process: ${failed}`);
      running = size;
      if (size === last) {
        // Memory with every peer known, before calls to most of them.
        await caller.request("wait", { expect: size }, 60_000);
        await sleep(s.memorySettleMs);
        table.add(fullSpec, mb((await caller.request("rss")).rss));
      }
      for (let rep = 0; rep < s.repeats; rep++) {
        const result = await caller.request(
          "fanout",
          { expect: size, count: s.fanout.count, warmup: s.fanout.warmup },
          120_000,
        );
        table.add(fanSpec(size), Number(result.median));
      }
    }
    const first = peers[0];
    if (first && bareRss !== undefined) {
      const rss = mb((await first.request("rss")).rss);
      table.add(perNodeSpec, (rss - bareRss) / s.fanout.nodesPerProcess);
    } else table.mark(perNodeSpec, "error", "no peer process or no bare runtime figure");
  } catch (error) {
    for (const m of allSpecs) if (!table.has(m)) table.mark(m, "error", describe(error));
    ctx.errors.push(`fan-out: ${describe(error)}`);
  } finally {
    await Promise.all([...peers, ...(typeof caller === "string" ? [] : [caller])].map((w) => w.close(10_000)));
  }
}
