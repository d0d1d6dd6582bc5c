import { test } from "node:test";
import assert from "node:assert/strict";
import { Lan } from "./support/mdns_harness.ts";
import type { Browser } from "../src/mdns/mod.ts";

/** Starts `n` nodes that each publish `Node<i>` and browse; returns whom each node has seen come up. */
async function swarm(lan: Lan, n: number, staggerMs: number) {
  const seen = new Map<number, Set<string>>();
  const published: Promise<unknown>[] = [];
  const browsers: Browser[] = [];
  for (let i = 1; i <= n; i++) {
    const node = await lan.node(i);
    const set = new Set<string>();
    seen.set(i, set);
    browsers.push(node.browse("_peerlink._tcp", { onUp: (s) => set.add(s.name) }));
    published.push(
      node.publish({ instance: `Node${i}`, type: "_peerlink._tcp", port: 7000 + i, txt: { i: String(i) } }),
    );
    await lan.advance(staggerMs);
  }
  return { seen, published, browsers };
}

function missing(seen: Map<number, Set<string>>, n: number): string[] {
  const out: string[] = [];
  for (const [i, set] of seen) {
    for (let j = 1; j <= n; j++) if (j !== i && !set.has(`Node${j}`)) out.push(`${i} misses ${j}`);
  }
  return out;
}

test("30% datagram loss: every peer is still discovered by every other", async () => {
  const lan = new Lan({ seed: 42, loss: 0.3, delayMs: [1, 20] });
  try {
    const n = 8;
    const { seen, published } = await swarm(lan, n, 700);
    await lan.advance(60_000);
    const names = await Promise.all(published.map((p) => p.then((x) => (x as { instance: string }).instance)));
    assert.equal(new Set(names).size, n, "every node kept its own name (loss never faked a conflict)");
    assert.deepEqual(missing(seen, n), []);
    assert.ok(lan.net.stats.dropped > 0, "the loss really happened");
  } finally {
    await lan.close();
  }
});

test("20 nodes all discover each other", async () => {
  const lan = new Lan({ seed: 7, delayMs: [0, 5] });
  try {
    const n = 20;
    const { seen, published, browsers } = await swarm(lan, n, 150);
    await lan.advance(15_000);
    await Promise.all(published);
    assert.deepEqual(missing(seen, n), []);
    await lan.advance(300_000); // through several refresh cycles: nobody drops out
    assert.deepEqual(browsers.map((b) => b.instances().length), new Array(n).fill(n - 1));
    for (const node of lan.nodes) assert.equal(node.stats.transport.internalErrors, 0);
  } finally {
    await lan.close();
  }
});

test("20 nodes starting at the same instant all discover each other", async () => {
  const lan = new Lan({ seed: 3, delayMs: [0, 2] });
  try {
    const n = 20;
    const { seen, published } = await swarm(lan, n, 0);
    await lan.advance(15_000);
    await Promise.all(published);
    assert.deepEqual(missing(seen, n), []);
  } finally {
    await lan.close();
  }
});
