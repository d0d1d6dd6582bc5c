/**
 * Discovery time and peer-down time, for one runtime: an observer process runs one node, a
 * subject process starts and stops nodes; the driver subtracts their wall-clock timestamps.
 *
 * @module
 */
import type { Worker } from "../driver/proc.ts";
import { metricSpec } from "../report/table.ts";
import { describe, type RunContext, spawnOrNote } from "./context.ts";

/**
 * Discovery time and peer-down time, for one runtime.
 *
 * @param ctx The run.
 */
export async function runDiscovery(ctx: RunContext): Promise<void> {
  const realm = `${ctx.realm}-disc`;
  const metrics = ["up", "down", "start"].map((m) => metricSpec("discovery", "peerlink", m, "ms"));
  ctx.log(`${ctx.runtime}: discovery`);
  const [observer, subject] = await Promise.all([
    spawnOrNote(ctx, "peerlink/discovery#observer", { realm }),
    spawnOrNote(ctx, "peerlink/discovery#subject", { realm }),
  ]);
  try {
    const failed = [observer, subject].find((w) => typeof w === "string") as string | undefined;
    if (failed !== undefined) {
      for (const m of metrics) ctx.table.mark(m, "unavailable", failed);
      ctx.peerlinkUnavailable ??= failed;
      return;
    }
    const obs = observer as Worker;
    const sub = subject as Worker;
    const event = (kind: string, name: string, timeoutMs: number) =>
      obs.waitFor((m) => m.type === "event" && m.event === kind && m.name === name, timeoutMs);
    let misses = 0;
    for (let i = 0; i < ctx.settings.discovery.iterations; i++) {
      const name = `subject-${i}`;
      try {
        const up = event("up", name, 10_000);
        const started = await sub.request("start", { name }, 30_000);
        const seen = await up;
        ctx.table.add(metrics[0], Number(seen.t) - Number(started.calledAt));
        ctx.table.add(metrics[2], Number(started.startedAt) - Number(started.calledAt));
        const down = event("down", name, 5_000);
        const stopped = await sub.request("stop", {}, 30_000);
        const gone = await down;
        ctx.table.add(metrics[1], Number(gone.t) - Number(stopped.calledAt));
      } catch (error) {
        misses++;
        ctx.errors.push(`discovery iteration ${i}: ${describe(error)}`);
        await sub.request("stop", {}, 30_000).catch(() => undefined);
        if (misses >= 3) {
          for (const m of metrics) ctx.table.mark(m, "error", `3 iterations failed, last: ${describe(error)}`);
          break;
        }
      }
    }
  } finally {
    await Promise.all([observer, subject].map((w) => (typeof w === "string" ? undefined : w.close())));
  }
}
