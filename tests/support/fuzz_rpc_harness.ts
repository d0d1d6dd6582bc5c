/**
 * The RPC fuzz harness: hostile datagrams and TCP frames at running endpoints while legitimate
 * callers keep calling, on the in-memory network or on real sockets. It reports what the
 * RECEIVERS counted (inputs that reached the decoders, decoded, dropped by reason, internal
 * errors), not what was sent, and {@linkcode checkRpcFuzz} holds the assertions, so a test can
 * also run the harness with an injected decoder fault and see the check fail.
 */
import assert from "node:assert/strict";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { mulberry32 } from "../../src/testing/prng.ts";
import { RpcEndpoint, type RpcPeer } from "../../src/rpc/endpoint.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import { OutgoingMessage } from "../../src/wire/codec.ts";
import { LOCAL_CAPABILITIES } from "../../src/wire/capabilities.ts";
import { isSealed, SEAL_MAGIC } from "../../src/security/envelope.ts";
import type { NodeStats } from "../../src/stats.ts";
import type { SocketRuntime, StreamConnection } from "../../src/net.ts";
import { malformation, RpcFuzzer } from "./fuzz_rpc_inputs.ts";
import { recordingRuntime } from "./security_harness.ts";

const SECRET = "fuzz-secret-6b1d0c";
const yieldToOthers = () => new Promise((resolve) => setTimeout(resolve, 0));

/** How much hostile input a run sends. */
export interface RpcFuzzSize {
  /** Datagrams at the plain node (9 in 10) and at the caller's socket (bogus replies). */
  datagrams: number;
  /** TCP frames at the plain node, on connections that each carry many. */
  frames: number;
  /** Datagrams at the sealed node (memory only). */
  sealedDatagrams: number;
  /** TCP frames at the sealed node (memory only). */
  sealedFrames: number;
}

/** What the receivers counted. */
export interface RpcFuzzReport {
  /** Datagrams that reached an RPC datagram decoder (decoded as requests or replies, or malformed). */
  udpDecoded: number;
  /** Of those, the malformed ones (dropped; answered with BadMessage when the id was readable). */
  udpMalformed: number;
  /** TCP frames that reached the server's frame decoder (requests + malformed). */
  tcpDecoded: number;
  /** Of those, the malformed ones. */
  tcpMalformed: number;
  /** TCP connections the server accepted, and those it closed for an oversize frame header. */
  tcpConnections: number;
  tcpOversize: number;
  /** Sealed node: inputs its gate dropped, by reason, and requests its handlers ran. */
  sealedDropped: Record<string, number>;
  sealedHandled: number;
  /** Datagrams the attacker received back from the sealed node (must be 0). */
  sealedAnswers: number;
  /** Internal errors (bugs, not bad input) counted by every endpoint involved. */
  internalErrors: number;
  /** Malformed values a handler received. */
  violations: string[];
  /** Legitimate calls answered during the storm, and the ones that failed. */
  legitimateAnswered: number;
  legitimateSealedAnswered: number;
  legitimateFailures: string[];
  /** TCP connections still open at the plain node after the callers left, and bytes it still buffers. */
  openAfter: number;
  bufferedAfter: number;
}

/** Lower bounds a report must meet, scaled to the run. */
export interface RpcFuzzFloors {
  udpDecoded: number;
  tcpDecoded: number;
  /** Datagrams and frames together. */
  decoded: number;
  /** Legitimate calls answered (each of the plain and sealed callers). */
  legitimate: number;
}

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

/**
 * Fires `count` hostile datagrams from `runtime` at the targets (by weight), `batch` at a
 * time. After each batch it waits until `received()` (the receivers' own count) is within
 * one batch of what was sent, so a socket buffer never overflows (bounded: 2 s per batch).
 */
