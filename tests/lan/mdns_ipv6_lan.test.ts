/**
 * IPv6 mDNS on the private multi-host LAN (scripts/lan.sh: pleth0 with 10.77.0.N, fe80::N
 * and fd77::N on each host), where ff02::fb multicast is really delivered. Our mDNS layer
 * (src/mdns, real sockets of the runtime running this file) runs on each host through
 * tests/support/avahi_peer.ts, which prints what happens as JSON lines.
 *
 * - With IPv4 mDNS dropped on arrival at both hosts (nftables), a service is still found,
 *   and resolved with its AAAA address, over IPv6 alone.
 * - With both families working, every packet arrives twice (once per family), yet a browser
 *   reports one "up" and, after the goodbye, one "down" - and nothing in between.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { socketSkip } from "../support/env.ts";
import { type Lan, type LanProcess, lanSkip, runtimeArgv, udpLossSkip, withLan } from "../support/lan.ts";
import type { PeerTask, PrintedInstance } from "../support/avahi_peer.ts";

const PEER = fileURLToPath(new URL("../support/avahi_peer.ts", import.meta.url));
const STEP_MS = 15_000;
const LAN_OPTIONS = { timeoutMs: 90_000 };
/** Blocking IPv4 mDNS uses nftables, as UDP-only loss does. */
const nftSkip = udpLossSkip ? `blocking IPv4 mDNS needs nftables: ${udpLossSkip}` : false;

interface PeerEvent {
  event: string;
  [field: string]: unknown;
}

interface TransportCounters {
  accepted: number;
  acceptedIpv6: number;
  sentIpv6: number;
  dropped: Record<string, number>;
}

/** Our mDNS layer on a LAN host, doing one task and printing JSON events. */
class Peer {
  readonly process: LanProcess;
  readonly label: string;
  readonly events: PeerEvent[] = [];

  constructor(lan: Lan, host: number, task: PeerTask) {
    this.label = `${task.command} peer on host ${host}`;
    this.process = lan.spawn(host, runtimeArgv(PEER), {
      env: { AVAHI_PEER: JSON.stringify({ maxMs: 80_000, ...task }) },
      stdin: true,
    });
  }

  /** The first event (since the start) that `accept` matches, waiting for more output as needed. */
  async waitFor(what: string, accept: (e: PeerEvent) => boolean, timeoutMs = STEP_MS): Promise<PeerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0;; i++) {
      while (i >= this.events.length) {
        let line: string;
        try {
          line = await this.process.nextLine(Math.max(1, deadline - Date.now()));
        } catch (err) {
          throw new Error(`${this.label}: no ${what} within ${timeoutMs} ms: ${(err as Error).message}`);
        }
        try {
          this.events.push(JSON.parse(line) as PeerEvent);
        } catch {
          continue; // not one of ours (a runtime warning on stdout)
        }
        const last = this.events[this.events.length - 1];
        if (last.event === "error") throw new Error(`${this.label}: failed while waiting for ${what}: ${line}`);
      }
      if (accept(this.events[i])) return this.events[i];
    }
  }

  /** Ends it (stdin closes: goodbyes, then stats) and returns its transport counters. */
  async stop(): Promise<TransportCounters> {
    this.process.closeStdin();
    const stats = await this.waitFor("stats", (e) => e.event === "stats");
    await this.process.wait(10_000);
    return (stats.stats as { transport: TransportCounters }).transport;
  }

  count(event: string): number {
    return this.events.filter((e) => e.event === event).length;
  }
}

function unique(): string {
  return randomBytes(3).toString("hex");
}

/** Drops every IPv4 datagram to port 5353 as it arrives at the host's LAN interface. */
async function blockIpv4Mdns(lan: Lan, host: number): Promise<void> {
  const rules = [
    "table netdev pl_no_ipv4_mdns {",
    `  chain ingress { type filter hook ingress device "${lan.host(host).iface}" priority 0; policy accept;`,
    "    meta protocol ip udp dport 5353 counter drop; }",
    "}",
    "",
  ].join("\n");
  const nft = lan.spawn(host, ["sh", "-c", 'PATH="$PATH:/usr/sbin:/sbin" exec nft -f -'], { stdin: true });
  nft.write(rules);
  nft.closeStdin();
  const exit = await nft.wait(10_000);
  assert.equal(exit.code, 0, `nft on host ${host} failed: ${exit.stderr}`);
}

