/**
 * Floods of fake DNS-SD services on the in-memory LAN with a fake clock (issue 14): a real
 * peer stays listed and callable through 20,000 fake services from one host and from 50;
 * with a secret, fake services on the realm's own type never displace the proven peer; every
 * table a name can create stays bounded (entry counts and table sizes, not timing) and is
 * emptied again as the fakes expire. The real-socket twin on a LAN of three hosts is
 * tests/mdns_flood_lan.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeWorld } from "./support/node_world.ts";
import { closeFloodSources, flood, type FloodOptions, openFloodSources } from "./support/mdns_flood.ts";
import { Lan, memoryLogger, query } from "./support/mdns_harness.ts";
import { encodeMessage } from "../src/mdns/packet.ts";
import type { MdnsRecord } from "../src/mdns/records.ts";
import { DEFAULT_MDNS_LIMITS } from "../src/mdns/limits.ts";
import {
  DEFAULT_DISCOVERY_LIMITS as LIMITS,
  Discovery,
  type DiscoveryLimits,
  type DiscoveryStats,
  serviceTypeFor,
} from "../src/discovery.ts";
import { deriveRealm } from "../src/derive.ts";
import type { PeerLink } from "../src/peerlink.ts";
import type { PeerLinkOptions } from "../src/options.ts";

const SERVICES = 20_000;

/** Real (10.0.0.1) and Target (10.0.0.2), discovered by each other; Target's Discovery is at hand. */
async function world(options: PeerLinkOptions = {}, limits: Partial<DiscoveryLimits> = {}) {
  const w = new NodeWorld();
  const lines: string[] = [];
  let discovery: Discovery | undefined;
  const real = w.node("10.0.0.1", "Real", options).register("add", (a: number, b: number) => a + b);
  const target = w.node("10.0.0.2", "Target", {
    ...options,
    logger: memoryLogger(lines),
    discovery: (o) => (discovery = new Discovery({ ...o, limits })),
  });
  await w.start(real, target);
  await w.until(() => target.peers().length === 1);
  assert.deepEqual(target.peers().map((p) => p.name), ["Real"]);
  const ups: string[] = [];
  target.on("peer-up", (p) => ups.push(p.name));
  return { w, real, target, lines, ups, stats: (): DiscoveryStats => discovery!.stats() };
}

/** The flooding hosts: 10.0.0.100 and up. Real is not under test: sparing it the flood halves the work. */
function attackers(w: NodeWorld, count: number) {
  const hosts = Array.from({ length: count }, (_, i) => w.network.host(`10.0.0.${100 + i}`));
  for (const host of hosts) w.network.setLinkRule(host, "10.0.0.1", { loss: 1 });
  return openFloodSources(hosts.map((runtime) => ({ runtime })));
}

/**
 * Floods while watching Target: after every 100 packets (and 5 ms of fake time) Real must be
 * listed; from `callsFrom` on, Target also calls Real every 1,000 packets.
 */
async function floodWatching(
  w: NodeWorld,
  target: PeerLink,
  sources: Awaited<ReturnType<typeof attackers>>,
  options: FloodOptions & { callsFrom?: number; sample?: () => void },
): Promise<{ unlisted: number; calls: number }> {
  let batches = 0;
  let unlisted = 0;
  let calls = 0;
  await flood(sources, {
    ...options,
    batch: 100,
    pause: async () => {
      batches++;
      await w.clock.advance(5);
      if (!target.peers().some((p) => p.name === "Real")) unlisted++;
      options.sample?.();
      if (batches * 100 >= (options.callsFrom ?? Infinity) && batches % 10 === 0) {
        assert.equal(await w.during(target.call("Real", "add", [batches, 1]), 1000), batches + 1);
        calls++;
      }
    },
  });
  return { unlisted, calls };
}

