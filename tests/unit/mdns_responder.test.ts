import { test } from "node:test";
import assert from "node:assert/strict";
import { type Captured, Lan, query } from "../support/mdns_harness.ts";
import { NameConflictError } from "../../src/mdns/mod.ts";
import type { MdnsRecord } from "../../src/mdns/records.ts";
import { encodeMessage } from "../../src/mdns/packet.ts";

const TYPE = "_peerlink._tcp.local";
const FULL = `Worker.${TYPE}`;
/** Long enough after publishing for all six announcements (the last at 31 s) to be over. */
const SETTLE = 40_000;

function isProbe(c: Captured): boolean {
  return !c.message.response && c.message.authorities.length > 0;
}

async function published(lan: Lan, i: number, instance = "Worker", extra: Record<string, unknown> = {}) {
  const node = await lan.node(i);
  const p = node.publish({ instance, type: "_peerlink._tcp", port: 5000 + i, txt: { node: instance }, ...extra });
  await lan.advance(1000);
  return { node, published: await p };
}

test("probing: three probes 250 ms apart after a 0-250 ms delay, proposed records in the authority section", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    const node = await lan.node(1);
    const start = lan.clock.now();
    const p = node.publish({ instance: "Worker", type: "_peerlink._tcp", port: 5001, txt: { node: "Worker" } });
    await lan.advance(1000);
    await p;
    const probes = sniffer.received.filter(isProbe);
    assert.equal(probes.length, 3);
    const first = probes[0].at - start;
    assert.ok(first >= 0 && first < 250, `first probe after ${first} ms`);
    assert.equal(probes[1].at - probes[0].at, 250);
    assert.equal(probes[2].at - probes[1].at, 250);
    const m = probes[0].message;
    assert.deepEqual(m.questions.map((q) => [q.name, q.type, q.qu]), [
      [FULL, "ANY", false],
      [node.hostName, "ANY", false],
    ]);
    const auth = m.authorities.map((r) => `${r.type} ${r.name}`).sort();
    assert.deepEqual(auth, [`A ${node.hostName}`, `SRV ${FULL}`, `TXT ${FULL}`]);
    const announce = sniffer.responses()[0];
    assert.ok(announce.at - probes[2].at >= 250, "announces only after 250 ms of silence after the third probe");
  } finally {
    await lan.close();
  }
});

test("announcing: unsolicited responses 1 s apart, then doubling (0, 1, 3, 7, 15, 31 s), flush bits on unique records, RFC TTLs", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    await published(lan, 1);
    await lan.advance(60_000);
    const announcements = sniffer.responses();
    assert.equal(announcements.length, 6);
    assert.deepEqual(announcements.slice(1).map((c, i) => c.at - announcements[i].at), [1000, 2000, 4000, 8000, 16000]);
    for (const a of announcements) {
      const byType = new Map(a.message.answers.map((r) => [`${r.type} ${r.name}`, r]));
      const ptr = byType.get(`PTR ${TYPE}`)!;
      assert.equal(ptr.flush, false);
      assert.equal(ptr.ttl, 4500);
      for (const t of ["SRV", "TXT"]) {
        assert.equal(byType.get(`${t} ${FULL}`)?.flush, true, `${t} has the cache-flush bit`);
        assert.equal(byType.get(`${t} ${FULL}`)?.ttl, 120);
      }
      const aRec = a.message.answers.find((r) => r.type === "A")!;
      assert.equal(aRec.flush, true);
      assert.equal(aRec.data, "10.0.0.1");
      assert.ok(byType.has(`PTR _services._dns-sd._udp.local`), "service enumeration PTR announced");
    }
  } finally {
    await lan.close();
  }
});

test("a name conflict while probing rejects publish() with NameConflictError", async () => {
  const lan = new Lan();
  try {
    await published(lan, 1);
    const b = await lan.node(2);
    const p = b.publish({ instance: "Worker", type: "_peerlink._tcp", port: 5002 });
    const result = p.then(() => "published", (e) => e);
    await lan.advance(2000);
    const err = await result;
    assert.ok(err instanceof NameConflictError, String(err));
    assert.equal(err.fullName, FULL);
    assert.equal(err.holder, "10.0.0.1");
    assert.equal(err.name, "NameConflict");
    assert.equal(err.code, "NAME_CONFLICT");
    assert.match(err.message, /^the mDNS name .*Worker\._peerlink\._tcp\.local.*allowRename/);
    assert.deepEqual(b.stats.published, []);
  } finally {
    await lan.close();
  }
});

