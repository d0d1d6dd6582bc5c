/**
 * Seeds on real sockets: two hosts on different subnets (scripts/lan.sh --lan2: a router that
 * forwards unicast and no multicast) and no DNS server anywhere; each lists the other in
 * `seeds`, asks it directly by unicast DNS-SD on port 5353 (RFC 6762 section 5.5) and answers
 * its direct queries. This file's runtime on LAN A, the next one on LAN B.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runtimeName, socketSkip } from "./support/env.ts";
import { lanSkip, withLan } from "./support/lan.ts";
import { type E2eNode, type E2eRuntime, startE2eNode } from "./support/e2e_driver.ts";

const NEXT: Record<E2eRuntime, E2eRuntime> = { deno: "bun", bun: "node", node: "deno" };
const OTHER = NEXT[runtimeName];
const STEP_MS = 20_000;

test(
  `seeds: a ${runtimeName} node and a ${OTHER} node on two subnets, no multicast and no DNS server, find and call each other`,
  {
    skip: socketSkip || lanSkip,
  },
  async () => {
    await withLan(1, async (lan) => {
      let a: E2eNode | undefined;
      let b: E2eNode | undefined;
      try {
        const seeds = (address: string) => ({ E2E_OPTIONS: JSON.stringify({ seeds: [address] }) });
        a = await startE2eNode(lan, 1, `SeedA-${runtimeName}`, runtimeName, seeds(lan.address(2)));
        b = await startE2eNode(lan, 2, `SeedB-${OTHER}`, OTHER, seeds(lan.address(1)));
        const seenByA = await a.expect("wait", { count: 1, timeout: STEP_MS }, STEP_MS + 5000);
        assert.deepEqual(seenByA.via, { [b.name]: ["seed"] });
        assert.deepEqual(seenByA.addresses, { [b.name]: "10.88.0.1" });
        const seenByB = await b.expect("wait", { count: 1, timeout: STEP_MS }, STEP_MS + 5000);
        assert.deepEqual(seenByB.via, { [a.name]: ["seed"] });
        assert.deepEqual(seenByB.addresses, { [a.name]: "10.77.0.1" });
        for (const [from, to] of [[a, b], [b, a]] as const) {
          for (const transport of ["udp", "tcp"] as const) {
            const reply = await from.expect("call", { target: to.name, fn: "runtime", args: [], transport });
            assert.deepEqual([reply.value, reply.transport], [to.runtime, transport], `${from.name} -> ${to.name}`);
          }
        }
        // Each answered the other's direct queries, and only those (counted).
        const stats = (await b.expect("discoveryStats")).stats as { seedQueries: number; seeds: { replies: number }[] };
        assert.ok(stats.seedQueries > 0, JSON.stringify(stats));
        assert.ok(stats.seeds[0].replies > 0, JSON.stringify(stats));
      } finally {
        await Promise.allSettled([a?.stop(), b?.stop()]);
      }
    }, { lan2: 1, timeoutMs: 90_000 });
  },
);

test(
  `seeds over IPv6: a ${runtimeName} node and a ${OTHER} node ask each other at their ULA addresses across the router, and call over IPv4`,
  {
    skip: socketSkip || lanSkip,
  },
  async () => {
    await withLan(1, async (lan) => {
      const [v6a, v6b] = [lan.host(1).ipv6, lan.host(2).ipv6];
      if (!v6a || !v6b) return; // the kernel has IPv6 off: lan.sh made IPv4-only hosts
      let a: E2eNode | undefined;
      let b: E2eNode | undefined;
      try {
        const seeds = (address: string) => ({ E2E_OPTIONS: JSON.stringify({ seeds: [address] }) });
        a = await startE2eNode(lan, 1, `Seed6A-${runtimeName}`, runtimeName, seeds(v6b));
        b = await startE2eNode(lan, 2, `Seed6B-${OTHER}`, OTHER, seeds(v6a));
        // Found through the IPv6 seed; PeerLink's RPC runs over IPv4, so the IPv4 address it lists comes first.
        const seenByA = await a.expect("wait", { count: 1, timeout: STEP_MS }, STEP_MS + 5000);
        assert.deepEqual([seenByA.addresses, seenByA.via], [{ [b.name]: lan.address(2) }, { [b.name]: ["seed"] }]);
        const seenByB = await b.expect("wait", { count: 1, timeout: STEP_MS }, STEP_MS + 5000);
        assert.deepEqual([seenByB.addresses, seenByB.via], [{ [a.name]: lan.address(1) }, { [a.name]: ["seed"] }]);
        const stats = (await a.expect("discoveryStats")).stats as { seeds: { replies: number }[] };
        assert.ok(stats.seeds[0].replies > 0, `answered over IPv6: ${JSON.stringify(stats)}`);
        for (const transport of ["udp", "tcp"] as const) {
          const reply = await a.expect("call", { target: b.name, fn: "runtime", args: [], transport });
          assert.equal(reply.value, b.runtime);
        }
      } finally {
        await Promise.allSettled([a?.stop(), b?.stop()]);
      }
    }, { lan2: 1, timeoutMs: 90_000 });
  },
);