/** Every table a name can create, bounded by the limits and by what is cached. */
function assertBounded(s: DiscoveryStats, limits: DiscoveryLimits = LIMITS): void {
  const cache = s.mdns!.cache;
  const text = JSON.stringify(s);
  assert.ok(cache.entries <= limits.maxCacheEntries, text);
  assert.ok(cache.largestSource <= limits.maxEntriesPerSource, text);
  assert.ok(s.peers <= limits.maxPeers, text);
  assert.ok(s.checking <= limits.maxPendingChecks, text);
  const browser = s.browser!;
  assert.ok(browser.instances <= browser.tracked && browser.tracked <= cache.entries, text);
  assert.ok(s.queued + s.waitingForRoom <= browser.instances, text);
  assert.ok(browser.resolving <= limits.maxResolving, text);
  assert.ok(s.mdns!.questions <= 1 + 4 * limits.maxResolving, text);
  assert.equal(s.mdns!.transport.dropped["handler error"] ?? 0, 0, "no exception escaped the handlers");
}

test("mDNS flood (memory): 20,000 fake services from one host: it gets its share, the rest is refused; the real peer stays", async () => {
  const { w, target, stats, lines } = await world();
  const sources = await attackers(w, 1);
  try {
    let keptMidway = -1;
    const { unlisted, calls } = await floodWatching(w, target, sources, {
      services: SERVICES,
      callsFrom: SERVICES / 2,
      sample: () => {
        if (keptMidway < 0 && stats().mdns!.transport.accepted > SERVICES / 2) keptMidway = stats().kept;
      },
    });
    assert.equal(unlisted, 0, "Real was listed after every 100 packets");
    assert.equal(keptMidway, 0, "through the first half nothing was kept: the per-source share alone protected Real");
    assert.ok(calls >= 9, `${calls} calls to Real succeeded during the second half`);
    const s = stats();
    assertBounded(s);
    assert.equal(s.kept, 1, "a peer this node calls is kept");
    const cache = s.mdns!.cache;
    assert.ok(s.mdns!.transport.accepted >= SERVICES, "Target received the whole flood");
    assert.equal(cache.largestSource, LIMITS.maxEntriesPerSource, "the flooder holds exactly its share");
    assert.ok(cache.entries <= LIMITS.maxEntriesPerSource + 10, `nothing else was pushed in: ${JSON.stringify(cache)}`);
    // PTR, SRV and TXT of every further service (its address is not even offered without its SRV).
    assert.ok(cache.refused >= 3 * SERVICES - LIMITS.maxEntriesPerSource, "the rest of the flood was refused");
    assert.equal(cache.evicted, 0, "no record of anyone was evicted");
    assert.ok(s.peers <= 1 + LIMITS.maxEntriesPerSource / 4, `at most its share of fakes is listed: ${s.peers}`);
    assert.equal(lines.filter((l) => l.includes("under pressure")).length, 1, "the refusals were logged once");
  } finally {
    await closeFloodSources(sources);
    await w.close();
  }
});

test("mDNS flood (memory): 20,000 fake services from 50 hosts fill the cache; the real peer stays; all is pruned as they expire", async () => {
  const { w, target, stats } = await world();
  const sources = await attackers(w, 50);
  try {
    let keptMidway = -1;
    let fullMidway = false;
    const { unlisted } = await floodWatching(w, target, sources, {
      services: SERVICES,
      ttl: 120, // the PTRs too, so they expire two minutes after the flood
      callsFrom: SERVICES / 2,
      sample: () => {
        if (keptMidway >= 0 || stats().mdns!.transport.accepted <= SERVICES / 2) return;
        keptMidway = stats().kept;
        fullMidway = stats().mdns!.cache.entries === LIMITS.maxCacheEntries;
      },
    });
    assert.equal(unlisted, 0, "Real was listed after every 100 packets");
    assert.ok(fullMidway, "halfway the cache was full");
    assert.equal(keptMidway, 0, "and nothing kept: fairness between sources alone protected Real");
    const s = stats();
    assertBounded(s);
    assert.equal(s.mdns!.cache.entries, LIMITS.maxCacheEntries);
    assert.ok(s.mdns!.cache.sources >= 51, "every flooding host has a share");
    assert.ok(s.mdns!.cache.largestSource < 2 * (LIMITS.maxCacheEntries / 50), "shares stay even");
    assert.ok(s.refused > 0 && s.peers === LIMITS.maxPeers, "the peer table filled up and refused the rest");

    // The fakes stop announcing: their records expire and every table shrinks back to the one
    // real peer, which keeps answering.
    await w.clock.advance(130_000);
    const after = stats();
    assertBounded(after);
    assert.deepEqual(target.peers().map((p) => p.name), ["Real"]);
    assert.equal(after.browser!.tracked, 1, JSON.stringify(after));
    assert.equal(after.browser!.resolving + after.browser!.waiting, 0, JSON.stringify(after));
    assert.equal(after.queued + after.checking + after.waitingForRoom, 0, JSON.stringify(after));
    assert.equal(after.mdns!.cache.sources, 1, "only Real's records are left");
    assert.equal(after.mdns!.questions, 1, "only the browse question is still asked");
    assert.equal(await w.during(target.call("Real", "add", [2, 3]), 1000), 5);
  } finally {
    await closeFloodSources(sources);
    await w.close();
  }
});