test('allowRename picks "Name (2)", then "Name (3)"', async () => {
  const lan = new Lan();
  try {
    await published(lan, 1);
    const names: string[] = [];
    const b = await lan.node(2);
    const p2 = b.publish({
      instance: "Worker",
      type: "_peerlink._tcp",
      port: 5002,
      allowRename: true,
      onNameChange: (n) => names.push(n),
    });
    await lan.advance(3000);
    assert.equal((await p2).instance, "Worker (2)");
    const c = await lan.node(3);
    const p3 = c.publish({ instance: "Worker", type: "_peerlink._tcp", port: 5003, allowRename: true });
    await lan.advance(SETTLE);
    assert.equal((await p3).instance, "Worker (3)");
    assert.deepEqual(names, ["Worker (2)"]);
  } finally {
    await lan.close();
  }
});

test("simultaneous probes: the tiebreak gives the name to exactly one host", async () => {
  const lan = new Lan();
  try {
    const a = await lan.node(1);
    const b = await lan.node(2);
    const pa = a.publish({ instance: "Worker", type: "_peerlink._tcp", port: 5001 }).then((p) => p.instance, (e) => e);
    const pb = b.publish({ instance: "Worker", type: "_peerlink._tcp", port: 5002 }).then((p) => p.instance, (e) => e);
    await lan.advance(6000);
    const results = [await pa, await pb];
    const winners = results.filter((r) => r === "Worker");
    const losers = results.filter((r) => r instanceof NameConflictError);
    assert.equal(winners.length, 1, `results: ${results}`);
    assert.equal(losers.length, 1);
  } finally {
    await lan.close();
  }
});

function foreignProbe(records: MdnsRecord[]) {
  return query([{ name: FULL, type: "ANY" }], { authorities: records });
}

test("tiebreak: losing to a lexicographically later probe defers 1 s and probes again; winning ignores it", async () => {
  for (const [port, expectDefer] of [[65000, true], [1, false]] as const) {
    const lan = new Lan();
    try {
      const sniffer = await lan.sniffer(9);
      const node = await lan.node(1);
      const p = node.publish({ instance: "Worker", type: "_peerlink._tcp", port: 5001 });
      await lan.advance(260); // first probe sent (delay < 250 ms)
      const srv: MdnsRecord = {
        name: FULL,
        type: "SRV",
        ttl: 120,
        flush: true,
        data: { priority: 0, weight: 0, port, target: "other.local" },
      };
      // RFC 6762 8.2 sorts by type first: TXT (16) before SRV (33). Same TXT as ours, so the SRV decides.
      const txt: MdnsRecord = { name: FULL, type: "TXT", ttl: 120, flush: true, data: [new Uint8Array(0)] };
      await sniffer.send(foreignProbe([srv, txt]));
      await lan.advance(0);
      const conflictAt = lan.clock.now();
      await lan.advance(3000);
      await p;
      const probes = sniffer.received.filter((c) => isProbe(c) && c.address === "10.0.0.1");
      if (expectDefer) {
        const after = probes.filter((c) => c.at > conflictAt);
        assert.equal(after.length, 3, "a full new probe sequence");
        assert.equal(after[0].at - conflictAt, 1000, "after waiting one second");
      } else {
        assert.equal(probes.length, 3, "our probing continued undisturbed");
      }
    } finally {
      await lan.close();
    }
  }
});

test("a conflict after announcing sends the name back to probing, and a defended name is renamed", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    const names: string[] = [];
    const node = await lan.node(1);
    const p = node.publish({
      instance: "Worker",
      type: "_peerlink._tcp",
      port: 5001,
      allowRename: true,
      onNameChange: (n) => names.push(n),
    });
    await lan.advance(SETTLE);
    await p;
    sniffer.clear();
    const theirs: MdnsRecord = {
      name: FULL,
      type: "SRV",
      ttl: 120,
      flush: true,
      data: { priority: 0, weight: 0, port: 9, target: "other.local" },
    };
    const conflictResponse = {
      id: 0,
      response: true,
      questions: [],
      answers: [theirs],
      authorities: [],
      additionals: [],
    };
    await sniffer.send(conflictResponse);
    await lan.advance(300);
    const reprobes = sniffer.received.filter((c) => isProbe(c) && c.message.questions[0].name === FULL);
    assert.ok(reprobes.length >= 1, "probing again for the same name");
    await sniffer.send(conflictResponse); // the other host defends its name
    await lan.advance(3000);
    assert.deepEqual(names, ["Worker (2)"]);
    const announced = sniffer.responses().flatMap((c) => c.message.answers).filter((r) => r.type === "SRV");
    assert.ok(announced.some((r) => r.name === `Worker (2).${TYPE}`));
  } finally {
    await lan.close();
  }
});

