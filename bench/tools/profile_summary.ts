/**
 * Summarises a `.cpuprofile` (from `npm run bench -- --cpu-profile DIR`, or Node/Bun `--cpu-prof`):
 * busy time, then the functions with the most self time and with the most inclusive time
 * (everything they called), restricted to the repository's code and the runtime's internals.
 *
 * ```sh
 * node bench/tools/profile_summary.ts /tmp/prof/deno-peerlink-rpc-client.cpuprofile [TOP]
 * ```
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Idle and bookkeeping frames that are not work of the code. */
const NOT_WORK = new Set(["(idle)", "(program)"]);

/**
 * Self and inclusive sample shares per function of a profile.
 *
 * @param profile A parsed `.cpuprofile`.
 * @returns Busy sample count and per-function counts (keys "name file:line").
 */
export function summarise(
  profile: CpuProfile,
): { busy: number; self: Map<string, number>; inclusive: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => {
    const file = n.callFrame.url.replace(/^file:\/\//, "").replace(/^.*?\/(src|runtimes|scripts)\//, "$1/");
    return `${n.callFrame.functionName || "(anonymous)"} ${file}:${n.callFrame.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node || NOT_WORK.has(node.callFrame.functionName)) continue;
    busy++;
    self.set(key(node), (self.get(key(node)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = key(byId.get(at)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
    }
  }
  return { busy, self, inclusive };
}

function top(map: Map<string, number>, busy: number, count: number, filter: (k: string) => boolean): string[] {
  return [...map.entries()].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, n]) =>
    `${((n / busy) * 100).toFixed(1).padStart(6)}%  ${k}`
  );
}

if (import.meta.main ?? process.argv[1]?.endsWith("profile_summary.ts")) {
  const [file, limit] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node bench/tools/profile_summary.ts FILE.cpuprofile [TOP]");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const { busy, self, inclusive } = summarise(profile);
  const n = Number(limit ?? 25);
  console.log(`${file}: ${busy} busy samples of ${profile.samples.length}`);
  console.log("\nSelf time (share of busy samples):");
  console.log(top(self, busy, n, () => true).join("\n"));
  console.log("\nInclusive time, repository code:");
  console.log(top(inclusive, busy, n, (k) => /\s(src|runtimes)\//.test(k)).join("\n"));
}
