import { test } from "node:test";
import assert from "node:assert/strict";
import { Lan, memoryLogger } from "../support/mdns_harness.ts";
import { Mdns, type ServiceInstance } from "../../src/mdns/mod.ts";
import { interfaceFor, selectInterfaces } from "../../src/mdns/interfaces.ts";
import type { DatagramSocket, NetworkInterface, SocketRuntime } from "../../src/net.ts";
import { toNetError } from "../../src/net_errors.ts";
import { mulberry32 } from "../../src/testing/prng.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { Responder } from "../../src/mdns/responder.ts";
import { normalizeService } from "../../src/mdns/service.ts";
import type { MdnsMessage } from "../../src/mdns/packet.ts";

const eth0: NetworkInterface = {
  name: "eth0",
  addresses: [{ address: "192.168.1.7", family: "IPv4", netmask: "255.255.255.0" }],
  internal: false,
  multicast: true,
};
const wlan0: NetworkInterface = {
  name: "wlan0",
  addresses: [
    { address: "10.1.0.9", family: "IPv4", netmask: "255.255.0.0" },
    { address: "fe80::1", family: "IPv6", netmask: "ffff:ffff:ffff:ffff::", scopeId: 3 },
  ],
  internal: false,
  multicast: true,
};
const lo: NetworkInterface = {
  name: "lo",
  addresses: [{ address: "127.0.0.1", family: "IPv4", netmask: "255.0.0.0" }],
  internal: true,
  multicast: false,
};
const tun: NetworkInterface = {
  ...eth0,
  name: "tun0",
  multicast: false,
  addresses: [{ ...eth0.addresses[0], address: "10.8.0.2" }],
};

test("selectInterfaces(): every multicast-capable external interface by default, loopback when there is none", () => {
  assert.deepEqual(selectInterfaces([lo, eth0, wlan0, tun]).map((i) => i.name), ["eth0", "wlan0"]);
  assert.deepEqual(selectInterfaces([lo, tun]).map((i) => i.name), ["lo"]);
  assert.deepEqual(selectInterfaces([lo, eth0, wlan0], ["wlan0"]).map((i) => i.name), ["wlan0"]);
  assert.deepEqual(selectInterfaces([lo, eth0, wlan0], ["192.168.1.7"]).map((i) => i.name), ["eth0"]);
  assert.deepEqual(selectInterfaces([lo, eth0], ["nope"]), []);
  assert.equal(selectInterfaces([wlan0])[0].addresses.length, 2, "IPv6 addresses kept for AAAA records");
});

test("interfaceFor(): a source belongs to the interface whose subnet contains it; others are off-link", () => {
  const chosen = selectInterfaces([lo, eth0, wlan0]);
  assert.equal(interfaceFor("192.168.1.20", chosen)?.name, "eth0");
  assert.equal(interfaceFor("10.1.200.3", chosen)?.name, "wlan0");
  assert.equal(interfaceFor("fe80::abcd", chosen)?.name, "wlan0");
  assert.equal(interfaceFor("::ffff:192.168.1.20", chosen)?.name, "eth0");
  assert.equal(interfaceFor("192.168.2.1", chosen), undefined);
  assert.equal(interfaceFor("8.8.8.8", chosen), undefined);
});

/** What a browser of `_peerlink._tcp` on `node` sees, in order: `up <address>`, `down <reason>`. */
function upsAndDowns(node: Mdns): string[] {
  const seen: string[] = [];
  node.browse("_peerlink._tcp", {
    onUp: (i: ServiceInstance) => seen.push(`up ${i.addresses[0]}`),
    onDown: (_i, reason) => seen.push(`down ${reason}`),
  });
  return seen;
}

/** A memory host whose interface list the test controls (a `present` that throws makes the listing fail). */
function switchable(inner: SocketRuntime, present: () => boolean): SocketRuntime {
  return {
    name: inner.name,
    bindDatagram: (o, cb) => inner.bindDatagram(o, cb),
    listen: (o, cb) => inner.listen(o, cb),
    connect: (o) => inner.connect(o),
    networkInterfaces: () => (present() ? inner.networkInterfaces().filter((i) => !i.internal) : []),
  };
}

