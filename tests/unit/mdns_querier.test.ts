import { test } from "node:test";
import { PeerLinkError } from "../../src/errors.ts";
import assert from "node:assert/strict";
import { type Captured, Lan, query, Sniffer } from "../support/mdns_harness.ts";
import type { MdnsMessage } from "../../src/mdns/packet.ts";
import type { MdnsRecord } from "../../src/mdns/records.ts";
import type { DownReason, ServiceInstance } from "../../src/mdns/mod.ts";

const TYPE = "_peerlink._tcp.local";
const FULL = `Peer.${TYPE}`;
const te = new TextEncoder();

function peerRecords(
  options: { ttl?: number; port?: number; address?: string; txt?: string; host?: string } = {},
): MdnsRecord[] {
  const ttl = options.ttl ?? 120;
  const host = options.host ?? "peer.local";
  return [
    { name: TYPE, type: "PTR", ttl, flush: false, data: FULL },
    {
      name: FULL,
      type: "SRV",
      ttl,
      flush: true,
      data: { priority: 0, weight: 0, port: options.port ?? 7000, target: host },
    },
    { name: FULL, type: "TXT", ttl, flush: true, data: [te.encode(options.txt ?? "node=Peer")] },
    { name: host, type: "A", ttl, flush: true, data: options.address ?? "10.0.0.5" },
  ];
}

function response(answers: MdnsRecord[]): MdnsMessage {
  return { id: 0, response: true, questions: [], answers, authorities: [], additionals: [] };
}

function events() {
  const log: string[] = [];
  const up: ServiceInstance[] = [];
  const handlers = {
    onUp: (i: ServiceInstance) => {
      up.push(i);
      log.push(`up ${i.name} ${i.port}`);
    },
    onDown: (i: ServiceInstance, reason: DownReason) => log.push(`down ${i.name} ${reason}`),
    onUpdate: (i: ServiceInstance, prev: ServiceInstance) => log.push(`update ${i.name} ${prev.port}->${i.port}`),
  };
  return { log, up, handlers };
}

function browseQueries(s: Sniffer, from = "10.0.0.1"): Captured[] {
  return s.queries().filter((c) => c.address === from && c.message.questions.some((q) => q.type === "PTR"));
}

test("browse queries: first after 20-120 ms, then at 1, 2, 4, 8 s intervals", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    const node = await lan.node(1);
    const start = lan.clock.now();
    node.browse("_peerlink._tcp");
    await lan.advance(16_000);
    const times = browseQueries(sniffer).map((c) => c.at);
    assert.ok(times[0] - start >= 20 && times[0] - start <= 120, `first after ${times[0] - start}`);
    assert.deepEqual(times.slice(1).map((t, i) => t - times[i]), [1000, 2000, 4000, 8000]);
  } finally {
    await lan.close();
  }
});

test("browse queries list known answers with more than half their TTL left", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.sniffer(5);
    const node = await lan.node(1);
    node.browse("_peerlink._tcp");
    await lan.advance(150);
    await peer.send(response(peerRecords({ ttl: 10 })));
    await lan.advance(0);
    const receivedAt = lan.clock.now();
    await lan.advance(7500);
    const queries = browseQueries(peer).filter((c) => c.at > receivedAt);
    const ka = queries.map((
      c,
    ) => [c.at - receivedAt, c.message.answers.filter((r) => r.type === "PTR").map((r) => r.ttl)]);
    // The 2nd query (~1 s later) lists the PTR with its remaining TTL; the 4th (~7 s later, 3 s left) does not.
    const second = ka.find(([dt]) => (dt as number) < 2000)!;
    assert.deepEqual(second[1], [9]);
    const late = ka.find(([dt]) => (dt as number) > 5000)!;
    assert.deepEqual(late[1], []);
  } finally {
    await lan.close();
  }
});

