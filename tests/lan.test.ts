/**
 * scripts/lan.sh and tests/support/lan.ts: a private multi-host LAN whose hosts have their
 * own addresses, reach each other by multicast and TCP, reach nothing else, and vanish
 * without a trace afterwards. The host programs are inline scripts run with the runtime
 * executing this file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { runtimeName, socketSkip } from "./support/env.ts";
import { evalArgv, type Lan, lanSkip, processAlive, udpLossSkip, withLan } from "./support/lan.ts";

const WAIT_MS = 10_000;

/** Prints this host's non-internal IPv4 addresses per interface, as JSON. */
const PRINT_ADDRESSES = `
import { networkInterfaces } from "node:os";
const out = {};
for (const [name, addrs] of Object.entries(networkInterfaces())) {
  for (const a of addrs ?? []) if (a.family === "IPv4" || a.family === 4) (out[name] ??= []).push(a.address);
}
console.log(JSON.stringify(out));
`;

/** Joins GROUPS (comma-separated) on LAN_ADDRESS's interface, on PORT (default: any), prints "ready <port>", then one line per datagram. */
const MULTICAST_RECEIVER = `
import dgram from "node:dgram";
const groups = process.env.GROUPS.split(",");
const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
sock.on("message", (msg, rinfo) => console.log("got " + msg.toString() + " from " + rinfo.address));
sock.bind(Number(process.env.PORT ?? 0), "0.0.0.0", () => {
  for (const g of groups) sock.addMembership(g, process.env.LAN_ADDRESS);
  console.log("ready " + sock.address().port);
});
setTimeout(() => process.exit(3), 20000);
`;

/** Sends "<group> from <host>" to each of GROUPS at PORT every 50 ms, at most 100 times. */
const MULTICAST_SENDER = `
import dgram from "node:dgram";
const groups = process.env.GROUPS.split(",");
const sock = dgram.createSocket("udp4");
sock.bind(0, () => {
  sock.setMulticastInterface(process.env.LAN_ADDRESS);
  let sent = 0;
  const tick = () => {
    for (const g of groups) sock.send(g + "@host" + process.env.LAN_HOST, Number(process.env.PORT), g);
    if (++sent < 100) setTimeout(tick, 50); else process.exit(0);
  };
  tick();
});
`;

/** TCP server on LAN_ADDRESS: prints "listening <port>", answers "echo <data> to <remote>", exits. */
const TCP_SERVER = `
import net from "node:net";
const server = net.createServer((conn) => {
  conn.once("data", (data) => {
    conn.end("echo " + data.toString() + " to " + conn.remoteAddress, () => process.exit(0));
  });
});
server.listen(0, process.env.LAN_ADDRESS, () => console.log("listening " + server.address().port));
setTimeout(() => process.exit(3), 20000);
`;

/** Connects to TARGET_HOST:TARGET_PORT, sends "hello", prints the answer. */
const TCP_CLIENT = `
import net from "node:net";
const conn = net.connect(Number(process.env.TARGET_PORT), process.env.TARGET_HOST);
let answer = "";
conn.on("data", (d) => answer += d.toString());
conn.on("connect", () => conn.write("hello"));
conn.on("end", () => { console.log(answer); process.exit(0); });
conn.on("error", (e) => { console.log("error " + e.code); process.exit(1); });
setTimeout(() => process.exit(3), 20000);
`;

/** For each address in TARGETS: tries TCP and a UDP send, prints "<addr> tcp <code> <ms>" and "<addr> udp <code>". */
const PROBE_UNREACHABLE = `
import net from "node:net";
import dgram from "node:dgram";
for (const addr of process.env.TARGETS.split(",")) {
  const started = Date.now();
  const code = await new Promise((resolve) => {
    const c = net.connect(9, addr);
    const timer = setTimeout(() => { c.destroy(); resolve("TIMEOUT"); }, 3000);
    c.on("connect", () => { clearTimeout(timer); c.destroy(); resolve("CONNECTED"); });
    c.on("error", (e) => { clearTimeout(timer); resolve(e.code ?? e.name); });
  });
  console.log(addr + " tcp " + code + " " + (Date.now() - started));
  const udp = await new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.on("error", (e) => { s.close(); resolve(e.code ?? e.name); });
    s.send("x", 9, addr, (err) => { s.close(); resolve(err ? (err.code ?? err.name) : "SENT"); });
  });
  console.log(addr + " udp " + udp);
}
process.exit(0);
`;

