/**
 * The unicast DNS client (src/dnssd/client.ts) against the in-memory authoritative server
 * (tests/support/memory_dns.ts) on the in-memory network, with a fake clock: answers over UDP
 * and, when truncated, TCP; every kind of bad reply dropped and counted while the genuine one
 * still settles the request; signed replies verified; timeouts and refusals worded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DatagramSocket, StreamConnection } from "../src/net.ts";
import { DnsClient } from "../src/dnssd/client.ts";
import { WideAreaError } from "../src/dnssd/errors.ts";
import { signMessage, tsigSecret } from "../src/dnssd/tsig.ts";
import { addRecord } from "../src/dnssd/update.ts";
import { encodeDnsMessage, recordToWire } from "../src/dnssd/wire.ts";
import { epochMs } from "../src/clock.ts";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../src/testing/memory_net.ts";
import { memoryLogger } from "./support/mdns_harness.ts";
import { MemoryDnsServer, type SeenRequest, updateReply, type Verdict } from "./support/memory_dns.ts";

const KEY = tsigSecret({ name: "pl-key", secret: "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=" });
const SERVER = "10.0.9.53";

async function setup() {
  const clock = new FakeClock(1_000_000);
  const net = new MemoryNetwork({ seed: 3, clock });
  const epochSeconds = () => Math.floor(epochMs(clock) / 1000);
  const server = await MemoryDnsServer.start(net.host(SERVER), "lab.example", epochSeconds);
  server.allowKey(KEY);
  const client = new DnsClient({
    runtime: net.host("10.0.1.1"),
    clock,
    logger: memoryLogger(),
    server: { address: SERVER, port: 53 },
    epochSeconds,
  });
  const close = async () => {
    await client.close();
    await server.close();
    await net.close();
  };
  return { clock, net, server, client, close, epochSeconds };
}

function ptr(target: string) {
  return recordToWire({ name: "_peerlink._tcp.lab.example", type: "PTR", ttl: 60, flush: false, data: target });
}

test("queries: answered over UDP; an answer too large for UDP comes truncated and is asked again over TCP", async () => {
  const { server, client, close } = await setup();
  try {
    server.add(ptr("Alpha._peerlink._tcp.lab.example"));
    const small = await client.query("_peerlink._tcp.lab.example", "PTR");
    assert.equal(small.rcode, 0);
    assert.deepEqual(small.answers.map((r) => r.data), ["Alpha._peerlink._tcp.lab.example"]);
    assert.equal(client.stats.tcp, 0);
    for (let i = 0; i < 60; i++) server.add(ptr(`Node-${i}-${"x".repeat(20)}._peerlink._tcp.lab.example`));
    const big = await client.query("_peerlink._tcp.lab.example", "PTR");
    assert.equal(big.answers.length, 61, "every record, over TCP");
    assert.equal(client.stats.tcp, 1);
    assert.deepEqual(server.requests.map((r) => r.tcp), [false, false, true]);
    const missing = await client.query("nobody.lab.example", "SRV");
    assert.equal(missing.rcode, 3, "NXDOMAIN is an answer");
  } finally {
    await close();
  }
});

test("bad replies (wrong id, source, question; malformed, oversized, not a response) are dropped and counted; the real one is taken", async () => {
  const { net, server, client, close } = await setup();
  const wrongPort = await net.host(SERVER).bindDatagram({ address: "0.0.0.0", port: 54 }, () => {});
  const impostor = await net.host("10.0.9.54").bindDatagram({ address: "0.0.0.0", port: 53 }, () => {});
  try {
    server.add(ptr("Alpha._peerlink._tcp.lab.example"));
    server.intercept = async (request: SeenRequest): Promise<Verdict> => {
      const to = [request.address, request.port] as const;
      const genuine = encodeDnsMessage({
        id: request.id,
        response: true,
        authoritative: true,
        questions: [{ name: "_peerlink._tcp.lab.example", type: 12 }],
        answers: [ptr("Evil._peerlink._tcp.lab.example")],
      });
      const withId = (id: number) => Uint8Array.from([id >> 8, id & 0xff, ...genuine.slice(2)]);
      await server.sendFrom53(withId(request.id ^ 1), ...to); // wrong id
      await wrongPort.send(genuine, ...to); // wrong source port
      await impostor.send(genuine, ...to); // wrong source address
      await server.sendFrom53(genuine.slice(0, 8), ...to); // shorter than a header
      await server.sendFrom53(Uint8Array.from([...genuine, ...new Uint8Array(5000)]), ...to); // oversized
      const query = genuine.slice();
      query[2] &= 0x7f;
      await server.sendFrom53(query, ...to); // not a response
      await server.sendFrom53(
        encodeDnsMessage({ id: request.id, response: true, questions: [{ name: "other.lab.example", type: 12 }] }),
        ...to,
      ); // wrong question
      const loop = [...genuine.slice(0, 4), 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 12, 0, 1];
      await server.sendFrom53(Uint8Array.from(loop), ...to); // a name pointing at itself
      return "answer";
    };
    const reply = await client.query("_peerlink._tcp.lab.example", "PTR");
    assert.deepEqual(reply.answers.map((r) => r.data), ["Alpha._peerlink._tcp.lab.example"], "the genuine answer");
    const dropped = client.stats.dropped;
    assert.deepEqual(
      Object.keys(dropped).sort(),
      [
        "malformed: compression pointer does not point backwards",
        "malformed: shorter than a DNS header",
        "not a response",
        "oversized",
        "wrong id",
        "wrong question",
        "wrong source",
      ],
    );
    assert.equal(dropped["wrong source"], 2);
    assert.equal(client.stats.replies, 1);
  } finally {
    await wrongPort.close();
    await impostor.close();
    await close();
  }
});

test("updates: unsigned and wrongly signed replies are dropped; the server's signed reply is verified and taken", async () => {
  const { server, client, close, epochSeconds } = await setup();
  const other = tsigSecret({ name: "pl-key", secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" });
  try {
    server.intercept = async (request): Promise<Verdict> => {
      const reply = updateReply(request.id, "lab.example");
      await server.sendFrom53(reply, request.address, request.port); // unsigned NOERROR: a spoof
      await server.sendFrom53(signMessage(reply, other, { now: epochSeconds() }).bytes, request.address, request.port);
      return "answer";
    };
    const a = { name: "box.lab.example", type: "A" as const, ttl: 60, flush: false, data: "10.0.1.1" };
    const { reply, tsig } = await client.update("lab.example", [], [addRecord(a)], KEY);
    assert.equal(reply.rcode, 0);
    assert.equal(tsig.keyName, "pl-key");
    assert.equal(server.find("box.lab.example", 1).length, 1, "the update was applied");
    assert.equal(client.stats.dropped["unsigned"], 1);
    assert.equal(client.stats.dropped["bad signature: bad MAC"], 1);
  } finally {
    await close();
  }
});

test("no answer: DNS_NO_ANSWER naming the server after resends; a wrong key: DNS_REFUSED saying what the server said", async () => {
  const { clock, server, client, close } = await setup();
  try {
    server.intercept = () => "ignore";
    const silent = client.query("_peerlink._tcp.lab.example", "PTR");
    silent.catch(() => {});
    await clock.advance(3000);
    const error = await silent.then(() => undefined, (e) => e);
    assert.ok(error instanceof WideAreaError, String(error));
    assert.equal(error.code, "DNS_NO_ANSWER");
    assert.match(
      error.message,
      /no answer from DNS server 10\.0\.9\.53:53 to the PTR query .* within 3000 ms \(3 requests sent\)/,
    );
    assert.equal(server.requests.length, 3, "sent at 0, 1 and 2 s");

    server.intercept = undefined;
    const a = { name: "box.lab.example", type: "A" as const, ttl: 60, flush: false, data: "10.0.1.1" };
    const refusal = async (key: typeof KEY) => {
      const p = client.update("lab.example", [], [addRecord(a)], key);
      p.catch(() => {});
      await clock.advance(3000);
      return await p.then(() => assert.fail("accepted"), (e) => e as WideAreaError);
    };
    const badSecret = await refusal(
      tsigSecret({ name: "pl-key", secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
    );
    assert.equal(badSecret.code, "DNS_REFUSED");
    assert.match(badSecret.message, /answered the UPDATE of zone lab\.example\. with NOTAUTH \(TSIG error BADSIG\)/);
    assert.match(badSecret.message, /secret for "pl-key" differs from ours/);
    const badName = await refusal(tsigSecret({ name: "nobody", secret: "AAAA" }));
    assert.match(badName.message, /NOTAUTH \(TSIG error BADKEY\).*knows no key named "nobody"/);
    assert.equal(server.find("box.lab.example", 1).length, 0, "nothing was applied");
  } finally {
    await close();
  }
});

test("a server that answers truncated, then holds the TCP connection silent: the query times out and the connection is closed", async () => {
  const clock = new FakeClock(1_000_000);
  const net = new MemoryNetwork({ seed: 5, clock });
  const host = net.host("10.0.9.77");
  const accepted: StreamConnection[] = [];
  const listener = await host.listen({ address: "0.0.0.0", port: 53 }, (c) => accepted.push(c));
  const udp: DatagramSocket = await host.bindDatagram({ address: "0.0.0.0", port: 53 }, (d) => {
    const id = (d.data[0] << 8) | d.data[1];
    const truncated = encodeDnsMessage({
      id,
      response: true,
      truncated: true,
      questions: [{ name: "x.lab.example", type: 16 }],
    });
    void udp.send(truncated, d.address, d.port);
  });
  const client = new DnsClient({
    runtime: net.host("10.0.1.1"),
    clock,
    logger: memoryLogger(),
    server: { address: "10.0.9.77", port: 53 },
  });
  try {
    const query = client.query("x.lab.example", "TXT");
    query.catch(() => {});
    await clock.advance(0);
    assert.equal(accepted.length, 1, "asked again over TCP");
    assert.equal(client.stats.tcp, 1);
    await clock.advance(3000);
    await assert.rejects(query, (e) => e instanceof WideAreaError && e.code === "DNS_NO_ANSWER");
    const request = await accepted[0].read();
    assert.ok(request && ((request[0] << 8) | request[1]) === request.length - 2, "the query, length-prefixed");
    assert.equal(await accepted[0].read(), null, "then the client closed the connection");
  } finally {
    await client.close();
    await listener.close();
    await udp.close();
    await net.close();
  }
});
