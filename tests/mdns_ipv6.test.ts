/**
 * IPv6 mDNS without sockets: link selection, the RFC 6762 section 11 source check for IPv6,
 * and the transport and responder over a scripted runtime that records every bind, join and
 * send (the in-memory network is IPv4 only). Real IPv6 multicast is tested on the private
 * LAN in tests/mdns_ipv6_lan.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  interfaceFor,
  isLinkLocal,
  linkId,
  parseIpv6,
  sameIpv6Prefix,
  selectIpv6Interfaces,
  selectLinks,
} from "../src/mdns/interfaces.ts";
import { Mdns } from "../src/mdns/mod.ts";
import { decodeMessage, encodeMessage, type MdnsMessage } from "../src/mdns/packet.ts";
import type { MdnsRecord } from "../src/mdns/records.ts";
import {
  type Datagram,
  type DatagramBindOptions,
  type DatagramSocket,
  type NetAddr,
  NetError,
  type NetworkInterface,
  type SocketRuntime,
} from "../src/net.ts";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { mulberry32 } from "../src/testing/prng.ts";
import { memoryLogger } from "./support/mdns_harness.ts";

const MASK64 = "ffff:ffff:ffff:ffff::";

const eth0: NetworkInterface = {
  name: "eth0",
  addresses: [
    { address: "192.168.1.7", family: "IPv4", netmask: "255.255.255.0" },
    { address: "fd00:1::7", family: "IPv6", netmask: MASK64, scopeId: 0 },
    { address: "fe80::7", family: "IPv6", netmask: MASK64, scopeId: 2 },
  ],
  internal: false,
  multicast: true,
};
const wlan0: NetworkInterface = {
  name: "wlan0",
  addresses: [
    { address: "10.1.0.9", family: "IPv4", netmask: "255.255.0.0" },
    { address: "fe80::9", family: "IPv6", netmask: MASK64, scopeId: 3 },
  ],
  internal: false,
  multicast: true,
};
const v6only: NetworkInterface = {
  name: "eth1",
  addresses: [{ address: "fe80::11", family: "IPv6", netmask: MASK64, scopeId: 4 }],
  internal: false,
  multicast: true,
};
const lo: NetworkInterface = {
  name: "lo",
  addresses: [
    { address: "127.0.0.1", family: "IPv4", netmask: "255.0.0.0" },
    { address: "::1", family: "IPv6", netmask: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", scopeId: 0 },
  ],
  internal: true,
  multicast: true,
};
const tun: NetworkInterface = {
  name: "tun0",
  addresses: [{ address: "fd99::2", family: "IPv6", netmask: MASK64 }],
  internal: false,
  multicast: false,
};

const ids = (links: { name: string; family: string }[]) => links.map((l) => `${l.name}/${l.family}`);

test("selectLinks(): IPv4 links first, then IPv6 on every multicast-capable external interface with IPv6, never loopback", () => {
  const links = selectLinks([lo, eth0, wlan0, v6only, tun]);
  assert.deepEqual(ids(links), ["eth0/IPv4", "wlan0/IPv4", "eth0/IPv6", "wlan0/IPv6", "eth1/IPv6"]);
  const eth0v6 = links.find((l) => linkId(l) === "eth0/IPv6")!;
  assert.equal(eth0v6.address, "fe80::7", "the link-local address names an IPv6 link");
  assert.equal(eth0v6.index, 2, "its scope id is the interface index");
  assert.equal(eth0v6.addresses.length, 3, "every address of the interface is kept for A/AAAA records");
  assert.deepEqual(ids(selectLinks([lo, tun])), ["lo/IPv4"], "loopback fallback stays IPv4 only");
  assert.deepEqual(selectIpv6Interfaces([lo]), []);
});

test("selectLinks(): a name selects both families of an interface, an address only its own family", () => {
  assert.deepEqual(ids(selectLinks([lo, eth0, wlan0], ["eth0"])), ["eth0/IPv4", "eth0/IPv6"]);
  assert.deepEqual(ids(selectLinks([lo, eth0, wlan0], ["192.168.1.7"])), ["eth0/IPv4"]);
  assert.deepEqual(ids(selectLinks([lo, eth0, wlan0], ["fe80::9"])), ["wlan0/IPv6"]);
  assert.deepEqual(ids(selectLinks([lo, eth0, wlan0], ["FD00:1::7"])), ["eth0/IPv6"], "case and form do not matter");
  assert.deepEqual(ids(selectLinks([lo, eth0], ["127.0.0.1"])), ["lo/IPv4"]);
  assert.deepEqual(ids(selectLinks([lo, eth0], ["lo"])), ["lo/IPv4"], "loopback never gets IPv6, even by name");
});

test("IPv6 source check: a link-local source belongs to the link its scope names, else to the first IPv6 link", () => {
  const links = selectLinks([lo, eth0, wlan0]);
  assert.equal(linkId(interfaceFor("fe80::abcd%wlan0", links)!), "wlan0/IPv6");
  assert.equal(linkId(interfaceFor("fe80::abcd%eth0", links)!), "eth0/IPv6");
  assert.equal(linkId(interfaceFor("fe80::abcd%3", links)!), "wlan0/IPv6", "a numeric scope is the interface index");
  assert.equal(linkId(interfaceFor("FE80::ABCD", links)!), "eth0/IPv6", "no scope (Deno): the first IPv6 link");
  assert.equal(linkId(interfaceFor("febf::1", links)!), "eth0/IPv6", "all of fe80::/10 is link-local");
  assert.equal(interfaceFor("fe80::abcd%tun0", links), undefined, "scoped to an interface we do not use");
  assert.equal(interfaceFor("fe80::abcd%9", links), undefined);
  assert.equal(linkId(interfaceFor("fe80::9%wlan0", links)!), "wlan0/IPv6", "our own address");
});

test("IPv6 source check: other sources must be on an on-link prefix; off-link, loopback and malformed ones are dropped", () => {
  const links = selectLinks([lo, eth0, wlan0]);
  assert.equal(linkId(interfaceFor("fd00:1::99", links)!), "eth0/IPv6", "on eth0's /64");
  assert.equal(linkId(interfaceFor("fd00:1::7", links)!), "eth0/IPv6", "our own address");
  assert.equal(interfaceFor("fd00:2::99", links), undefined, "another prefix is off-link");
  assert.equal(interfaceFor("2001:db8::1", links), undefined);
  assert.equal(interfaceFor("::1", links), undefined, "loopback is not one of our IPv6 links");
  assert.equal(interfaceFor("fe80::zz", links), undefined);
  assert.equal(interfaceFor("1:2:3:4:5:6:7:8:9", links), undefined);
  assert.equal(interfaceFor("fe80::1::2", links), undefined);
  // IPv4 sources (plain or mapped) only ever match IPv4 links.
  assert.equal(linkId(interfaceFor("::ffff:192.168.1.20", links)!), "eth0/IPv4");
  assert.equal(linkId(interfaceFor("10.1.3.4", links)!), "wlan0/IPv4");
  assert.equal(interfaceFor("10.1.3.4", links.filter((l) => l.family === "IPv6")), undefined);
});

test("parseIpv6(), isLinkLocal() and sameIpv6Prefix() read compressed, scoped and IPv4-tailed forms", () => {
  assert.deepEqual(parseIpv6("fe80::1%eth0"), [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(parseIpv6("::"), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(parseIpv6("::ffff:10.0.0.1"), [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]);
  assert.deepEqual(parseIpv6("1:2:3:4:5:6:7:8"), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const bad of ["", "1:2:3", "1::2::3", "12345::", "::1.2.3", "g::1", "1:2:3:4:5:6:7:8::", "10.0.0.1"]) {
    assert.equal(parseIpv6(bad), undefined, bad);
  }
  assert.equal(isLinkLocal("fe80::1"), true);
  assert.equal(isLinkLocal("fe9a::1%2"), true);
  assert.equal(isLinkLocal("fec0::1"), false);
  assert.equal(isLinkLocal("fd00::1"), false);
  assert.equal(sameIpv6Prefix("fd00:1::5", "fd00:1::7", MASK64), true);
  assert.equal(sameIpv6Prefix("fd00:1:0:1::5", "fd00:1::7", MASK64), false);
  assert.equal(sameIpv6Prefix("fd00:1::5", "nonsense", MASK64), false);
});

// ---- the transport and responder over a scripted runtime ----

/** A socket that records what is done to it; `deliver()` plays a received datagram. */
class ScriptedSocket implements DatagramSocket {
  readonly localAddress: NetAddr;
  readonly options: DatagramBindOptions;
  readonly joins: string[] = [];
  readonly sent: Array<{ address: string; port: number; message: MdnsMessage }> = [];
  readonly #onMessage: (m: Datagram) => void;
  closed = false;