test("a late conflict without allowRename withdraws the service and reports it through onConflict", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    const errors: Error[] = [];
    const node = await lan.node(1);
    const p = node.publish({
      instance: "Worker",
      type: "_peerlink._tcp",
      port: 5001,
      onConflict: (e) => errors.push(e),
    });
    await lan.advance(SETTLE);
    await p;
    const theirs: MdnsRecord = {
      name: FULL,
      type: "TXT",
      ttl: 120,
      flush: true,
      data: [new TextEncoder().encode("x=1")],
    };
    const msg = { id: 0, response: true, questions: [], answers: [theirs], authorities: [], additionals: [] };
    await sniffer.send(msg);
    await lan.advance(100);
    await sniffer.send(msg);
    await lan.advance(2000);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof NameConflictError);
    assert.deepEqual(node.stats.published, []);
  } finally {
    await lan.close();
  }
});

test("goodbye: unpublish() sends every record with TTL 0", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    const { published: pub } = await published(lan, 1);
    await lan.advance(SETTLE);
    sniffer.clear();
    await pub.unpublish();
    await lan.advance(0);
    const bye = sniffer.responses().flatMap((c) => c.message.answers);
    assert.ok(bye.length >= 4);
    assert.ok(bye.every((r) => r.ttl === 0));
    assert.deepEqual([...new Set(bye.map((r) => r.type))].sort(), ["A", "PTR", "SRV", "TXT"]);
  } finally {
    await lan.close();
  }
});

test("answers: unique records at once, shared (PTR) after 20-120 ms", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    await published(lan, 1);
    await lan.advance(SETTLE);
    sniffer.clear();
    await sniffer.send(query([{ name: FULL, type: "SRV" }]));
    await lan.advance(0);
    const t0 = lan.clock.now();
    assert.equal(sniffer.responses().length, 1, "SRV answered without delay");
    assert.equal(sniffer.responses()[0].at, t0);
    sniffer.clear();
    await sniffer.send(query([{ name: TYPE, type: "PTR" }]));
    await lan.advance(19);
    assert.equal(sniffer.responses().length, 0);
    await lan.advance(101);
    const r = sniffer.responses();
    assert.equal(r.length, 1);
    const delay = r[0].at - t0;
    assert.ok(delay >= 20 && delay <= 120, `delay ${delay}`);
    const additional = r[0].message.additionals.map((x) => x.type).sort();
    assert.deepEqual(additional, ["A", "SRV", "TXT"], "SRV, TXT and address as additional records");
  } finally {
    await lan.close();
  }
});

test("QU questions are answered by unicast when the record was multicast recently, else by multicast", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    await published(lan, 1);
    await lan.advance(SETTLE); // last announcement ~8 s ago: within a quarter of the 120 s TTL
    sniffer.clear();
    const direct = await lan.sniffer(8, 5353);
    await direct.send(query([{ name: FULL, type: "SRV", qu: true }]));
    await lan.advance(200);
    assert.equal(direct.responses().length, 1, "the querier got an answer");
    assert.equal(sniffer.responses().length, 0, "nobody else did: it was unicast");
    await lan.advance(40_000); // more than 30 s since the last multicast
    direct.clear();
    await direct.send(query([{ name: FULL, type: "SRV", qu: true }]));
    await lan.advance(200);
    assert.equal(sniffer.responses().length, 1, "multicast to refresh everyone's cache");
  } finally {
    await lan.close();
  }
});

test("legacy unicast queries get a unicast reply with the ID echoed, the question repeated, TTL <= 10 s, no flush bit", async () => {
  const lan = new Lan();
  try {
    const watcher = await lan.sniffer(9);
    await published(lan, 1);
    await lan.advance(SETTLE);
    watcher.clear();
    const legacy = await lan.sniffer(8, 0);
    await legacy.send(query([{ name: FULL, type: "SRV" }], { id: 0x1234 }), "10.0.0.1", 5353);
    await lan.advance(200);
    const replies = legacy.responses();
    assert.equal(replies.length, 1);
    const m = replies[0].message;
    assert.equal(m.id, 0x1234);
    assert.deepEqual(m.questions.map((q) => [q.name, q.type]), [[FULL, "SRV"]]);
    for (const r of [...m.answers, ...m.additionals]) {
      assert.ok(r.ttl <= 10, `${r.type} ttl ${r.ttl}`);
      assert.equal(r.flush, false);
    }
    assert.equal(m.answers[0].type, "SRV");
    assert.equal(watcher.responses().length, 0, "not multicast");
  } finally {
    await lan.close();
  }
});

