/**
 * Floods on a private LAN (tests/support/lan.ts): gives a host extra on-link addresses (as an
 * attacker spoofing a /24 would have) and runs `mdns_flood_host.ts` there.
 *
 * ```ts
 * const sources = await addFloodAddresses(lan, 3, 50);
 * const result = await floodFromLan(lan, 3, { services: 20_000, sources });
 * ```
 */
import { fileURLToPath } from "node:url";
import { type Lan, runtimeArgv } from "./lan.ts";
import type { FloodOptions, FloodResult } from "./mdns_flood.ts";

const FLOOD_HOST = fileURLToPath(new URL("./mdns_flood_host.ts", import.meta.url));

/** First host number of the extra addresses: 10.77.0.200 and up, clear of the LAN's own hosts. */
const FIRST_EXTRA = 200;

/**
 * Adds `count` addresses of the LAN's /24 to a host's LAN interface (10.77.0.200 and up).
 *
 * @param lan The LAN.
 * @param host 1-based host number.
 * @param count How many (1-54).
 * @returns The addresses.
 */
export async function addFloodAddresses(lan: Lan, host: number, count: number): Promise<string[]> {
  if (!Number.isInteger(count) || count < 1 || FIRST_EXTRA + count > 254) {
    throw new RangeError(`addFloodAddresses: count must be 1..${254 - FIRST_EXTRA}, got ${count}`);
  }
  const h = lan.host(host);
  const prefix = h.address.slice(0, h.address.lastIndexOf(".") + 1);
  const addresses = Array.from({ length: count }, (_, i) => `${prefix}${FIRST_EXTRA + i}`);
  const script = addresses.map((a) => `addr add ${a}/24 dev ${h.iface}`).join("\n");
  const result = await lan.run(host, ["sh", "-c", `printf '%s\\n' "$0" | ip -batch -`, script], 10_000);
  if (result.code !== 0) throw new Error(`addFloodAddresses: ip failed on host ${host}: ${result.stderr}`);
  return addresses;
}

/** What {@linkcode floodFromLan} sends, and from where. */
export interface LanFloodOptions extends Omit<FloodOptions, "pause"> {
  /** Source addresses the host has (default: its own). */
  sources?: readonly string[];
  /** Packets between two pauses of `pauseMs` (default 100 and 2 ms). */
  pauseMs?: number;
  /** Runtime of the flooding process (default Node: the attacker's runtime is not under test). */
  runtime?: "deno" | "bun" | "node";
  /** How long the flood may take (default 60 s). */
  timeoutMs?: number;
}

/**
 * Floods from a LAN host and waits until it is sent.
 *
 * @param lan The LAN.
 * @param host 1-based host number.
 * @param options Services, type, sources, pacing.
 * @returns What was sent.
 * @throws Error with the process's output when it fails.
 */
export async function floodFromLan(lan: Lan, host: number, options: LanFloodOptions): Promise<FloodResult> {
  const env: Record<string, string> = {
    FLOOD_SERVICES: String(options.services),
    FLOOD_FIRST: String(options.first ?? 0),
    FLOOD_BATCH: String(options.batch ?? 100),
    FLOOD_PAUSE_MS: String(options.pauseMs ?? 2),
    FLOOD_FAKE_PROOF: options.fakeProof ? "1" : "0",
  };
  if (options.sources) env.FLOOD_SOURCES = options.sources.join(",");
  if (options.type) env.FLOOD_TYPE = options.type;
  if (options.prefix) env.FLOOD_PREFIX = options.prefix;
  const exit = await lan.run(
    host,
    runtimeArgv(FLOOD_HOST, [], options.runtime ?? "node"),
    options.timeoutMs ?? 60_000,
    {
      env,
    },
  );
  const line = exit.stdout.split("\n").find((l) => l.startsWith('{"event":"done"'));
  if (exit.code !== 0 || !line) {
    throw new Error(`flood on host ${host} failed (code ${exit.code}): ${exit.stderr.slice(-1000)}`);
  }
  const { sent, failed, elapsedMs } = JSON.parse(line) as FloodResult;
  return { sent, failed, elapsedMs };
}