  constructor(options: DatagramBindOptions, onMessage: (m: Datagram) => void) {
    this.options = options;
    this.localAddress = {
      address: options.address,
      port: options.port,
      family: options.address.includes(":") ? "IPv6" : "IPv4",
    };
    this.#onMessage = onMessage;
  }

  send(data: Uint8Array, address: string, port: number): Promise<void> {
    const decoded = decodeMessage(data);
    assert.ok(decoded.ok, "we only send well-formed messages");
    this.sent.push({ address, port, message: decoded.message });
    return Promise.resolve();
  }
  joinMulticast(group: string, iface?: string): Promise<void> {
    this.joins.push(`${group}@${iface}`);
    return Promise.resolve();
  }
  leaveMulticast(): Promise<void> {
    return Promise.resolve();
  }
  setMulticastInterface(): Promise<void> {
    return Promise.resolve();
  }
  setMulticastTTL(): Promise<void> {
    return Promise.resolve();
  }
  setMulticastLoopback(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  deliver(message: MdnsMessage, address: string, port = 5353): void {
    this.#onMessage({ data: encodeMessage(message), address, port });
  }
}

/** A runtime with the given interfaces whose sockets are {@linkcode ScriptedSocket}s. */
class ScriptedRuntime implements SocketRuntime {
  readonly name = "scripted";
  readonly sockets: ScriptedSocket[] = [];
  readonly #interfaces: NetworkInterface[];
  readonly #ipv6: boolean;