test("mDNS flood (memory): with a secret, fakes with forged proofs on the realm's own type never displace the proven peer", async () => {
  const secret = "kitchen-lan-secret";
  // A small cache, so the flood from 50 hosts fills it many times over.
  const limits = { maxCacheEntries: 512, maxEntriesPerSource: 32 };
  const { w, target, stats, ups } = await world({ secret }, limits);
  const sources = await attackers(w, 50);
  try {
    await w.until(() => stats().kept === 1);
    const keptBefore = stats().mdns!.cache.kept;
    assert.ok(keptBefore >= 4, "the proven peer's PTR, SRV, TXT and address are kept");
    let mostChecking = 0;
    const { unlisted } = await floodWatching(w, target, sources, {
      services: SERVICES,
      type: serviceTypeFor(deriveRealm(secret)),
      fakeProof: true,
      callsFrom: 0,
      sample: () => (mostChecking = Math.max(mostChecking, stats().checking)),
    });
    await w.until(() => stats().checking + stats().queued === 0); // proofs are checked in real time
    assert.equal(unlisted, 0, "Real was listed after every 100 packets");
    assert.deepEqual(ups, [], "no fake was ever listed");
    const s = stats();
    assertBounded(s, { ...LIMITS, ...limits });
    assert.ok(mostChecking <= LIMITS.maxPendingChecks, `at most ${LIMITS.maxPendingChecks} proofs checked at once`);
    assert.equal(s.mdns!.cache.kept, keptBefore, "the proven peer's records were never evicted");
    assert.equal(s.mdns!.cache.entries, limits.maxCacheEntries, "the fakes filled the rest of the cache");
    assert.ok(s.mdns!.cache.refused > SERVICES, "and the rest of the flood was refused");
  } finally {
    await closeFloodSources(sources);
    await w.close();
  }
});

test("mDNS flood (memory): a full peer table keeps its peers, refuses new names with one warning, admits them when room frees", async () => {
  const { w, target, stats, lines } = await world({}, { maxPeers: 3 });
  const sources = await attackers(w, 1);
  try {
    await flood(sources, { services: 10, batch: 1, pause: () => w.clock.advance(1) });
    assert.deepEqual(target.peers().map((p) => p.name), ["Real", "flood-0", "flood-1"]);
    assert.equal(stats().refused, 8);
    assert.equal(stats().waitingForRoom, 8);
    assert.equal(lines.filter((l) => l.includes("peer table is full")).length, 1, "one warning for the burst");
    // A listed fake leaves (goodbye); a refused one is admitted when it announces again.
    await sources[0].socket.send(ptrPacket("flood-0", 0), "224.0.0.251", 5353);
    await w.clock.advance(1100);
    await flood(sources, { services: 1, first: 5 });
    await w.clock.advance(10);
    assert.deepEqual(target.peers().map((p) => p.name), ["Real", "flood-1", "flood-5"]);
    assert.equal(stats().waitingForRoom, 7);
  } finally {
    await closeFloodSources(sources);
    await w.close();
  }
});

