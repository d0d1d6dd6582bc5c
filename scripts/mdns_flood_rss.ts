/**
 * Resident memory of a node flooded with fake DNS-SD services (issue 14), on a private LAN of
 * three hosts (scripts/lan.sh): host 1 runs the real peer (Node), host 2 the Target under the
 * runtime measured, host 3 the flood. For each runtime and each spread of sources, a fresh
 * LAN: Target's RSS idle (started, Real found, settled), then after a flood of 100,000 fake
 * services (PTR, SRV, TXT, A each) from host 3's own address, or spread over 50 on-link
 * addresses of host 3: once a few seconds after it, and once more half a minute later (V8's
 * memory reducer gives back unused heap only after the process has been quiet a while).
 * Prints a Markdown table; the process check that Target still lists Real is part of it.
 *
 * Opens sockets, so it runs only inside the private namespace of scripts/netns.sh:
 *
 * ```sh
 * scripts/netns.sh node_modules/.bin/node scripts/mdns_flood_rss.ts
 * scripts/netns.sh node_modules/.bin/node scripts/mdns_flood_rss.ts --runtime bun --services 20000 --sources 50
 * ```
 *
 * Options: `--runtime deno,bun,node`, `--services N` (default 100000), `--sources 1,50`
 * (source addresses per flood), `--settle MS` (pause before the idle reading and the first
 * one after the flood, default 3000), `--later MS` (then the last reading, default 30000),
 * `--limits JSON` (Discovery limits of Target, e.g. `'{"maxCacheEntries":4096}'`).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { lanSkip, withLan } from "../tests/support/lan.ts";
import { socketSkip } from "../tests/support/env.ts";
import { startE2eNode } from "../tests/support/e2e_driver.ts";
import { addFloodAddresses, floodFromLan } from "../tests/support/mdns_flood_lan.ts";
import type { DiscoveryStats } from "../src/discovery.ts";

type Runtime = "deno" | "bun" | "node";

const { values } = parseArgs({
  options: {
    runtime: { type: "string", default: "deno,bun,node" },
    services: { type: "string", default: "100000" },
    sources: { type: "string", default: "1,50" },
    settle: { type: "string", default: "3000" },
    later: { type: "string", default: "30000" },
    limits: { type: "string" },
  },
});
const runtimes = values.runtime.split(",").map((r) => r.trim()) as Runtime[];
const services = Number(values.services);
const spreads = values.sources.split(",").map(Number);
const settleMs = Number(values.settle);
const laterMs = Number(values.later);
const targetEnv: Record<string, string> = { E2E_LIFETIME_MS: "300000" };
if (values.limits) targetEnv.E2E_OPTIONS = JSON.stringify({ discoveryLimits: JSON.parse(values.limits) });
if (runtimes.some((r) => !["deno", "bun", "node"].includes(r))) {
  fail(`--runtime: deno, bun or node, got ${values.runtime}`);
}
if (!Number.isInteger(services) || services < 1) fail(`--services: a positive integer, got ${values.services}`);
if (spreads.some((n) => !Number.isInteger(n) || n < 1 || n > 54)) fail(`--sources: 1..54 each, got ${values.sources}`);
if (socketSkip || lanSkip) fail(String(socketSkip || lanSkip));

function fail(message: string): never {
  console.error(`mdns_flood_rss: ${message}`);
  process.exit(2);
}

const MIB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One measurement: Target's memory before and after one flood. */
interface Row {
  runtime: Runtime;
  sources: number;
  idleRss: number;
  floodedRss: number;
  laterRss: number;
  received: number;
  stats: DiscoveryStats;
  elapsedMs: number;
}

async function measure(runtime: Runtime, spread: number): Promise<Row> {
  return await withLan(3, async (lan) => {
    const [real, target] = await Promise.all([
      startE2eNode(lan, 1, "Real", "node", { E2E_LIFETIME_MS: "300000" }),
      startE2eNode(lan, 2, "Target", runtime, targetEnv),
    ]);
    await target.expect("wait", { count: 1, timeout: 10_000 }, 15_000);
    const sources = spread > 1 ? await addFloodAddresses(lan, 3, spread) : undefined;
    await sleep(settleMs);
    const idleRss = (await target.expect("rss")).rss as number;
    const result = await floodFromLan(lan, 3, { services, sources, timeoutMs: 150_000 });
    await sleep(settleMs);
    const floodedRss = (await target.expect("rss")).rss as number;
    await sleep(laterMs);
    const laterRss = (await target.expect("rss")).rss as number;
    const stats = (await target.expect("discoveryStats")).stats as DiscoveryStats;
    const still = await target.expect("wait", { count: 1, timeout: 1000 });
    if (!(still.peers as string[]).includes("Real")) throw new Error(`${runtime}: Target lost Real in the flood`);
    await Promise.all([target.stop(), real.stop()]);
    return {
      runtime,
      sources: spread,
      idleRss,
      floodedRss,
      laterRss,
      received: stats.mdns?.transport.received ?? 0,
      stats,
      elapsedMs: result.elapsedMs,
    };
  }, { timeoutMs: 240_000 + laterMs });
}

const rows: Row[] = [];
for (const runtime of runtimes) {
  for (const spread of spreads) {
    console.error(`${runtime}: ${services} fake services from ${spread} source address${spread === 1 ? "" : "es"}...`);
    rows.push(await measure(runtime, spread));
  }
}

const mib = (bytes: number) => (bytes / MIB).toFixed(1);
const later = `+${Math.round((settleMs + laterMs) / 1000)} s`;
console.log(`Target's resident memory (MiB), ${services.toLocaleString("en")} fake services per flood\n`);
console.log(
  `| runtime | sources | idle | +${
    Math.round(settleMs / 1000)
  } s after | growth | ${later} after | growth | datagrams received | cache entries | largest share | peers listed |`,
);
console.log("| ------- | ------: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  const cache = r.stats.mdns?.cache;
  console.log(
    `| ${r.runtime} | ${r.sources} | ${mib(r.idleRss)} | ${mib(r.floodedRss)} | ${mib(r.floodedRss - r.idleRss)} | ` +
      `${mib(r.laterRss)} | ${mib(r.laterRss - r.idleRss)} | ${
        r.received.toLocaleString("en")
      } | ${cache?.entries} | ` +
      `${cache?.largestSource} | ${r.stats.peers} |`,
  );
}
process.exit(0);
