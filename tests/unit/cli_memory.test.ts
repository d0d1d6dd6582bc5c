/**
 * The CLI commands run in-process (`main()` with captured output) against nodes on an
 * in-memory network with real mDNS discovery over it: no sockets, every runtime. Nodes, the
 * network and the commands' own waits share one fake clock, which the tests move forward while
 * a command runs: probing, `--wait` and `--interval` take no real time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EXIT } from "../../cli/errors.ts";
import type { PeerDownReason } from "../../src/discovery.ts";
import type { PeerLinkOptions } from "../../src/options.ts";
import { PeerLink } from "../../src/peerlink.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { runMain, type RunResult } from "../support/cli_harness.ts";
import { during, until } from "../support/fake_time.ts";
import { memoryLan } from "../support/node_harness.ts";

/** Most fake time one command or step may take before the test fails as hanging. */
const STEP_LIMIT_MS = 30_000;

interface Fixture {
  network: MemoryNetwork;
  clock: FakeClock;
  /** Node options for the next CLI run: a fresh host, the shared clock. */
  cliNode(): Partial<PeerLinkOptions>;
  /** Starts a node on its own host. */
  node(name: string, setup?: (node: PeerLink) => void): Promise<PeerLink>;
  /** Runs `main(argv)` on a fresh host while the fake clock moves. */
  run(argv: string[], options?: Omit<Parameters<typeof runMain>[1], "node">): Promise<RunResult>;
  /** Waits for `promise` while the fake clock moves. */
  during<T>(promise: Promise<T>): Promise<T>;
  /** Lets `ms` of fake time pass. */
  pass(ms: number): Promise<void>;
  close(): Promise<void>;
}

async function withLan(fn: (lan: Fixture) => Promise<void>): Promise<void> {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 7, clock });
  const nodes: PeerLink[] = [];
  let next = 2;
  const fixture: Fixture = {
    network,
    clock,
    cliNode: () => ({ runtime: network.host(`10.0.0.${next++}`), clock }),
    async node(name, setup) {
      const node = new PeerLink(name, { runtime: network.host(`10.0.0.${next++}`), clock });
      setup?.(node);
      nodes.push(node);
      return await fixture.during(node.start());
    },
    run: (argv, options = {}) => fixture.during(runMain(argv, { ...options, node: fixture.cliNode() })),
    during: (promise) => during(clock, promise, STEP_LIMIT_MS),
    pass: (ms) => until(clock, () => false, ms),
    async close() {
      await fixture.during(Promise.allSettled(nodes.map((n) => n.stop())));
      await network.close();
    },
  };
  try {
    await fn(fixture);
  } finally {
    await fixture.close();
  }
}

test("cli ping (memory): auto goes via udp, --transport tcp really uses TCP (server counters)", async () => {
  await withLan(async (lan) => {
    const target = await lan.node("NodeB");
    const before = target.stats()!;
    const udp = await lan.run(["ping", "NodeB", "-c", "2", "-i", "10ms"]);
    assert.equal(udp.code, EXIT.OK, udp.stderr);
    assert.match(
      udp.stdout,
      /^Ping → 'NodeB' OK {2}\(\d+(?:\.\d)? m?s via udp\)\nPing → 'NodeB' OK {2}\(\d+(?:\.\d)? m?s via udp\)\n/,
    );
    assert.match(
      udp.stdout,
      /--- 'NodeB': 2 sent, 2 ok, 0 failed; min\/median\/max [\d.]+ ms \/ [\d.]+ ms \/ [\d.]+ ms\n$/,
    );
    const middle = target.stats()!;
    assert.ok(middle.udp.received >= before.udp.received + 2, "the pings arrived over UDP");
    assert.equal(middle.tcpServer.requests, before.tcpServer.requests, "no TCP request for a UDP ping");

    const tcp = await lan.run(["ping", "NodeB", "--transport", "tcp", "--count", "3", "--interval", "0"]);
    assert.equal(tcp.code, EXIT.OK, tcp.stderr);
    assert.equal(tcp.stdout.match(/OK {2}\(\d+(?:\.\d)? m?s via tcp\)/g)?.length, 3);
    const after = target.stats()!;
    assert.equal(after.tcpServer.requests, middle.tcpServer.requests + 3, "three TCP requests reached the server");
    assert.equal(after.udp.received, middle.udp.received, "nothing came over UDP");
  });
});

