/**
 * How long `peerlink call NodeB echo '"hi"'` takes, start to exit, on each runtime: one
 * `peerlink serve --name NodeB`, then the call `--runs` times per runtime, `--pause` apart
 * (a responder multicasts a record at most once per second, RFC 6762 section 6, so calls
 * closer together measure that rule, not PeerLink). Node runs the npm build (as `npx peerlink`
 * does), built into a temporary folder; Bun and Deno run cli.ts.
 *
 * Usage (inside a private network namespace, like every script that opens sockets):
 *   bash scripts/netns.sh node_modules/.bin/node scripts/cli_timing.ts [--runs 7] [--pause 1.2]
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "node_modules", ".bin");
const SYSTEM_NODE = process.env.PEERLINK_SYSTEM_NODE ?? "/usr/bin/node";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "7" }, pause: { type: "string", default: "1.2" } },
});
const runs = Number(values.runs);
const pauseMs = Number(values.pause) * 1000;
if (process.env.PEERLINK_NETNS !== "1") {
  console.error("cli_timing: run it inside scripts/netns.sh (it starts nodes on the network)");
  process.exit(2);
}

const build = mkdtempSync(join(tmpdir(), "peerlink-timing-"));
spawnSync(join(BIN, "node"), [join(ROOT, "scripts", "build.ts"), "--out", join(build, "dist")], { stdio: "inherit" });
writeFileSync(join(build, "package.json"), JSON.stringify({ type: "module" }));
symlinkSync(join(ROOT, "node_modules"), join(build, "node_modules")); // dns-packet, as an install has it
const builtCli = join(build, "dist", "cli.js");

const clis: [string, string[]][] = [
  ["Node 24 (npm build)", [join(BIN, "node"), builtCli]],
  ["Node 20 (npm build)", [SYSTEM_NODE, builtCli]],
  ["Bun (cli.ts)", [join(BIN, "bun"), join(ROOT, "cli.ts")]],
  ["Deno (cli.ts)", [join(BIN, "deno"), "run", "-A", join(ROOT, "cli.ts")]],
];

const server = spawn(join(BIN, "node"), [join(ROOT, "cli.ts"), "serve", "--name", "NodeB", "--quiet"], {
  stdio: "ignore",
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
try {
  await sleep(3000); // NodeB probes its name and announces
  for (const [label, [command, ...prefix]] of clis) {
    spawnSync(command, [...prefix, "--version"], { cwd: ROOT }); // warm the runtime's caches
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      await sleep(pauseMs);
      const started = performance.now();
      const result = spawnSync(command, [...prefix, "call", "NodeB", "echo", '"hi"'], { cwd: ROOT, encoding: "utf8" });
      const elapsed = performance.now() - started;
      if (result.stdout.trim() !== '"hi"') throw new Error(`${label}: ${result.stdout}${result.stderr}`);
      times.push(elapsed);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(
      `${label.padEnd(20)} median ${(median / 1000).toFixed(2)} s  (${times.map((t) => Math.round(t)).join(", ")} ms)`,
    );
  }
} finally {
  server.kill("SIGINT");
  rmSync(build, { recursive: true, force: true });
}
