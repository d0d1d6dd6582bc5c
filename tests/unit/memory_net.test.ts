import { test } from "node:test";
import assert from "node:assert/strict";
import { type Datagram, NetError, type StreamConnection } from "../../src/net.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { type MemoryHost, MemoryNetwork } from "../../src/testing/memory_net.ts";

const A = "10.0.0.1";
const B = "10.0.0.2";
const C = "10.0.0.3";
const GROUP = "224.0.0.251";

/** Waits until every queued microtask (zero-delay delivery and what it triggers) has run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** Binds `0.0.0.0:port` on `host` and collects what arrives. */
async function receiver(host: MemoryHost, port = 0, reuseAddress = false) {
  const got: Datagram[] = [];
  const socket = await host.bindDatagram({ address: "0.0.0.0", port, reuseAddress }, (m) => got.push(m));
  return { socket, got, texts: () => got.map((m) => text(m.data)) };
}

/** Sends `count` numbered datagrams from A to B and returns which numbers arrived. */
async function lossPattern(seed: number, loss: number, count: number): Promise<number[]> {
  const network = new MemoryNetwork({ seed, loss });
  const to = await receiver(network.host(B), 7000);
  const from = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  for (let i = 0; i < count; i++) await from.send(bytes(String(i)), B, 7000);
  await settle();
  await network.close();
  return to.texts().map(Number);
}

async function connectedPair(network: MemoryNetwork, port = 0) {
  const accepted: StreamConnection[] = [];
  const listener = await network.host(B).listen({ address: "0.0.0.0", port }, (c) => accepted.push(c));
  const client = await network.host(A).connect({ address: B, port: listener.localAddress.port });
  await settle();
  assert.equal(accepted.length, 1);
  return { listener, client, server: accepted[0] };
}

test("MemoryNetwork delivers unicast with the sender's address and port, copying the payload", async () => {
  const network = new MemoryNetwork({ clock: new FakeClock() });
  const to = await receiver(network.host(B), 6000);
  const from = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  const buffer = bytes("first");
  await from.send(buffer, B, 6000);
  buffer.set(bytes("XXXXX")); // the sender reuses its buffer at once
  // Zero delay: delivered in a microtask, visible after the await without advancing the clock.
  assert.deepEqual(to.texts(), ["first"]);
  assert.equal(to.got[0].address, A);
  assert.equal(to.got[0].port, from.localAddress.port);
  assert.ok(from.localAddress.port >= 49152);
  assert.deepEqual(network.stats, { sent: 1, delivered: 1, dropped: 0, duplicated: 0, unroutable: 0 });
  await network.close();
});

test("MemoryNetwork hosts report a loopback and one multicast LAN interface", () => {
  const network = new MemoryNetwork();
  const host = network.host(A, { interfaceName: "wlan0" });
  assert.equal(network.host(A), host);
  assert.equal(host.name, "memory");
  const interfaces = host.networkInterfaces();
  const lan = interfaces.filter((i) => !i.internal);
  assert.equal(lan.length, 1);
  assert.equal(lan[0].name, "wlan0");
  assert.equal(lan[0].multicast, true);
  assert.deepEqual(lan[0].addresses.map((a) => [a.address, a.family]), [[A, "IPv4"]]);
  const lo = interfaces.find((i) => i.internal);
  assert.equal(lo?.addresses[0].address, "127.0.0.1");
  assert.throws(() => network.host("127.0.0.1"), /not a unicast IPv4 address/);
  assert.throws(() => network.host("224.0.0.1"), RangeError);
  assert.throws(() => network.host("10.0.0"), RangeError);
});

test("MemoryNetwork with the same seed drops the same datagrams; another seed differs", async () => {
  const first = await lossPattern(42, 0.3, 300);
  const again = await lossPattern(42, 0.3, 300);
  const other = await lossPattern(43, 0.3, 300);
  assert.ok(first.length > 150 && first.length < 260, `kept ${first.length} of 300`);
  assert.deepEqual(again, first);
  assert.notDeepEqual(other, first);
});

