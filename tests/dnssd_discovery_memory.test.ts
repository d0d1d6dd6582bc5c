/**
 * Discovery beyond one LAN (src/dnssd through src/discovery.ts), on the in-memory network with
 * a fake clock: nodes on different subnets (mDNS ignores off-link packets, RFC 6762 section
 * 11) find and call each other through the in-memory DNS server, or through seeds; the peer
 * table, events, realms and proofs work as on mDNS. The real BIND version of these is
 * tests/widearea_bind.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PeerLink } from "../src/peerlink.ts";
import { Discovery, type DiscoveryOptions, type PeerInfo } from "../src/discovery.ts";
import type { PeerLinkOptions } from "../src/options.ts";
import { deriveRealm } from "../src/derive.ts";
import { WideAreaError } from "../src/dnssd/errors.ts";
import { tsigSecret } from "../src/dnssd/tsig.ts";
import { recordToWire } from "../src/dnssd/wire.ts";
import { Seeds } from "../src/dnssd/seeds.ts";
import { epochMs } from "../src/clock.ts";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { during, until } from "./support/fake_time.ts";
import { MemoryNetwork } from "../src/testing/memory_net.ts";
import type { Logger } from "../src/log.ts";
import { MemoryDnsServer } from "./support/memory_dns.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const SECRET = "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=";
const TSIG = { name: "pl-key", algorithm: "hmac-sha256" as const, secret: SECRET };
const SERVER = "10.0.9.53";

/** Nodes on several subnets of one in-memory network, a DNS server, a fake clock. */
class World {
  readonly clock = new FakeClock(1_000_000);
  readonly network = new MemoryNetwork({ seed: 9, clock: this.clock });
  readonly nodes: PeerLink[] = [];
  readonly discoveries = new Map<PeerLink, Discovery>();
  server!: MemoryDnsServer;

  async dns(): Promise<MemoryDnsServer> {
    this.server = await MemoryDnsServer.start(
      this.network.host(SERVER),
      "lab.example",
      () => Math.floor(epochMs(this.clock) / 1000),
    );
    this.server.allowKey(tsigSecret(TSIG));
    return this.server;
  }

  node(address: string, name: string, options: PeerLinkOptions = {}): PeerLink {
    const node: PeerLink = new PeerLink(name, {
      runtime: this.network.host(address),
      clock: this.clock,
      logger: quiet,
      // The real Discovery, kept so tests can read its counters.
      discovery: (o: DiscoveryOptions) => {
        const d = new Discovery(o);
        this.discoveries.set(node, d);
        return d;
      },
      ...options,
    });
    this.nodes.push(node);
    return node;
  }

  wide(address: string, name: string, extra: PeerLinkOptions = {}): PeerLink {
    return this.node(address, name, {
      wideArea: { domain: "lab.example.", server: SERVER, tsig: TSIG, ttl: 20, pollInterval: 2000 },
      ...extra,
    });
  }

  /** Runs `promise` while the fake clock advances in 50 ms steps (Web Crypto runs in real time). */
  during<T>(promise: Promise<T>, ms: number): Promise<T> {
    return during(this.clock, promise, ms);
  }

  async start(...nodes: PeerLink[]): Promise<void> {
    for (const outcome of await this.during(Promise.allSettled(nodes.map((n) => n.start())), 10_000)) {
      if (outcome.status === "rejected") throw outcome.reason;
    }
  }

  /** Advances until `predicate` holds, at most `ms`. */
  until(predicate: () => boolean, ms = 10_000): Promise<void> {
    return until(this.clock, predicate, ms);
  }

  async close(): Promise<void> {
    await this.during(Promise.allSettled(this.nodes.map((n) => n.stop())), 10_000);
    await this.server?.close();
    await this.network.close();
  }
}

const seen = (p: PeerInfo) => [p.name, p.address, p.via?.join("+")];