test("cli discover, ping and call (memory) are clients only: a long-running node never sees them", async () => {
  await withLan(async (lan) => {
    const events: string[] = [];
    const callers: string[] = [];
    const app = await lan.node("App", (n) => {
      n.register("echo", (x: unknown) => {
        callers.push(currentPeer()!.name);
        return x;
      });
      n.on("peer-up", (p) => events.push(`up ${p.name}`));
      n.on("peer-down", (p) => events.push(`down ${p.name}`));
    });
    const runs: string[][] = [
      ["discover", "--wait", "3s"],
      ["ping", "App"],
      ["call", "App", "echo", '"hi"'],
      ["call", "ALL", "echo", "1", "--wait", "3s"],
    ];
    for (const argv of runs) {
      const result = await lan.run(argv);
      assert.equal(result.code, EXIT.OK, `${argv.join(" ")}: ${result.stderr}`);
    }
    await lan.pass(300); // a goodbye would have arrived by now
    assert.deepEqual(events, [], "no peer-up or peer-down for CLI commands");
    assert.deepEqual(app.peers(), []);
    assert.equal(callers.length, 2);
    assert.ok(callers.every((name) => /^peerlink-cli-[0-9a-f]{4}$/.test(name)), callers.join());
  });
});

test("cli ping (memory): a missing peer exits 1 and lists the known peers", async () => {
  await withLan(async (lan) => {
    await lan.node("NodeA");
    await lan.node("Worker1");
    const result = await lan.run(["ping", "Node", "--wait", "1.5s"]);
    assert.equal(result.code, EXIT.FAILURE);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      "peerlink: peer 'Node' not found within 1.5 s. Known peers: NodeA, Worker1\n",
      "exact names only: 'Node' must not match NodeA",
    );
  });
});

test("cli ping (memory): a silent peer exits 1 after the timeout, saying it did not answer", async () => {
  const lan = memoryLan(3);
  try {
    const target = await lan.node("Quiet").start();
    lan.network.detach(lan.network.host("10.0.0.1"));
    const cli = "10.0.0.50";
    const result = await runMain(["ping", "Quiet", "--timeout", "300ms"], {
      node: { runtime: lan.network.host(cli), discovery: lan.directory.factory(cli) },
    });
    assert.equal(result.code, EXIT.FAILURE);
    assert.match(
      result.stdout,
      /^Ping → 'Quiet' FAILED {2}\(PeerTimeoutError: .*\)\n--- 'Quiet': 1 sent, 0 ok, 1 failed\n$/,
    );
    assert.match(
      result.stderr,
      /^peerlink: peer 'Quiet' did not answer over auto \(PeerTimeoutError: .*\)\. Known peers: Quiet\n$/,
    );
    assert.ok(target.started);
  } finally {
    await lan.close();
  }
});

test("cli ping (memory): Ctrl-C exits 130 and SIGTERM 143, with the summary so far", async () => {
  await withLan(async (lan) => {
    const target = await lan.node("NodeB");
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const controller = new AbortController();
      const running = runMain(["ping", "NodeB", "-c", "1000", "-i", "50ms"], {
        node: lan.cliNode(),
        signal: controller.signal,
      });
      const received = target.stats()!.udp.received;
      await until(lan.clock, () => target.stats()!.udp.received >= received + 2, 10_000);
      assert.ok(target.stats()!.udp.received >= received + 2, "pings are flowing");
      controller.abort(signal);
      const result = await lan.during(running);
      assert.equal(result.code, code);
      const sent = Number(result.stdout.match(/--- 'NodeB': (\d+) sent/)?.[1]);
      assert.ok(sent >= 1 && sent < 1000, result.stdout);
    }
  });
});