test("MemoryNetwork loses about the configured share of 10,000 datagrams", async () => {
  const network = new MemoryNetwork({ seed: 2024, loss: 0.2 });
  const to = await receiver(network.host(B), 7001);
  const from = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  const payload = bytes("x");
  for (let i = 0; i < 10_000; i++) await from.send(payload, B, 7001);
  await settle();
  const { sent, delivered, dropped } = network.stats;
  assert.equal(sent, 10_000);
  assert.equal(delivered + dropped, 10_000);
  assert.equal(to.got.length, delivered);
  assert.ok(dropped > 1800 && dropped < 2200, `dropped ${dropped} of 10,000 at loss 0.2`);
  await network.close();
});

test("MemoryNetwork duplicates datagrams as configured, each copy its own buffer", async () => {
  const network = new MemoryNetwork({ seed: 5, duplicate: 0.25 });
  const to = await receiver(network.host(B), 7002);
  const from = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  for (let i = 0; i < 2000; i++) await from.send(bytes(String(i)), B, 7002);
  await settle();
  const { duplicated, delivered, dropped } = network.stats;
  assert.equal(dropped, 0);
  assert.equal(delivered, 2000 + duplicated);
  assert.ok(duplicated > 400 && duplicated < 600, `duplicated ${duplicated} of 2000 at 0.25`);
  const counts = new Map<string, number>();
  for (const t of to.texts()) counts.set(t, (counts.get(t) ?? 0) + 1);
  assert.equal(counts.size, 2000);
  assert.equal([...counts.values()].filter((n) => n === 2).length, duplicated);
  const twice = [...counts].find(([, n]) => n === 2)![0];
  const copies = to.got.filter((m) => text(m.data) === twice);
  assert.notEqual(copies[0].data, copies[1].data);
  await network.close();
});

test("MemoryNetwork delays datagrams on the fake clock and close() cancels their timers", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 9, clock, delayMs: [50, 100] });
  const to = await receiver(network.host(B), 7003);
  const from = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  for (let i = 0; i < 20; i++) await from.send(bytes(String(i)), B, 7003);
  await settle();
  assert.equal(to.got.length, 0);
  assert.equal(clock.pending(), 20);
  await clock.advance(49);
  assert.equal(to.got.length, 0);
  await clock.advance(26);
  const early = to.got.length;
  assert.ok(early > 0 && early < 20, `${early} of 20 arrived by 75 ms`);
  await clock.advance(25);
  assert.equal(to.got.length, 20);
  assert.deepEqual(to.texts().map(Number).sort((x, y) => x - y), [...Array(20).keys()]);

  await from.send(bytes("in flight"), B, 7003);
  assert.equal(clock.pending(), 1);
  await to.socket.close();
  assert.equal(clock.pending(), 0, "closing the receiver cancels its delivery timers");
  await from.send(bytes("again"), B, 7003);
  await network.close();
  assert.equal(clock.pending(), 0);
});

test("MemoryNetwork.configure() changes impairments at run time and validates them", async () => {
  const network = new MemoryNetwork({ seed: 3 });
  const to = await receiver(network.host(B), 7004);
  const from = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  network.configure({ loss: 1 });
  for (let i = 0; i < 10; i++) await from.send(bytes("lost"), B, 7004);
  network.configure({ loss: 0 });
  for (let i = 0; i < 10; i++) await from.send(bytes("kept"), B, 7004);
  await settle();
  assert.deepEqual(to.texts(), Array(10).fill("kept"));
  assert.equal(network.stats.dropped, 10);
  assert.deepEqual(network.impairments, { loss: 0, delayMs: [0, 0], duplicate: 0 });
  assert.throws(() => network.configure({ loss: 1.5 }), /loss must be a probability in \[0, 1\]/);
  assert.throws(() => network.configure({ delayMs: [10, 5] }), /delayMs must be \[min, max\]/);
  assert.throws(() => new MemoryNetwork({ duplicate: -1 }), RangeError);
  await network.close();
});