test("nodes on two subnets find each other through the DNS server and call over UDP and TCP; mDNS alone does not", async () => {
  const w = new World();
  try {
    await w.dns();
    const a = w.wide("10.0.1.1", "Alpha").register("add", (x: number, y: number) => x + y);
    const b = w.wide("10.0.2.1", "Beta").register("echo", (s: string) => s);
    const lan = w.node("10.0.2.2", "Gamma"); // mDNS only, on Beta's subnet
    await w.start(a, b, lan);
    await w.until(() => a.peers().length === 1 && b.peers().length === 2);
    assert.deepEqual(a.peers().map(seen), [["Beta", "10.0.2.1", "dns"]], "Alpha: Beta through DNS, not Gamma");
    assert.deepEqual(b.peers().map(seen), [["Alpha", "10.0.1.1", "dns"], ["Gamma", "10.0.2.2", "mdns"]]);
    assert.deepEqual(lan.peers().map(seen), [["Beta", "10.0.2.1", "mdns"]], "mDNS alone: only the same subnet");
    assert.equal(await w.during(b.peer<{ add(x: number, y: number): number }>("Alpha").add(2, 3), 2000), 5);
    assert.equal(
      await w.during(a.call("Beta", "echo", ["x".repeat(3000)], { transport: "tcp" }), 2000),
      "x".repeat(3000),
    );
    assert.equal(await w.during(a.call("Beta", "echo", ["udp"], { transport: "udp" }), 2000), "udp");
    assert.deepEqual(w.server.names().filter((n) => n.includes("_peerlink")).sort(), [
      "_peerlink._tcp.lab.example",
      "alpha._peerlink._tcp.lab.example",
      "beta._peerlink._tcp.lab.example",
    ]);

    const downs: string[] = [];
    a.on("peer-down", (p, reason) => downs.push(`${p.name} ${reason}`));
    await w.during(b.stop(), 5000);
    assert.ok(!w.server.names().some((n) => n.startsWith("beta")), "Beta removed its records");
    await w.until(() => downs.length > 0);
    assert.deepEqual(downs, ["Beta goodbye"]);
  } finally {
    await w.close();
  }
});

test("a steady poll asks the PTR and one TXT per listed instance; SRV and addresses again only after the TXT changed", async () => {
  const w = new World();
  try {
    await w.dns();
    const options = { wideArea: { domain: "lab.example.", server: SERVER, tsig: TSIG, ttl: 60, pollInterval: 2000 } };
    const a = w.node("10.0.1.1", "Alpha", options);
    const b = w.node("10.0.2.1", "Beta", options);
    await w.start(a, b);
    await w.until(() => a.peers().length === 1, 20_000);
    await w.until(() => false, 10_000); // past the first polls' backoff: every 2 s now
    const asked = () => {
      const counts: Record<number, number> = {};
      for (const r of w.server.requests) {
        if (r.address === "10.0.1.1") counts[r.question.type] = (counts[r.question.type] ?? 0) + 1;
      }
      w.server.requests.length = 0;
      return counts;
    };
    asked();
    await w.until(() => false, 10_000);
    assert.deepEqual(asked(), { 12: 5, 16: 10 }, "5 polls: PTR and the TXT of Beta and of Alpha itself, nothing else");
    await w.until(() => false, 30_000); // both refreshed their registrations: new TXTs (expires)
    // 15 polls; SRV, A and AAAA once per changed TXT (Beta's and its own); its refresh UPDATE (zone: SOA).
    assert.deepEqual(asked(), { 1: 2, 6: 1, 12: 15, 16: 30, 28: 2, 33: 2 });
    assert.deepEqual(a.peers().map(seen), [["Beta", "10.0.2.1", "dns"]]);
  } finally {
    await w.close();
  }
});