test("mDNS flood (memory): PTR-only fakes are resolved 64 at a time, and a query lists at most 256 known answers, kept ones first", async () => {
  const lan = new Lan({ seed: 3 });
  const sources = await openFloodSources(Array.from({ length: 50 }, (_, i) => ({ runtime: lan.host(100 + i) })));
  try {
    const node = await lan.node(1);
    const browser = node.browse("_peerlink._tcp");
    const tap = await lan.sniffer(9);
    const real = await lan.node(2);
    const published = real.publish({ instance: "Real", type: "_peerlink._tcp", port: 1 });
    await lan.advance(3000);
    await published;
    assert.equal(browser.keep("Real._peerlink._tcp.local", true), true);
    assert.equal(browser.keep("Nobody._peerlink._tcp.local", true), false, "only an instance that is up is kept");
    for (let i = 0; i < 2000; i++) {
      await sources[i % sources.length].socket.send(ptrPacket(`lonely-${i}`), "224.0.0.251", 5353);
      if (i % 100 === 99) await lan.advance(5);
    }
    await lan.advance(200);
    assert.deepEqual(browser.stats, { instances: 1, tracked: 2001, kept: 1, resolving: 64, waiting: 1936 });
    assert.equal(node.stats.questions, 1 + 2 * 64, "the browse, and SRV and TXT of 64 instances");

    // The next browse query (they back off: 1, 2, 4... s) lists 256 known answers, Real's first.
    tap.clear();
    await lan.advance(60_000);
    const browse = tap.queries().find((c) =>
      c.address === "10.0.0.1" && c.message.questions.some((q) => q.name === "_peerlink._tcp.local" && q.type === "PTR")
    );
    assert.ok(browse, "node 1 asked again");
    const known = tap.queries().filter((c) => c.address === "10.0.0.1" && c.at === browse.at)
      .flatMap((c) => c.message.answers).filter((a) => a.type === "PTR");
    assert.equal(known.length, DEFAULT_MDNS_LIMITS.maxKnownAnswers);
    assert.equal(known[0].data, "Real._peerlink._tcp.local", "the kept instance comes first");
  } finally {
    await closeFloodSources(sources);
    await lan.close();
  }
});

test("mDNS flood (memory): a truncated query's known answers are capped, so what lies beyond is answered anyway", async () => {
  const lan = new Lan({ seed: 4 });
  try {
    const node = await lan.node(1);
    const published = node.publish({ instance: "Target", type: "_peerlink._tcp", port: 1 });
    await lan.advance(3000);
    await published;
    const asker = await lan.sniffer(9);
    const ptr = (label: string) => ({
      name: "_peerlink._tcp.local",
      type: "PTR" as const,
      ttl: 4500,
      flush: false,
      data: `${label}._peerlink._tcp.local`,
    });
    const junk = Array.from({ length: DEFAULT_MDNS_LIMITS.maxKnownAnswers }, (_, i) => ptr(`junk-${i}`));
    // A query with as many known answers as a query may list, over three packets (TC), then ours.
    await asker.send(
      query([{ name: "_peerlink._tcp.local", type: "PTR" }], { truncated: true, answers: junk.slice(0, 100) }),
    );
    await asker.send(query([], { truncated: true, answers: junk.slice(100, 200) }));
    await asker.send(query([], { truncated: true, answers: junk.slice(200) }));
    await asker.send(query([], { answers: [ptr("Target")] })); // past the cap
    await lan.advance(700);
    const answered = asker.responses().filter((c) => c.address === "10.0.0.1").flatMap((c) => c.message.answers);
    assert.ok(answered.some((a) => a.type === "PTR" && a.data === "Target._peerlink._tcp.local"));
  } finally {
    await lan.close();
  }
});

/** A response with only the PTR of a fake instance: nothing describes it (TTL 0: a goodbye). */
function ptrPacket(label: string, ttl = 4500): Uint8Array {
  const ptr: MdnsRecord = {
    name: "_peerlink._tcp.local",
    type: "PTR",
    ttl,
    flush: false,
    data: `${label}._peerlink._tcp.local`,
  };
  return encodeMessage({ id: 0, response: true, questions: [], answers: [ptr], authorities: [], additionals: [] });
}