test("cli call (memory): prints the result as JSON; a remote error is one line and exit 1", async () => {
  await withLan(async (lan) => {
    await lan.node("Calc", (n) =>
      n.register("add", (a: number, b: number) => a + b)
        .register("blob", () => new Uint8Array([0, 1, 2]))
        .register("boom", () => {
          throw new RangeError("out of range");
        }));
    const sum = await lan.run(["call", "Calc", "add", "-1", "5"]);
    assert.deepEqual(sum, { code: 0, stdout: "4\n", stderr: "" });
    const blob = await lan.run(["call", "Calc", "blob"]);
    assert.equal(blob.stdout, '{"__bytes__":"AAEC"}\n');
    const tty = await lan.run(["call", "Calc", "add", "1", "2", "-t", "tcp"], { isTTY: true });
    assert.equal(tty.stdout, "3\n");
    assert.match(tty.stderr, /\(Calc\.add: [\d.]+ ms via tcp\)/);
    const failed = await lan.run(["call", "Calc", "boom"]);
    assert.equal(failed.code, EXIT.FAILURE);
    assert.equal(failed.stdout, "");
    assert.match(failed.stderr, /^peerlink: RemoteError: .*RangeError.*out of range\n$/);
    const verbose = await lan.run(["call", "Calc", "boom", "--verbose"]);
    assert.match(verbose.stderr, /\n\s+at /, "--verbose adds the stack trace");
  });
});

test("cli call ALL (memory): one line per peer, exit 1 when one fails; --json per peer", async () => {
  await withLan(async (lan) => {
    await lan.node("A1", (n) => n.register("status", () => ({ load: 1 })));
    await lan.node("B2", (n) => n.register("status", () => "fine"));
    await lan.node("C3", (n) =>
      n.register("status", () => {
        throw new Error("disk full");
      }));
    const result = await lan.run(["call", "ALL", "status", "--wait", "1.5s"]);
    assert.equal(result.code, EXIT.FAILURE, "one peer failed");
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^A1 {2}ok +[\d.]+ ms +\{"load":1\}$/);
    assert.match(lines[1], /^B2 {2}ok +[\d.]+ ms +"fine"$/);
    assert.match(lines[2], /^C3 {2}error +[\d.]+ ms +RemoteError: .*disk full/);
    assert.match(result.stderr, /status on 3 peers: 2 ok, 1 failed/);

    const json = await lan.run(["call", "ALL", "status", "--json", "-w", "1.5s"]);
    const objects = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(objects.map((o) => [o.peer, o.ok]), [["A1", true], ["B2", true], ["C3", false]]);
    assert.equal(objects[2].error.type, "RemoteError");
  });
});

test("cli discover (memory): bullets per peer with ports and age; --json parses; none found exits 1", async () => {
  await withLan(async (lan) => {
    const none = await lan.run(["discover", "--wait", "300ms"]);
    assert.equal(none.code, EXIT.FAILURE);
    assert.match(none.stderr, /^peerlink: no peers found in [\d.]+ \w+\. Start one with 'peerlink serve'/);

    const a = await lan.node("NodeA");
    const b = await lan.node("Worker1");
    const text = await lan.run(["discover", "--wait", "1.5s"]);
    assert.equal(text.code, EXIT.OK, text.stderr);
    const lines = text.stdout.split("\n");
    assert.match(lines[0], /^Discovered 2 peers in [\d.]+ s:$/);
    const pa = a.ports!;
    assert.match(
      lines[1],
      new RegExp(`^  • NodeA {4}10\\.0\\.0\\.\\d+  udp ${pa.udpPort}  tcp ${pa.tcpPort}  \\S+  mdns  \\d+s ago$`),
    );
    assert.match(lines[2], /^ {2}• Worker1 {2}10\.0\.0\.\d+/);

    const json = await lan.run(["discover", "--wait", "1.5s", "--json"]);
    const peers = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(peers.map((p) => p.name), ["NodeA", "Worker1"]);
    assert.equal(peers[1].udpPort, b.ports!.udpPort);
    assert.equal(peers[1].tcpPort, b.ports!.tcpPort);
    assert.equal(typeof peers[0].ageMs, "number");
    assert.ok(!Number.isNaN(Date.parse(peers[0].lastSeen)));
  });
});

test("cli discover --watch (memory): streams up and down until interrupted, then exits 0", async () => {
  await withLan(async (lan) => {
    const controller = new AbortController();
    const watching = runMain(["discover", "--watch", "--json"], {
      node: lan.cliNode(),
      signal: controller.signal,
    });
    // Give the watcher time to start browsing, then bring a node up and down.
    await lan.pass(300);
    const node = await lan.node("Comet");
    await lan.pass(1500);
    await lan.during(node.stop());
    await lan.pass(300);
    controller.abort("SIGINT");
    const result = await lan.during(watching);
    assert.equal(result.code, EXIT.OK);
    const events = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    const comet = events.filter((e) => e.peer.name === "Comet");
    assert.deepEqual(comet.map((e) => e.event), ["peer-up", "peer-down"]);
    assert.equal(comet[1].reason, "goodbye");
    assert.ok(comet[0].elapsedMs <= comet[1].elapsedMs);
  });
});