async function fuzzDatagrams(
  runtime: SocketRuntime,
  targets: Array<{ address: string; port: number; weight: number }>,
  count: number,
  make: () => Uint8Array,
  batch: number,
  received: () => number,
): Promise<{ heard: () => number; close: () => Promise<void> }> {
  let heard = 0;
  const socket = await runtime.bindDatagram({ address: "0.0.0.0", port: 0 }, () => void heard++);
  const total = targets.reduce((sum, t) => sum + t.weight, 0);
  const start = received();
  for (let i = 0; i < count; i++) {
    let r = (i * 7919) % total;
    const target = targets.find((t) => (r -= t.weight) < 0)!;
    socket.send(make(), target.address, target.port).catch(() => {});
    if (i % batch !== batch - 1) continue;
    const deadline = performance.now() + 2000;
    do await yieldToOthers(); while (received() - start < i + 1 - batch && performance.now() < deadline);
  }
  return { heard: () => heard, close: () => socket.close() };
}

/**
 * Writes `frames` hostile frames over connections, `parallel` at a time. Each connection
 * carries a burst of frames (only its last one may lie about its length or be cut short, so
 * every earlier one reaches the decoder), then half-closes and reads the answers until the
 * server closes.
 */
async function fuzzConnections(
  connect: (i: number) => Promise<StreamConnection>,
  burst: (remaining: number) => { bytes: Uint8Array; frames: number },
  frames: number,
  parallel: number,
): Promise<void> {
  let written = 0;
  let i = 0;
  const one = async () => {
    while (written < frames) {
      const { bytes, frames: n } = burst(frames - written);
      written += n;
      const conn = await connect(i++);
      const drained = (async () => {
        try {
          while ((await conn.read()) !== null);
        } catch {
          // reset by the server: fine
        }
      })();
      await conn.write(bytes).catch(() => {});
      await conn.closeWrite().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      await conn.close();
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
}

function udpDecoded(udp: NodeStats["udp"]): number {
  return udp.requests + udp.replies + udp.malformed;
}

/** Sealed messages a node's gate dropped, by reason. */
function securityDrops(security: NodeStats["security"]): Record<string, number> {
  const { forged, replayed, stale, malformed, plaintextDropped, misdirected } = security;
  return { forged, replayed, stale, malformed, plaintextDropped, misdirected };
}

/**
 * The in-memory run: a plain node and a sealed node, each with a legitimate caller, under
 * hostile datagrams and frames from many addresses.
 *
 * @param seed Seeds the inputs and the network.
 * @param size How much to send.
 * @returns What the receivers counted.
 */
export async function runMemoryRpcFuzz(seed: number, size: RpcFuzzSize): Promise<RpcFuzzReport> {
  const random = mulberry32(seed);
  const fuzzer = new RpcFuzzer(random, ["echo", "sink", "nope", "__ping__", "__proto__", "constructor"]);
  const network = new MemoryNetwork({ seed });
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
  const endpoints = [host, vault, worker, insider];
  const hostPorts = await host.start();
  const vaultPorts = await vault.start();
  await worker.start();
  await insider.start();
  const toHost = { name: "Host", address: "10.0.0.2", ...hostPorts, capabilities: LOCAL_CAPABILITIES };
  const toVault = { name: "Vault", address: "10.0.0.3", ...vaultPorts, capabilities: LOCAL_CAPABILITIES };
  const legit = legitimateCaller(worker, toHost, "plain");
  const legitSealed = legitimateCaller(insider, toVault, "sealed");
  const valid = seeds();
  const attacker = network.host("10.0.0.66");
  try {
    // 1. Datagrams at the plain node, and some at the caller's own socket (bogus replies).
    const udp = await fuzzDatagrams(
      attacker,
      [
        { address: "10.0.0.2", port: hostPorts.udpPort, weight: 9 },
        { address: "10.0.0.1", port: worker.ports!.udpPort, weight: 1 },
      ],
      size.datagrams,
      () => fuzzer.message(valid),
      500,
      () => host.stats().udp.received + worker.stats().udp.received,
    );
    // 2. Frames at the plain node, in bursts on connections from many addresses.
    await fuzzConnections(
      (i) =>
        network.host(`10.0.${1 + (i % 50)}.${1 + (i % 200)}`).connect({ address: "10.0.0.2", port: hostPorts.tcpPort }),
      (remaining) => fuzzer.frames(valid, Math.min(remaining, 20 + fuzzer.int(200))),
      size.frames,
      8,
    );
    // 3. Datagrams and frames at the sealed node: mutated sealed messages, forged envelopes,
    //    replays, plaintext. None may be answered or reach a handler.
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
      size.sealedDatagrams,
      makeSealedFuzz,
      250,
      () => vault.stats().udp.received,
    );
    const sealedFuzzer = new RpcFuzzer(random, ["echo"]);
    await fuzzConnections(
      (i) =>
        network.host(`10.1.${1 + (i % 50)}.${1 + (i % 200)}`).connect({
          address: "10.0.0.3",
          port: vaultPorts.tcpPort,
        }),
      (remaining) => sealedFuzzer.frames(sealedSeeds, Math.min(remaining, 1 + sealedFuzzer.int(4))),
      size.sealedFrames,
      8,
    );
    // Let the legitimate callers finish a few more calls after the storm.
    const before = legit.state.answered + legitSealed.state.answered;
    while (legit.state.answered + legitSealed.state.answered < before + 10) await yieldToOthers();
    legit.state.stop = true;
    legitSealed.state.stop = true;
    await Promise.all([legit.done, legitSealed.done]);
    const workerUdp = worker.stats().udp; // socket counters: read before stop()
    // Nothing is left behind once the attackers (and the legitimate caller) are gone.
    await worker.stop();
    for (let i = 0; i < 100 && host.stats().tcpServer.open > 0; i++) await yieldToOthers();
    const hostStats = host.stats();
    const tcp = hostStats.tcpServer;
    const report: RpcFuzzReport = {
      udpDecoded: udpDecoded(hostStats.udp) + udpDecoded(workerUdp),
      udpMalformed: hostStats.udp.malformed + workerUdp.malformed,
      tcpDecoded: tcp.requests + tcp.malformed,
      tcpMalformed: tcp.malformed,
      tcpConnections: tcp.accepted,
      tcpOversize: tcp.oversizeFrames,
      sealedDropped: securityDrops(vault.stats().security),
      sealedHandled: sealed.count,
      sealedAnswers: udpSealed.heard(),
      internalErrors: endpoints.reduce((sum, e) => sum + e.stats().internalErrors, 0),
      violations,
      legitimateAnswered: legit.state.answered,
      legitimateSealedAnswered: legitSealed.state.answered,
      legitimateFailures: [...legit.state.failures, ...legitSealed.state.failures],
      openAfter: tcp.open,
      bufferedAfter: tcp.bufferedBytes,
    };
    await udp.close();
    await udpSealed.close();
    return report;
  } finally {
    legit.state.stop = true;
    legitSealed.state.stop = true;
    await Promise.allSettled([legit.done, legitSealed.done]);
    await Promise.all(endpoints.map((e) => e.stop()));
    await network.close();
  }
}

/**
 * The real-socket run on 127.0.0.1: one node and a legitimate caller, through the runtime's
 * own socket adapter.
 *
 * @param runtime The socket adapter.
 * @param seed Seeds the inputs.
 * @param size How much to send (`sealed*` are ignored).
 * @returns What the receivers counted.
 */
export async function runSocketRpcFuzz(
  runtime: SocketRuntime,
  seed: number,
  size: RpcFuzzSize,
): Promise<RpcFuzzReport> {
  const fuzzer = new RpcFuzzer(mulberry32(seed), ["echo", "sink", "nope"]);
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
      size.datagrams,
      () => fuzzer.message(valid),
      50,
      () => host.stats().udp.received,
    );
    await fuzzConnections(
      () => runtime.connect({ address: "127.0.0.1", port: ports.tcpPort }),
      (remaining) => fuzzer.frames(valid, Math.min(remaining, 10 + fuzzer.int(30))),
      size.frames,
      4,
    );
    const before = legit.state.answered;
    while (legit.state.answered < before + 5 && legit.state.failures.length === 0) await yieldToOthers();
    legit.state.stop = true;
    await legit.done;
    await udp.close();
    await worker.stop();
    for (let i = 0; i < 200 && host.stats().tcpServer.open > 0; i++) await new Promise((r) => setTimeout(r, 5));
    const stats = host.stats();
    return {
      udpDecoded: udpDecoded(stats.udp),
      udpMalformed: stats.udp.malformed,
      tcpDecoded: stats.tcpServer.requests + stats.tcpServer.malformed,
      tcpMalformed: stats.tcpServer.malformed,
      tcpConnections: stats.tcpServer.accepted,
      tcpOversize: stats.tcpServer.oversizeFrames,
      sealedDropped: {},
      sealedHandled: 0,
      sealedAnswers: 0,
      internalErrors: stats.internalErrors + worker.stats().internalErrors,
      violations,
      legitimateAnswered: legit.state.answered,
      legitimateSealedAnswered: 0,
      legitimateFailures: legit.state.failures,
      openAfter: stats.tcpServer.open,
      bufferedAfter: stats.tcpServer.bufferedBytes,
    };
  } finally {
    legit.state.stop = true;
    await legit.done.catch(() => {});
    await worker.stop();
    await host.stop();
  }
}

