/**
 * Issue 4 acceptance, lossy LAN: with 30% of the datagrams entering and leaving the server's
 * host dropped by nftables (TCP untouched), 200 UDP calls all succeed (retransmission) and the
 * handler ran exactly 200 times (at-most-once: duplicates are answered from the reply cache).
 *
 * Both nodes run under the runtime of the current pass. mDNS also runs over UDP, so the loss
 * starts only after the two nodes have found each other.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runtimeName, socketSkip } from "../support/env.ts";
import { lanSkip, udpLossSkip, withLan } from "../support/lan.ts";
import { startE2eNode } from "../support/e2e_driver.ts";

const CALLS = 200;
const LOSS_PERCENT = 30;

interface Counters {
  udp: { retransmits: number };
  serve: { duplicates: number };
  handlers: Record<string, unknown>;
}

test(
  `${LOSS_PERCENT}% UDP loss on a LAN (nftables): ${CALLS} UDP calls all succeed and the handler ran exactly ${CALLS} times`,
  {
    skip: socketSkip || lanSkip || udpLossSkip,
  },
  async () => {
    await withLan(2, async (lan) => {
      const server = await startE2eNode(lan, 1, "E2E-counter", runtimeName);
      const client = await startE2eNode(lan, 2, "E2E-caller", runtimeName);
      const found = await Promise.all(
        [server, client].map((n) => n.expect("wait", { count: 1, timeout: 15_000 }, 20_000)),
      );
      assert.deepEqual(found.map((r) => r.peers), [[client.name], [server.name]], "discovery before the loss");

      await lan.setLoss(1, LOSS_PERCENT, { udpOnly: true });
      const run = await client.expect("repeat", {
        target: server.name,
        fn: "count",
        count: CALLS,
        concurrency: 20,
        transport: "udp",
        timeout: 10_000,
      }, 60_000);
      const clientStats = (await client.expect("stats")).stats as Counters;
      const serverStats = (await server.expect("stats")).stats as Counters;
      await lan.setLoss(1, 0);

      assert.deepEqual(
        { succeeded: run.succeeded, failed: run.failed, errors: run.errors, wrong: run.wrong },
        { succeeded: CALLS, failed: 0, errors: [], wrong: [] },
        `${CALLS} UDP calls under ${LOSS_PERCENT}% loss (took ${run.elapsedMs} ms)`,
      );
      // The loss was real: requests were retransmitted, and lost replies made the server see duplicates.
      assert.ok(clientStats.udp.retransmits > 0, `client retransmitted (${JSON.stringify(clientStats.udp)})`);
      assert.ok(serverStats.serve.duplicates > 0, `server saw duplicates (${JSON.stringify(serverStats.serve)})`);

      const counted = await client.expect("call", { target: server.name, fn: "counted", args: [], transport: "udp" });
      assert.deepEqual(counted.value, { count: CALLS, distinct: CALLS }, "handler invocations (at most once per call)");

      assert.deepEqual(await Promise.all([server.stop(), client.stop()]), [0, 0], "both nodes stopped cleanly");
    }, { timeoutMs: 100_000 });
  },
);
