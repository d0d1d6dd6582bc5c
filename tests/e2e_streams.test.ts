/**
 * Streams across runtimes on a private LAN: a Deno node writes a byte stream, a Node node
 * relays it (the stream is a call result there and an argument of its next call), a Bun node
 * reads and digests it; value streams and duplex streams between every pair; and all of it
 * again with a secret (every frame sealed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { socketSkip } from "./support/env.ts";
import { lanSkip, withLan } from "./support/lan.ts";
import { type E2eNode, type E2eRuntime, startE2eNode } from "./support/e2e_driver.ts";

const RUNTIMES: readonly E2eRuntime[] = ["deno", "bun", "node"];
const skip = socketSkip || lanSkip;
const DISCOVERY_TIMEOUT_MS = 15_000;

/** The digest the fixture's `produce(count, size, seed)` stream must have. */
function expectedDigest(count: number, size: number, seed: number): { bytes: number; sha256: string } {
  const hash = createHash("sha256");
  const chunk = new Uint8Array(size);
  for (let c = 0; c < count; c++) {
    for (let i = 0; i < size; i++) chunk[i] = ((c * size + i) * 31 + seed) & 0xff;
    hash.update(chunk);
  }
  return { bytes: count * size, sha256: hash.digest("hex") };
}

async function threeNodes(
  lan: Parameters<Parameters<typeof withLan>[1]>[0],
  env: Record<string, string>,
): Promise<Record<E2eRuntime, E2eNode>> {
  const nodes = await Promise.all(RUNTIMES.map((rt, i) => startE2eNode(lan, i + 1, `S-${rt}`, rt, env)));
  await Promise.all(
    nodes.map((node) => node.expect("wait", { count: 2, timeout: DISCOVERY_TIMEOUT_MS }, DISCOVERY_TIMEOUT_MS + 5000)),
  );
  return { deno: nodes[0], bun: nodes[1], node: nodes[2] };
}

for (const secret of [undefined, "e2e streams secret 5d2c81"]) {
  test(
    `streams across runtimes${
      secret ? ", sealed" : ""
    }: a Deno writer, a Node relay, a Bun reader; values and duplex between every pair`,
    {
      skip,
    },
    async () => {
      await withLan(3, async (lan) => {
        const n = await threeNodes(lan, secret ? { E2E_SECRET: secret } : {});
        // 16 MiB from Deno through Node to Bun, asked by Bun (so the relay's result goes back to it).
        const [count, size, seed] = [256, 64 * 1024, 7];
        const relayed = await n.bun.expect("call", {
          target: "S-node",
          fn: "relay",
          args: ["S-deno", "S-bun", count, size, seed],
          transport: "tcp",
          timeout: 60_000,
        }, 90_000);
        assert.deepEqual(relayed.value, expectedDigest(count, size, seed), "Deno -> Node -> Bun, byte-exact");
        for (const from of RUNTIMES) {
          for (const to of RUNTIMES.filter((r) => r !== from)) {
            const route = `${from} -> ${to}`;
            const got = await n[from].expect("digest", { target: `S-${to}`, count: 16, size: 50_000, seed: 3 });
            const { bytes, sha256 } = got as unknown as { bytes: number; sha256: string };
            assert.deepEqual({ bytes, sha256 }, expectedDigest(16, 50_000, 3), `${route}: result stream`);
            const values = await n[from].expect("values", { target: `S-${to}`, count: 10_000 });
            assert.deepEqual([values.count, values.sum], [10_000, 10_000 * 9_999], `${route}: value stream`);
            const upper = await n[from].expect("upper", {
              target: `S-${to}`,
              text: "hello from " + from,
              timeout: 5000,
            });
            assert.equal(upper.text, ("hello from " + from).toUpperCase(), `${route}: duplex`);
          }
        }
        const stats = await n.node.expect("stats", {});
        const security = (stats.stats as { security: { enabled: boolean; plaintextDropped: number; forged: number } })
          .security;
        assert.equal(security.enabled, secret !== undefined);
        assert.equal(security.plaintextDropped + security.forged, 0);
      });
    },
  );
}