test("refresh queries at 80, 85, 90, 95 (and 97.5)% of a record's TTL with 2% jitter, then expiry at the TTL", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.sniffer(5);
    const node = await lan.node(1);
    const ev = events();
    node.browse("_peerlink._tcp", ev.handlers);
    await lan.advance(150);
    await peer.send(response(peerRecords({ ttl: 100 })));
    await lan.advance(0);
    const t0 = lan.clock.now();
    assert.deepEqual(ev.log, ["up Peer 7000"]);
    await lan.advance(99_000);
    const srvRefresh = peer.queries().filter((c) =>
      c.message.questions.some((q) => q.type === "SRV" && q.name === FULL)
    );
    const pct = srvRefresh.map((c) => (c.at - t0) / 1000);
    assert.equal(pct.length, 5, `refresh at ${pct}`);
    [80, 85, 90, 95, 97.5].forEach((p, i) => assert.ok(pct[i] >= p && pct[i] <= p + 2.1, `${pct[i]} vs ${p}%`));
    const together = srvRefresh.every((c) => c.message.questions.some((q) => q.type === "TXT"));
    assert.ok(together, "SRV and TXT from one packet are refreshed in one query");
    assert.deepEqual(ev.log, ["up Peer 7000"]);
    await lan.advance(1000);
    assert.deepEqual(ev.log, ["up Peer 7000", "down Peer expired"]);
  } finally {
    await lan.close();
  }
});

test("an answered refresh keeps the instance up", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.sniffer(5);
    const node = await lan.node(1);
    const ev = events();
    node.browse("_peerlink._tcp", ev.handlers);
    await lan.advance(150);
    await peer.send(response(peerRecords({ ttl: 100 })));
    await lan.advance(81_000);
    await peer.send(response(peerRecords({ ttl: 100 })));
    await lan.advance(60_000);
    assert.deepEqual(ev.log, ["up Peer 7000"]);
  } finally {
    await lan.close();
  }
});

test("a goodbye (TTL 0) reports the instance down at once with reason goodbye", async () => {
  const lan = new Lan();
  try {
    const a = await lan.node(1);
    const b = await lan.node(2);
    const ev = events();
    b.browse("_peerlink._tcp", ev.handlers);
    const p = a.publish({ instance: "Peer", type: "_peerlink._tcp", port: 7000 });
    await lan.advance(2000);
    await (await p).unpublish();
    await lan.advance(0);
    assert.deepEqual(ev.log, ["up Peer 7000", "down Peer goodbye"]);
  } finally {
    await lan.close();
  }
});

test("duplicate question suppression: another host's identical query counts as ours", async () => {
  const lan = new Lan();
  try {
    const other = await lan.sniffer(9);
    const node = await lan.node(1);
    node.browse("_peerlink._tcp");
    await lan.advance(130);
    const first = browseQueries(other)[0].at;
    await lan.advance(first + 500 - lan.clock.now());
    await other.send(query([{ name: TYPE, type: "PTR" }]));
    await lan.advance(5000);
    const times = browseQueries(other).map((c) => c.at - first);
    assert.deepEqual(times.slice(0, 2), [0, 2500], "the query due at 1 s was suppressed; the next follows 2 s later");
  } finally {
    await lan.close();
  }
});

test("a query listing a known answer we lack does not suppress ours", async () => {
  const lan = new Lan();
  try {
    const other = await lan.sniffer(9);
    const node = await lan.node(1);
    node.browse("_peerlink._tcp");
    await lan.advance(130);
    const first = browseQueries(other)[0].at;
    await lan.advance(first + 500 - lan.clock.now());
    await other.send(query([{ name: TYPE, type: "PTR" }], { answers: [peerRecords()[0]] }));
    await lan.advance(1000);
    const times = browseQueries(other).map((c) => c.at - first);
    assert.deepEqual(times.slice(0, 2), [0, 1000]);
  } finally {
    await lan.close();
  }
});

test("the cache-flush bit on a re-announcement replaces the old SRV: update event, old record gone after 1 s", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.sniffer(5);
    const node = await lan.node(1);
    const ev = events();
    const browser = node.browse("_peerlink._tcp", ev.handlers);
    await lan.advance(150);
    await peer.send(response(peerRecords()));
    await lan.advance(5000);
    await peer.send(response(peerRecords({ port: 7001 })));
    await lan.advance(0);
    assert.deepEqual(ev.log, ["up Peer 7000", "update Peer 7000->7001"]);
    await lan.advance(1000);
    assert.equal(browser.instances()[0].port, 7001);
    assert.equal(node.stats.cacheSize, 4, "the old SRV expired");
  } finally {
    await lan.close();
  }
});