test("MemoryNetwork.setLinkRule() cuts one direction of one host pair", async () => {
  const network = new MemoryNetwork({ seed: 4 });
  const atA = await receiver(network.host(A), 7005);
  const atB = await receiver(network.host(B), 7005);
  const atC = await receiver(network.host(C), 7005);
  network.setLinkRule(A, B, { loss: 1 });
  await atA.socket.send(bytes("a->b"), B, 7005);
  await atA.socket.send(bytes("a->c"), C, 7005);
  await atB.socket.send(bytes("b->a"), A, 7005);
  await settle();
  assert.deepEqual(atB.texts(), []);
  assert.deepEqual(atC.texts(), ["a->c"]);
  assert.deepEqual(atA.texts(), ["b->a"]);
  network.clearLinkRules();
  await atA.socket.send(bytes("a->b again"), B, 7005);
  await settle();
  assert.deepEqual(atB.texts(), ["a->b again"]);
  await network.close();
});

test("MemoryNetwork impairments spare a host's own traffic", async () => {
  const network = new MemoryNetwork({ seed: 6, loss: 1 });
  const host = network.host(A);
  const to = await receiver(host, 7006);
  const from = await host.bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  await from.send(bytes("loopback"), "127.0.0.1", 7006);
  await from.send(bytes("own address"), A, 7006);
  await settle();
  assert.deepEqual(to.texts(), ["loopback", "own address"]);
  assert.deepEqual(to.got.map((m) => m.address), ["127.0.0.1", A]);
  await network.close();
});

test("MemoryNetwork multicast reaches only sockets that joined, bound to the port", async () => {
  const network = new MemoryNetwork();
  const senderSide = await receiver(network.host(A), 5353, true);
  const joinedB = await receiver(network.host(B), 5353);
  const notJoinedC = await receiver(network.host(C), 5353);
  const otherPortB = await receiver(network.host(B), 5354);
  await senderSide.socket.joinMulticast(GROUP, A);
  await joinedB.socket.joinMulticast(GROUP);
  await otherPortB.socket.joinMulticast(GROUP, B);
  const sender = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  await sender.send(bytes("hello group"), GROUP, 5353);
  await settle();
  assert.deepEqual(joinedB.texts(), ["hello group"]);
  assert.equal(joinedB.got[0].address, A);
  assert.equal(joinedB.got[0].port, sender.localAddress.port);
  assert.deepEqual(senderSide.texts(), ["hello group"], "loopback is on by default");
  assert.deepEqual(notJoinedC.texts(), []);
  assert.deepEqual(otherPortB.texts(), []);

  await sender.setMulticastLoopback(false);
  await sender.send(bytes("no loopback"), GROUP, 5353);
  await joinedB.socket.leaveMulticast(GROUP);
  await sender.send(bytes("after leave"), GROUP, 5353);
  await settle();
  assert.deepEqual(senderSide.texts(), ["hello group"], "loopback off excludes the sender's host");
  assert.deepEqual(joinedB.texts(), ["hello group", "no loopback"]);
  await network.close();
});

test("MemoryNetwork multicast with TTL 0 or the loopback interface stays on the host", async () => {
  const network = new MemoryNetwork();
  const local = await receiver(network.host(A), 5353, true);
  const onLo = await receiver(network.host(A), 5353, true);
  const remote = await receiver(network.host(B), 5353);
  await local.socket.joinMulticast(GROUP, A);
  await onLo.socket.joinMulticast(GROUP, "127.0.0.1");
  await remote.socket.joinMulticast(GROUP, B);
  const sender = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  await sender.setMulticastTTL(0);
  await sender.send(bytes("ttl0"), GROUP, 5353);
  await sender.setMulticastTTL(255);
  await sender.setMulticastInterface("127.0.0.1");
  await sender.send(bytes("via lo"), GROUP, 5353);
  await settle();
  assert.deepEqual(remote.texts(), []);
  assert.deepEqual(local.texts(), ["ttl0"]);
  assert.deepEqual(onLo.texts(), ["via lo"]);
  assert.equal(onLo.got[0].address, "127.0.0.1");
  await assert.rejects(
    sender.setMulticastInterface("10.9.9.9"),
    (e) => e instanceof NetError && e.code === "ADDR_NOT_AVAILABLE",
  );
  await assert.rejects(sender.setMulticastTTL(256), /TTL must be an integer 0-255/);
  await assert.rejects(sender.joinMulticast("10.0.0.9"), /not an IPv4 multicast group/);
  await assert.rejects(sender.joinMulticast("ff02::fb"), (e) => e instanceof NetError && e.code === "UNSUPPORTED");
  await network.close();
});

