import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork } from "../src/testing/memory_net.ts";
import { mulberry32 } from "../src/testing/prng.ts";
import { RpcEndpoint, type RpcPeer } from "../src/rpc/endpoint.ts";
import { currentPeer } from "../src/rpc/context.ts";
import { OutgoingMessage } from "../src/wire/codec.ts";
import { LOCAL_CAPABILITIES } from "../src/wire/capabilities.ts";
import { isSealed, SEAL_MAGIC } from "../src/security/envelope.ts";
import type { SocketRuntime, StreamConnection } from "../src/net.ts";
import { autoRuntime } from "../runtimes/auto.ts";
import { socketSkip } from "./support/env.ts";
import { malformation, RpcFuzzer } from "./support/fuzz_rpc_inputs.ts";
import { recordingRuntime } from "./support/security_harness.ts";

const SECRET = "fuzz-secret-6b1d0c";
const yieldToOthers = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Valid requests to mutate. */
function seeds(): Uint8Array[] {
  const requests = [
    { rpc: "echo", args: [{ i: 1, s: "hello" }], plx: 1 },
    { rpc: "sink", args: [1, "two", [3, { four: 4 }], null, true], plx: undefined },
    { rpc: "sink", args: [new Uint8Array([1, 2, 3, 250])], plx: 1 },
    { rpc: "echo", args: [{ nested: { deeper: [1, [2, [3]]] } }], plx: undefined },
  ];
  return requests.map(({ rpc, args, plx }) =>
    OutgoingMessage.request({ id: crypto.randomUUID(), src: "Seed", dst: "Host", rpc, args, kwargs: {}, plx })
      .datagram()
  );
}

/** Handlers that record anything malformed they are given. */
function checkingHandlers(violations: string[], invocations: { count: number }) {
  const check = (...args: unknown[]) => {
    invocations.count++;
    const problem = malformation(args);
    if (problem) violations.push(problem);
    if (currentPeer() === undefined) violations.push("handler ran without a caller");
    return args.length;
  };
  return {
    echo: (...args: unknown[]) => {
      check(...args);
      return args[0] ?? null;
    },
    sink: check,
  };
}

/** Calls `echo` in a loop until stopped; every answer must equal what was sent. */
function legitimateCaller(worker: RpcEndpoint, peer: RpcPeer, label: string) {
  const state = { stop: false, answered: 0, failures: [] as string[] };
  const done = (async () => {
    for (let i = 0; !state.stop; i++) {
      // On the in-memory network a call completes in microtasks alone: yield, or nothing else runs.
      await yieldToOthers();
      const value = { i, label, s: "x".repeat(i % 40), bytes: new Uint8Array([i & 0xff, 7]) };
      try {
        const back = await worker.call(peer, "echo", [value], {
          transport: i % 3 === 0 ? "tcp" : "udp",
          timeout: 10_000,
        });
        assert.deepEqual(back, value);
        state.answered++;
      } catch (error) {
        state.failures.push(`${label} call ${i}: ${(error as Error).message}`);
      }
    }
  })();
  return { state, done };
}

/** Fires `count` hostile datagrams from `runtime` at the targets (by weight), pausing every `batch`. */
async function fuzzDatagrams(
  runtime: SocketRuntime,
  targets: Array<{ address: string; port: number; weight: number }>,
  count: number,
  make: () => Uint8Array,
  batch: number,
  pause: () => Promise<unknown>,
): Promise<{ sent: number; heard: number; close: () => Promise<void> }> {
  let heard = 0;
  const socket = await runtime.bindDatagram({ address: "0.0.0.0", port: 0 }, () => void heard++);
  let sent = 0;
  const total = targets.reduce((sum, t) => sum + t.weight, 0);
  for (let i = 0; i < count; i++) {
    let r = (i * 7919) % total;
    const target = targets.find((t) => (r -= t.weight) < 0)!;
    socket.send(make(), target.address, target.port).catch(() => {});
    sent++;
    if (i % batch === batch - 1) await pause();
  }
  return {
    sent,
    get heard() {
      return heard;
    },
    close: () => socket.close(),
  };
}