/** How many IPv4 mDNS datagrams the rule of {@linkcode blockIpv4Mdns} dropped on a host. */
async function blockedCount(lan: Lan, host: number): Promise<number> {
  const list = await lan.run(
    host,
    ["sh", "-c", 'PATH="$PATH:/usr/sbin:/sbin" exec nft list table netdev pl_no_ipv4_mdns'],
    10_000,
  );
  assert.equal(list.code, 0, `nft list on host ${host} failed: ${list.stderr}`);
  return Number(/counter packets (\d+)/.exec(list.stdout)?.[1] ?? NaN);
}

function assertHasIpv6(lan: Lan): void {
  for (const h of lan.hosts) {
    assert.ok(
      h.ipv6 && h.linkLocal,
      `LAN host ${h.index} has no IPv6 address (kernel IPv6 off?): IPv6 mDNS untestable`,
    );
  }
}

test("IPv4 mDNS blocked: a service on host 1 is discovered and resolved on host 2 over IPv6, with its AAAA address", {
  skip: socketSkip || lanSkip || nftSkip,
}, async () => {
  await withLan(2, async (lan) => {
    assertHasIpv6(lan);
    await blockIpv4Mdns(lan, 1);
    await blockIpv4Mdns(lan, 2);
    const type = `_v6${unique()}._tcp`;
    const publisher = new Peer(lan, 1, {
      command: "publish",
      instance: "Six",
      type,
      port: 4600,
      txt: { family: "v6" },
    });
    const browser = new Peer(lan, 2, { command: "browse", type });
    const resolver = new Peer(lan, 2, { command: "resolve", instance: "Six", type, timeoutMs: 10_000 });
    try {
      await publisher.waitFor("published", (e) => e.event === "published");
      const up = (await browser.waitFor("up", (e) => e.event === "up")).instance as PrintedInstance;
      const resolved = (await resolver.waitFor("resolved", (e) => e.event === "resolved")).instance as PrintedInstance;
      const host1 = lan.host(1);
      for (const found of [up, resolved]) {
        assert.equal(found.name, "Six");
        assert.equal(found.port, 4600);
        assert.deepEqual(found.txt, { family: "v6" });
        assert.ok(found.addresses.includes(host1.ipv6!), `AAAA ${host1.ipv6} in ${found.addresses.join(", ")}`);
        assert.equal(found.source, `${host1.linkLocal}%${host1.iface}`, "heard from host 1's link-local address");
      }
      const seen = await browser.stop();
      assert.ok(seen.acceptedIpv6 > 0);
      assert.equal(seen.accepted, seen.acceptedIpv6, "nothing arrived over IPv4");
      await resolver.stop();
      const sent = await publisher.stop();
      assert.ok(sent.sentIpv6 > 0);
      assert.ok(await blockedCount(lan, 2) > 0, "IPv4 mDNS was really sent, and dropped");
    } finally {
      await Promise.all([publisher, browser, resolver].map((p) => p.process.stop()));
    }
  }, LAN_OPTIONS);
});

test("IPv4 and IPv6 together: a browser sees one up and one down per service, no duplicates", {
  skip: socketSkip || lanSkip,
}, async () => {
  await withLan(2, async (lan) => {
    assertHasIpv6(lan);
    const type = `_v46${unique()}._tcp`;
    const browser = new Peer(lan, 2, { command: "browse", type });
    const publisher = new Peer(lan, 1, { command: "publish", instance: "Both", type, port: 4646 });
    try {
      await browser.waitFor("started", (e) => e.event === "started");
      await publisher.waitFor("published", (e) => e.event === "published");
      const up = (await browser.waitFor("up", (e) => e.event === "up")).instance as PrintedInstance;
      assert.equal(up.name, "Both");
      assert.equal(up.addresses[0], lan.address(1), "IPv4 first");
      assert.ok(up.addresses.includes(lan.host(1).ipv6!), "and the AAAA record");
      // The announcements at 1, 3 and 7 s arrive over both families, each twice.
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      await publisher.stop(); // goodbyes
      await browser.waitFor("down", (e) => e.event === "down");
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // a second goodbye copy would land now
      const seen = await browser.stop();
      assert.ok(seen.acceptedIpv6 > 0, "packets arrived over IPv6");
      assert.ok(seen.accepted - seen.acceptedIpv6 > 0, "and over IPv4");
      assert.deepEqual(
        { up: browser.count("up"), update: browser.count("update"), down: browser.count("down") },
        { up: 1, update: 0, down: 1 },
      );
    } finally {
      await Promise.all([publisher, browser].map((p) => p.process.stop()));
    }
  }, LAN_OPTIONS);
});
