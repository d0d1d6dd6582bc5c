/**
 * The flood of `mdns_flood.ts` as a process on a host of a private LAN (tests/support/lan.ts):
 * binds port 5353 on each source address it is given (addresses the host has), sends the
 * flood, prints one JSON line `{"event":"done","sent":N,"failed":N,"elapsedMs":N}` and exits.
 * Runs under Deno, Bun or Node. Never run it outside a LAN made by scripts/lan.sh: it
 * multicasts on the host's interface.
 *
 * Environment:
 * - `FLOOD_SERVICES`: how many fake services (required);
 * - `FLOOD_SOURCES`: comma-separated source addresses (default `LAN_ADDRESS`, the host's own);
 * - `FLOOD_TYPE` (default `_peerlink._tcp`), `FLOOD_PREFIX` (default `flood`), `FLOOD_FIRST`
 *   (number of the first service, default 0), `FLOOD_FAKE_PROOF=1` (TXT `auth` that is no proof);
 * - `FLOOD_BATCH` packets between pauses of `FLOOD_PAUSE_MS` ms (default 100 and 2: about
 *   40,000 packets a second at most, which a receiver on this machine mostly keeps up with).
 */
import process from "node:process";
import { autoRuntime } from "../../runtimes/auto.ts";
import { closeFloodSources, flood, openFloodSources } from "./mdns_flood.ts";

const env = process.env;
const services = Number(env.FLOOD_SERVICES);
const sources = (env.FLOOD_SOURCES ?? env.LAN_ADDRESS ?? "").split(",").filter((a) => a !== "");
if (!Number.isInteger(services) || services < 1 || sources.length === 0) {
  console.error("mdns_flood_host.ts: set FLOOD_SERVICES (a positive integer) and FLOOD_SOURCES or LAN_ADDRESS");
  process.exit(2);
}
const pauseMs = Number(env.FLOOD_PAUSE_MS ?? 2);
// Bounded in time whatever happens: a stuck send must not keep the LAN busy.
const deadline = setTimeout(() => {
  console.error("mdns_flood_host.ts: still flooding after 120 s; exiting");
  process.exit(3);
}, 120_000);

const runtime = autoRuntime();
const opened = await openFloodSources(sources.map((address) => ({ runtime, address })));
try {
  const result = await flood(opened, {
    services,
    type: env.FLOOD_TYPE,
    prefix: env.FLOOD_PREFIX,
    first: Number(env.FLOOD_FIRST ?? 0),
    fakeProof: env.FLOOD_FAKE_PROOF === "1",
    batch: Number(env.FLOOD_BATCH ?? 100),
    pause: () => new Promise((r) => setTimeout(r, pauseMs)),
  });
  console.log(JSON.stringify({ event: "done", ...result }));
} finally {
  await closeFloodSources(opened);
  clearTimeout(deadline);
}
process.exit(0);
