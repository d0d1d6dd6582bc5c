/**
 * A node's graceful stop and what its peers see of it, on the fake clock: `stop()` takes no new
 * work, lets the running handlers finish and their replies leave (within the grace period,
 * after which their `currentPeer().signal` aborts), then says goodbye; a caller's pending
 * calls to a peer that left fail at once with `PeerLeftError`, over UDP as over TCP.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLan } from "../support/node_harness.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import { NodeStopped, PeerLeftError, RemoteError } from "../../src/errors.ts";
import { STOP_GRACE } from "../../src/constants.ts";
import type { Logger } from "../../src/log.ts";

/** Advances the fake clock 1 ms at a time until `predicate` holds (at most `limit` ms). */
async function until(clock: FakeClock, predicate: () => boolean, limit = 1000): Promise<void> {
  for (let t = 0; t < limit && !predicate(); t++) await clock.advance(1);
  assert.ok(predicate(), `not true within ${limit} ms of fake time`);
}

/** Whether `promise` has settled, without waiting for it. */
function settledFlag(promise: Promise<unknown>): () => boolean {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  return () => settled;
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
}

test("stop(): running handlers finish and their replies leave before the goodbye; new calls are refused", async () => {
  const clock = new FakeClock();
  const lan = memoryLan(1, clock);
  try {
    const events: string[] = [];
    const a = await lan.node("A").start();
    a.on("peer-down", (peer, reason) => events.push(`down ${peer.name} ${reason}`));
    const b = await lan.node("B").register({
      work: (ms: number) => new Promise((resolve) => clock.setTimeout(() => resolve(`worked ${ms} ms`), ms)),
      quick: () => "quick",
    }).start();
    const calls = (["udp", "tcp"] as const).map((transport) =>
      a.call("B", "work", [1000], { transport, timeout: 60_000 }).then((value) => events.push(`${transport} ${value}`))
    );
    await until(clock, () => b.stats()!.handlers.running === 2);

    const stopping = b.stop();
    const stopped = settledFlag(stopping);
    await clock.advance(100);
    assert.equal(stopped(), false, "stop() waits for the running handlers");
    assert.equal(b.started, false);
    await assert.rejects(b.call("A", "x"), NodeStopped, "a stopping node makes no new calls");
    for (const transport of ["udp", "tcp"] as const) {
      await assert.rejects(a.call("B", "quick", [], { transport }), (error: unknown) => {
        assert.ok(error instanceof RemoteError, String(error));
        assert.equal(error.remoteType, "NotServing");
        assert.match(error.message, /'B' is stopping and takes no new calls\./);
        return true;
      });
    }

    await clock.advance(900);
    await Promise.all(calls);
    await until(clock, stopped);
    await stopping;
    assert.deepEqual(events, ["udp worked 1000 ms", "tcp worked 1000 ms", "down B goodbye"]);
    assert.equal(b.stats(), undefined);
  } finally {
    await lan.close();
  }
});

test("stop(): after the grace period the handlers' signal aborts and their callers get PeerLeftError", async () => {
  const clock = new FakeClock();
  const lan = memoryLan(1, clock);
  try {
    const a = await lan.node("A").start();
    const logger = recordingLogger();
    const reasons: unknown[] = [];
    const b = await lan.node("B", { logger, stopGrace: 60_000 }).register("forever", () =>
      new Promise(() => {
        const { signal } = currentPeer()!;
        signal.addEventListener("abort", () => reasons.push(signal.reason));
      })).start();
    const call = a.call("B", "forever", [], { transport: "udp", timeout: 600_000 });
    const failed = call.then(() => undefined, (error) => error);
    await until(clock, () => b.stats()!.handlers.running === 1);

    const stopping = b.stop({ grace: 500 }); // overrides stopGrace for this stop
    const stopped = settledFlag(stopping);
    await clock.advance(499);
    assert.equal(stopped(), false);
    assert.equal(reasons.length, 0, "no abort within the grace period");
    await until(clock, stopped, 10);
    const error = await failed;
    assert.ok(error instanceof PeerLeftError, String(error));
    assert.equal(error.reason, "goodbye");
    assert.equal(reasons.length, 1);
    assert.ok(reasons[0] instanceof NodeStopped, String(reasons[0]));
    assert.equal(logger.warnings.length, 1, logger.warnings.join("\n"));
    assert.match(logger.warnings[0], /grace period of 500 ms with 1 handler still running/);
  } finally {
    await lan.close();
  }
});

