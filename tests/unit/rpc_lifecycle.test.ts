import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { RpcEndpoint } from "../../src/rpc/endpoint.ts";
import { LOCAL_CAPABILITIES, NO_CAPABILITIES } from "../../src/wire/capabilities.ts";
import {
  NodeNotStarted,
  NodeStopped,
  PayloadTooLarge,
  PeerConnectionError,
  PeerTimeoutError,
  PortInUseError,
} from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";

function quietLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => {}, info: () => {}, warn: (m) => void warnings.push(m), error: () => {} };
}

test("10,000 failed calls leave no pending entries and no timers", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 9, clock });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker", clock });
  await worker.start();
  // Nobody listens at 10.0.0.2: UDP calls time out, TCP connects are refused.
  const ts = { name: "Gone", address: "10.0.0.2", udpPort: 50000, tcpPort: 50001, capabilities: LOCAL_CAPABILITIES };
  const py = { ...ts, capabilities: NO_CAPABILITIES };
  network.host("10.0.0.2");
  try {
    const failures: Promise<unknown>[] = [];
    const kinds = { timeout: 0, refused: 0, tooLarge: 0, aborted: 0 };
    const controller = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      const kind = i % 4;
      const call = kind === 0
        ? worker.call(i % 8 ? ts : py, "f", [i], { timeout: 1000 })
        : kind === 1
        ? worker.call(ts, "f", [i], { transport: "tcp", timeout: 1000 })
        : kind === 2
        ? worker.call(ts, "f", ["x".repeat(1300)], { transport: "udp" })
        : worker.call(ts, "f", [i], { signal: controller.signal, timeout: 1000 });
      failures.push(call.then(
        () => assert.fail("call succeeded"),
        (err) => {
          if (err instanceof PeerTimeoutError) kinds.timeout++;
          else if (err instanceof PeerConnectionError) kinds.refused++;
          else if (err instanceof PayloadTooLarge) kinds.tooLarge++;
          else if ((err as Error).name === "AbortError") kinds.aborted++;
          else throw err;
        },
      ));
    }
    assert.ok(worker.stats().pendingCalls > 0);
    controller.abort();
    for (let step = 0; step < 30 && worker.stats().pendingCalls > 0; step++) await clock.advance(100);
    await Promise.all(failures);
    assert.deepEqual(kinds, { timeout: 2500, refused: 2500, tooLarge: 2500, aborted: 2500 });
    const stats = worker.stats();
    assert.equal(stats.pendingCalls, 0);
    assert.equal(stats.timers, 0);
    assert.equal(stats.calls.failed, 7500, "PayloadTooLarge calls were never started");
    assert.equal(stats.tcpClient.oneShot, 0);
    assert.equal(clock.pending(), 0, "no timer left on the clock at all");
  } finally {
    await worker.stop();
    await network.close();
  }
});

test("AbortSignal cancels a call promptly with an AbortError", async () => {
  const clock = new FakeClock();
  const network = new MemoryNetwork({ seed: 9, clock });
  const host = new RpcEndpoint({
    runtime: network.host("10.0.0.2"),
    name: "Host",
    clock,
    handlers: { never: () => new Promise(() => {}) },
  });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker", clock });
  const { udpPort, tcpPort } = await host.start();
  await worker.start();
  const peer = { name: "Host", address: "10.0.0.2", udpPort, tcpPort, capabilities: LOCAL_CAPABILITIES };
  try {
    for (const transport of ["udp", "tcp"] as const) {
      const controller = new AbortController();
      const call = worker.call(peer, "never", [], { transport, signal: controller.signal, timeout: 60_000 });
      await clock.advance(10);
      controller.abort();
      await assert.rejects(call, { name: "AbortError" });
      assert.equal(worker.stats().pendingCalls, 0);
    }
    const reason = new Error("user gave up");
    reason.name = "AbortError";
    await assert.rejects(
      worker.call(peer, "never", [], { signal: AbortSignal.abort(reason) }),
      (err) => err === reason,
    );
    await assert.rejects(worker.call(peer, "never", [], { signal: AbortSignal.abort("because") }), (err) => {
      assert.equal((err as Error).name, "AbortError");
      assert.equal((err as Error).cause, "because");
      return true;
    });
    // What remains is the idle timer of the pooled TCP connection, nothing of the calls.
    assert.equal(worker.stats().tcpClient.pooled, 1);
    assert.equal(worker.stats().timers, 1);
  } finally {
    await worker.stop();
    await host.stop();
    await network.close();
  }
});