/** Opens connections and writes hostile frames on each, `parallel` at a time; returns frames sent. */
async function fuzzFrames(
  connect: (i: number) => Promise<StreamConnection>,
  fuzzer: RpcFuzzer,
  valid: readonly Uint8Array[],
  frames: number,
  parallel: number,
): Promise<number> {
  let sent = 0;
  let i = 0;
  const one = async () => {
    while (sent < frames) {
      const { bytes, frames: n } = fuzzer.frames(valid, 1 + fuzzer.int(30));
      sent += n;
      const conn = await connect(i++);
      await conn.write(bytes).catch(() => {});
      // Read whatever comes back (answers to readable bad requests), bounded.
      for (let reads = 0; reads < 40; reads++) {
        const chunk = await Promise.race([conn.read().catch(() => null), yieldToOthers().then(() => undefined)]);
        if (chunk === null) break;
      }
      await conn.close();
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
  return sent;
}

test("fuzz: 100,000+ hostile datagrams and TCP frames; no handler sees a malformed request, a legitimate caller keeps getting answers", async () => {
  const started = performance.now();
  const random = mulberry32(20_240_607);
  const fuzzer = new RpcFuzzer(random, ["echo", "sink", "nope", "__ping__", "__proto__", "constructor"]);
  const network = new MemoryNetwork({ seed: 7 });
  const violations: string[] = [];
  const plain = { count: 0 };
  const sealed = { count: 0 };
  const host = new RpcEndpoint({
    runtime: network.host("10.0.0.2"),
    name: "Host",
    handlers: checkingHandlers(violations, plain),
  });
  const vault = new RpcEndpoint({
    runtime: network.host("10.0.0.3"),
    name: "Vault",
    secret: SECRET,
    handlers: checkingHandlers(violations, sealed),
  });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker" });
  const recording = recordingRuntime(network.host("10.0.0.4"));
  const insider = new RpcEndpoint({ runtime: recording.runtime, name: "Insider", secret: SECRET });
  const hostPorts = await host.start();
  const vaultPorts = await vault.start();
  await worker.start();
  await insider.start();
  const toHost = { name: "Host", address: "10.0.0.2", ...hostPorts, capabilities: LOCAL_CAPABILITIES };
  const toVault = { name: "Vault", address: "10.0.0.3", ...vaultPorts, capabilities: LOCAL_CAPABILITIES };
  const legit = legitimateCaller(worker, toHost, "plain");
  const legitSealed = legitimateCaller(insider, toVault, "sealed");
  const valid = seeds();
  try {
    // 1. 75,000 datagrams at the plain node (and some at the caller's own socket: bogus replies).
    const attacker = network.host("10.0.0.66");
    const udp = await fuzzDatagrams(
      attacker,
      [
        { address: "10.0.0.2", port: hostPorts.udpPort, weight: 9 },
        { address: "10.0.0.1", port: worker.ports!.udpPort, weight: 1 },
      ],
      75_000,
      () => fuzzer.message(valid),
      500,
      yieldToOthers,
    );
    // 2. 20,000 TCP frames on many short connections from many addresses.
    const frames = await fuzzFrames(
      (i) =>
        network.host(`10.0.${1 + (i % 50)}.${1 + (i % 200)}`).connect({ address: "10.0.0.2", port: hostPorts.tcpPort }),
      fuzzer,
      valid,
      20_000,
      16,
    );
    // 3. 10,000 datagrams and 1,000 frames at the sealed node: mutated sealed messages, forged
    //    envelopes, replays, plaintext. None may be answered or reach a handler.
    while (recording.recorded.datagrams.length < 4) await yieldToOthers();
    const sealedSeeds = recording.recorded.datagrams.filter((d) => isSealed(d.data)).map((d) => d.data).slice(0, 16);
    const makeSealedFuzz = () => {
      switch (fuzzer.int(4)) {
        case 0:
          return fuzzer.pick(sealedSeeds); // replay
        case 1:
          return fuzzer.mutate(fuzzer.pick(sealedSeeds));
        case 2: {
          const bytes = fuzzer.randomBytes(200);
          if (bytes.length > 0) bytes[0] = SEAL_MAGIC;
          if (bytes.length > 1) bytes[1] = 1;
          return bytes;
        }
        default:
          return fuzzer.message(valid);
      }
    };
    const udpSealed = await fuzzDatagrams(
      attacker,
      [{ address: "10.0.0.3", port: vaultPorts.udpPort, weight: 1 }],
      10_000,
      makeSealedFuzz,
      250,
      yieldToOthers,
    );
    const sealedFrames = await fuzzFrames(
      (i) =>
        network.host(`10.1.${1 + (i % 50)}.${1 + (i % 200)}`).connect({
          address: "10.0.0.3",
          port: vaultPorts.tcpPort,
        }),
      new RpcFuzzer(random, ["echo"]),
      sealedSeeds,
      1_000,
      8,
    );
    // Let the legitimate callers finish a few more calls after the storm.
    const before = legit.state.answered + legitSealed.state.answered;
    while (legit.state.answered + legitSealed.state.answered < before + 10) await yieldToOthers();
    legit.state.stop = true;
    legitSealed.state.stop = true;
    await Promise.all([legit.done, legitSealed.done]);

    const total = udp.sent + frames + udpSealed.sent + sealedFrames;
    assert.ok(total >= 100_000, `only ${total} inputs`);
    assert.deepEqual(violations.slice(0, 5), [], "a handler saw a malformed request");
    assert.deepEqual(legit.state.failures.slice(0, 5), []);
    assert.deepEqual(legitSealed.state.failures.slice(0, 5), []);
    assert.ok(
      legit.state.answered >= 20 && legitSealed.state.answered >= 20,
      `${legit.state.answered} / ${legitSealed.state.answered}`,
    );
    assert.equal(sealed.count, legitSealed.state.answered, "only the legitimate sealed calls ran on the sealed node");
    assert.equal(udpSealed.heard, 0, "the sealed node never answered the attacker");
    const hostStats = host.stats();
    assert.ok(hostStats.udp.malformed > 20_000, `malformed ${hostStats.udp.malformed}`);
    const tcp = hostStats.tcpServer;
    assert.ok(tcp.accepted >= 1_000, `accepted ${tcp.accepted}`);
    assert.ok(tcp.malformed + tcp.oversizeFrames >= 1_000, JSON.stringify(tcp));
    const security = vault.stats().security;
    const dropped = security.forged + security.replayed + security.stale + security.malformed +
      security.plaintextDropped + security.misdirected;
    assert.ok(dropped >= 9_000, JSON.stringify(security));
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was not polluted");
    // Nothing is left behind once the attackers (and the legitimate caller) are gone.
    await worker.stop();
    for (let i = 0; i < 100 && host.stats().tcpServer.open > 0; i++) await yieldToOthers();
    assert.equal(host.stats().tcpServer.open, 0);
    assert.equal(host.stats().tcpServer.bufferedBytes, 0);
    await udp.close();
    await udpSealed.close();
    console.log(
      `fuzz: ${total} inputs, ${legit.state.answered + legitSealed.state.answered} legitimate calls answered, ${
        Math.round(performance.now() - started)
      } ms`,
    );
  } finally {
    legit.state.stop = true;
    legitSealed.state.stop = true;
    await Promise.allSettled([legit.done, legitSealed.done]);
    await Promise.all([host.stop(), vault.stop(), worker.stop(), insider.stop()]);
    await network.close();
  }
});

test("fuzz on real sockets: hostile datagrams and frames on 127.0.0.1 while a caller keeps getting answers", {
  skip: socketSkip,
}, async () => {
  const runtime = autoRuntime();
  const fuzzer = new RpcFuzzer(mulberry32(99), ["echo", "sink", "nope"]);
  const violations: string[] = [];
  const invocations = { count: 0 };
  const host = new RpcEndpoint({
    runtime,
    name: "Host",
    address: "127.0.0.1",
    handlers: checkingHandlers(violations, invocations),
  });
  const worker = new RpcEndpoint({ runtime, name: "Worker", address: "127.0.0.1" });
  const ports = await host.start();
  await worker.start();
  const peer = { name: "Host", address: "127.0.0.1", ...ports, capabilities: LOCAL_CAPABILITIES };
  const legit = legitimateCaller(worker, peer, "real");
  const valid = seeds();
  try {
    const udp = await fuzzDatagrams(
      runtime,
      [{ address: "127.0.0.1", port: ports.udpPort, weight: 1 }],
      5_000,
      () => fuzzer.message(valid),
      100,
      () => new Promise((resolve) => setTimeout(resolve, 2)),
    );
    const frames = await fuzzFrames(
      () => runtime.connect({ address: "127.0.0.1", port: ports.tcpPort }),
      fuzzer,
      valid,
      1_000,
      8,
    );
    const before = legit.state.answered;
    while (legit.state.answered < before + 5 && legit.state.failures.length === 0) await yieldToOthers();
    legit.state.stop = true;
    await legit.done;
    await udp.close();
    assert.ok(udp.sent + frames >= 6_000);
    assert.deepEqual(violations.slice(0, 5), []);
    assert.deepEqual(legit.state.failures.slice(0, 5), []);
    assert.ok(legit.state.answered >= 5, `answered ${legit.state.answered}`);
    assert.ok(host.stats().udp.malformed > 500);
  } finally {
    legit.state.stop = true;
    await legit.done.catch(() => {});
    await worker.stop();
    await host.stop();
  }
});
