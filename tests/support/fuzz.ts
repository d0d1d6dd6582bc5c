/**
 * What every fuzz test shares: a seed per runtime pass (printed, so a failure can be
 * replayed) and the injected decoder faults that prove a fuzz test can fail.
 *
 * - {@linkcode fuzzSeed}: different for each runtime and test, so the three passes of
 *   `npm test` fuzz with different inputs; `PEERLINK_FUZZ_SEED=<n>` replays a printed one.
 * - {@linkcode withFault}: runs a fuzz harness with a fault hook installed in the decoders
 *   (`src/faults.ts`), e.g. {@linkcode INJECTED_FAULTS}: a `TypeError` from the RPC decoders on
 *   any message containing "constructor" and from about 1 % of all inputs, as a bug would.
 */
import { type FaultHook, type FaultSite, setFaultHook } from "../../src/faults.ts";
import { runtimeName } from "./env.ts";

/** FNV-1a of a string, 32 bits. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The seed of one fuzz test in this runtime pass: `PEERLINK_FUZZ_SEED` when set, else derived
 * from the runtime's and the test's names. Printed with the command that replays it.
 *
 * @param label Names the fuzz test (e.g. `"rpc memory"`).
 * @returns A 32-bit seed.
 */
export function fuzzSeed(label: string): number {
  const given = process.env.PEERLINK_FUZZ_SEED;
  const seed = given !== undefined && /^\d+$/.test(given) ? Number(given) >>> 0 : fnv1a(`${runtimeName}:${label}`);
  console.log(`fuzz seed for ${label} on ${runtimeName}: ${seed} (replay: PEERLINK_FUZZ_SEED=${seed})`);
  return seed;
}

/** Which inputs a fault makes the decoder at `site` throw for. */
export type FaultRule = (site: FaultSite, input: Uint8Array, index: number) => boolean;

const CONSTRUCTOR = new TextEncoder().encode("constructor");

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The faults of the review that found the fuzz tests blind (issue 12), as rules. */
export const INJECTED_FAULTS = {
  /** `parseJson` throwing a `TypeError` on any RPC message containing "constructor". */
  constructorInRpc: ((site, input) => site.startsWith("rpc.") && contains(input, CONSTRUCTOR)) as FaultRule,
  /** The decoder at any of `sites` throwing on every 100th input it sees (about 1 %). */
  onePercent: (...sites: FaultSite[]): FaultRule => (site, _input, index) => sites.includes(site) && index % 100 === 99,
};

/**
 * Runs `body` with decoders that throw a `TypeError` where `rule` says, then removes the fault.
 *
 * @param rule Which inputs fail.
 * @param body The harness to run.
 * @returns What `body` returned, and how many faults were thrown.
 */
export async function withFault<T>(rule: FaultRule, body: () => Promise<T>): Promise<{ result: T; thrown: number }> {
  let thrown = 0;
  const seen = new Map<FaultSite, number>();
  const hook: FaultHook = (site, input) => {
    const index = seen.get(site) ?? 0;
    seen.set(site, index + 1);
    if (!rule(site, input, index)) return;
    thrown++;
    throw new TypeError(`injected fault in the ${site} decoder`);
  };
  setFaultHook(hook);
  try {
    return { result: await body(), thrown };
  } finally {
    setFaultHook(undefined);
  }
}