test("stop(): grace 0 says goodbye at once; a stop with nothing running does not wait", async () => {
  const clock = new FakeClock();
  const lan = memoryLan(1, clock);
  try {
    const a = await lan.node("A").start();
    const b = await lan.node("B").register("hang", () => new Promise(() => {})).start();
    const idle = settledFlag(b.stop());
    await until(clock, idle, 5);

    await b.start();
    const call = a.call("B", "hang", [], { timeout: 600_000 }).then(() => undefined, (error) => error);
    await until(clock, () => b.stats()!.handlers.running === 1);
    const stopped = settledFlag(b.stop({ grace: 0 }));
    await until(clock, stopped, 5);
    assert.ok(await call instanceof PeerLeftError);
    assert.throws(() => lan.node("C", { stopGrace: -1 }), RangeError);
    await assert.rejects(b.stop({ grace: Number.NaN }), RangeError);
    assert.equal(STOP_GRACE, 5000);
  } finally {
    await lan.close();
  }
});

test("peer down: every pending call to a peer that left fails at once with PeerLeftError, UDP included", async () => {
  for (const reason of ["goodbye", "expired", "replaced"] as const) {
    const clock = new FakeClock();
    const lan = memoryLan(1, clock);
    try {
      const a = await lan.node("A").start();
      const b = await lan.node("B").register("hang", () => new Promise(() => {})).start();
      await lan.node("C").register("hang", () => new Promise(() => {})).start();
      const toB = [
        a.call("B", "hang", [], { transport: "udp", timeout: 600_000 }),
        a.call("B", "hang", [], { transport: "tcp", timeout: 600_000 }),
        a.peer("B").hang(),
      ].map((call) => call.then(() => undefined, (error) => error));
      const toC = settledFlag(a.call("C", "hang", [], { transport: "udp", timeout: 600_000 }));
      await until(clock, () => b.stats()!.handlers.running === 3);

      // How discovery sees B leave: it stopped, it went silent (a crash), it restarted.
      if (reason === "goodbye") await b.stop({ grace: 0 });
      else if (reason === "expired") lan.directory.vanish("B");
      else lan.directory.restart("B");
      const errors = await Promise.all(toB); // no time passes: they failed at once
      for (const error of errors) {
        assert.ok(error instanceof PeerLeftError, `${reason}: ${error}`);
        assert.equal(error.code, "PEER_LEFT");
        assert.equal(error.peer, "B");
        assert.equal(error.function, "hang");
        assert.equal(error.reason, reason);
        assert.match(error.message, new RegExp(`^'B' left the network \\(${reason}: .*\\) while 'hang' was pending`));
      }
      assert.equal(toC(), false, "calls to other peers go on");
      assert.equal(a.stats()!.pendingCalls, 1);
    } finally {
      await lan.close();
    }
  }
});

test("peer down: a peer re-announced by the same process (another address) keeps its pending calls", async () => {
  const clock = new FakeClock();
  const lan = memoryLan(1, clock);
  try {
    const a = await lan.node("A").start();
    const b = await lan.node("B").register("slow", () => new Promise((r) => clock.setTimeout(() => r("done"), 100)))
      .start();
    const downs: string[] = [];
    a.on("peer-down", (peer, reason) => downs.push(`${peer.name} ${reason}`));
    const call = a.call("B", "slow", [], { transport: "udp", timeout: 600_000 });
    await until(clock, () => b.stats()!.handlers.running === 1);
    lan.directory.reannounce("B");
    await clock.advance(100);
    assert.equal(await call, "done");
    assert.deepEqual(downs, ["B replaced"]);
  } finally {
    await lan.close();
  }
});