  constructor(interfaces: NetworkInterface[], options: { ipv6?: boolean } = {}) {
    this.#interfaces = interfaces;
    this.#ipv6 = options.ipv6 ?? true;
  }

  bindDatagram(options: DatagramBindOptions, onMessage: (m: Datagram) => void): Promise<DatagramSocket> {
    if (options.address.includes(":") && !this.#ipv6) {
      return Promise.reject(
        new NetError("ADDR_NOT_AVAILABLE", `ADDR_NOT_AVAILABLE: UDP bind [::]:${options.port}: IPv6 is disabled`),
      );
    }
    const socket = new ScriptedSocket(options, onMessage);
    this.sockets.push(socket);
    return Promise.resolve(socket);
  }
  listen(): never {
    throw new Error("not used");
  }
  connect(): never {
    throw new Error("not used");
  }
  networkInterfaces(): NetworkInterface[] {
    return this.#interfaces;
  }
  socket(family: "IPv4" | "IPv6"): ScriptedSocket {
    const found = this.sockets.find((s) => s.localAddress.family === family);
    assert.ok(found, `no ${family} socket was bound`);
    return found;
  }
}

const query = (name: string, type: string): MdnsMessage => ({
  id: 0,
  response: false,
  questions: [{ name, type, qu: false }],
  answers: [],
  authorities: [],
  additionals: [],
});

const recordsIn = (sent: ScriptedSocket["sent"]): MdnsRecord[] =>
  sent.flatMap((s) => [...s.message.answers, ...s.message.additionals]);

async function publishedNode(runtime: SocketRuntime, clock: FakeClock, logger = memoryLogger()): Promise<Mdns> {
  const mdns = new Mdns({
    runtime,
    clock,
    logger,
    random: mulberry32(3),
    hostName: "box",
    pollIntervalMs: 0,
  });
  await mdns.start();
  const published = mdns.publish({ instance: "Svc", type: "_peerlink._tcp", port: 7000 });
  await clock.advance(40_000); // probes, then all six announcements
  await published;
  return mdns;
}

test("IPv6: binds [::]:5353 with reuse, joins ff02::fb by interface name and announces to ff02::fb%iface", async () => {
  const clock = new FakeClock(1_000_000);
  const runtime = new ScriptedRuntime([lo, eth0]);
  const mdns = await publishedNode(runtime, clock);
  try {
    const v6 = runtime.socket("IPv6");
    assert.deepEqual(v6.options, { address: "::", port: 5353, reuseAddress: true });
    assert.deepEqual(v6.joins, ["ff02::fb@eth0"]);
    assert.deepEqual(runtime.socket("IPv4").joins, ["224.0.0.251@192.168.1.7"]);
    assert.deepEqual(ids([...mdns.interfaces]), ["eth0/IPv4", "eth0/IPv6"]);
    assert.ok(v6.sent.length > 0);
    assert.deepEqual([...new Set(v6.sent.map((s) => `${s.address} ${s.port}`))], ["ff02::fb%eth0 5353"]);
    const probes = v6.sent.filter((s) => !s.message.response);
    assert.ok(probes.some((p) => p.message.authorities.length > 0), "names are probed over IPv6 too");
    const announced = recordsIn(v6.sent.filter((s) => s.message.response));
    const addresses = [...new Set(announced.filter((r) => r.type === "A" || r.type === "AAAA").map((r) => r.data))];
    assert.deepEqual(addresses.sort(), ["192.168.1.7", "fd00:1::7", "fe80::7"], "the interface's own A and AAAA");
    assert.ok(announced.some((r) => r.type === "SRV"));
    assert.equal(mdns.stats.transport.sentIpv6, v6.sent.length);
  } finally {
    await mdns.stop();
  }
  assert.equal(runtime.sockets.length, 2, "one IPv4 and one IPv6 socket");
  assert.ok(runtime.sockets.every((s) => s.closed), "stop() closes both sockets");
});

test("IPv6: a query is answered on the link it came on; link-local senders get the link's scope", async () => {
  const clock = new FakeClock(1_000_000);
  const runtime = new ScriptedRuntime([lo, eth0, wlan0]);
  const mdns = await publishedNode(runtime, clock);
  try {
    const v4 = runtime.socket("IPv4");
    const v6 = runtime.socket("IPv6");
    v4.sent.length = 0;
    v6.sent.length = 0;
    v6.deliver(query("box.local", "AAAA"), "fe80::99%wlan0");
    await clock.advance(200);
    assert.equal(v4.sent.length, 0, "nothing over IPv4");
    assert.deepEqual(v6.sent.map((s) => s.address), ["ff02::fb%wlan0"], "only on wlan0's IPv6 link");
    assert.deepEqual(v6.sent[0].message.answers.map((r) => `${r.type} ${r.data}`), ["AAAA fe80::9"]);
    // A legacy (one-shot) query from a port other than 5353 is answered by unicast; a source
    // without scope (as Deno reports it) gets the scope of the link it was matched to.
    v6.sent.length = 0;
    v6.deliver({ ...query("Svc._peerlink._tcp.local", "SRV"), id: 77 }, "fe80::99", 40000);
    await clock.advance(200);
    assert.deepEqual(v6.sent.map((s) => `${s.address} ${s.port} ${s.message.id}`), ["fe80::99%eth0 40000 77"]);
  } finally {
    await mdns.stop();
  }
});

test("IPv6: IPv4 and off-link sources on the IPv6 socket are dropped and counted", async () => {
  const clock = new FakeClock(1_000_000);
  const runtime = new ScriptedRuntime([lo, eth0]);
  const mdns = await publishedNode(runtime, clock);
  try {
    const v6 = runtime.socket("IPv6");
    v6.sent.length = 0;
    const before = mdns.stats.transport.accepted;
    v6.deliver(query("box.local", "AAAA"), "192.168.1.20");
    v6.deliver(query("box.local", "AAAA"), "::ffff:192.168.1.20");
    v6.deliver(query("box.local", "AAAA"), "2001:db8::5");
    v6.deliver(query("box.local", "AAAA"), "::1");
    await clock.advance(2000);
    const { dropped, accepted } = mdns.stats.transport;
    assert.equal(dropped["not an IPv6 source"], 2);
    assert.equal(dropped["off-link source"], 2);
    assert.equal(accepted, before);
    assert.equal(v6.sent.length, 0, "none of them was answered");
    v6.deliver(query("box.local", "AAAA"), "fd00:1::20"); // on-link prefix
    await clock.advance(200);
    assert.equal(mdns.stats.transport.acceptedIpv6, 1);
    assert.deepEqual(v6.sent.map((s) => s.address), ["ff02::fb%eth0"]);
  } finally {
    await mdns.stop();
  }
});

test("IPv6: duplicate answer suppression and rate limits are kept per family", async () => {
  const clock = new FakeClock(1_000_000);
  const runtime = new ScriptedRuntime([lo, eth0]);
  const mdns = await publishedNode(runtime, clock);
  try {
    const v4 = runtime.socket("IPv4");
    const v6 = runtime.socket("IPv6");
    v4.sent.length = 0;
    v6.sent.length = 0;
    // The same browse question on both families; the shared PTR answer waits 20-120 ms.
    const ptr = query("_peerlink._tcp.local", "PTR");
    v4.deliver(ptr, "192.168.1.20");
    v6.deliver(ptr, "fe80::20");
    // Another host answers it over IPv4 first: that suppresses our IPv4 answer only.
    v4.deliver({
      id: 0,
      response: true,
      questions: [],
      answers: [{
        name: "_peerlink._tcp.local",
        type: "PTR",
        ttl: 4500,
        flush: false,
        data: "Svc._peerlink._tcp.local",
      }],
      authorities: [],
      additionals: [],
    }, "192.168.1.20");
    await clock.advance(200);
    const ptrAnswers = (s: ScriptedSocket) => s.sent.flatMap((x) => x.message.answers).filter((r) => r.type === "PTR");
    assert.equal(ptrAnswers(v4).length, 0, "suppressed over IPv4 by the other host's answer");
    assert.equal(ptrAnswers(v6).length, 1, "still answered over IPv6, where nobody else did");
    // Right after answering over IPv6, a second IPv6 question waits for the 1 s rate limit.
    v6.sent.length = 0;
    v6.deliver(ptr, "fe80::21");
    await clock.advance(200);
    assert.equal(ptrAnswers(v6).length, 0, "not again within a second on the same link");
    await clock.advance(1000);
    assert.equal(ptrAnswers(v6).length, 1, "sent once the second is over");
  } finally {
    await mdns.stop();
  }
});

test("IPv6: when its socket cannot be made, that is logged at debug and IPv4 carries on", async () => {
  const clock = new FakeClock(1_000_000);
  const runtime = new ScriptedRuntime([lo, eth0], { ipv6: false });
  const logger = memoryLogger();
  const mdns = await publishedNode(runtime, clock, logger);
  try {
    assert.equal(runtime.sockets.length, 1, "only the IPv4 socket");
    assert.deepEqual(ids([...mdns.interfaces]), ["eth0/IPv4"]);
    const v4 = runtime.socket("IPv4");
    assert.ok(recordsIn(v4.sent).some((r) => r.type === "SRV"), "announced over IPv4");
    const lines = logger.lines.filter((l) => /no IPv6 socket/.test(l));
    assert.equal(lines.length, 1, "said once");
    assert.match(lines[0], /^debug: .*IPv6 is disabled/);
    assert.equal(logger.lines.filter((l) => /^(warn|error)/.test(l)).length, 0, "no warning for a missing IPv6");
    assert.equal(mdns.stats.transport.sendErrors, 0, "nothing is sent over the missing family");
  } finally {
    await mdns.stop();
  }
});