test("MemoryNetwork sockets sharing a port with reuseAddress all get multicast; unicast goes to the last bound", async () => {
  const network = new MemoryNetwork();
  const first = await receiver(network.host(B), 5353, true);
  const second = await receiver(network.host(B), 5353, true);
  await first.socket.joinMulticast(GROUP);
  await second.socket.joinMulticast(GROUP);
  const sender = await network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  await sender.send(bytes("multicast"), GROUP, 5353);
  await sender.send(bytes("unicast"), B, 5353);
  await settle();
  assert.deepEqual(first.texts(), ["multicast"]);
  assert.deepEqual(second.texts(), ["multicast", "unicast"]);
  await second.socket.close();
  await sender.send(bytes("unicast 2"), B, 5353);
  await settle();
  assert.deepEqual(first.texts(), ["multicast", "unicast 2"]);
  await network.close();
});

test("MemoryNetwork busy ports fail with ADDR_IN_USE naming address and port", async () => {
  const network = new MemoryNetwork();
  const host = network.host(A);
  const udp = await host.bindDatagram({ address: "0.0.0.0", port: 5353, reuseAddress: true }, () => {});
  await assert.rejects(host.bindDatagram({ address: A, port: 5353 }, () => {}), (e: unknown) => {
    assert.ok(e instanceof NetError);
    assert.equal(e.code, "ADDR_IN_USE");
    assert.equal(e.port, 5353);
    assert.match(e.message, /^ADDR_IN_USE: UDP bind 10\.0\.0\.1:5353: address already in use/);
    return true;
  });
  const shared = await host.bindDatagram({ address: A, port: 5353, reuseAddress: true }, () => {});
  const tcp = await host.listen({ address: "127.0.0.1", port: 8000 }, () => {});
  await assert.rejects(
    host.listen({ address: "0.0.0.0", port: 8000 }, () => {}),
    /ADDR_IN_USE: TCP listen 0\.0\.0\.0:8000/,
  );
  const sideBySide = await host.listen({ address: A, port: 8000 }, () => {});
  const elsewhere = await network.host(B).listen({ address: "0.0.0.0", port: 8000 }, () => {});
  assert.equal(elsewhere.localAddress.port, 8000);
  const any1 = await host.bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  const any2 = await host.bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  assert.notEqual(any1.localAddress.port, any2.localAddress.port);
  await tcp.close();
  await sideBySide.close();
  const again = await host.listen({ address: "0.0.0.0", port: 8000 }, () => {});
  assert.equal(again.localAddress.port, 8000, "a closed listener frees its port");
  await Promise.all([udp.close(), shared.close(), any1.close(), any2.close(), again.close(), elsewhere.close()]);
  await network.close();
});

