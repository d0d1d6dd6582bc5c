/**
 * The npm package as a user gets it: built by `npm pack` (its `prepack` runs scripts/build.ts)
 * from a copy of the repository, installed from the tarball into an empty folder without
 * network, then run with `npx peerlink` under the machine's Node 20 (our oldest supported
 * Node, not the Node 24 dev dependency) and with `bunx --bun peerlink` under Bun.
 *
 * Runs once, under the node pass of `npm test`: the steps spawn npm, Node 20 and Bun
 * themselves, so repeating them under Deno and Bun would test nothing new and cost ~20 s each.
 * Runs only inside the private network namespace, so npm and bunx can never reach a registry.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import { runtimeName, socketSkip } from "../support/env.ts";
import {
  BIN,
  cleanUp,
  installedPackage,
  mustRun,
  OLDEST_NODE_MAJOR,
  packagingSkip,
  packedTarball,
  ROOT,
  run,
  runAsync,
  startProcess,
  SYSTEM_NODE,
  SYSTEM_NPX,
  SYSTEM_PATH,
  work,
} from "../support/dist_fixture.ts";

const skip: string | false = runtimeName !== "node"
  ? "packaging test runs once, under the node pass"
  : socketSkip
  ? "packaging test runs only inside the private network namespace of `npm test`, so npm never reaches a registry"
  : packagingSkip();

after(cleanUp);

/** Paths inside the tarball, without the leading `package/`. */
function tarballFiles(): string[] {
  const listing = mustRun("tar", ["-tzf", packedTarball()]).stdout;
  return listing.split("\n").filter(Boolean).map((path) => path.replace(/^package\//, ""));
}

/** Every file package.json points to: `main`, `types`, `bin` and each `exports` condition. */
function manifestTargets(): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    main: string;
    types: string;
    bin: Record<string, string>;
    exports: Record<string, string | Record<string, string>>;
  };
  const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin)];
  for (const target of Object.values(manifest.exports)) {
    targets.push(...(typeof target === "string" ? [target] : Object.values(target)));
  }
  return [...new Set(targets.map((path) => path.replace(/^\.\//, "")))];
}

test("npm pack ships only dist/, README.md, LICENSE and package.json", { skip }, () => {
  const files = tarballFiles();
  const strays = files.filter((f) =>
    !/^dist\/.+\.(js|d\.ts)$/.test(f) && !["package.json", "README.md", "LICENSE"].includes(f)
  );
  assert.deepEqual(strays, [], "files outside the allow-list: adjust `files` in package.json or tsconfig.build.json");
  assert.ok(
    files.includes("README.md") && files.includes("LICENSE"),
    `README.md and LICENSE missing: ${files.join(", ")}`,
  );
  assert.deepEqual(
    files.filter((f) => /(^|\/)tests?\/|\.test\.|(^|\/)scripts\//.test(f)),
    [],
    "tests or scripts were packed",
  );
});

test("npm pack ships every file package.json points to", { skip }, () => {
  const files = new Set(tarballFiles());
  const missing = manifestTargets().filter((target) => !files.has(target));
  assert.deepEqual(missing, [], "package.json points at files the tarball lacks");
  assert.ok(files.has("dist/cli.js") && files.has("dist/mod.d.ts"));
});

test("the built JavaScript uses nothing that Node 20 lacks", { skip }, () => {
  // Calls of APIs that Node 20 lacks (a bare reference, as in feature detection, is fine);
  // import.meta.main is silently undefined on Node 20, so any use of it is a bug.
  const newer =
    /import\.meta\.main|(Promise\.withResolvers|Array\.fromAsync|process\.getBuiltinModule|RegExp\.escape|Promise\.try|Iterator\.from|Error\.isError|Uint8Array\.fromBase64|Uint8Array\.fromHex)\s*\(/;
  const offenders: string[] = [];
  const dist = join(installedPackage().dir, "node_modules", "peerlink");
  for (const file of tarballFiles().filter((f) => f.endsWith(".js"))) {
    readFileSync(join(dist, file), "utf8").split("\n").forEach((line, index) => {
      if (newer.test(line) && !line.trimStart().startsWith("*") && !line.trimStart().startsWith("//")) {
        offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, [], "Node-22+-only APIs in the npm build (engines says node >= 20)");
});

test("the tarball installs into an empty folder without network", { skip }, () => {
  const { dir, source } = installedPackage();
  const manifest = JSON.parse(readFileSync(join(dir, "node_modules", "peerlink", "package.json"), "utf8"));
  assert.equal(manifest.version, VERSION);
  assert.ok(existsSync(join(dir, "node_modules", "dns-packet", "package.json")), "dependency dns-packet not installed");
  assert.ok(existsSync(join(dir, "node_modules", ".bin", "peerlink")), "npm did not link the peerlink bin");
  console.log(`# installed offline; dependencies from the ${source}`);
});

test("npx peerlink --help runs the CLI under the system Node 20", { skip }, () => {
  const nodeVersion = mustRun(SYSTEM_NODE, ["--version"]).stdout.trim();
  assert.equal(OLDEST_NODE_MAJOR, 20, "package.json engines: node >=20, the Node these tests name");
  assert.equal(
    Number(nodeVersion.slice(1).split(".")[0]),
    OLDEST_NODE_MAJOR,
    `${SYSTEM_NODE} is ${nodeVersion}, not the oldest supported Node ${OLDEST_NODE_MAJOR}: set PEERLINK_SYSTEM_NODE to one`,
  );
  const help = run(SYSTEM_NPX, ["--no-install", "peerlink", "--help"], {
    cwd: installedPackage().dir,
    env: { PATH: SYSTEM_PATH },
  });
  assert.equal(help.status, 0, `npx peerlink --help under Node ${nodeVersion} failed:\n${help.stderr}`);
  assert.match(help.stdout, /discover/, "the help lists the discover command");
  assert.match(help.stdout, /serve/, "the help lists the serve command");
});

test("npx peerlink --version prints VERSION under the system Node 20", { skip }, () => {
  const result = run(SYSTEM_NPX, ["--no-install", "peerlink", "--version"], {
    cwd: installedPackage().dir,
    env: { PATH: SYSTEM_PATH },
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout.trim(), new RegExp(`(^|\\s)${VERSION.replaceAll(".", "\\.")}$`));
});

test("bunx --bun peerlink --help runs the CLI under Bun", { skip }, () => {
  // A PATH holding Bun alone: nothing else could run the bin, whatever its #! line says.
  const bunOnly = join(work(), "bun-only-path");
  if (!existsSync(bunOnly)) {
    mkdirSync(bunOnly);
    for (const bin of ["bun", "bunx"]) symlinkSync(join(BIN, bin), join(bunOnly, bin));
  }
  const help = run(join(bunOnly, "bunx"), ["--bun", "peerlink", "--help"], {
    cwd: installedPackage().dir,
    env: { PATH: bunOnly },
  });
  assert.equal(help.status, 0, `bunx --bun peerlink --help failed:\n${help.stdout}\n${help.stderr}`);
  assert.match(help.stdout, /discover/);
  const version = run(join(bunOnly, "bunx"), ["--bun", "peerlink", "--version"], {
    cwd: installedPackage().dir,
    env: { PATH: bunOnly },
  });
  assert.equal(version.status, 0, version.stderr);
  assert.ok(version.stdout.includes(VERSION), `bunx peerlink --version printed ${version.stdout}`);
});

/** Imports each public entry of the installed package and prints its export names as JSON. */
const IMPORT_EVERY_ENTRY = `
const entries = {};
for (const spec of ["peerlink", "peerlink/runtimes", "peerlink/mdns", "peerlink/testing"]) {
  entries[spec] = Object.keys(await import(spec)).sort();
}
const { MemoryNetwork } = await import("peerlink/testing");
const network = new MemoryNetwork({ seed: 1 });
const a = network.host("10.0.0.1");
const b = network.host("10.0.0.2");
const got = [];
await b.bindDatagram({ address: "0.0.0.0", port: 5000 }, (m) => got.push(new TextDecoder().decode(m.data)));
const client = await a.bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
await client.send(new TextEncoder().encode("hi"), "10.0.0.2", 5000);
await network.close();
console.log(JSON.stringify({ node: process.version, entries, got }));
`;

test("every public entry of the package imports and runs under the system Node 20", { skip }, () => {
  const result = mustRun(SYSTEM_NODE, ["--input-type=module", "-e", IMPORT_EVERY_ENTRY], {
    cwd: installedPackage().dir,
    env: { PATH: SYSTEM_PATH },
  });
  const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as {
    node: string;
    entries: Record<string, string[]>;
    got: string[];
  };
  assert.ok(report.entries["peerlink"].includes("PeerLink"), `peerlink exports ${report.entries["peerlink"]}`);
  assert.deepEqual(
    ["nodeRuntime", "denoRuntime", "bunRuntime", "autoRuntime", "NetError"].filter(
      (name) => !report.entries["peerlink/runtimes"].includes(name),
    ),
    [],
  );
  assert.ok(
    report.entries["peerlink/mdns"].includes("Mdns"),
    `peerlink/mdns exports ${report.entries["peerlink/mdns"]}`,
  );
  assert.deepEqual(
    ["FakeClock", "MemoryNetwork"].filter((name) => !report.entries["peerlink/testing"].includes(name)),
    [],
  );
  assert.deepEqual(report.got, ["hi"], `an in-memory datagram under Node ${report.node}`);
  assert.match(report.node, new RegExp(`^v${OLDEST_NODE_MAJOR}\\.`), "it ran under the oldest supported Node");
});

test("a TypeScript consumer type-checks against the package's declarations (skipLibCheck off, no DOM lib)", {
  skip,
}, () => {
  const { dir } = installedPackage();
  writeFileSync(
    join(dir, "consumer.ts"),
    [
      `import { PeerLink, type Wire } from "peerlink";`,
      `import { Mdns } from "peerlink/mdns";`,
      `import { FakeClock, MemoryNetwork } from "peerlink/testing";`,
      `const clock: FakeClock = new FakeClock();`,
      `const network = new MemoryNetwork({ seed: 1, clock });`,
      `export const used: unknown[] = [PeerLink, Mdns, network];`,
      `interface Api { now(): Date; ticks(): AsyncIterable<number> }`,
      `export async function typed(node: PeerLink): Promise<[string, ReadableStream<number>]> {`,
      `  const api = node.peer<Api>("Host");`,
      `  const now: Wire<Date> = await api.now();`,
      `  return [now, await api.ticks()];`,
      `}`,
      // A wrong type must be caught: proves the declarations are really read, not `any`.
      `// @ts-expect-error MemoryNetwork's seed is a number`,
      `new MemoryNetwork({ seed: "one" });`,
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        // No DOM: a Node program's libraries, so our declarations may not lean on browser types.
        lib: ["ES2022", "ESNext.Disposable"],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules", "@types")],
      },
      files: ["consumer.ts"],
    }),
  );
  const checked = run(join(BIN, "tsc"), ["-p", "tsconfig.json"], { cwd: dir });
  assert.equal(checked.status, 0, `tsc on a consumer of the package:\n${checked.stdout}${checked.stderr}`);
});

test("a node from the package serves UDP and TCP calls under the system Node 20", { skip }, async () => {
  const { dir } = installedPackage();
  const peerlink = join(dir, "node_modules", ".bin", "peerlink");
  const env = { PATH: SYSTEM_PATH };
  const name = `dist-node20-${process.pid}`;
  const server = startProcess(SYSTEM_NODE, [peerlink, "serve", "--name", name, "--quiet"], { cwd: dir, env });
  let stopCode: number | null;
  try {
    await server.waitFor(/Ctrl-C to stop/, 15_000);
    assert.match(server.output(), /\(node 20\./, "the server runs on the system Node 20");
    for (const transport of ["udp", "tcp"]) {
      const call = await runAsync(
        SYSTEM_NODE,
        [peerlink, "call", name, "echo", `"via ${transport}"`, "--transport", transport, "--wait", "5s"],
        { cwd: dir, env, timeoutMs: 30_000 },
      );
      assert.equal(call.status, 0, `call over ${transport} failed:\n${call.stdout}\n${call.stderr}`);
      assert.equal(call.stdout.trim(), `"via ${transport}"`);
    }
  } finally {
    stopCode = await server.stop("SIGINT", 10_000);
  }
  assert.equal(stopCode, 0, `serve did not stop cleanly on SIGINT:\n${server.output()}`);
});

test("peerlink demo from the installed package runs on loopback and says what that means", { skip }, async () => {
  const { dir } = installedPackage();
  const peerlink = join(dir, "node_modules", ".bin", "peerlink");
  // As outside our namespace (PEERLINK_NETNS unset): the package has no scripts/netns.sh, so
  // the demo keeps to 127.0.0.1 (here still inside the namespace of the test run).
  const demo = await runAsync(SYSTEM_NODE, [peerlink, "demo"], {
    cwd: dir,
    env: { PATH: SYSTEM_PATH, PEERLINK_NETNS: "" },
    timeoutMs: 60_000,
  });
  assert.equal(demo.status, 0, `${demo.stdout}\n${demo.stderr}`);
  const [first, second] = demo.stdout.split("\n");
  assert.match(first, /^PeerLink demo: nodes on one machine, on loopback only \(127\.0\.0\.1\), realm demo-/);
  assert.match(second, /^Nothing reaches your LAN: the nodes talk over 127\.0\.0\.1 only, since .*scripts\/netns\.sh/);
  assert.match(demo.stdout, /Discovery {2}3 of 3 nodes/);
});