test("a node that dies leaves records that lapse: peers report it down (expired); its restart takes the name over", async () => {
  const w = new World();
  try {
    await w.dns();
    const a = w.wide("10.0.1.1", "Alpha");
    const b = w.wide("10.0.2.1", "Beta");
    await w.start(a, b);
    await w.until(() => a.peers().length === 1);
    const downs: string[] = [];
    a.on("peer-down", (p, reason) => downs.push(`${p.name} ${reason}`));
    w.network.detach("10.0.2.1"); // Beta's host is cut off: no refresh, no goodbye
    await w.until(() => downs.length > 0, 40_000);
    assert.deepEqual(downs, ["Beta expired"]);
    assert.ok(w.server.names().some((n) => n.startsWith("beta._peerlink")), "its records linger in the zone");
    const again = w.wide("10.0.2.9", "Beta");
    await w.start(again);
    await w.until(() => a.peers().length === 1);
    assert.deepEqual(a.peers().map(seen), [["Beta", "10.0.2.9", "dns"]]);
  } finally {
    w.network.attach("10.0.2.1");
    await w.close();
  }
});

test("a peer both on the LAN and in the domain appears once, with its on-link address, via mdns+dns", async () => {
  const w = new World();
  try {
    await w.dns();
    const a = w.wide("10.0.1.1", "Alpha");
    const b = w.wide("10.0.1.2", "Beta", {
      wideArea: { domain: "lab.example.", server: SERVER, tsig: TSIG, addresses: ["10.0.7.7"] },
    });
    const ups: string[] = [];
    a.on("peer-up", (p) => ups.push(p.name));
    await w.start(a, b);
    await w.until(() => (a.peers()[0]?.via?.length ?? 0) === 2);
    assert.deepEqual(a.peers().map(seen), [["Beta", "10.0.1.2", "mdns+dns"]]);
    assert.deepEqual(ups, ["Beta"], "one peer-up");
  } finally {
    await w.close();
  }
});

test("with a secret, a record in the domain without a valid proof is ignored; a proven one is admitted", async () => {
  const w = new World();
  try {
    const server = await w.dns();
    const secret = "kitchen-lan-secret";
    const realm = deriveRealm(secret);
    const type = `_peerlink-${realm}._tcp.lab.example`;
    // A forged registration: right realm type and realm TXT, no proof.
    server.addService({
      instance: "Forged",
      type: `_peerlink-${realm}._tcp`,
      port: 40000,
      txt: { node: "Forged", realm, instance_id: "x" },
      address: "10.0.3.3",
    });
    const a = w.wide("10.0.1.1", "Alpha", { secret });
    const b = w.wide("10.0.2.1", "Beta", { secret });
    await w.start(a, b);
    await w.until(() => a.peers().length >= 1, 10_000);
    await w.until(() => false, 3000); // more polls: the forged record stays out
    assert.deepEqual(a.peers().map(seen), [["Beta", "10.0.2.1", "dns"]]);
    assert.ok(server.names().includes(`alpha.${type}`.toLowerCase()), "registered under the realm's type");
  } finally {
    await w.close();
  }
});

