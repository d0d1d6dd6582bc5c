/**
 * The README's examples, run exactly as a new user runs them. Every code block of the README
 * that shows a file is that file of `examples/` (checked here byte for byte), and every program
 * there runs on each runtime against the package as it ships:
 *
 * - Node 20 (the machine's own Node, our oldest): compiled with `examples/tsconfig.json` by tsc,
 *   from the npm tarball installed into an empty folder (`examples/package.json` as its manifest);
 * - Node 24 (the dev dependency) and Bun: the `.ts` files run as they are, from the same install;
 * - Deno: with `examples/deno.json`, whose `jsr:@peerlink/peerlink` resolves to this checkout (a
 *   `links` entry stands in for jsr.io; `dns-packet`, which JSR would fetch from npm, comes from
 *   a local node_modules), type-checked first.
 *
 * Each runtime starts `host.ts`, runs the other programs against it and compares what they
 * print with what the examples' comments say, then stops the host with SIGINT. Runs once,
 * under the node pass, and only inside the private network namespace (real sockets, and npm
 * can never reach a registry there).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeName, socketSkip } from "../support/env.ts";
import {
  BIN,
  cleanUp,
  installedPackage,
  mustRun,
  packagingSkip,
  ROOT,
  runAsync,
  startProcess,
  SYSTEM_NODE,
  SYSTEM_PATH,
  work,
} from "../support/dist_fixture.ts";

const EXAMPLES = join(ROOT, "examples");

const skip: string | false = runtimeName !== "node"
  ? "the examples run once, under the node pass (they start Node 20, Node 24, Bun and Deno themselves)"
  : socketSkip
  ? "the examples open real sockets: they run only inside the private network namespace of `npm test`"
  : packagingSkip();

after(cleanUp);

/** The programs of examples/ other than the host, with the lines each must print. */
const PROGRAMS: readonly { file: string; prints: (string | RegExp)[] }[] = [
  { file: "worker.ts", prints: ["3", "3000000", "Host 4"] },
  { file: "typed_proxy.ts", prints: ["3 7 true"] },
  { file: "options.ts", prints: ["Worker lab-3 false"] },
  { file: "graceful_stop.ts", prints: ["50 frames for Viewer"] },
  { file: "streams.ts", prints: ["line 1", "line 2", "line 3", "3000", "HELLO"] },
  {
    file: "files.ts",
    prints: ["file notes.txt, dir inbox", "20 of 20 bytes 64", "shared with the LAN", "made on the laptop"],
  },
  { file: "wide_area.ts", prints: ["Worker: start() registers it in lab.example."] },
];

/** The example programs (`.ts` files). */
function programs(): string[] {
  return readdirSync(EXAMPLES).filter((f) => f.endsWith(".ts")).sort();
}

/** README code blocks that show a file: `<!-- examples/NAME -->` just before the fence (a blank line between). */
function readmeFiles(): Map<string, string> {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const shown = new Map<string, string>();
  for (const m of readme.matchAll(/^<!-- (examples\/[^ ]+) -->\n\n?```\w*\n([\s\S]*?)^```$/gm)) {
    shown.set(m[1], m[2]);
  }
  return shown;
}