test("an interface that appears is joined and announced on; one that vanishes is left, without crashing", async () => {
  const lan = new Lan();
  try {
    let up = false;
    const logger = memoryLogger();
    const a = new Mdns({
      runtime: switchable(lan.host(1), () => up),
      clock: lan.clock,
      random: mulberry32(5),
      logger,
      pollIntervalMs: 1000,
    });
    await a.start();
    lan.nodes.push(a);
    const addresses = () => a.interfaces.map((i) => i.address);
    assert.deepEqual(addresses(), []);
    assert.ok(logger.lines.some((l) => /no usable interface/.test(l)));
    const pub = a.publish({ instance: "Roamer", type: "_peerlink._tcp", port: 7000 });
    await lan.advance(2000);
    await pub; // probing on no interface succeeds trivially
    const b = await lan.node(2);
    const seen = upsAndDowns(b);
    await lan.advance(3000);
    assert.deepEqual(seen, [], "nothing visible while the interface is down");
    up = true; // WiFi connects
    await lan.advance(1500);
    assert.deepEqual(addresses(), ["10.0.0.1"]);
    assert.deepEqual(seen, ["up 10.0.0.1"], "announced on the new interface");
    up = false; // WiFi drops
    await lan.advance(1500);
    assert.deepEqual(addresses(), []);
    const before = a.stats.transport.received;
    await lan.advance(10_000);
    assert.equal(a.stats.transport.received, before, "no longer a member of the group");
    up = true; // and comes back
    await lan.advance(1500);
    assert.deepEqual(addresses(), ["10.0.0.1"]);
  } finally {
    await lan.close();
  }
});

test("an interface list that cannot be read keeps the links: the node stays visible and answers", async () => {
  const lan = new Lan();
  try {
    let failing = false;
    const runtime = switchable(lan.host(1), () => {
      if (failing) throw new Error("ENOBUFS: no buffer space available, getifaddrs");
      return true;
    });
    const a = new Mdns({
      runtime,
      clock: lan.clock,
      random: mulberry32(6),
      logger: memoryLogger(),
      pollIntervalMs: 1000,
    });
    await a.start();
    lan.nodes.push(a);
    const pub = a.publish({ instance: "Steady", type: "_peerlink._tcp", port: 7000 });
    await lan.advance(2000);
    await pub;
    const b = await lan.node(2);
    const seen = upsAndDowns(b);
    await lan.advance(1500);
    assert.deepEqual(seen, ["up 10.0.0.1"]);
    failing = true; // every poll fails for a while
    await lan.advance(5000);
    assert.deepEqual(a.interfaces.map((i) => i.address), ["10.0.0.1"], "the links are kept");
    const received = a.stats.transport.received;
    const c = await lan.node(3);
    const late = upsAndDowns(c);
    await lan.advance(1500);
    assert.ok(a.stats.transport.received > received, "still hears the group");
    assert.deepEqual(late, ["up 10.0.0.1"], "and answers a new browser");
    failing = false;
    await lan.advance(2000);
    assert.deepEqual(seen, ["up 10.0.0.1"], "never reported down");
  } finally {
    await lan.close();
  }
});

/**
 * A memory host whose sockets cannot choose the interface of outgoing multicast, as under
 * qemu-user 7.2 (Debian 12), which lacks IP_MULTICAST_IF: the option fails with ENOPROTOOPT.
 */
function withoutMulticastInterface(inner: SocketRuntime): SocketRuntime {
  const noOption = (address: string) =>
    Promise.reject(
      toNetError(
        Object.assign(new Error("ENOPROTOOPT: protocol not available, setsockopt"), { code: "ENOPROTOOPT" }),
        `UDP setMulticastInterface(${address})`,
      ),
    );
  return {
    name: inner.name,
    bindDatagram: async (o, cb): Promise<DatagramSocket> => {
      const socket = await inner.bindDatagram(o, cb);
      return {
        get localAddress() {
          return socket.localAddress;
        },
        send: (data, address, port) => socket.send(data, address, port),
        joinMulticast: (group, iface) => socket.joinMulticast(group, iface),
        leaveMulticast: (group, iface) => socket.leaveMulticast(group, iface),
        setMulticastInterface: noOption,
        setMulticastTTL: (ttl) => socket.setMulticastTTL(ttl),
        setMulticastLoopback: (enabled) => socket.setMulticastLoopback(enabled),
        close: () => socket.close(),
      };
    },
    listen: (o, cb) => inner.listen(o, cb),
    connect: (o) => inner.connect(o),
    networkInterfaces: () => inner.networkInterfaces(),
  };
}