test("known-answer suppression: a PTR the querier knows with at least half its TTL is not sent", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    await published(lan, 1);
    await lan.advance(SETTLE);
    const ptr = (ttl: number): MdnsRecord => ({ name: TYPE, type: "PTR", ttl, flush: false, data: FULL });
    sniffer.clear();
    await sniffer.send(query([{ name: TYPE, type: "PTR" }], { answers: [ptr(4000)] }));
    await lan.advance(500);
    assert.equal(sniffer.responses().length, 0);
    await sniffer.send(query([{ name: TYPE, type: "PTR" }], { answers: [ptr(2000)] }));
    await lan.advance(500);
    assert.equal(sniffer.responses().length, 1, "less than half the TTL left: answered");
  } finally {
    await lan.close();
  }
});

test("known answers continued after a TC query are honoured; the answer waits 400-500 ms", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    await published(lan, 1);
    await lan.advance(SETTLE);
    sniffer.clear();
    const ptr: MdnsRecord = { name: TYPE, type: "PTR", ttl: 4500, flush: false, data: FULL };
    const t0 = lan.clock.now();
    await sniffer.send(query([{ name: TYPE, type: "PTR" }, { name: FULL, type: "SRV" }], { truncated: true }));
    await lan.advance(10);
    await sniffer.send(query([], { answers: [ptr] }));
    await lan.advance(390);
    assert.equal(sniffer.responses().length, 0, "waiting for more known answers");
    await lan.advance(110);
    const r = sniffer.responses();
    assert.equal(r.length, 1);
    assert.ok(r[0].at - t0 >= 400 && r[0].at - t0 <= 500);
    assert.deepEqual(r[0].message.answers.map((x) => x.type), ["SRV"], "the PTR was known");
  } finally {
    await lan.close();
  }
});

test("rate limit: a record is multicast at most once per second per interface; a too-early query is answered when the second is over", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    await published(lan, 1);
    await lan.advance(SETTLE);
    sniffer.clear();
    await sniffer.send(query([{ name: FULL, type: "SRV" }]));
    await lan.advance(0);
    const first = lan.clock.now();
    await lan.advance(300);
    await sniffer.send(query([{ name: FULL, type: "SRV" }]));
    await lan.advance(600);
    assert.equal(sniffer.responses().length, 1, "no second multicast within the second");
    await lan.advance(200);
    const r = sniffer.responses();
    assert.equal(r.length, 2);
    assert.equal(r[1].at - first, 1000);
  } finally {
    await lan.close();
  }
});

/** An SRV another host proposes for our instance name in its probe (a conflict: another target and port). */
const CONFLICTING_SRV: MdnsRecord = {
  name: FULL,
  type: "SRV",
  ttl: 120,
  flush: true,
  data: { priority: 0, weight: 0, port: 1, target: "x.local" },
};

/** Host 1 published and settled, its SRV multicast just now (at `multicastAt`) in answer to host 9's query. */
async function srvJustMulticast(lan: Lan) {
  const sniffer = await lan.sniffer(9);
  await published(lan, 1);
  await lan.advance(SETTLE);
  await sniffer.send(query([{ name: FULL, type: "SRV" }]));
  await lan.advance(0);
  return { sniffer, multicastAt: lan.clock.now() };
}

test("probe defence: a probe for our name is answered at once despite a recent multicast (250 ms limit)", async () => {
  const lan = new Lan();
  try {
    const { sniffer } = await srvJustMulticast(lan);
    await lan.advance(300);
    sniffer.clear();
    await sniffer.send(foreignProbe([CONFLICTING_SRV]));
    await lan.advance(0);
    assert.equal(sniffer.responses().length, 1);
    assert.ok(sniffer.responses()[0].message.answers.some((r) => r.type === "SRV" && r.name === FULL));
  } finally {
    await lan.close();
  }
});