/** Echoes every datagram back to its sender; prints "ready <port>". */
const UDP_ECHO = `
import dgram from "node:dgram";
const sock = dgram.createSocket("udp4");
sock.on("message", (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
sock.bind(0, process.env.LAN_ADDRESS, () => console.log("ready " + sock.address().port));
setTimeout(() => process.exit(3), 20000);
`;

/** Sends COUNT numbered datagrams to TARGET_HOST:TARGET_PORT 2 ms apart, prints how many came back. */
const UDP_COUNT = `
import dgram from "node:dgram";
const count = Number(process.env.COUNT);
const seen = new Set();
const sock = dgram.createSocket("udp4");
sock.on("message", (msg) => seen.add(msg.toString()));
sock.bind(0, () => {
  let i = 0;
  const tick = () => {
    sock.send(String(i), Number(process.env.TARGET_PORT), process.env.TARGET_HOST);
    if (++i < count) setTimeout(tick, 2);
    else setTimeout(() => { console.log("echoed " + seen.size); process.exit(0); }, 500);
  };
  tick();
});
`;

/** PIDs of every process (we may inspect) in one of these network namespaces. */
function processesIn(netns: ReadonlySet<string>): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (netns.has(readlinkSync(`/proc/${entry}/ns/net`))) found.push(Number(entry));
    } catch {
      // Gone, a zombie, or not ours to inspect.
    }
  }
  return found;
}

/** Routes of the namespace this test runs in (IPv4 main table). */
function ownRoutes(): string {
  return readFileSync("/proc/self/net/route", "utf8");
}

/** Interface names of the namespace this test runs in. */
function ownLinks(): string[] {
  return readFileSync("/proc/self/net/dev", "utf8").split("\n").slice(2)
    .map((l) => l.split(":")[0].trim()).filter((n) => n !== "").sort();
}

test("lan: each host has its own address on its own link, and the test's namespace gains no links", {
  skip: socketSkip || lanSkip,
}, async () => {
  const before = ownLinks();
  const routesBefore = ownRoutes();
  await withLan(3, async (lan) => {
    assert.deepEqual(ownLinks(), before, "the LAN must not add links to the caller's namespace");
    assert.equal(ownRoutes(), routesBefore, "the LAN must not add routes to the caller's namespace");
    for (const host of [1, 2, 3]) {
      const result = await lan.run(host, evalArgv(PRINT_ADDRESSES), WAIT_MS);
      assert.equal(result.code, 0, result.stderr);
      const addresses = JSON.parse(result.stdout) as Record<string, string[]>;
      assert.deepEqual(addresses.pleth0, [`10.77.0.${host}`]);
      assert.equal(lan.address(host), `10.77.0.${host}`);
      assert.deepEqual(Object.keys(addresses).sort(), ["lo", "pleth0"]);
    }
  });
  assert.deepEqual(ownLinks(), before);
  assert.equal(ownRoutes(), routesBefore);
});

test("lan: a multicast datagram sent on host 1 reaches host 2 with host 1's address", {
  skip: socketSkip || lanSkip,
}, async () => {
  await withLan(2, async (lan) => {
    const groups = "224.0.0.251,239.255.77.1";
    const receiver = lan.spawn(2, evalArgv(MULTICAST_RECEIVER), { env: { GROUPS: groups } });
    const port = (await receiver.waitForLine(/^ready \d+$/, WAIT_MS)).split(" ")[1];
    const sender = lan.spawn(1, evalArgv(MULTICAST_SENDER), { env: { GROUPS: groups, PORT: port } });
    assert.equal(await receiver.waitForLine("224.0.0.251@", WAIT_MS), "got 224.0.0.251@host1 from 10.77.0.1");
    assert.equal(await receiver.waitForLine("239.255.77.1@", WAIT_MS), "got 239.255.77.1@host1 from 10.77.0.1");
    await sender.stop();
    await receiver.stop();
  });
});

test("lan: TCP from host 2 to host 1 connects and sees host 2's address", { skip: socketSkip || lanSkip }, async () => {
  await withLan(2, async (lan) => {
    const server = lan.spawn(1, evalArgv(TCP_SERVER));
    const port = (await server.waitForLine(/^listening \d+$/, WAIT_MS)).split(" ")[1];
    const client = await lan.run(2, evalArgv(TCP_CLIENT), WAIT_MS, {
      env: { TARGET_HOST: lan.address(1), TARGET_PORT: port },
    });
    assert.equal(client.code, 0, client.stderr);
    assert.match(client.stdout.trim(), /^echo hello to (::ffff:)?10\.77\.0\.2$/);
    assert.equal((await server.wait(WAIT_MS)).code, 0);
  });
});