test("README shows every file of examples/ exactly, and no TypeScript that is not one of them", () => {
  const shown = readmeFiles();
  const files = readdirSync(EXAMPLES).sort();
  assert.deepEqual([...shown.keys()].sort(), files.map((f) => `examples/${f}`), "README blocks vs examples/");
  for (const file of files) {
    assert.equal(shown.get(`examples/${file}`), readFileSync(join(EXAMPLES, file), "utf8"), `examples/${file}`);
  }
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const tsBlocks = readme.match(/^```ts$/gm)?.length ?? 0;
  assert.equal(tsBlocks, programs().length, "every ```ts block of the README is an example file");
  for (const { file } of PROGRAMS) assert.ok(programs().includes(file), file);
});

/** How one runtime runs an example program, and where. */
interface Runner {
  name: string;
  cwd: string;
  command(file: string): string[];
  env: Record<string, string>;
}

let npmDir: string | undefined;

/** The npm tarball installed with examples/package.json as the manifest, the programs and tsconfig beside it. */
function npmConsumer(): string {
  if (npmDir) return npmDir;
  const manifest = JSON.parse(readFileSync(join(EXAMPLES, "package.json"), "utf8")) as { type?: string };
  assert.equal(manifest.type, "module", "examples/package.json makes the .js and .ts files ES modules");
  const { dir } = installedPackage(manifest);
  for (const file of [...programs(), "tsconfig.json"]) copyFileSync(join(EXAMPLES, file), join(dir, file));
  // `npm install -D typescript @types/node`, offline: this checkout's.
  symlinkSync(join(ROOT, "node_modules", "@types"), join(dir, "node_modules", "@types"));
  npmDir = dir;
  return dir;
}

/** A Deno project with examples/deno.json, where jsr:@peerlink/peerlink is this checkout. */
function denoConsumer(): string {
  const dir = join(work(), "deno-consumer");
  mkdirSync(dir);
  for (const file of programs()) copyFileSync(join(EXAMPLES, file), join(dir, file));
  const config = JSON.parse(readFileSync(join(EXAMPLES, "deno.json"), "utf8")) as Record<string, unknown>;
  const version = (JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { version: string }).version;
  assert.match(
    (config.imports as Record<string, string>).peerlink,
    new RegExp(`^jsr:@peerlink/peerlink@\\^${version.replace(/\.\d+$/, "").replaceAll(".", "\\.")}\\.`),
    "examples/deno.json asks for this version",
  );
  // Stand-ins for jsr.io: the package is this checkout, and its npm dependency a local copy.
  writeFileSync(join(dir, "deno.json"), JSON.stringify({ ...config, links: [ROOT], nodeModulesDir: "manual" }));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ dependencies: { "dns-packet": "*" } }));
  mkdirSync(join(dir, "node_modules", "@leichtgewicht"), { recursive: true });
  symlinkSync(join(ROOT, "node_modules", "dns-packet"), join(dir, "node_modules", "dns-packet"));
  symlinkSync(
    join(ROOT, "node_modules", "@leichtgewicht", "ip-codec"),
    join(dir, "node_modules", "@leichtgewicht", "ip-codec"),
  );
  // The checkout's package.json lists @types/node, which `deno check` then loads from here.
  symlinkSync(join(ROOT, "node_modules", "@types"), join(dir, "node_modules", "@types"));
  return dir;
}

/** Runs `host.ts` and every other program with `runner`; checks what each prints. */
async function runExamples(runner: Runner): Promise<void> {
  const [binary, ...args] = runner.command("host.ts");
  const host = startProcess(binary, args, { cwd: runner.cwd, env: runner.env });
  let hostExit: number | null;
  try {
    await host.waitFor(/^Host is up \(UDP \d+, TCP \d+\); Ctrl-C to stop$/m, 60_000);
    for (const { file, prints } of PROGRAMS) {
      const [bin, ...rest] = runner.command(file);
      const result = await runAsync(bin, rest, { cwd: runner.cwd, env: runner.env, timeoutMs: 60_000 });
      const where = `${runner.name} ${file}:\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
      assert.equal(result.status, 0, where);
      const lines = result.stdout.trimEnd().split("\n");
      assert.equal(lines.length, prints.length, where);
      prints.forEach((expected, i) => {
        if (typeof expected === "string") assert.equal(lines[i], expected, where);
        else assert.match(lines[i], expected, where);
      });
    }
  } finally {
    hostExit = await host.stop("SIGINT", 15_000);
  }
  assert.equal(hostExit, 130, `host.ts exits 130 after Ctrl-C (stopOnSignals):\n${host.output()}`);
}

test("examples run as written on Node 20 (compiled by tsc with examples/tsconfig.json)", { skip }, async () => {
  const cwd = npmConsumer();
  mustRun(join(BIN, "tsc"), ["-p", "tsconfig.json"], { cwd });
  const version = mustRun(SYSTEM_NODE, ["--version"]).stdout.trim();
  assert.match(version, /^v20\./, `${SYSTEM_NODE} is Node 20, the oldest we support`);
  await runExamples({
    name: `Node ${version}`,
    cwd,
    command: (file) => [SYSTEM_NODE, join("dist", file.replace(/\.ts$/, ".js"))],
    env: { PATH: SYSTEM_PATH },
  });
});

test("examples run as written on Node 24 (the .ts files, types stripped)", { skip }, async () => {
  const node = join(BIN, "node");
  await runExamples({ name: "Node 24", cwd: npmConsumer(), command: (file) => [node, file], env: {} });
});

test("examples run as written on Bun", { skip }, async () => {
  const bun = join(BIN, "bun");
  await runExamples({ name: "Bun", cwd: npmConsumer(), command: (file) => [bun, file], env: {} });
});

test("examples type-check and run as written on Deno (examples/deno.json)", { skip }, async () => {
  const cwd = denoConsumer();
  const deno = join(BIN, "deno");
  mustRun(deno, ["check", ...programs()], { cwd });
  await runExamples({ name: "Deno", cwd, command: (file) => [deno, "run", "-A", file], env: {} });
});
