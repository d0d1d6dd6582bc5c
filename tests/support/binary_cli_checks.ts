/**
 * What a single binary must do wherever it can run: one entry per CLI command (plus the global
 * flags), each talking to a real node of this test process (Bun, native) over real sockets.
 * tests/dist/dist_binary.test.ts runs every entry against every binary that runs here, natively or
 * under qemu, and fails when a command of the CLI has no entry: a new command (e.g. `share`)
 * gets its entry here, with the node it needs, and is then checked on every target.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { PeerInfo } from "../../src/discovery.ts";
import { PeerLink } from "../../mod.ts";
import { VERSION } from "../../src/version.ts";
import { COMMANDS } from "../../cli/main.ts";
import { type RunResult, startProcess } from "./dist_fixture.ts";

/** A built binary and how to start it on this machine. */
export interface RunnableBinary {
  /** Target name, e.g. `linux-arm64`. */
  target: string;
  /** The binary. */
  file: string;
  /** What runs it: `[]` natively, e.g. `["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]` emulated. */
  launcher: readonly string[];
  /** How much slower than native it starts and runs (time limits are multiplied by it). */
  slowdown: number;
}

/** One thing a binary must do. */
export interface BinaryCheck {
  /** The CLI command it exercises, or `"(global)"` for flags before any command. */
  command: string;
  /** For the test name. */
  title: string;
  /** Runs the check; throws (an assertion) when the binary fails it. */
  run(binary: RunnableBinary, realm: string): Promise<void>;
}

/** Where a check's own output and program stay bounded. */
const BASE_LIMIT_MS = 20_000;

/**
 * Runs the binary (through its launcher) to completion.
 *
 * @param binary The binary.
 * @param args Its arguments.
 * @param options Working directory, extra environment, variables to remove.
 * @returns Exit status and output.
 */