test("MemoryNetwork rejects bad binds and sends with clear errors", async () => {
  const network = new MemoryNetwork();
  const host = network.host(A);
  const code = (expected: string) => (e: unknown) => e instanceof NetError && e.code === expected;
  await assert.rejects(
    host.bindDatagram({ address: "10.9.9.9", port: 0 }, () => {}),
    /host 10\.0\.0\.1 has no address 10\.9\.9\.9/,
  );
  await assert.rejects(host.bindDatagram({ address: "::", port: 0 }, () => {}), code("UNSUPPORTED"));
  await assert.rejects(host.listen({ address: "0.0.0.0", port: 70000 }, () => {}), /port must be an integer 0-65535/);
  const socket = await host.bindDatagram({ address: "0.0.0.0", port: 0 }, () => {});
  await assert.rejects(socket.send(new Uint8Array(65508), B, 9), /65508 bytes > 65507/);
  await assert.rejects(socket.send(bytes("x"), B, 0), /port must be an integer 1-65535/);
  await assert.rejects(socket.send(bytes("x"), "not-an-ip", 9), /not a numeric IPv4 address/);
  await socket.send(bytes("x"), "10.7.7.7", 9); // nobody there: sent, counted unroutable
  assert.equal(network.stats.unroutable, 1, "no such host");
  network.host(B);
  await socket.send(bytes("x"), B, 9);
  assert.equal(network.stats.unroutable, 2, "nothing bound to the port");
  await socket.close();
  await socket.close();
  await assert.rejects(socket.send(bytes("x"), B, 9), code("CLOSED"));
  await network.close();
});

test("MemoryNetwork.detach() makes a host vanish until attach()", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ clock });
  const atA = await receiver(network.host(A), 7007);
  const atB = await receiver(network.host(B), 7007);
  network.detach(B);
  assert.equal(network.isAttached(B), false);
  await atA.socket.send(bytes("to vanished"), B, 7007);
  await atB.socket.send(bytes("from vanished"), A, 7007);
  await atB.socket.send(bytes("own loopback"), "127.0.0.1", 7007);
  await settle();
  assert.deepEqual(atA.texts(), []);
  assert.deepEqual(atB.texts(), ["own loopback"]);
  assert.equal(network.stats.dropped, 2);

  const listener = await network.host(B).listen({ address: "0.0.0.0", port: 9000 }, () => {});
  let outcome = "pending";
  const connecting = network.host(A).connect({ address: B, port: 9000, timeoutMs: 1000 }).then(
    () => (outcome = "connected"),
    (e) => (outcome = e instanceof NetError ? e.code : String(e)),
  );
  await clock.advance(999);
  assert.equal(outcome, "pending");
  await clock.advance(1);
  await connecting;
  assert.equal(outcome, "TIMED_OUT");

  network.attach(B);
  await atA.socket.send(bytes("back"), B, 7007);
  await settle();
  assert.deepEqual(atB.texts(), ["own loopback", "back"]);
  assert.throws(() => network.detach("10.9.9.9"), /no host 10\.9\.9\.9/);
  await listener.close();
  await network.close();
  assert.equal(clock.pending(), 0);
});

test("MemoryNetwork connects waiting for a detached host proceed when it returns", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ clock });
  const accepted: StreamConnection[] = [];
  await network.host(B).listen({ address: "0.0.0.0", port: 9001 }, (c) => accepted.push(c));
  network.detach(B);
  const connecting = network.host(A).connect({ address: B, port: 9001, timeoutMs: 5000 });
  await clock.advance(2000);
  assert.equal(clock.pending(), 1);
  network.attach(B);
  const client = await connecting;
  await settle();
  assert.equal(accepted.length, 1);
  assert.equal(clock.pending(), 0, "the connect timeout was cancelled");
  await client.close();
  await network.close();
});

test("MemoryNetwork stream bytes wait in flight while a host is detached", async () => {
  const network = new MemoryNetwork();
  const { client, server } = await connectedPair(network);
  network.detach(B);
  await client.write(bytes("held"));
  let got: Uint8Array | null | undefined;
  const reading = server.read().then((data) => (got = data));
  await settle();
  assert.equal(got, undefined);
  network.attach(B);
  await reading;
  assert.equal(text(got!), "held");
  await network.close();
});

