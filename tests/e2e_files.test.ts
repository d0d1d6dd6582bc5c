/**
 * Files across runtimes on a private LAN, in real processes: a multi-GiB sparse file fetched
 * and a file put between Deno, Bun and Node nodes; and resume after `kill -9` of the sender
 * and of the receiver, of a get and of a put, with the final SHA-256 equal to the source's.
 * Each pass of the suite runs the kill scenarios with the runtimes rotated, so over the three
 * passes every runtime is killed as sender and as receiver; the links are slowed with `tc`
 * so that a kill lands mid-transfer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { runtimeName, socketSkip } from "./support/env.ts";
import { type Lan, lanSkip, withLan } from "./support/lan.ts";
import { type E2eNode, type E2eRuntime, startE2eNode } from "./support/e2e_driver.ts";
import { patternFile, sha256File, sparseFile, tempDir } from "./support/files_fixture.ts";

const RUNTIMES: readonly E2eRuntime[] = ["deno", "bun", "node"];
const skip = socketSkip || lanSkip;
const DISCOVERY_TIMEOUT_MS = 15_000;
/** Rotates the runtimes by the pass: deno, bun and node take each role once over the three passes. */
const shift = RUNTIMES.indexOf(runtimeName);
const role = (i: number): E2eRuntime => RUNTIMES[(i + shift) % 3];

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** Limits what leaves a host's LAN interface, so that a transfer takes a while. */
async function slowLink(lan: Lan, host: number, rate: string): Promise<void> {
  const args = [
    "tc",
    "qdisc",
    "replace",
    "dev",
    "pleth0",
    "root",
    "tbf",
    "rate",
    rate,
    "burst",
    "64kb",
    "latency",
    "500ms",
  ];
  const result = await lan.run(host, args, 10_000);
  assert.equal(result.code, 0, `tc on host ${host}: ${result.stderr}`);
}