test("a node whose system cannot choose the multicast interface still announces and finds others", async () => {
  const lan = new Lan();
  try {
    const logger = memoryLogger();
    const emulated = await lan.node(1, { runtime: withoutMulticastInterface(lan.host(1)), logger });
    const native = await lan.node(2);
    const published = [
      emulated.publish({ instance: "Emulated", type: "_peerlink._tcp", port: 7000 }),
      native.publish({ instance: "Native", type: "_peerlink._tcp", port: 7001 }),
    ];
    const seenByNative: string[] = [];
    const seenByEmulated: string[] = [];
    native.browse("_peerlink._tcp", { onUp: (i) => seenByNative.push(i.name) });
    emulated.browse("_peerlink._tcp", { onUp: (i) => seenByEmulated.push(i.name) });
    await lan.advance(5000);
    await Promise.all(published);
    assert.ok(seenByNative.includes("Emulated"), `the native node sees it: ${seenByNative}`);
    assert.ok(seenByEmulated.includes("Native"), `and it sees the native node: ${seenByEmulated}`);
    assert.equal(emulated.stats.transport.sendErrors, 0, "every multicast was sent");
    const warnings = logger.lines.filter((line) => /cannot choose the interface for multicast/.test(line));
    assert.equal(warnings.length, 1, `said once, not per packet: ${warnings.join("\n")}`);
    assert.match(warnings[0], /^warn: .*UNSUPPORTED/);
  } finally {
    await lan.close();
  }
});

test("a querier re-asks at once when an interface appears", async () => {
  const lan = new Lan();
  try {
    const peer = await lan.node(2);
    const pub = peer.publish({ instance: "Early", type: "_peerlink._tcp", port: 7000 });
    await lan.advance(5000);
    await pub;
    let up = false;
    const node = new Mdns({
      runtime: switchable(lan.host(1), () => up),
      clock: lan.clock,
      random: mulberry32(9),
      logger: memoryLogger(),
      pollIntervalMs: 1000,
      maxQueryIntervalMs: 3_600_000,
    });
    await node.start();
    lan.nodes.push(node);
    const seen: string[] = [];
    node.browse("_peerlink._tcp", { onUp: (i) => seen.push(i.name) });
    await lan.advance(60_000); // the query interval has grown to 32 s and more
    up = true;
    await lan.advance(1200);
    assert.deepEqual(seen, ["Early"]);
  } finally {
    await lan.close();
  }
});

test("each interface is announced and answered with its own addresses", async () => {
  const clock = new FakeClock();
  const ifaces = selectInterfaces([lo, eth0, wlan0]);
  const sent: Array<{ iface: string; message: MdnsMessage }> = [];
  const responder = new Responder({
    clock,
    random: mulberry32(1),
    logger: memoryLogger(),
    hostName: "pl-test.local",
    output: {
      interfaces: () => ifaces,
      multicast: (message, iface) => {
        sent.push({ iface: iface.name, message });
        return Promise.resolve();
      },
      unicast: () => Promise.resolve(),
    },
  });
  const done = responder.publish(normalizeService({ instance: "Multi", type: "_peerlink._tcp", port: 1 }));
  await clock.advance(1000);
  await done;
  const addressesOn = (name: string) =>
    sent.filter((s) => s.iface === name && s.message.response).flatMap((s) => s.message.answers)
      .filter((r) => r.type === "A" || r.type === "AAAA").map((r) => `${r.type} ${r.data}`);
  assert.deepEqual([...new Set(addressesOn("eth0"))], ["A 192.168.1.7"]);
  assert.deepEqual([...new Set(addressesOn("wlan0"))], ["A 10.1.0.9", "AAAA fe80::1"]);
  await clock.advance(40_000);
  sent.length = 0;
  responder.handleQuery({
    message: {
      id: 0,
      response: false,
      questions: [{ name: "pl-test.local", type: "A", qu: false }],
      answers: [],
      authorities: [],
      additionals: [],
    },
    address: "192.168.1.20",
    port: 5353,
    iface: ifaces[0],
    legacy: false,
  });
  await clock.advance(200);
  assert.deepEqual(sent.map((s) => s.iface), ["eth0"]);
  assert.deepEqual(sent[0].message.answers.map((r) => r.data), ["192.168.1.7"]);
  await responder.stop();
});
