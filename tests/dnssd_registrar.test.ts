/**
 * Registration in a wide-area domain (src/dnssd/registrar.ts) against the in-memory
 * authoritative server, with a fake clock: one atomic UPDATE, refreshes every half TTL,
 * removal at stop, a name in use refused, a lapsed registration taken over, a refusal that
 * leaves nothing behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DnsClient } from "../src/dnssd/client.ts";
import { WideAreaError } from "../src/dnssd/errors.ts";
import { Registrar, type RegistrationRequest } from "../src/dnssd/registrar.ts";
import { hostLabel, LEASE_TXT_KEY } from "../src/dnssd/service_records.ts";
import { tsigSecret } from "../src/dnssd/tsig.ts";
import { decodeTxt } from "../src/mdns/txt.ts";
import { epochMs } from "../src/clock.ts";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../src/testing/memory_net.ts";
import { memoryLogger } from "./support/mdns_harness.ts";
import { MemoryDnsServer } from "./support/memory_dns.ts";

const KEY = tsigSecret({ name: "pl-key", secret: "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=" });
const TTL = 30;
const INSTANCE = "Worker._peerlink._tcp.lab.example";
const HOST = `${hostLabel(INSTANCE)}.lab.example`;

async function setup() {
  const clock = new FakeClock(1_000_000);
  const net = new MemoryNetwork({ seed: 4, clock });
  const epochSeconds = () => Math.floor(epochMs(clock) / 1000);
  const server = await MemoryDnsServer.start(net.host("10.0.9.53"), "lab.example", epochSeconds);
  server.allowKey(KEY);
  const clients: DnsClient[] = [];
  const registrar = (zone = "lab.example", host = "10.0.1.1") => {
    const client = new DnsClient({
      runtime: net.host(host),
      clock,
      logger: memoryLogger(),
      server: { address: "10.0.9.53", port: 53 },
      epochSeconds,
    });
    clients.push(client);
    return {
      client,
      registrar: new Registrar({ client, key: KEY, zone, ttl: TTL, clock, logger: memoryLogger(), epochSeconds }),
    };
  };
  const close = async () => {
    for (const c of clients) await c.close();
    await server.close();
    await net.close();
  };
  return { clock, net, server, registrar, close, epochSeconds };
}

function request(addresses: string[], instanceId = "run-1"): RegistrationRequest {
  return {
    instance: "Worker",
    type: "_peerlink._tcp",
    domain: "lab.example",
    port: 50001,
    txt: { node: "Worker", instance_id: instanceId },
    addresses: () => addresses,
  };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("register: one UPDATE adds PTR, SRV, TXT (with expires) and A/AAAA; refreshed every half TTL; stop removes it all", async () => {
  const { clock, server, registrar, close, epochSeconds } = await setup();
  try {
    const addresses = ["10.0.1.1", "fd00::1"];
    const { registrar: r } = registrar();
    await r.register(request(addresses));
    assert.equal(server.requests.filter((q) => q.opcode === 5).length, 1, "one UPDATE");
    assert.deepEqual(server.names(), ["_peerlink._tcp.lab.example", HOST.toLowerCase(), INSTANCE.toLowerCase()]);
    assert.equal(text(server.find("_peerlink._tcp.lab.example", 12)[0].rdata.slice(1, 7)), "Worker");
    const srv = server.find(INSTANCE, 33)[0].rdata;
    assert.equal((srv[4] << 8) | srv[5], 50001, "SRV port");
    const txt = () => decodeTxt(r.registered!.txt.data);
    assert.equal(txt().node, "Worker");
    assert.equal(txt()[LEASE_TXT_KEY], String(epochSeconds() + TTL));
    assert.deepEqual(server.find(HOST, 1).map((a) => [...a.rdata].join(".")), ["10.0.1.1"]);
    assert.equal(server.find(HOST, 28).length, 1, "AAAA");
    assert.ok(server.find(INSTANCE, 16)[0].ttl === TTL && server.find(HOST, 1)[0].ttl === TTL, "TTL");

    addresses.splice(0, 2, "10.0.1.7");
    await clock.advance(TTL * 500);
    assert.equal(server.requests.filter((q) => q.opcode === 5).length, 2, "refreshed at half the TTL");
    assert.equal(txt()[LEASE_TXT_KEY], String(epochSeconds() + TTL), "a new expires stamp");
    assert.equal(server.find(INSTANCE, 16).length, 1, "one TXT");
    assert.deepEqual(server.find(HOST, 1).map((a) => [...a.rdata].join(".")), ["10.0.1.7"], "addresses follow");
    assert.equal(server.find(HOST, 28).length, 0);

    await r.stop();
    assert.deepEqual(server.names(), [], "nothing left");
    await clock.advance(TTL * 1000);
    assert.equal(server.requests.filter((q) => q.opcode === 5).length, 3, "no refresh after stop");
  } finally {
    await close();
  }
});

test("a name registered by a live node is refused (DNS_NAME_IN_USE) and its records stay; a lapsed one is taken over", async () => {
  const { clock, net, server, registrar, close } = await setup();
  try {
    const first = registrar();
    await first.registrar.register(request(["10.0.1.1"], "run-1"));
    const second = registrar("lab.example", "10.0.2.1");
    const error = await second.registrar.register(request(["10.0.2.1"], "run-2")).then(() => undefined, (e) => e);
    assert.ok(error instanceof WideAreaError, String(error));
    assert.equal(error.code, "DNS_NAME_IN_USE");
    assert.match(
      error.message,
      /'Worker' is already in use in zone lab\.example\. at DNS server 10\.0\.9\.53:53 \(YXDOMAIN\): another node holds it for 30 s more/,
    );
    assert.equal(decodeTxt(first.registrar.registered!.txt.data).instance_id, "run-1");

    // The first node dies: it can no longer reach the server, its records stay until they lapse.
    net.detach("10.0.1.1");
    await clock.advance(TTL * 1000 + 1000);
    await second.registrar.register(request(["10.0.2.1"], "run-2"));
    const txts = server.find(INSTANCE, 16);
    assert.equal(txts.length, 1);
    assert.match(text(txts[0].rdata), /instance_id=run-2/);
    assert.deepEqual(server.find(HOST, 1).map((a) => [...a.rdata].join(".")), ["10.0.2.1"], "its address replaced");
    // The old node comes back and finds its registration taken: its refresh fails and it does not steal it back.
    net.attach("10.0.1.1");
    await clock.advance(TTL * 1000);
    assert.match(text(server.find(INSTANCE, 16)[0].rdata), /instance_id=run-2/);
    await first.registrar.stop();
    assert.match(
      text(server.find(INSTANCE, 16)[0].rdata),
      /instance_id=run-2/,
      "its stop() deletes nothing of the new owner",
    );
    await second.registrar.stop();
    assert.deepEqual(server.names(), []);
  } finally {
    await close();
  }
});

test("a refused update fails register() with the server, zone and rcode, and leaves nothing registered", async () => {
  const { server, registrar, close } = await setup();
  try {
    const { registrar: r } = registrar("other.example");
    const error = await r.register(request(["10.0.1.1"])).then(() => undefined, (e) => e);
    assert.ok(error instanceof WideAreaError, String(error));
    assert.equal(error.code, "DNS_REFUSED");
    assert.equal(error.rcode, "NOTAUTH");
    assert.equal(error.zone, "other.example.");
    assert.match(
      error.message,
      /DNS server 10\.0\.9\.53:53 refused the UPDATE registering 'Worker' in zone other\.example\.: NOTAUTH\. .*allow-update \{ key "pl-key"; \}/,
    );
    assert.deepEqual(server.names(), []);
    assert.equal(r.registered, undefined);
  } finally {
    await close();
  }
});

test("a registration deleted behind its back is registered again at the next refresh", async () => {
  const { clock, server, registrar, close } = await setup();
  try {
    const { registrar: r } = registrar();
    await r.register(request(["10.0.1.1"]));
    for (const name of server.names()) server.records.delete(name);
    await clock.advance(TTL * 500);
    assert.deepEqual(server.names(), ["_peerlink._tcp.lab.example", HOST.toLowerCase(), INSTANCE.toLowerCase()]);
    await r.stop();
  } finally {
    await close();
  }
});