test("stop() rejects pending calls with NodeStopped; calls before start() reject NodeNotStarted", async () => {
  const network = new MemoryNetwork({ seed: 9 });
  const host = new RpcEndpoint({
    runtime: network.host("10.0.0.2"),
    name: "Host",
    handlers: { never: () => new Promise(() => {}) },
  });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker" });
  const peer = { name: "Host", address: "10.0.0.2", udpPort: 0, tcpPort: 0, capabilities: LOCAL_CAPABILITIES };
  await assert.rejects(worker.call(peer, "never", []), NodeNotStarted);
  const ports = await host.start();
  Object.assign(peer, ports);
  await worker.start();
  try {
    const calls = [
      worker.call(peer, "never", [], { transport: "udp" }),
      worker.call(peer, "never", [], { transport: "tcp" }),
    ];
    await new Promise((resolve) => setTimeout(resolve, 5));
    await worker.stop();
    for (const call of calls) {
      await assert.rejects(call, (err) => {
        assert.ok(err instanceof NodeStopped);
        assert.match(err.message, /^node stopped: 'Worker'/);
        return true;
      });
    }
    assert.equal(worker.stats().pendingCalls, 0);
    assert.equal(worker.stats().timers, 0);
    await worker.stop();
    assert.equal(worker.started, false);
    await assert.rejects(worker.call(peer, "never", []), NodeNotStarted);
    await worker.start();
    assert.equal(worker.started, true);
  } finally {
    await worker.stop();
    await host.stop();
    await network.close();
  }
});

test("start(): a busy explicit port rejects naming it; with fallback an OS-chosen port is used", async () => {
  const network = new MemoryNetwork({ seed: 9 });
  const runtime = network.host("10.0.0.1");
  const first = new RpcEndpoint({ runtime, name: "First" });
  const { udpPort, tcpPort } = await first.start();
  try {
    const strict = new RpcEndpoint({ runtime, name: "Second", udpPort, tcpPort: 0 });
    await assert.rejects(strict.start(), (err) => {
      assert.ok(err instanceof PortInUseError);
      assert.equal(err.port, udpPort);
      assert.equal(err.transport, "udp");
      assert.match(err.message, new RegExp(`^UDP port ${udpPort} of 'Second' is already in use`));
      return true;
    });
    const strictTcp = new RpcEndpoint({ runtime, name: "Third", udpPort: 0, tcpPort });
    await assert.rejects(strictTcp.start(), (err) => err instanceof PortInUseError && err.transport === "tcp");
    assert.equal(strictTcp.started, false);

    const logger = quietLogger();
    const lenient = new RpcEndpoint({ runtime, name: "Fourth", udpPort, tcpPort, portFallback: true, logger });
    const ports = await lenient.start();
    assert.notEqual(ports.udpPort, udpPort);
    assert.notEqual(ports.tcpPort, tcpPort);
    assert.equal(logger.warnings.length, 2);
    assert.match(logger.warnings[0], new RegExp(`^UDP port ${udpPort} is busy; using port ${ports.udpPort} instead`));
    await lenient.stop();
  } finally {
    await first.stop();
    await network.close();
  }
});

test("call() refuses bad arguments at the caller without registering anything", async () => {
  const network = new MemoryNetwork({ seed: 9 });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker" });
  await worker.start();
  const peer = { name: "Host", address: "10.0.0.2", udpPort: 1, tcpPort: 2, capabilities: LOCAL_CAPABILITIES };
  try {
    await assert.rejects(worker.call(peer, "f", [1, { foo: () => 1 }]), {
      name: "TypeError",
      message: "Cannot send args[1].foo: a function cannot be sent; send data, not code.",
    });
    await assert.rejects(worker.call(peer, "f", [], { kwargs: { n: 1n } }), /Cannot send kwargs\.n: a BigInt/);
    await assert.rejects(worker.call(peer, "", []), TypeError);
    await assert.rejects(worker.call(peer, "f", [], { timeout: -1 }), RangeError);
    await assert.rejects(worker.call(peer, "f", [], { transport: "smoke" as "udp" }), TypeError);
    assert.equal(worker.stats().calls.started, 0);
    assert.equal(worker.stats().timers, 0);
  } finally {
    await worker.stop();
    await network.close();
  }
});

test("RpcEndpoint validates its options", () => {
  const network = new MemoryNetwork({ seed: 9 });
  const runtime = network.host("10.0.0.1");
  assert.throws(() => new RpcEndpoint({ runtime, name: "" }), TypeError);
  assert.throws(
    () => new RpcEndpoint({ runtime, name: "A", limits: { maxFrameBytes: -1 } }),
    /maxFrameBytes must be a positive number/,
  );
  assert.throws(() => new RpcEndpoint({ runtime, name: "A", timeout: 0 }), RangeError);
  const endpoint = new RpcEndpoint({ runtime, name: "A", limits: { maxFrameBytes: 1024 } });
  assert.equal(endpoint.limits.maxFrameBytes, 1024);
  assert.equal(endpoint.limits.maxDatagramBytes, 1200);
});