/** One line for the log: what reached the decoders, as the receivers counted it. */
export function describeRpcFuzz(report: RpcFuzzReport): string {
  return `receivers counted ${report.udpDecoded} datagrams at the decoder (${report.udpMalformed} malformed), ` +
    `${report.tcpDecoded} frames at the decoder (${report.tcpMalformed} malformed) on ${report.tcpConnections} ` +
    `connections (${report.tcpOversize} closed for an oversize header), sealed node dropped ${
      JSON.stringify(report.sealedDropped)
    }, ${report.internalErrors} internal errors, ${
      report.legitimateAnswered + report.legitimateSealedAnswered
    } legitimate calls answered`;
}

/**
 * The fuzz test's assertions. The first one is the internal-error count, so a run with an
 * injected decoder fault fails there.
 *
 * @param report What the receivers counted.
 * @param floors Lower bounds for this run's size.
 * @param sealed Whether the run had a sealed node.
 */
export function checkRpcFuzz(report: RpcFuzzReport, floors: RpcFuzzFloors, sealed: boolean): void {
  assert.equal(report.internalErrors, 0, `${report.internalErrors} internal errors: a decoder or handler threw a bug`);
  assert.deepEqual(report.violations.slice(0, 5), [], "a handler saw a malformed request");
  assert.deepEqual(report.legitimateFailures.slice(0, 5), [], "a legitimate call failed");
  assert.ok(report.udpDecoded >= floors.udpDecoded, `only ${report.udpDecoded} datagrams reached the decoder`);
  assert.ok(report.tcpDecoded >= floors.tcpDecoded, `only ${report.tcpDecoded} frames reached the decoder`);
  const decoded = report.udpDecoded + report.tcpDecoded;
  assert.ok(decoded >= floors.decoded, `only ${decoded} datagrams and frames reached the decoders`);
  assert.ok(report.udpMalformed > report.udpDecoded / 5, `only ${report.udpMalformed} malformed datagrams`);
  assert.ok(report.tcpMalformed > report.tcpDecoded / 5, `only ${report.tcpMalformed} malformed frames`);
  assert.ok(report.legitimateAnswered >= floors.legitimate, `${report.legitimateAnswered} legitimate calls answered`);
  if (sealed) {
    assert.ok(report.legitimateSealedAnswered >= floors.legitimate, `${report.legitimateSealedAnswered} sealed`);
    assert.equal(report.sealedHandled, report.legitimateSealedAnswered, "only legitimate sealed calls ran");
    assert.equal(report.sealedAnswers, 0, "the sealed node never answered the attacker");
    const dropped = Object.values(report.sealedDropped).reduce((a, b) => a + b, 0);
    assert.ok(dropped > 0, JSON.stringify(report.sealedDropped));
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was not polluted");
  assert.equal(report.openAfter, 0, "every hostile connection was closed");
  assert.equal(report.bufferedAfter, 0, "no bytes left buffered");
}