test("a changed TXT record is reported as an update", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.sniffer(5);
    const node = await lan.node(1);
    const seen: string[] = [];
    node.browse("_peerlink._tcp", { onUpdate: (i) => seen.push(String(i.txt.node)) });
    await lan.advance(150);
    await peer.send(response(peerRecords()));
    await lan.advance(2000);
    await peer.send(response(peerRecords({ txt: "node=Renamed" })));
    await lan.advance(0);
    assert.deepEqual(seen, ["Renamed"]);
  } finally {
    await lan.close();
  }
});

test("a peer that was up before us is found even when our first query is lost", async () => {
  const lan = new Lan();
  try {
    const a = await lan.node(2);
    const p = a.publish({ instance: "Peer", type: "_peerlink._tcp", port: 7000 });
    await lan.advance(10_000);
    await p;
    lan.net.setLinkRule("10.0.0.1", "10.0.0.2", { loss: 1 });
    const node = await lan.node(1);
    const ev = events();
    node.browse("_peerlink._tcp", ev.handlers);
    await lan.advance(500);
    assert.deepEqual(ev.log, []);
    lan.net.clearLinkRules();
    await lan.advance(1000);
    assert.deepEqual(ev.log, ["up Peer 7000"]);
  } finally {
    await lan.close();
  }
});

test("a peer answering only the PTR is resolved by SRV/TXT and address queries", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.sniffer(5);
    const node = await lan.node(1);
    const ev = events();
    node.browse("_peerlink._tcp", ev.handlers);
    await lan.advance(150);
    const [ptr, srv, txt, a] = peerRecords();
    await peer.send(response([ptr]));
    await lan.advance(200);
    const asked = peer.queries().flatMap((c) => c.message.questions.map((q) => `${q.type} ${q.name}`));
    assert.ok(asked.includes(`SRV ${FULL}`) && asked.includes(`TXT ${FULL}`), asked.join(", "));
    await peer.send(response([srv, txt]));
    await lan.advance(200);
    const asked2 = peer.queries().flatMap((c) => c.message.questions.map((q) => `${q.type} ${q.name}`));
    assert.ok(asked2.includes("A peer.local"), asked2.join(", "));
    assert.deepEqual(ev.log, []);
    await peer.send(response([a]));
    await lan.advance(0);
    assert.deepEqual(ev.log, ["up Peer 7000"]);
  } finally {
    await lan.close();
  }
});

test("resolve() returns a complete instance, and rejects with a clear message on timeout", async () => {
  const lan = new Lan();
  try {
    const a = await lan.node(2);
    const p = a.publish({ instance: "Peer", type: "_peerlink._tcp", port: 7000, txt: { k: "v" } });
    await lan.advance(2000);
    await p;
    const node = await lan.node(1);
    const r = node.resolve("Peer", "_peerlink._tcp");
    await lan.advance(2000); // the peer's last announcement was just now: its rate limit may defer the answer by 1 s
    const instance = await r;
    assert.equal(instance.port, 7000);
    assert.deepEqual(instance.addresses, ["10.0.0.2"]);
    assert.equal(instance.txt.k, "v");
    const missing = node.resolve("Nobody", "_peerlink._tcp", { timeout: 1000 }).then(() => "resolved", (e) => e);
    await lan.advance(1000);
    const err = await missing;
    assert.ok(err instanceof PeerLinkError);
    assert.equal(err.code, "TIMEOUT");
    assert.match(err.message, /could not resolve "Nobody\._peerlink\._tcp\.local" within 1000 ms/);
  } finally {
    await lan.close();
  }
});