test("probe defence: a probe within 250 ms of our last multicast is answered when the 250 ms are over, not the second", async () => {
  const lan = new Lan();
  try {
    const { sniffer, multicastAt } = await srvJustMulticast(lan);
    await lan.advance(100);
    sniffer.clear();
    // One probe only (a prober may lose the others): RFC 6762 section 6 lets a defence wait 250 ms, no more.
    const srvDefences = () =>
      sniffer.responses().filter((c) => c.message.answers.some((r) => r.type === "SRV" && r.name === FULL));
    await sniffer.send(foreignProbe([CONFLICTING_SRV]));
    await lan.advance(0);
    assert.equal(srvDefences().length, 0, "not within 250 ms of the SRV's last multicast");
    await lan.advance(200);
    const defence = srvDefences();
    assert.equal(defence.length, 1, "the SRV defended 250 ms after its last multicast");
    assert.equal(defence[0].at - multicastAt, 250);
  } finally {
    await lan.close();
  }
});

test("duplicate answer suppression: a shared answer another host just sent is not repeated", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    await published(lan, 1);
    await lan.advance(SETTLE);
    sniffer.clear();
    await sniffer.send(query([{ name: TYPE, type: "PTR" }]));
    await lan.advance(5);
    const ptr: MdnsRecord = { name: TYPE, type: "PTR", ttl: 4500, flush: false, data: FULL };
    await sniffer.send({ id: 0, response: true, questions: [], answers: [ptr], authorities: [], additionals: [] });
    await lan.advance(500);
    assert.equal(sniffer.responses().filter((c) => c.address === "10.0.0.1").length, 0);
  } finally {
    await lan.close();
  }
});

test("responses are split into packets of at most 1440 bytes, never cutting a record", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    const node = await lan.node(1);
    const big = "v".repeat(240);
    const pubs = [];
    for (let i = 0; i < 6; i++) {
      pubs.push(node.publish({
        instance: `Svc${i}`,
        type: "_big._tcp",
        port: 6000 + i,
        txt: { a: big, b: big, c: big, d: big },
      }));
    }
    await lan.advance(6000);
    await Promise.all(pubs);
    sniffer.clear();
    const sizes: number[] = [];
    await sniffer.send(query([{ name: "_big._tcp.local", type: "PTR" }]));
    await lan.advance(200);
    const responses = sniffer.responses();
    for (const c of responses) sizes.push(encodeMessage(c.message).length);
    assert.ok(responses.length >= 4, `${responses.length} packets`);
    assert.ok(sizes.every((s) => s <= 1440), `sizes ${sizes}`);
    const all = responses.flatMap((c) => [...c.message.answers, ...c.message.additionals]);
    assert.equal(all.filter((r) => r.type === "PTR").length, 6);
    assert.equal(all.filter((r) => r.type === "TXT").length, 6);
    assert.equal(all.filter((r) => r.type === "SRV").length, 6);
  } finally {
    await lan.close();
  }
});

test("_services._dns-sd._udp.local enumeration is answered with each published type", async () => {
  const lan = new Lan();
  try {
    const sniffer = await lan.sniffer(9);
    const node = await lan.node(1);
    const a = node.publish({ instance: "A", type: "_peerlink._tcp", port: 1 });
    const b = node.publish({ instance: "B", type: "_http._tcp", port: 2 });
    await lan.advance(SETTLE);
    await Promise.all([a, b]);
    sniffer.clear();
    await sniffer.send(query([{ name: "_services._dns-sd._udp.local", type: "PTR" }]));
    await lan.advance(200);
    const ptrs = sniffer.responses().flatMap((c) => c.message.answers).filter((r) => r.type === "PTR");
    assert.deepEqual(ptrs.map((r) => r.data).sort(), ["_http._tcp.local", TYPE]);
  } finally {
    await lan.close();
  }
});

test("publish() validates input: bad type, long label, oversize TXT", async () => {
  const lan = new Lan();
  try {
    const node = await lan.node(1);
    await assert.rejects(node.publish({ instance: "X", type: "http", port: 1 }), /not of the form/);
    await assert.rejects(node.publish({ instance: "x".repeat(64), type: "_x._tcp", port: 1 }), /at most 63/);
    await assert.rejects(node.publish({ instance: "X", type: "_x._tcp", port: 1, txt: { k: "v".repeat(300) } }), /255/);
    await assert.rejects(node.publish({ instance: "X", type: "_x._tcp", port: 70000 }), /0-65535/);
  } finally {
    await lan.close();
  }
});