test("cli serve (memory): answers echo and info, and a clean stop says goodbye", async () => {
  await withLan(async (lan) => {
    const downs: [string, PeerDownReason][] = [];
    const observer = await lan.node("Observer", (n) => n.on("peer-down", (p, reason) => downs.push([p.name, reason])));
    const controller = new AbortController();
    const serving = runMain(["serve", "--name", "Srv", "--expose-demo"], {
      node: lan.cliNode(),
      signal: controller.signal,
    });
    await lan.during(observer.waitForPeers(1, { timeout: 10_000 }));
    assert.deepEqual(await lan.during(observer.call("Srv", "echo", [{ x: [1, "two"] }])), { x: [1, "two"] });
    const info = await lan.during(observer.call<{ runtime: string; version: string; uptime: number }>("Srv", "info"));
    assert.ok(["deno", "bun", "node"].includes(info.runtime));
    assert.equal(typeof info.uptime, "number");
    assert.equal(await lan.during(observer.call("Srv", "add", [2, 3])), 5);
    assert.equal(observer.peers()[0].runtime, info.runtime, "the runtime is advertised in TXT");
    controller.abort("SIGTERM");
    const result = await lan.during(serving);
    assert.equal(result.code, EXIT.OK);
    // Peers found while the name is being probed are reported before the banner: the observer.
    const banner = result.stdout.search(/^Serving /m);
    assert.ok(banner >= 0, result.stdout);
    const [before, after] = [result.stdout.slice(0, banner), result.stdout.slice(banner)];
    assert.match(before, /^(\d\d:\d\d:\d\d peer up {3}Observer {2}10\.0\.0\.\d+ {2}udp \d+ {2}tcp \d+ {2}\w+\n)?$/);
    assert.match(after, /^Serving 'Srv' \(\w+ [\w.-]+, peerlink [\w.-]+\) on UDP \d+ and TCP \d+\n/);
    assert.match(result.stdout, /Functions: __ping__, echo, info, add,/);
    assert.match(result.stdout, /Stopped 'Srv' on SIGTERM after [\d.]+ \w+ \(goodbye sent\)\.\n$/);
    await until(lan.clock, () => downs.length > 0, 2000);
    assert.ok(downs.length > 0, "the observer saw Srv leave");
    assert.deepEqual(downs, [["Srv", "goodbye"]]);
  });
});

test("cli serve (memory): a taken name or bad port fails with one line, exit 1", async () => {
  await withLan(async (lan) => {
    await lan.node("Taken");
    const result = await lan.run(["serve", "--name", "Taken"]);
    assert.equal(result.code, EXIT.FAILURE);
    assert.match(result.stderr, /^peerlink: cannot start node 'Taken': .+\n$/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace without --verbose");
    const badName = await lan.run(["serve", "--name", "has.dot"]);
    assert.equal(badName.code, EXIT.FAILURE);
    assert.match(badName.stderr, /^peerlink: TypeError: .*"has\.dot".*\n$/);
  });
});

test("cli demo --in-process (memory): discovery, UDP call, 1 MiB TCP call, fan-out, timings", async () => {
  await withLan(async (lan) => {
    const hosts = [lan.cliNode(), lan.cliNode(), lan.cliNode(), lan.cliNode()].map((options) => options.runtime);
    let used = 0;
    // Every node of the demo needs its own host: each startNode() reads `runtime` once.
    const result = await lan.during(runMain(["demo", "--in-process"], {
      env: { PEERLINK_NETNS: "1" },
      node: {
        clock: lan.clock,
        get runtime() {
          return hosts[used++];
        },
      },
    }));
    assert.equal(result.code, EXIT.OK, result.stderr + result.stdout);
    assert.match(result.stdout, /Discovery {2}3 of 3 nodes in /);
    assert.match(result.stdout, /UDP call {3}Demo-local\d\.add\(2, 3\) = 5 .* via udp/);
    assert.match(
      result.stdout,
      /TCP call {3}Demo-local\d\.checksum\(1\.0 MiB\) = sha256 [0-9a-f]{12}… intact .* via tcp/,
    );
    assert.match(result.stdout, /Fan-out {4}info on all 3 nodes/);
    assert.match(result.stdout, /Done in [\d.]+ \w+: discovery/);
  });
});
