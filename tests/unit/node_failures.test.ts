import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLan } from "../support/node_harness.ts";
import { PayloadTooLarge, PeerNotFound, PeerTimeoutError } from "../../src/errors.ts";

test("PeerLink: 10,000 failed calls leave zero pending entries and no open timers", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").register("f", () => 1).start();
    const counts = { notFound: 0, tooLarge: 0, timeout: 0 };
    const big = "x".repeat(2000);
    for (let i = 0; i < 4000; i++) {
      await a.call("Nobody", "f").catch((e) => e instanceof PeerNotFound && counts.notFound++);
    }
    for (let i = 0; i < 3000; i++) {
      await a.call("B", "f", [big], { transport: "udp" }).catch((e) =>
        e instanceof PayloadTooLarge && counts.tooLarge++
      );
    }
    lan.network.detach("10.0.0.2");
    for (let batch = 0; batch < 3; batch++) {
      await Promise.all(
        Array.from(
          { length: 1000 },
          () => a.call("B", "f", [], { timeout: 30 }).catch((e) => e instanceof PeerTimeoutError && counts.timeout++),
        ),
      );
    }
    assert.deepEqual(counts, { notFound: 4000, tooLarge: 3000, timeout: 3000 });
    const stats = a.stats()!;
    assert.equal(stats.pendingCalls, 0);
    assert.equal(stats.timers, 0);
    // PeerNotFound and PayloadTooLarge are refused before a call is registered.
    assert.equal(stats.calls.started, 3000);
    assert.equal(stats.calls.failed, 3000);
    lan.network.attach("10.0.0.2");
    assert.equal(await a.call("B", "f"), 1);
  } finally {
    await lan.close();
  }
});

test("PeerLink: a fan-out where every peer fails still resolves, with no pending calls left", async () => {
  const lan = memoryLan();
  try {
    const a = await lan.node("A").start();
    await lan.node("B").start();
    await lan.node("C").start();
    lan.network.detach("10.0.0.2");
    lan.network.detach("10.0.0.3");
    const results = await a.call("ALL", "f", [], { timeout: 50 });
    assert.equal(results.length, 2);
    assert.ok(results.every((r) => !r.ok && r.error instanceof PeerTimeoutError));
    assert.equal(a.stats()!.pendingCalls, 0);
    assert.equal(a.stats()!.timers, 0);
    assert.deepEqual(lan.directory.unreachable.map((u) => u.peer).sort(), ["B", "C"]);
  } finally {
    await lan.close();
  }
});