test("a refused registration fails start() with the server, zone and rcode; nothing stays registered", async () => {
  const w = new World();
  try {
    await w.dns();
    const wrong = w.node("10.0.1.1", "Alpha", {
      wideArea: {
        domain: "lab.example.",
        server: SERVER,
        tsig: { ...TSIG, secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
      },
    });
    const error = await w.start(wrong).then(() => undefined, (e) => e);
    assert.ok(error instanceof WideAreaError, String(error));
    assert.equal(error.code, "DNS_REFUSED");
    assert.match(
      error.message,
      /DNS server 10\.0\.9\.53:53 answered the UPDATE of zone lab\.example\. with NOTAUTH \(TSIG error BADSIG\)/,
    );
    assert.equal(wrong.started, false);
    assert.deepEqual(w.server.names(), []);
  } finally {
    await w.close();
  }
});

test("seeds: two nodes on different subnets, no DNS server, find and call each other; only seeds are answered (counted)", async () => {
  const w = new World();
  try {
    const a = w.node("10.0.1.1", "Alpha", { seeds: ["10.0.2.1"] }).register("who", () => "alpha");
    const b = w.node("10.0.2.1", "Beta", { seeds: ["10.0.1.1"] });
    const stranger = w.node("10.0.3.1", "Stranger", { seeds: ["10.0.2.1"] });
    await w.start(a, b, stranger);
    await w.until(() => a.peers().length === 1 && b.peers().length === 1);
    assert.deepEqual(a.peers().map(seen), [["Beta", "10.0.2.1", "seed"]]);
    assert.deepEqual(b.peers().map(seen), [["Alpha", "10.0.1.1", "seed"]]);
    assert.equal(await w.during(b.call("Alpha", "who", []), 2000), "alpha");
    await w.until(() => false, 5000);
    assert.deepEqual(stranger.peers(), [], "Beta does not answer a host that is not its seed");
    const statsB = w.discoveries.get(b)!.stats();
    assert.ok(statsB.seedQueries > 0, "Beta answered Alpha's direct queries");
    const statsS = w.discoveries.get(stranger)!.stats();
    assert.ok(statsS.seeds[0].timeouts > 0 && statsS.seeds[0].replies === 0, JSON.stringify(statsS.seeds));

    const downs: string[] = [];
    a.on("peer-down", (p, reason) => downs.push(`${p.name} ${reason}`));
    await w.during(b.stop(), 5000);
    await w.until(() => downs.length > 0, 40_000);
    assert.deepEqual(downs, ["Beta expired"], "a seed that stops answering expires");
  } finally {
    await w.close();
  }
});

test("seeds: the peer's address is the seed's, where it answered, even when its A records list others (a VPN)", async () => {
  const w = new World();
  try {
    // A seed's responder, on port 5353 of 10.0.5.5, listing only its LAN address in its A record.
    const now = () => Math.floor(epochMs(w.clock) / 1000);
    const responder = await MemoryDnsServer.start(w.network.host("10.0.5.5"), "local", now, 5353);
    responder.addService({
      instance: "Remote",
      type: "_peerlink._tcp",
      port: 41000,
      txt: { node: "Remote", instance_id: "r" },
      address: "192.168.77.5",
      ttl: 10,
    });
    const seen: string[][] = [];
    const seeds = new Seeds({
      seeds: ["10.0.5.5"],
      runtime: w.network.host("10.0.1.1"),
      clock: w.clock,
      logger: quiet,
      type: "_peerlink._tcp",
      pollIntervalMs: 1000,
      handlers: { onUp: (i) => seen.push([i.name, ...i.addresses]) },
    });
    seeds.start();
    await w.until(() => seen.length > 0);
    assert.deepEqual(seen, [["Remote", "10.0.5.5", "192.168.77.5"]]);
    await seeds.stop();
    await responder.close();
  } finally {
    await w.close();
  }
});

test('domain "auto": browse domains from the search domains of resolv.conf (RFC 6763 section 11)', async () => {
  const w = new World();
  const dir = mkdtempSync(join(tmpdir(), "pl-resolv-"));
  try {
    const server = await w.dns();
    const ptr = (name: string, data: string) =>
      server.add(recordToWire({ name, type: "PTR", ttl: 60, flush: false, data }));
    ptr("b._dns-sd._udp.lab.example", "peers.lab.example");
    ptr("dr._dns-sd._udp.lab.example", "peers.lab.example");
    const resolvConf = join(dir, "resolv.conf");
    writeFileSync(resolvConf, `# test\nnameserver ${SERVER}\nsearch lab.example\n`);
    const auto = (address: string, name: string) =>
      new Discovery({
        runtime: w.network.host(address),
        clock: w.clock,
        logger: quiet,
        name,
        udpPort: 40000,
        tcpPort: 40001,
        instanceId: `id-${name}`,
        wideArea: { domain: "auto", tsig: TSIG, pollInterval: 1000 },
        resolvConf,
      });
    const a = auto("10.0.1.1", "Alpha");
    const b = auto("10.0.2.1", "Beta");
    await w.during(Promise.all([a.start(), b.start()]), 10_000);
    await w.until(() => a.peers().length === 1);
    assert.deepEqual(a.peers().map(seen), [["Beta", "10.0.2.1", "dns"]]);
    assert.deepEqual(a.stats().wideArea?.browsing, ["peers.lab.example"]);
    assert.ok(server.names().includes("beta._peerlink._tcp.peers.lab.example"), "registered in the dr domain");
    await w.during(Promise.all([a.stop(), b.stop()]), 10_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await w.close();
  }
});
