/**
 * Runs the adapter conformance suite (tests/support/conformance.ts) against the in-memory
 * network: two virtual hosts of one fresh MemoryNetwork per case, on the real clock (the
 * suite measures real time). No real sockets are opened, so nothing skips.
 */
import { conformanceSuite } from "../support/conformance.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";

/** A host that exists but is detached: connects to it get no answer and time out. */
const VANISHED = "10.0.0.99";

conformanceSuite({
  label: "memory",
  hosts: () => {
    const network = new MemoryNetwork({ seed: 1 });
    const a = network.host("10.0.0.1");
    const b = network.host("10.0.0.2");
    network.detach(network.host(VANISHED));
    return Promise.resolve({ a, b, addressA: a.address, addressB: b.address, close: () => network.close() });
  },
  unresponsive: { address: VANISHED, port: 9 },
});