test("verify(): a vanished peer is flushed within 2 s and reported down (expired); a live one stays", async () => {
  const lan = new Lan();
  try {
    const a = await lan.node(2);
    const c = await lan.node(3);
    const pa = a.publish({ instance: "Peer", type: "_peerlink._tcp", port: 7000 });
    const pc = c.publish({ instance: "Live", type: "_peerlink._tcp", port: 7001 });
    const node = await lan.node(1);
    const ev = events();
    node.browse("_peerlink._tcp", ev.handlers);
    await lan.advance(5000);
    await Promise.all([pa, pc]);
    assert.equal(ev.up.length, 2);
    lan.net.detach("10.0.0.2");
    const dead = node.verify(FULL);
    const live = node.verify(`Live.${TYPE}`);
    await lan.advance(2000);
    assert.equal(await dead, false);
    assert.equal(await live, true);
    assert.ok(ev.log.includes("down Peer expired"), ev.log.join(", "));
    assert.ok(!ev.log.some((l) => l.startsWith("down Live")));
  } finally {
    await lan.close();
  }
});

test("source checks: responses not from port 5353 or from off-link addresses are ignored and counted", async () => {
  const lan = new Lan();
  try {
    const node = await lan.node(1);
    const ev = events();
    node.browse("_peerlink._tcp", ev.handlers);
    await lan.advance(150);
    const wrongPort = await lan.sniffer(5, 0);
    await wrongPort.send(response(peerRecords()));
    const offLink = await Sniffer.open(lan.net.host("192.168.7.7"), 5353, () => lan.clock.now());
    lan.sniffers.push(offLink);
    await offLink.send(response(peerRecords({ address: "192.168.7.7" })));
    await lan.advance(100);
    assert.deepEqual(ev.log, []);
    const dropped = node.stats.transport.dropped;
    assert.equal(dropped["response not from port 5353"], 1);
    assert.equal(dropped["off-link source"], 1);
  } finally {
    await lan.close();
  }
});

test("subtype browsing finds only instances published with that subtype", async () => {
  const lan = new Lan();
  try {
    const a = await lan.node(2);
    const p1 = a.publish({ instance: "Printer", type: "_http._tcp", port: 80, subtypes: ["_printer"] });
    const p2 = a.publish({ instance: "Plain", type: "_http._tcp", port: 81 });
    const node = await lan.node(1);
    const names: string[] = [];
    node.browse("_printer._sub._http._tcp", { onUp: (i) => names.push(i.name) });
    await lan.advance(3000);
    await Promise.all([p1, p2]);
    assert.deepEqual(names, ["Printer"]);
  } finally {
    await lan.close();
  }
});

test("a re-announcement that changes nothing is reported as seen (fresh lastSeen), not as an update", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.sniffer(5);
    const node = await lan.node(1);
    const ev = events();
    const seen: number[] = [];
    node.browse("_peerlink._tcp", { ...ev.handlers, onSeen: (i) => seen.push(i.lastSeen) });
    await lan.advance(150);
    await peer.send(response(peerRecords({ txt: "node=Peer" })));
    await lan.advance(3000);
    await peer.send(response(peerRecords({ txt: "node=Peer" })));
    await lan.advance(0);
    assert.deepEqual(ev.log, ["up Peer 7000"]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0] - ev.up[0].lastSeen, 3000);
  } finally {
    await lan.close();
  }
});

test("TXT strings in another order with the same attributes are not an update", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.sniffer(5);
    const node = await lan.node(1);
    const ev = events();
    let seen = 0;
    node.browse("_peerlink._tcp", { ...ev.handlers, onSeen: () => seen++ });
    await lan.advance(150);
    const withTxt = (strings: string[]) =>
      peerRecords().map((r) => r.type === "TXT" ? { ...r, data: strings.map((s) => te.encode(s)) } : r);
    await peer.send(response(withTxt(["a=1", "b=2"])));
    await lan.advance(2000);
    await peer.send(response(withTxt(["b=2", "a=1"])));
    await lan.advance(2000);
    await peer.send(response(withTxt(["b=2", "a=3"])));
    await lan.advance(0);
    assert.deepEqual(ev.log, ["up Peer 7000", "update Peer 7000->7000"]);
    assert.equal(seen, 1);
  } finally {
    await lan.close();
  }
});