export function runBinary(
  binary: RunnableBinary,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; without?: readonly string[] } = {},
): Promise<RunResult> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...options.env };
  for (const name of options.without ?? []) delete env[name];
  const [command, ...prefix] = [...binary.launcher, binary.file];
  return new Promise((resolve) => {
    execFile(command, [...prefix, ...args], {
      cwd: options.cwd ?? tmpdir(),
      env,
      timeout: BASE_LIMIT_MS * binary.slowdown,
      maxBuffer: 16 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ status, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Runs `body` with a started native node in the realm, stopped afterwards. */
async function withNativeNode<T>(
  name: string,
  realm: string,
  setUp: (node: PeerLink) => void,
  body: (node: PeerLink) => Promise<T>,
): Promise<T> {
  const node = new PeerLink(name, { realm });
  setUp(node);
  await node.start();
  try {
    return await body(node);
  } finally {
    await node.stop();
  }
}

function nativeName(binary: RunnableBinary, role: string): string {
  return `native-${role}-${binary.target}-${process.pid}`;
}

function outputOf(result: RunResult): string {
  return `exit ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

const version: BinaryCheck = {
  command: "(global)",
  title: "--version prints the version; --help lists every command",
  async run(binary) {
    const printed = await runBinary(binary, ["--version"]);
    assert.equal(printed.status, 0, outputOf(printed));
    assert.equal(printed.stdout, `peerlink ${VERSION}\n`);
    const help = await runBinary(binary, ["--help"]);
    assert.equal(help.status, 0, outputOf(help));
    for (const command of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${command.name} `, "m"), help.stdout);
  },
};

const ignoresFolderConfig: BinaryCheck = {
  command: "(global)",
  title: "ignores .env and bunfig.toml in the folder it is started from",
  async run(binary) {
    const folder = mkdtempSync(join(tmpdir(), "peerlink-env-"));
    try {
      // Autoloaded, this .env would turn colours on (the binary is built with autoloading off).
      writeFileSync(join(folder, ".env"), "FORCE_COLOR=1\n");
      writeFileSync(join(folder, "bunfig.toml"), 'preload = ["./missing-preload.ts"]\n');
      const help = await runBinary(binary, ["--help"], {
        cwd: folder,
        env: { NO_COLOR: "" },
        without: ["FORCE_COLOR"],
      });
      assert.equal(help.status, 0, outputOf(help));
      assert.ok(!help.stdout.includes("\x1b["), `colours came on: the .env was loaded\n${help.stdout.slice(0, 200)}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  },
};

const discover: BinaryCheck = {
  command: "discover",
  title: "discover lists a native node with its ports",
  async run(binary, realm) {
    const name = nativeName(binary, "discovered");
    await withNativeNode(name, realm, () => {}, async (node) => {
      const found = await runBinary(binary, ["discover", "--realm", realm, "--wait", "3s", "--json"]);
      assert.equal(found.status, 0, outputOf(found));
      const peers = found.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
      const listed = peers.find((peer: PeerInfo) => peer.name === name);
      assert.ok(listed, `discover did not list ${name}:\n${outputOf(found)}`);
      assert.equal(listed.udpPort, node.ports?.udpPort);
      assert.equal(listed.tcpPort, node.ports?.tcpPort);
    });
  },
};

function pingOver(transport: "udp" | "tcp"): BinaryCheck {
  return {
    command: "ping",
    title: `ping --transport ${transport} reaches a native node`,
    async run(binary, realm) {
      const name = nativeName(binary, `ping-${transport}`);
      await withNativeNode(name, realm, () => {}, async (node) => {
        const before = node.stats()!;
        const ping = await runBinary(binary, [
          "ping",
          name,
          "--realm",
          realm,
          "--count",
          "2",
          "--interval",
          "100ms",
          "--transport",
          transport,
        ]);
        assert.equal(ping.status, 0, outputOf(ping));
        const replies = ping.stdout.match(
          new RegExp(`^Ping → '${name}' OK {2}\\(\\d+(?:\\.\\d)? m?s via ${transport}\\)$`, "gm"),
        );
        assert.equal(replies?.length, 2, outputOf(ping));
        const after = node.stats()!;
        if (transport === "tcp") {
          assert.equal(after.tcpServer.requests, before.tcpServer.requests + 2, "the native node got two TCP pings");
        } else {
          assert.ok(after.udp.received >= before.udp.received + 2, "the native node got the UDP pings");
          assert.equal(after.tcpServer.requests, before.tcpServer.requests, "and nothing over TCP");
        }
      });
    },
  };
}

const call: BinaryCheck = {
  command: "call",
  title: "call runs a native node's functions over UDP and TCP, with binary arguments",
  async run(binary, realm) {
    const name = nativeName(binary, "called");
    const register = (node: PeerLink) =>
      node.register("add", (a: number, b: number) => a + b).register("size", (blob: Uint8Array) => blob.length);
    await withNativeNode(name, realm, register, async () => {
      const small = await runBinary(binary, ["call", name, "add", "40", "2", "--realm", realm]);
      assert.equal(small.stdout, "42\n", outputOf(small));
      const tcp = await runBinary(binary, [
        "call",
        name,
        "add",
        "--realm",
        realm,
        "--transport",
        "tcp",
        "--",
        "-1",
        "-2",
      ]);
      assert.equal(tcp.stdout, "-3\n", outputOf(tcp));
      // 3000 bytes: over the 1200-byte UDP limit, so `auto` sends it over TCP.
      const blob = Buffer.alloc(3000, 7).toString("base64");
      const big = await runBinary(binary, [
        "call",
        name,
        "size",
        JSON.stringify({ __bytes__: blob }),
        "--realm",
        realm,
      ]);
      assert.equal(big.stdout, "3000\n", outputOf(big));
    });
  },
};

const serve: BinaryCheck = {
  command: "serve",
  title: "serve: a native node finds it and calls its functions; Ctrl-C stops it with a goodbye",
  async run(binary, realm) {
    const served = `served-${binary.target}-${process.pid}`;
    const [command, ...prefix] = [...binary.launcher, binary.file];
    const server = startProcess(command, [...prefix, "serve", "--name", served, "--realm", realm, "--expose-demo"]);
    const left: string[] = [];
    let stopCode: number | null = null;
    try {
      await server.waitFor(/Ctrl-C to stop/, BASE_LIMIT_MS * binary.slowdown);
      await withNativeNode(nativeName(binary, "caller"), realm, (node) => {
        node.on("peer-down", (peer: PeerInfo, reason: string) => left.push(`${peer.name} ${reason}`));
      }, async (node) => {
        await node.waitForPeers(1, { timeout: BASE_LIMIT_MS * binary.slowdown });
        assert.equal(await node.call(served, "add", [2, 3]), 5);
        const blob = new Uint8Array(200_000).map((_, i) => i % 251);
        const digest = Buffer.from(await crypto.subtle.digest("SHA-256", blob)).toString("hex");
        assert.deepEqual(await node.call(served, "checksum", [blob]), { bytes: blob.length, sha256: digest });
        const info = await node.call(served, "info", [], { transport: "tcp" }) as Record<string, unknown>;
        assert.equal(info.name, served);
        assert.equal(info.runtime, "bun");
        assert.equal(info.version, VERSION);
        await server.waitFor(new RegExp(`peer up +${nativeName(binary, "caller")}`), 5_000 * binary.slowdown);
        stopCode = await server.stop("SIGINT", 10_000 * binary.slowdown);
        const deadline = Date.now() + 5_000;
        while (!left.includes(`${served} goodbye`) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 25));
        }
      });
    } finally {
      stopCode ??= await server.stop("SIGKILL", 5_000);
    }
    assert.equal(stopCode, 0, `serve did not stop cleanly on SIGINT:\n${server.output()}`);
    assert.match(server.output(), new RegExp(`Stopped '${served}' on SIGINT`));
    assert.deepEqual(left, [`${served} goodbye`], "the native node saw it leave with a goodbye");
  },
};

const demo: BinaryCheck = {
  command: "demo",
  title: "demo runs its nodes in-process and makes UDP and TCP calls",
  async run(binary) {
    const tour = await runBinary(binary, ["demo"]);
    assert.equal(tour.status, 0, outputOf(tour));
    assert.match(tour.stdout, /Demo-local1 \(in-process\)/, "a binary has no runtimes to start children with");
    assert.match(tour.stdout, /Discovery {2}3 of 3 nodes/);
    assert.match(tour.stdout, /UDP call {3}Demo-\w+\.add\(2, 3\) = 5 .* via udp/);
    assert.match(tour.stdout, /TCP call {3}Demo-\w+\.checksum\(1\.0 MiB\) = sha256 [0-9a-f]{12}… intact/);
  },
};

/** A temporary folder holding one 300 kB pattern file `f.bin`; its path, the file's SHA-256, and a remover. */
function filesFolder(label: string): { dir: string; sha256: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `peerlink-bin-${label}-`));
  const bytes = new Uint8Array(300_000).map((_, i) => (i * 31 + 7) & 0xff);
  writeFileSync(join(dir, "f.bin"), bytes);
  return {
    dir,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const share: BinaryCheck = {
  command: "share",
  title: "share: a native node lists and fetches its files; SIGINT stops it",
  async run(binary, realm) {
    const shared = filesFolder("share");
    const local = filesFolder("share-local");
    const name = `shared-${binary.target}-${process.pid}`;
    const [command, ...prefix] = [...binary.launcher, binary.file];
    const server = startProcess(command, [...prefix, "share", shared.dir, "--name", name, "--realm", realm]);
    let stopCode: number | null = null;
    try {
      await server.waitFor(/Ctrl-C to stop/, BASE_LIMIT_MS * binary.slowdown);
      await withNativeNode(nativeName(binary, "share-reader"), realm, () => {}, async (node) => {
        await node.waitForPeers(1, { timeout: BASE_LIMIT_MS * binary.slowdown });
        assert.deepEqual((await node.listFiles(name, "/")).map((e) => e.name), ["f.bin"]);
        const got = await node.getFile(name, "/f.bin", join(local.dir, "got.bin"));
        assert.equal(got.sha256, shared.sha256);
      });
      stopCode = await server.stop("SIGINT", 10_000 * binary.slowdown);
    } finally {
      stopCode ??= await server.stop("SIGKILL", 5_000);
      shared.remove();
      local.remove();
    }
    assert.equal(stopCode, 0, server.output());
  },
};

const ls: BinaryCheck = {
  command: "ls",
  title: "ls lists a native node's shared files",
  async run(binary, realm) {
    const shared = filesFolder("ls");
    try {
      await withNativeNode(
        nativeName(binary, "ls"),
        realm,
        (node) => void node.serveFiles(shared.dir),
        async (node) => {
          const listed = await runBinary(binary, ["ls", node.name, "/", "--json", "--realm", realm]);
          assert.equal(listed.status, 0, outputOf(listed));
          const entry = JSON.parse(listed.stdout.trim());
          assert.deepEqual([entry.name, entry.size, entry.type], ["f.bin", 300_000, "file"]);
        },
      );
    } finally {
      shared.remove();
    }
  },
};

const get: BinaryCheck = {
  command: "get",
  title: "get fetches a native node's file, verified, with a JSON final line",
  async run(binary, realm) {
    const shared = filesFolder("get");
    const local = filesFolder("get-local");
    try {
      await withNativeNode(
        nativeName(binary, "get"),
        realm,
        (node) => void node.serveFiles(shared.dir),
        async (node) => {
          const dest = join(local.dir, "copy.bin");
          const got = await runBinary(binary, ["get", node.name, "/f.bin", "-o", dest, "--json", "--realm", realm]);
          assert.equal(got.status, 0, outputOf(got));
          const done = JSON.parse(got.stdout.trim().split("\n").at(-1)!);
          assert.deepEqual([done.event, done.size, done.sha256], ["done", 300_000, shared.sha256]);
          assert.equal(createHash("sha256").update(readFileSync(dest)).digest("hex"), shared.sha256);
        },
      );
    } finally {
      shared.remove();
      local.remove();
    }
  },
};

const send: BinaryCheck = {
  command: "send",
  title: "send puts a file into a native node's writable share",
  async run(binary, realm) {
    const source = filesFolder("send");
    const inbox = filesFolder("send-inbox");
    try {
      const writable = (node: PeerLink) => void node.serveFiles(inbox.dir, { prefix: "/inbox", writable: true });
      await withNativeNode(nativeName(binary, "send"), realm, writable, async (node) => {
        const file = join(source.dir, "f.bin");
        const sent = await runBinary(binary, ["send", file, node.name, "/inbox/sent.bin", "--json", "--realm", realm]);
        assert.equal(sent.status, 0, outputOf(sent));
        const stored = createHash("sha256").update(readFileSync(join(inbox.dir, "sent.bin"))).digest("hex");
        assert.equal(stored, source.sha256);
      });
    } finally {
      source.remove();
      inbox.remove();
    }
  },
};

/** Every check, in the order they run against each binary. */
export const BINARY_CHECKS: readonly BinaryCheck[] = [
  version,
  ignoresFolderConfig,
  discover,
  pingOver("udp"),
  pingOver("tcp"),
  call,
  serve,
  share,
  ls,
  get,
  send,
  demo,
];
