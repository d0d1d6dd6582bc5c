/**
 * Peers leaving a LAN of several hosts, one node process per host (the runtime of the current
 * pass): a node that stops says goodbye and every other host sees it go at once; a node that
 * dies without a word is reported down soon after a call to it fails (RFC 6762 section 10.5),
 * instead of lingering for its record's whole TTL.
 *
 * Two processes on one host (loopback) are covered by tests/sockets/node_sockets.test.ts; these run
 * across hosts, over the LAN's own interfaces.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runtimeName, socketSkip } from "../support/env.ts";
import { lanSkip, withLan } from "../support/lan.ts";
import { type E2eNode, startE2eNode } from "../support/e2e_driver.ts";

const DISCOVERY_TIMEOUT_MS = 15_000;
/** A goodbye is one multicast packet: every host should act on it well within this. */
const GOODBYE_WITHIN_MS = 1_000;

async function discoverAll(nodes: readonly E2eNode[]): Promise<void> {
  await Promise.all(nodes.map(async (node) => {
    const found = await node.expect(
      "wait",
      { count: nodes.length - 1, timeout: DISCOVERY_TIMEOUT_MS },
      DISCOVERY_TIMEOUT_MS + 5000,
    );
    const others = nodes.filter((n) => n !== node).map((n) => n.name).sort();
    assert.deepEqual(found.peers, others, `peers seen by ${node.name}`);
  }));
}

test("LAN departure: a node that stops on one host is seen leaving by the other hosts at once (goodbye)", {
  skip: socketSkip || lanSkip,
}, async () => {
  await withLan(3, async (lan) => {
    const nodes = await Promise.all([1, 2, 3].map((host) => startE2eNode(lan, host, `E2E-host${host}`, runtimeName)));
    await discoverAll(nodes);
    const [first, second, leaving] = nodes;

    const stoppedAt = Date.now();
    assert.equal(await leaving.stop(), 0, `${leaving.name} exit code`);
    for (const watcher of [first, second]) {
      const { event } = await watcher.expect("waitEvent", { type: "peer-down", peer: leaving.name, timeout: 5000 });
      const seen = event as { reason: string; address: string; at: number };
      assert.equal(seen.reason, "goodbye", `why ${watcher.name} saw ${leaving.name} go`);
      assert.equal(seen.address, lan.address(leaving.host));
      assert.ok(
        seen.at - stoppedAt < GOODBYE_WITHIN_MS,
        `${watcher.name} saw the goodbye ${seen.at - stoppedAt} ms after stop() began (limit ${GOODBYE_WITHIN_MS})`,
      );
      const call = await watcher.command("call", { target: leaving.name, fn: "runtime", args: [] });
      assert.equal(call.ok, false, `${watcher.name} calling the departed node`);
      assert.equal(call.error?.name, "PeerNotFound", call.error?.message);
    }

    // The two left still talk to each other.
    const reply = await first.expect("call", { target: second.name, fn: "runtime", args: [], transport: "udp" });
    assert.equal(reply.value, runtimeName);
    assert.deepEqual(await Promise.all([first.stop(), second.stop()]), [0, 0]);
  }, { timeoutMs: 90_000 });
});

test("LAN departure: a node killed without goodbye is reported down ('expired') soon after a call to it fails", {
  skip: socketSkip || lanSkip,
}, async () => {
  await withLan(2, async (lan) => {
    const nodes = await Promise.all([1, 2].map((host) => startE2eNode(lan, host, `E2E-host${host}`, runtimeName)));
    await discoverAll(nodes);
    const [survivor, victim] = nodes;

    // The kill must find the victim listed, so that what follows is the kill's doing.
    await survivor.expect("wait", { count: 1, timeout: 10_000 }, 15_000);
    // What happens from the kill on.
    const killedAt = Date.now();
    victim.process.kill("SIGKILL");
    const exit = await victim.process.wait(5000);
    assert.equal(exit.signal, "SIGKILL", "the victim died by SIGKILL (no goodbye)");
    const still = await survivor.command("wait", { count: 1, timeout: 3000 }, 8000);
    if (!still.ok) {
      // Once seen as a goodbye from the victim: Deno's child.kill() closed its stdin before the signal, and the
      // fixture leaves politely on EOF (LanProcess.kill now signals without touching the pipes). Say what was seen.
      const { events } = await survivor.expect("events", {});
      const { stats } = await survivor.expect("discoveryStats", {});
      assert.fail(
        `${survivor.name} lost ${victim.name} right after the kill (${still.error?.message}); ` +
          `kill at ${killedAt}; its peer events: ${JSON.stringify(events)}; discovery: ${JSON.stringify(stats)}`,
      );
    }
    assert.deepEqual(still.peers, [victim.name], "without a goodbye the dead peer is still listed");

    const failedAt = Date.now();
    const call = await survivor.command("call", {
      target: victim.name,
      fn: "runtime",
      args: [],
      transport: "udp",
      timeout: 1000,
    });
    assert.equal(call.ok, false, "a call to the dead peer fails");
    assert.equal(call.error?.name, "PeerTimeoutError", call.error?.message);
    const { event } = await survivor.expect(
      "waitEvent",
      { type: "peer-down", peer: victim.name, timeout: 30_000, since: killedAt },
      35_000,
    );
    const seen = event as { reason: string; at: number };
    assert.equal(seen.reason, "expired", `why ${survivor.name} dropped ${victim.name}`);
    // About 3 s here (1 s call timeout, then 2 s of mDNS checks); 10x that, still well before the 120 s TTL.
    assert.ok(seen.at - failedAt < 30_000, `dropped ${seen.at - failedAt} ms after the call began`);
    assert.equal(await survivor.stop(), 0);
  }, { timeoutMs: 90_000 });
});