test("MemoryNetwork TCP connect reports addresses, and refuses a closed port at once", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ clock });
  const { listener, client, server } = await connectedPair(network, 9100);
  assert.deepEqual(client.remoteAddress, { address: B, port: 9100, family: "IPv4" });
  assert.equal(client.localAddress.address, A);
  assert.deepEqual(server.remoteAddress, client.localAddress);
  assert.deepEqual(server.localAddress, client.remoteAddress);
  await listener.close();
  await assert.rejects(network.host(A).connect({ address: B, port: 9100, timeoutMs: 60_000 }), (e: unknown) => {
    assert.ok(e instanceof NetError);
    assert.equal(e.code, "CONNECTION_REFUSED");
    assert.match(e.message, /TCP connect 10\.0\.0\.2:9100/);
    return true;
  });
  assert.equal(clock.now(), 0, "refused without waiting");
  assert.equal(clock.pending(), 0);
  await network.close();
});

test("MemoryNetwork TCP write stalls while the reader does not read (backpressure)", async () => {
  const network = new MemoryNetwork({ highWaterMark: 256 * 1024 });
  const { client, server } = await connectedPair(network);
  let written = false;
  const writing = client.write(new Uint8Array(1024 * 1024).fill(7)).then(() => (written = true));
  for (let i = 0; i < 5; i++) await settle();
  assert.equal(written, false, "writer waits while nothing is read");
  let total = 0;
  while (!written) {
    const chunk = await server.read();
    assert.ok(chunk && chunk.length <= 64 * 1024);
    total += chunk.length;
    await settle();
    assert.ok(total <= 1024 * 1024);
  }
  await writing;
  assert.ok(total >= 1024 * 1024 - 256 * 1024, `the write resolved after ${total} bytes were read`);
  await network.close();
});

test("MemoryNetwork TCP close rejects our read with CLOSED; the peer reads the rest, then null", async () => {
  const network = new MemoryNetwork();
  const { client, server } = await connectedPair(network);
  const pending = server.read();
  await client.write(bytes("last words"));
  assert.equal(text((await pending)!), "last words");
  await client.write(bytes("buffered"));
  const ourRead = assert.rejects(client.read(), (e) => e instanceof NetError && e.code === "CLOSED");
  await client.close();
  await ourRead;
  await assert.rejects(client.read(), (e) => e instanceof NetError && e.code === "CLOSED");
  await assert.rejects(client.write(bytes("x")), (e) => e instanceof NetError && e.code === "CLOSED");
  assert.equal(text((await server.read())!), "buffered");
  assert.equal(await server.read(), null);
  await assert.rejects(server.write(bytes("too late")), (e) => e instanceof NetError && e.code === "CONNECTION_RESET");
  await server.close();
  await network.close();
});

test("MemoryNetwork TCP closeWrite() ends the peer's reads while the other direction works", async () => {
  const network = new MemoryNetwork();
  const { client, server } = await connectedPair(network);
  await client.write(bytes("request"));
  await client.closeWrite();
  await client.closeWrite();
  assert.equal(text((await server.read())!), "request");
  assert.equal(await server.read(), null);
  await assert.rejects(client.write(bytes("more")), /CLOSED/);
  await server.write(bytes("response"));
  await server.close();
  assert.equal(text((await client.read())!), "response");
  assert.equal(await client.read(), null);
  await client.close();
  await network.close();
});

test("MemoryNetwork TCP carries 8 MiB intact in order, coalescing small writes", async () => {
  const network = new MemoryNetwork();
  const { client, server } = await connectedPair(network);
  const size = 8 * 1024 * 1024;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >>> 13)) & 0xff;
  const writing = client.write(data).then(() => client.closeWrite());
  const received = new Uint8Array(size);
  let offset = 0;
  let reads = 0;
  for (let chunk = await server.read(); chunk; chunk = await server.read()) {
    assert.ok(offset + chunk.length <= size);
    received.set(chunk, offset);
    offset += chunk.length;
    reads++;
  }
  await writing;
  assert.equal(offset, size);
  assert.ok(reads >= size / (64 * 1024), `${reads} reads of at most 64 KiB`);
  let mismatch = -1;
  for (let i = 0; i < size && mismatch < 0; i++) if (received[i] !== data[i]) mismatch = i;
  assert.equal(mismatch, -1, "first differing byte");

  for (const piece of ["a", "b", "c"]) await server.write(bytes(piece));
  assert.equal(text((await client.read())!), "abc");
  await network.close();
});

