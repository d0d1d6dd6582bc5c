import { test } from "node:test";
import assert from "node:assert/strict";
import { Lan } from "../support/mdns_harness.ts";
import type { ServiceInstance } from "../../src/mdns/mod.ts";

test("smoke: a service published on one host is found by a browser on another", async () => {
  const lan = new Lan();
  try {
    const a = await lan.node(1);
    const b = await lan.node(2);
    const up: ServiceInstance[] = [];
    b.browse("_peerlink._tcp", { onUp: (i) => up.push(i) });
    const pub = a.publish({ instance: "Worker", type: "_peerlink._tcp", port: 50123, txt: { node: "Worker" } });
    await lan.advance(2000);
    const p = await pub;
    assert.equal(p.fullName, "Worker._peerlink._tcp.local");
    assert.equal(up.length, 1);
    assert.equal(up[0].port, 50123);
    assert.deepEqual(up[0].addresses, ["10.0.0.1"]);
    assert.equal(up[0].txt.node, "Worker");
  } finally {
    await lan.close();
  }
});
