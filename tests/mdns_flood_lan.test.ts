/**
 * A hostile host on a private LAN of three hosts floods fake DNS-SD services (issue 14):
 * host 1 runs the real peer "Real", host 2 the "Target" under test (the runtime of this pass),
 * host 3 multicasts 20,000 fake `_peerlink._tcp` services from its own address, then 20,000
 * more spread over 50 on-link addresses. Throughout, Target keeps listing Real and its calls
 * to Real succeed; afterwards its mDNS state is within the limits (entry counts and table
 * sizes, not timing). The in-memory twin with a fake clock is tests/mdns_flood.test.ts; the
 * resident memory under 100,000-service floods is measured by scripts/mdns_flood_rss.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runtimeName, socketSkip } from "./support/env.ts";
import { lanSkip, withLan } from "./support/lan.ts";
import { startE2eNode } from "./support/e2e_driver.ts";
import { addFloodAddresses, floodFromLan } from "./support/mdns_flood_lan.ts";
import type { DiscoveryStats } from "../src/discovery.ts";
import { DEFAULT_DISCOVERY_LIMITS as LIMITS } from "../src/discovery.ts";

const SERVICES = 20_000;

test(
  "mDNS flood on a LAN: a real peer stays listed and callable through 20,000 fake services from one host and from 50",
  {
    skip: socketSkip || lanSkip,
  },
  async () => {
    await withLan(3, async (lan) => {
      const [real, target] = await Promise.all([
        startE2eNode(lan, 1, "Real", "node"),
        startE2eNode(lan, 2, "Target", runtimeName),
      ]);
      await target.expect("wait", { count: 1, timeout: 10_000 }, 15_000);
      const sources = await addFloodAddresses(lan, 3, 50);
      await target.expect("watchStart", { peer: "Real", fn: "runtime", intervalMs: 20 });

      const fromOne = await floodFromLan(lan, 3, { services: SERVICES, prefix: "one", batch: 200 });
      const afterOne = (await target.expect("discoveryStats")).stats as DiscoveryStats;
      const fromMany = await floodFromLan(lan, 3, { services: SERVICES, prefix: "many", sources, batch: 200 });
      const watch = await target.expect("watchStop");
      const afterMany = (await target.expect("discoveryStats")).stats as DiscoveryStats;

      assert.equal(fromOne.sent + fromMany.sent, 2 * SERVICES, "every flood packet was sent");
      const summary = JSON.stringify({ watch, afterOne: afterOne.mdns?.cache, afterMany: afterMany.mdns?.cache });
      assert.ok((watch.samples as number) > 10, `the watch sampled throughout: ${summary}`);
      assert.equal(watch.unlisted, 0, `Real was missing from Target's peers in some samples: ${summary}`);
      assert.equal(watch.failed, 0, `calls to Real failed during the flood: ${summary}`);

      // The floods reached Target and hit the bounds: one host's share, then the whole cache.
      const one = afterOne.mdns!.cache;
      assert.ok(one.refused > 1000, `the one-host flood was refused beyond its share: ${summary}`);
      assert.equal(one.evicted, 0, `and cost nobody a record: ${summary}`);
      assert.ok(one.largestSource <= LIMITS.maxEntriesPerSource, summary);
      assert.ok(one.entries <= LIMITS.maxEntriesPerSource + 16, `one host holds at most its share: ${summary}`);
      const many = afterMany.mdns!.cache;
      assert.ok(many.entries <= LIMITS.maxCacheEntries, summary);
      assert.ok(many.largestSource <= LIMITS.maxEntriesPerSource, summary);
      assert.ok(many.sources >= 40, `the 50-source flood reached Target from most sources: ${summary}`);
      // Every table a name can create is bounded by the limits and by what is cached.
      assert.ok(afterMany.peers <= LIMITS.maxPeers, summary);
      const browser = afterMany.browser!;
      assert.ok(browser.tracked <= many.entries && browser.instances <= browser.tracked, JSON.stringify(browser));
      assert.ok(browser.resolving <= LIMITS.maxResolving, JSON.stringify(browser));
      assert.ok(afterMany.mdns!.questions <= 1 + 4 * LIMITS.maxResolving, JSON.stringify(afterMany.mdns));
      assert.equal(afterMany.mdns!.transport.dropped["handler error"] ?? 0, 0, "no exception escaped the handlers");

      const reply = await target.expect("call", { target: "Real", fn: "runtime", args: [] });
      assert.equal(reply.value, "node");
      assert.deepEqual(await Promise.all([target.stop(), real.stop()]), [0, 0]);
    }, { timeoutMs: 90_000 });
  },
);