test("lan: a host has no route off the LAN (unreachable at once, nothing sent)", {
  skip: socketSkip || lanSkip,
}, async () => {
  await withLan(1, async (lan) => {
    // Neither address exists anywhere: 10.77.1.1 is beside the LAN, 198.51.100.1 is TEST-NET-2.
    const targets = ["10.77.1.1", "198.51.100.1"];
    const result = await lan.run(1, evalArgv(PROBE_UNREACHABLE), WAIT_MS, { env: { TARGETS: targets.join(",") } });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    // The reason: the only routes are the LAN's own (no default route, v4 or v6).
    const v4 = await lan.run(1, ["ip", "-4", "route", "show", "table", "all"], WAIT_MS);
    const v4Routes = v4.stdout.trim().split("\n").filter((l) => !/^(local|broadcast) /.test(l));
    assert.deepEqual(v4Routes.map((l) => l.split(" ").slice(0, 3).join(" ")), [
      "10.77.0.0/24 dev pleth0",
      "224.0.0.0/4 dev pleth0",
    ]);
    const v6 = await lan.run(1, ["ip", "-6", "route", "show", "table", "all"], WAIT_MS);
    assert.doesNotMatch(v6.stdout, /^default /m);
    assert.equal(lines.length, 4, result.stdout);
    for (const addr of targets) {
      const tcp = lines.find((l) => l.startsWith(`${addr} tcp `))?.split(" ") ?? [];
      // Bun reports every failed connect as ECONNREFUSED, even "network unreachable".
      const tcpCodes = runtimeName === "bun" ? /^(ENETUNREACH|ECONNREFUSED)$/ : /^(ENETUNREACH|EHOSTUNREACH)$/;
      // An error code, not the probe's own 3 s "TIMEOUT": the kernel refused at once.
      assert.match(tcp[2] ?? "", tcpCodes, result.stdout);
      const udp = lines.find((l) => l.startsWith(`${addr} udp `)) ?? "";
      // Deno's node:dgram reports ENETUNREACH as "UNKNOWN" (errno -4094); it still fails.
      const udpCodes = runtimeName === "deno" ? /udp (ENETUNREACH|UNKNOWN)$/ : /udp (ENETUNREACH|EHOSTUNREACH)$/;
      assert.match(udp, udpCodes, result.stdout);
    }
  });
});

test(
  "lan2: two LANs joined by a router: unicast (UDP and TCP) crosses it, multicast does not, nothing else is routed",
  {
    skip: socketSkip || lanSkip,
  },
  async () => {
    await withLan(1, async (lan) => {
      assert.deepEqual(lan.hosts.map((h) => [h.index, h.lan, h.addresses]), [
        [1, "a", ["10.77.0.1"]],
        [2, "b", ["10.88.0.1"]],
        [3, "router", ["10.77.0.254", "10.88.0.254"]],
      ]);
      assert.equal(lan.router, 3);
      // Unicast across: UDP echo and TCP from LAN B to LAN A.
      const echo = lan.spawn(1, evalArgv(UDP_ECHO));
      const udpPort = (await echo.waitForLine(/^ready \d+$/, WAIT_MS)).split(" ")[1];
      const counted = await lan.run(2, evalArgv(UDP_COUNT), WAIT_MS, {
        env: { TARGET_HOST: lan.address(1), TARGET_PORT: udpPort, COUNT: "20" },
      });
      assert.match(counted.stdout, /^echoed 20$/m, counted.stderr);
      await echo.stop();
      const server = lan.spawn(1, evalArgv(TCP_SERVER));
      const tcpPort = (await server.waitForLine(/^listening \d+$/, WAIT_MS)).split(" ")[1];
      const client = await lan.run(2, evalArgv(TCP_CLIENT), WAIT_MS, {
        env: { TARGET_HOST: lan.address(1), TARGET_PORT: tcpPort },
      });
      assert.match(
        client.stdout.trim(),
        /^echo hello to (::ffff:)?10\.88\.0\.1$/,
        "seen with its own address: routed, not NATed",
      );
      // Multicast stays on its LAN: the router hears host 1's mDNS group, host 2 does not.
      const groups = "224.0.0.251";
      const port = "45353";
      const across = lan.spawn(2, evalArgv(MULTICAST_RECEIVER), { env: { GROUPS: groups, PORT: port } });
      const onLink = lan.spawn(3, evalArgv(MULTICAST_RECEIVER), { env: { GROUPS: groups, PORT: port } });
      await across.waitForLine(/^ready \d+$/, WAIT_MS);
      await onLink.waitForLine(/^ready \d+$/, WAIT_MS);
      const sender = lan.spawn(1, evalArgv(MULTICAST_SENDER), { env: { GROUPS: groups, PORT: port } });
      assert.equal(await onLink.waitForLine("224.0.0.251@", WAIT_MS), "got 224.0.0.251@host1 from 10.77.0.1");
      await sender.wait(WAIT_MS);
      await across.stop();
      assert.doesNotMatch(across.stdout(), /^got /m, "no multicast crossed the router");
      await onLink.stop();
      // Each host routes only the other LAN, through the router.
      const routes = await lan.run(2, ["ip", "-4", "route"], WAIT_MS);
      assert.deepEqual(routes.stdout.trim().split("\n").map((l) => l.split(" ").slice(0, 3).join(" ")), [
        "10.77.0.0/24 via 10.88.0.254",
        "10.88.0.0/24 dev pleth0",
        "224.0.0.0/4 dev pleth0",
      ]);
    }, { lan2: 1 });
  },
);