test("MemoryNetwork allows one pending read per connection", async () => {
  const network = new MemoryNetwork();
  const { client } = await connectedPair(network);
  const first = assert.rejects(client.read(), /CLOSED/);
  await assert.rejects(client.read(), /a read is already pending/);
  await client.close();
  await first;
  await network.close();
});

test("MemoryHost.closeAll() closes a host's sockets like a process exit", async () => {
  const network = new MemoryNetwork();
  const { client, server } = await connectedPair(network, 9200);
  const udp = await receiver(network.host(A), 7008);
  await network.host(B).closeAll();
  assert.equal(await client.read(), null, "the peer sees EOF");
  await assert.rejects(server.read(), /CLOSED/);
  await assert.rejects(network.host(A).connect({ address: B, port: 9200 }), /CONNECTION_REFUSED/);
  const rebound = await network.host(B).listen({ address: "0.0.0.0", port: 9200 }, () => {});
  assert.equal(rebound.localAddress.port, 9200);
  await udp.socket.send(bytes("still here"), A, 7008);
  await settle();
  assert.deepEqual(udp.texts(), ["still here"], "other hosts are unaffected");
  await network.close();
});

test("MemoryNetwork.close() closes everything and cancels every timer", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ clock, delayMs: [10, 20] });
  const to = await receiver(network.host(B), 7009);
  const atA = await receiver(network.host(A), 7009);
  const { client } = await connectedPair(network);
  await to.socket.send(bytes("in flight"), A, 7009);
  network.host(C);
  network.detach(C);
  const connecting = assert.rejects(network.host(A).connect({ address: C, port: 1, timeoutMs: 10_000 }), /CLOSED/);
  const reading = assert.rejects(client.read(), /CLOSED/);
  assert.equal(clock.pending(), 2, "a delivery and a connect timeout");
  await network.close();
  await network.close();
  assert.equal(clock.pending(), 0);
  await connecting;
  await reading;
  assert.deepEqual(atA.texts(), []);
  await assert.rejects(to.socket.send(bytes("x"), A, 7009), /MemoryNetwork was closed/);
  await assert.rejects(network.host(A).bindDatagram({ address: "0.0.0.0", port: 0 }, () => {}), /CLOSED/);
  assert.throws(() => network.host("10.0.0.4"), /network was closed/);
});

test("MemoryNetwork.partition() cuts traffic between two sides until heal()", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ clock });
  const [atA, atB, atC] = await Promise.all([A, B, C].map((ip) => receiver(network.host(ip), 7010)));
  const accepted: StreamConnection[] = [];
  await network.host(C).listen({ address: "0.0.0.0", port: 9300 }, (c) => accepted.push(c));
  network.partition([A], [B, C]);
  await atA.socket.send(bytes("a->b"), B, 7010);
  await atC.socket.send(bytes("c->a"), A, 7010);
  await atB.socket.send(bytes("b->c"), C, 7010);
  await settle();
  assert.deepEqual([atA.texts(), atB.texts(), atC.texts()], [[], [], ["b->c"]]);
  assert.equal(network.stats.dropped, 2);
  const connecting = network.host(A).connect({ address: C, port: 9300, timeoutMs: 1000 });
  await clock.advance(500);
  assert.equal(accepted.length, 0);
  network.heal();
  const client = await connecting;
  await settle();
  assert.equal(accepted.length, 1);
  await atA.socket.send(bytes("a->b healed"), B, 7010);
  await settle();
  assert.deepEqual(atB.texts(), ["a->b healed"]);
  await client.close();
  await network.close();
  assert.equal(clock.pending(), 0);
});
