/**
 * Issue 4 acceptance, cross-runtime: a Deno node, a Bun node and a Node node, each on its own
 * host of a private LAN (tests/support/lan.ts), find each other by mDNS and call each other
 * both ways over UDP and TCP, with the caller seen by the handler, binary values and fan-out.
 *
 * The test spawns all three runtimes itself whatever runtime runs it. It is quick (about 2 s:
 * three processes, one LAN), so it runs in every pass of the suite rather than only one: each
 * pass drives the LAN from a different runtime, and a flaky path gets three chances to show.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { socketSkip } from "../support/env.ts";
import { lanSkip, withLan } from "../support/lan.ts";
import { type E2eNode, type E2eRuntime, startE2eNode } from "../support/e2e_driver.ts";

const RUNTIMES: readonly E2eRuntime[] = ["deno", "bun", "node"];
const skip = socketSkip || lanSkip;

/** Discovery on a fresh LAN: three hosts, each probing and announcing its name. */
const DISCOVERY_TIMEOUT_MS = 15_000;

/** Deterministic bytes covering every byte value. */
function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) % 256);
}

function othersOf(nodes: readonly E2eNode[], self: E2eNode): E2eNode[] {
  return nodes.filter((n) => n !== self).sort((a, b) => (a.name < b.name ? -1 : 1));
}

test(
  "cross-runtime LAN: Deno, Bun and Node nodes on three hosts discover and call each other both ways over UDP and TCP",
  {
    skip,
  },
  async () => {
    await withLan(3, async (lan) => {
      const nodes = await Promise.all(RUNTIMES.map((rt, i) => startE2eNode(lan, i + 1, `E2E-${rt}`, rt)));

      // Discovery: every node sees exactly the two others, at their hosts' addresses.
      await Promise.all(nodes.map(async (node) => {
        const found = await node.expect(
          "wait",
          { count: 2, timeout: DISCOVERY_TIMEOUT_MS },
          DISCOVERY_TIMEOUT_MS + 5000,
        );
        const others = othersOf(nodes, node);
        assert.deepEqual(found.peers, others.map((n) => n.name), `peers seen by ${node.name}`);
        assert.deepEqual(
          found.addresses,
          Object.fromEntries(others.map((n) => [n.name, lan.address(n.host)])),
          `peer addresses seen by ${node.name}`,
        );
      }));

      for (const from of nodes) {
        for (const to of othersOf(nodes, from)) {
          const route = `${from.runtime} (host ${from.host}) -> ${to.runtime} (host ${to.host})`;
          const expected = {
            callee: to.name,
            runtime: to.runtime,
            caller: from.name,
            address: lan.address(from.host),
            later: from.name,
          };

          // Explicit transports; the handler reports who called and how, also after awaits and timers.
          for (const transport of ["udp", "tcp"] as const) {
            const reply = await from.expect("call", { target: to.name, fn: "inspect", args: [1, "two"], transport });
            assert.equal(reply.transport, transport, `${route}: transport the ${transport} call used`);
            const { argChars: _, ...seen } = reply.value as Record<string, unknown>;
            assert.deepEqual(
              seen,
              { ...expected, transport },
              `${route}: currentPeer() in the handler over ${transport}`,
            );
          }

          // Auto: a small request goes over UDP, one over MAX_SAFE_UDP_PAYLOAD (1200 bytes) over TCP.
          const small = await from.expect("call", { target: to.name, fn: "inspect", args: ["small"] });
          assert.equal(small.transport, "udp", `${route}: auto call with a small request`);
          const big = await from.expect("call", { target: to.name, fn: "inspect", args: ["x".repeat(3000)] });
          const bigSeen = big.value as { transport: string; argChars: number; caller: string };
          assert.ok(bigSeen.argChars > 1200, `${route}: the big request really is big (${bigSeen.argChars})`);
          assert.equal(big.transport, "tcp", `${route}: auto call with a ${bigSeen.argChars}-character request`);
          assert.equal(bigSeen.transport, "tcp", `${route}: transport seen by the handler of the big auto call`);
          assert.equal(bigSeen.caller, from.name);

          // Uint8Array round trips, byte-exact, over each transport.
          const blobs = { udp: pattern(300, from.host), tcp: pattern(200_000, to.host) };
          for (const transport of ["udp", "tcp"] as const) {
            const reply = await from.expect("call", {
              target: to.name,
              fn: "echo",
              args: [blobs[transport]],
              transport,
            });
            assert.ok(reply.value instanceof Uint8Array, `${route}: echo over ${transport} returned a Uint8Array`);
            assert.deepEqual(reply.value, blobs[transport], `${route}: bytes echoed over ${transport}`);
          }
          const nested = { label: route, parts: [pattern(5, 1), { inner: pattern(0, 0) }] };
          const echoed = await from.expect("call", { target: to.name, fn: "echo", args: [nested] });
          assert.deepEqual(echoed.value, nested, `${route}: Uint8Array values nested in objects and arrays`);
        }
      }

      // Fan-out from each node answers for exactly the two others, each with its own runtime.
      for (const node of nodes) {
        const { results } = await node.expect("fanout", { fn: "runtime", args: [] });
        const expected = othersOf(nodes, node).map((n) => ({ peer: n.name, ok: true, value: n.runtime }));
        assert.deepEqual(results, expected, `call("ALL", "runtime") from ${node.name}`);
      }

      const codes = await Promise.all(nodes.map((n) => n.stop()));
      assert.deepEqual(codes, [0, 0, 0], "every node stopped cleanly");
    }, { timeoutMs: 100_000 });
  },
);