test("lan: teardown leaves no process behind, also when the body throws", { skip: socketSkip || lanSkip }, async () => {
  const pids: number[] = [];
  const netns = new Set<string>();
  let hostsSeen = 0;
  const collect = (lan: Lan, procs: { pid: number | undefined }[]) => {
    pids.push(...lan.internalPids);
    for (const p of procs) if (p.pid !== undefined) pids.push(p.pid);
    // Ids may repeat across the two LANs: the kernel reuses namespace inode numbers.
    for (const h of lan.hosts) netns.add(h.netns);
    hostsSeen += lan.hosts.length;
  };
  await withLan(2, async (lan) => {
    // Each shell starts sleeps nobody spawned directly: teardown must end those too.
    const sleepers = [1, 2].map((h) => lan.spawn(h, ["sh", "-c", "sleep 300 & sleep 300; wait"]));
    await lan.run(1, ["true"], WAIT_MS);
    collect(lan, sleepers);
    for (const pid of pids) assert.ok(processAlive(pid), `pid ${pid} should run while the LAN is up`);
    // Each sleeper is a shell, its background sleep and its foreground sleep; plus the holder.
    for (let i = 0; i < 100 && processesIn(netns).length < 8; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(processesIn(netns).length, 8, "processes on the hosts while the LAN is up");
  });
  await assert.rejects(
    withLan(2, (lan) => {
      collect(lan, [lan.spawn(2, ["sleep", "300"])]);
      throw new Error("body failed on purpose");
    }),
    /body failed on purpose/,
  );
  assert.ok(pids.length >= 10, `collected ${pids.length} pids`);
  const alive = pids.filter(processAlive);
  assert.deepEqual(alive, [], `still running after teardown: ${alive.join(", ")}`);
  // Including the grandchildren nobody spawned directly: nothing runs on any host.
  assert.equal(hostsSeen, 4);
  assert.deepEqual(processesIn(netns), []);
});

test("lan: setLoss() drops that share of a host's UDP and 0 restores it", {
  skip: socketSkip || lanSkip || udpLossSkip,
}, async () => {
  await withLan(2, async (lan) => {
    const echo = lan.spawn(2, evalArgv(UDP_ECHO));
    const port = (await echo.waitForLine(/^ready \d+$/, WAIT_MS)).split(" ")[1];
    const env = { TARGET_HOST: lan.address(2), TARGET_PORT: port, COUNT: "200" };
    const echoed = async () => {
      const r = await lan.run(1, evalArgv(UDP_COUNT), WAIT_MS, { env });
      assert.equal(r.code, 0, r.stderr);
      return Number(/^echoed (\d+)$/m.exec(r.stdout)?.[1] ?? NaN);
    };
    // 30% each way: about half of the round trips survive (expected 98 of 200).
    await lan.setLoss(2, 30, { udpOnly: true });
    const lossy = await echoed();
    assert.ok(lossy > 50 && lossy < 150, `with 30% loss each way, ${lossy} of 200 came back`);
    await lan.setLoss(2, 0);
    assert.equal(await echoed(), 200);
    await echo.stop();
  });
});