/** Retries a command while the peer restarts (its first calls may meet the old connection). */
async function retried(node: E2eNode, cmd: string, fields: Record<string, unknown>) {
  let last;
  for (let attempt = 0; attempt < 10; attempt++) {
    last = await node.command(cmd, fields, 60_000);
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${cmd} kept failing: ${last?.error?.name}: ${last?.error?.message}`);
}

test("files across runtimes: a 2 GiB+ sparse file and a put, byte-exact and verified", { skip }, async () => {
  const share = tempDir("e2e-share");
  const inbox = tempDir("e2e-inbox");
  const local = tempDir("e2e-local");
  try {
    const size = 2 * 1024 ** 3 + 64 * 1024 + 3; // past 2^31: offsets that no longer fit an int32
    const markers = [0, 2 ** 31 - 1, 2 ** 31 + 4096, size - 2];
    await sparseFile(share.join("disk.img"), size, markers);
    const source = local.join("up.bin");
    const upDigest = patternFile(source, 3 * 1024 * 1024 + 1, 5);
    await withLan(3, async (lan) => {
      const nodes = await Promise.all([0, 1, 2].map((i) => startE2eNode(lan, i + 1, `F-${role(i)}`, role(i))));
      const [server, getter, putter] = nodes;
      await Promise.all(nodes.map((n) => n.expect("wait", { count: 2, timeout: DISCOVERY_TIMEOUT_MS }, 20_000)));
      await server.expect("serveFiles", { folder: share.path });
      await server.expect("serveFiles", { folder: inbox.path, prefix: "/inbox", writable: true });
      const listed = await getter.expect("listFiles", { target: server.name, path: "/" });
      assert.deepEqual(
        (listed.entries as { name: string; size: number }[]).map((e) => [e.name, e.size]),
        [["disk.img", size], ["inbox", 0]],
      );
      const dest = local.join("disk.img");
      const got = await getter.expect("getFile", { target: server.name, path: "/disk.img", dest }, 90_000);
      assert.equal(got.bytes, size, `${getter.runtime} got it from ${server.runtime}`);
      assert.equal(statSync(dest).size, size);
      const blocks = (statSync(dest) as { blocks: number }).blocks;
      assert.ok(blocks * 512 < 4 * 1024 * 1024, `the copy stayed sparse (${blocks * 512} bytes allocated)`);
      const { readSync, openSync, closeSync } = await import("node:fs");
      const fd = openSync(dest, "r");
      try {
        for (const at of markers) {
          const two = new Uint8Array(2);
          readSync(fd, two, 0, 2, at);
          assert.deepEqual([...two], [0xa5, at & 0xff], `marker at ${at}`);
        }
      } finally {
        closeSync(fd);
      }
      const put = await putter.expect("putFile", { target: server.name, source, path: "/inbox/up.bin" }, 30_000);
      assert.equal(put.sha256, upDigest);
      assert.equal(sha256File(inbox.join("up.bin")), upDigest);
      await Promise.all(nodes.map((n) => n.stop()));
    }, { timeoutMs: 150_000 });
  } finally {
    for (const dir of [share, inbox, local]) dir.remove();
  }
});

/** One kill scenario: who transfers, who is killed, which link is slowed. */
interface KillScenario {
  op: "get" | "put";
  killed: "sender" | "receiver";
}

const SCENARIOS: readonly KillScenario[] = [
  { op: "get", killed: "sender" },
  { op: "get", killed: "receiver" },
  { op: "put", killed: "sender" },
  { op: "put", killed: "receiver" },
];

test(
  `files across runtimes: kill -9 of the sender and of the receiver mid-transfer, then resume to the source's SHA-256 (${
    role(0)
  } shares, ${role(1)} gets and puts)`,
  { skip },
  async () => {
    const share = tempDir("e2e-kill-share");
    const local = tempDir("e2e-kill-local");
    const size = 24 * 1024 * 1024;
    // Sealed in one pass of three: the kill and resume paths are the same sealed or not.
    const env: Record<string, string> = shift === 0 ? { E2E_SECRET: "e2e files kill secret 77a1" } : {};
    try {
      const digest = patternFile(share.join("movie.bin"), size, 7);
      patternFile(local.join("upload.bin"), size, 7);
      await withLan(2, async (lan) => {
        const start = (host: number) =>
          startE2eNode(lan, host, host === 1 ? `K-share-${role(0)}` : `K-peer-${role(1)}`, role(host - 1), env);
        let sharer = await start(1);
        let peer = await start(2);
        await Promise.all(
          [sharer, peer].map((n) => n.expect("wait", { count: 1, timeout: DISCOVERY_TIMEOUT_MS }, 20_000)),
        );
        const serve = async (node: E2eNode) => {
          await node.expect("serveFiles", { folder: share.path });
          await node.expect("serveFiles", { folder: share.path, prefix: "/inbox", writable: true });
        };
        await serve(sharer);
        // About 6 MB/s each way: a 24 MiB transfer takes some seconds, so the kill lands mid-way.
        await slowLink(lan, 1, "48mbit");
        await slowLink(lan, 2, "48mbit");
        for (const { op, killed } of SCENARIOS) {
          const label = `${op}, ${killed} killed`;
          const dest = op === "get" ? local.join(`got-${killed}.bin`) : `/inbox/put-${killed}.bin`;
          const part = op === "get" ? `${dest}.part` : share.join(`put-${killed}.bin.part`);
          const fields = op === "get"
            ? { target: sharer.name, path: "/movie.bin", dest }
            : { target: sharer.name, source: local.join("upload.bin"), path: dest };
          const cmd = op === "get" ? "getFile" : "putFile";
          const running = peer.command(cmd, fields, 60_000);
          await waitUntil(() => sizeOf(part) >= 2 * 1024 * 1024, 30_000, `${label}: 2 MiB in the part file`);
          const sender = op === "get" ? sharer : peer;
          const victim = killed === "sender" ? sender : (sender === sharer ? peer : sharer);
          victim.process.kill("SIGKILL");
          await victim.process.wait(10_000);
          const kept = sizeOf(part);
          assert.ok(kept >= 2 * 1024 * 1024 && kept < size, `${label}: the part kept ${kept} bytes`);
          if (victim === sharer) {
            const failed = await running;
            assert.equal(failed.ok, false, `${label}: the transfer failed when its peer died`);
            sharer = await start(1);
            await serve(sharer);
          } else {
            const outcome = await running.then((reply) => reply.ok, () => false);
            assert.equal(outcome, false, `${label}: the killed node never answered`);
            peer = await start(2);
          }
          await peer.expect("wait", { count: 1, timeout: DISCOVERY_TIMEOUT_MS }, 20_000);
          const done = await retried(peer, cmd, fields);
          assert.ok((done.resumedFrom as number) > 0, `${label}: resumed from ${done.resumedFrom}`);
          assert.ok((done.resumedFrom as number) <= sizeOf(op === "get" ? dest : share.join(`put-${killed}.bin`)));
          assert.equal(done.sha256, digest, `${label}: the whole file's SHA-256`);
          const landed = op === "get" ? dest : share.join(`put-${killed}.bin`);
          assert.equal(sha256File(landed), digest, `${label}: the file on disk`);
          assert.ok(!existsSync(`${landed}.part`) && !existsSync(`${landed}.part.json`), `${label}: no part left`);
        }
        await Promise.all([sharer.stop(), peer.stop()]);
      }, { timeoutMs: 180_000 });
    } finally {
      share.remove();
      local.remove();
    }
  },
);
