/**
 * The `peerlink` command as users run it: `cli.ts` in a child process under the runtime
 * running the test, against nodes the test starts (a `serve` child or in-process nodes on
 * real sockets). Socket tests run only inside the private network namespace.
 */
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PeerDownReason } from "../src/discovery.ts";
import { PeerLink } from "../mod.ts";
import { VERSION } from "../src/version.ts";
import { eventually, runCli, startCli } from "./support/cli_harness.ts";
import { runtimeName, socketSkip } from "./support/env.ts";

const ESC = "\x1b";

/** Starts in-process nodes on real sockets; stops them all at the end. */
async function withNodes(fn: (start: (node: PeerLink) => Promise<PeerLink>) => Promise<void>): Promise<void> {
  const nodes: PeerLink[] = [];
  try {
    await fn(async (node) => {
      nodes.push(node);
      return await node.start();
    });
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()));
  }
}

test("cli process: --version, --help and a usage error (exit 2, one line)", async () => {
  const version = await runCli(["--version"]);
  assert.deepEqual(version, { code: 0, stdout: `peerlink ${VERSION}\n`, stderr: "" });
  const help = await runCli(["ping", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: peerlink ping NAME/);
  const usage = await runCli(["ping", "NodeB", "--foo"]);
  assert.equal(usage.code, 2);
  assert.equal(usage.stdout, "");
  assert.equal(usage.stderr, "peerlink: unknown option '--foo' for 'ping'. See 'peerlink ping --help'.\n");
});

test("cli process: colours only when forced and never with NO_COLOR", async () => {
  const forced = await runCli(["--help"], { NO_COLOR: "", FORCE_COLOR: "1" });
  assert.ok(forced.stdout.includes(`${ESC}[1mpeerlink${ESC}[22m`), "bold when forced");
  const both = await runCli(["--help"], { NO_COLOR: "1", FORCE_COLOR: "1" });
  assert.ok(!both.stdout.includes(ESC), "NO_COLOR wins over FORCE_COLOR");
  const piped = await runCli(["--help"], { NO_COLOR: "", FORCE_COLOR: "" });
  assert.ok(!piped.stdout.includes(ESC), "a pipe is not a terminal");
});

test("cli process: discover lists a serve child (text and --json), which stops with goodbye on SIGTERM", {
  skip: socketSkip,
}, async () => {
  await withNodes(async (start) => {
    const downs: [string, PeerDownReason, number][] = [];
    const observer = new PeerLink("Observer");
    observer.on("peer-down", (p, reason) => void downs.push([p.name, reason, Date.now()]));
    await start(observer);
    const serve = startCli(["serve", "--name", "ServedNode", "--expose-demo"]);
    try {
      const banner = await serve.waitFor(/^Serving 'ServedNode' \((\w+) .*on UDP (\d+) and TCP (\d+)\n/m);
      assert.equal(banner[1], runtimeName);
      const [udpPort, tcpPort] = [Number(banner[2]), Number(banner[3])];

      const text = await runCli(["discover", "--wait", "1.5s"]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Discovered \d+ peers? in [\d.]+ s:\n/);
      assert.match(
        text.stdout,
        new RegExp(
          `^  • ServedNode +127\\.0\\.0\\.1 +udp ${udpPort} +tcp ${tcpPort} +${runtimeName} +mdns +\\d+s ago$`,
          "m",
        ),
      );
      assert.match(text.stdout, /^ {2}• Observer +127\.0\.0\.1 /m);

      const json = await runCli(["discover", "--wait", "1.5s", "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const peers = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
      const served = peers.find((p) => p.name === "ServedNode");
      assert.deepEqual(
        [served.address, served.udpPort, served.tcpPort, served.runtime, served.version],
        ["127.0.0.1", udpPort, tcpPort, runtimeName, VERSION],
      );

      assert.ok(await eventually(() => observer.peers().some((p) => p.name === "ServedNode")));
      const stoppedAt = Date.now();
      assert.equal(await serve.stop("SIGTERM"), 0);
      assert.match(serve.stdout(), /Stopped 'ServedNode' on SIGTERM after .* \(goodbye sent\)\.\n$/);
      assert.ok(await eventually(() => downs.some(([name]) => name === "ServedNode"), 30_000), "peer-down seen");
      const [, reason, at] = downs.find(([name]) => name === "ServedNode")!;
      assert.equal(reason, "goodbye");
      assert.ok(at - stoppedAt < 30_000, `peer-down after ${at - stoppedAt} ms`);
    } finally {
      await serve.stop();
    }
  });
});

test("cli process: ping goes via udp, and --transport tcp really uses TCP (server counters)", {
  skip: socketSkip,
}, async () => {
  await withNodes(async (start) => {
    const target = await start(new PeerLink("PingTarget"));
    const before = target.stats()!;
    const udp = await runCli(["ping", "PingTarget", "--count", "2", "--interval", "50ms"]);
    assert.equal(udp.code, 0, udp.stderr);
    assert.equal(udp.stdout.match(/^Ping → 'PingTarget' OK {2}\(\d+\.\d ms via udp\)$/gm)?.length, 2, udp.stdout);
    assert.match(udp.stdout, /^--- 'PingTarget': 2 sent, 2 ok, 0 failed; min\/median\/max .+ ms$/m);
    const middle = target.stats()!;
    assert.ok(middle.udp.received >= before.udp.received + 2);
    assert.equal(middle.tcpServer.requests, before.tcpServer.requests);

    const tcp = await runCli(["ping", "PingTarget", "--transport", "tcp", "-c", "2", "-i", "0"]);
    assert.equal(tcp.code, 0, tcp.stderr);
    assert.equal(tcp.stdout.match(/^Ping → 'PingTarget' OK {2}\(\d+\.\d ms via tcp\)$/gm)?.length, 2, tcp.stdout);
    const after = target.stats()!;
    assert.equal(after.tcpServer.requests, middle.tcpServer.requests + 2, "the server received two TCP requests");
    assert.equal(after.udp.received, middle.udp.received, "and nothing over UDP");
  });
});

test("cli process: ping of a missing peer exits 1 and lists the known peers", { skip: socketSkip }, async () => {
  await withNodes(async (start) => {
    await start(new PeerLink("KnownOne"));
    const result = await runCli(["ping", "Known", "--wait", "1.5s"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^peerlink: peer 'Known' not found within 1\.5 s\. Known peers: .*KnownOne.*\n$/);
  });
});

test("cli process: Ctrl-C during ping exits 130 after the summary", { skip: socketSkip }, async () => {
  await withNodes(async (start) => {
    await start(new PeerLink("Patient"));
    const ping = startCli(["ping", "Patient", "--count", "500", "--interval", "100ms"]);
    try {
      await ping.waitFor(/OK.*\n.*OK/);
      assert.equal(await ping.stop("SIGINT"), 130);
      assert.match(ping.stdout(), /^--- 'Patient': \d+ sent, \d+ ok, 0 failed; min\/median\/max/m);
    } finally {
      await ping.stop();
    }
  });
});

test("cli process: call prints JSON; call ALL prints one line per peer", { skip: socketSkip }, async () => {
  await withNodes(async (start) => {
    await start(new PeerLink("CalcA").register("add", (a: number, b: number) => a + b).register("who", () => "A"));
    await start(new PeerLink("CalcB").register("who", () => ({ name: "B" })));
    const one = await runCli(["call", "CalcA", "add", "40", "2"]);
    assert.deepEqual(one, { code: 0, stdout: "42\n", stderr: "" });
    const big = await runCli(["call", "CalcA", "add", "--transport", "tcp", "--", "-1", "-2"]);
    assert.equal(big.stdout, "-3\n");

    const all = await runCli(["call", "ALL", "who", "--wait", "1.5s"]);
    const lines = all.stdout.trimEnd().split("\n").filter((line) => /^Calc/.test(line));
    assert.equal(lines.length, 2, all.stdout);
    assert.match(lines[0], /^CalcA +ok +[\d.]+ ms +"A"$/);
    assert.match(lines[1], /^CalcB +ok +[\d.]+ ms +\{"name":"B"\}$/);
  });
});

test(
  "cli process: discover --watch streams a node coming and going; Ctrl-C exits 0",
  { skip: socketSkip },
  async () => {
    await withNodes(async (start) => {
      const watch = startCli(["discover", "--watch"]);
      try {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const node = await start(new PeerLink("Visitor"));
        await watch.waitFor(/^\+[\d.]+s +up +Visitor +127\.0\.0\.1 +udp \d+ +tcp \d+/m);
        await node.stop();
        await watch.waitFor(/^\+[\d.]+s +down +Visitor +\(goodbye\)$/m, 5000);
        assert.equal(await watch.stop("SIGINT"), 0);
        assert.match(watch.stderr(), /Watched for .*: \d+ up, \d+ down\./);
      } finally {
        await watch.stop();
      }
    });
  },
);

test(
  "cli process: demo runs a node per runtime and finishes within the harness's 60 s",
  { skip: socketSkip },
  async () => {
    const demo = await runCli(["demo"], {}, 60_000);
    assert.equal(demo.code, 0, demo.stdout + demo.stderr);
    assert.match(demo.stdout, /in a private network namespace/);
    assert.match(demo.stdout, /Discovery {2}3 of 3 nodes in /);
    for (const runtime of ["deno", "bun", "node"]) {
      assert.match(demo.stdout, new RegExp(`^  • Demo-${runtime} +127\\.0\\.0\\.1 .* ${runtime} `, "m"));
    }
    assert.match(demo.stdout, /UDP call {3}Demo-\w+\.add\(2, 3\) = 5 .* via udp/);
    assert.match(demo.stdout, /TCP call {3}Demo-\w+\.checksum\(1\.0 MiB\) = sha256 [0-9a-f]{12}… intact/);
    assert.match(demo.stdout, /Fan-out {4}info on all 3 nodes/);
    assert.match(demo.stdout, /^Done in /m);
  },
);

/** Whether a further private namespace can be made from here (nested user namespaces). */
function nestedNamespaceSkip(): string | false {
  if (socketSkip) return socketSkip;
  const probe = spawnSync("unshare", ["-rn", "true"]);
  return probe.status === 0 ? false : "cannot create a nested network namespace here";
}

test("cli process: demo outside a namespace re-runs itself under scripts/netns.sh", {
  skip: nestedNamespaceSkip(),
}, async () => {
  // PEERLINK_NETNS unset: the demo must not trust the current network and isolates itself.
  const demo = await runCli(["demo", "--in-process"], { PEERLINK_NETNS: "" }, 60_000);
  assert.equal(demo.code, 0, demo.stdout + demo.stderr);
  assert.match(demo.stdout, /^PeerLink demo: nodes on one machine, in a private network namespace, realm demo-/);
  assert.match(demo.stdout, /Discovery {2}3 of 3 nodes in /);
  assert.match(demo.stdout, /^Done in /m);
});

test("cli process: serve --exit-with-stdin stops cleanly when its stdin closes", { skip: socketSkip }, async () => {
  // The harness gives children /dev/null as stdin: it is closed from the start. runCli fails
  // after 20 s: a serve that ignored the closed stdin would run until then.
  const serve = await runCli(["serve", "--name", "Lifeline", "--exit-with-stdin"], {}, 20_000);
  assert.equal(serve.code, 0, serve.stderr);
  assert.match(serve.stdout, /^Serving 'Lifeline' /);
  assert.match(serve.stdout, /Stopped 'Lifeline' on stdin closed after .* \(goodbye sent\)\.\n$/);
});
