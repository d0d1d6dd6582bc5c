import { test } from "node:test";
import assert from "node:assert/strict";
import * as C from "../../src/constants.ts";
import { DEFAULT_RPC_LIMITS } from "../../src/rpc/limits.ts";
import { TCP_FRAME_HEADER_SIZE } from "../../src/wire/frames.ts";
import { PeerTimeoutError } from "../../src/errors.ts";
import { rpcPair } from "../support/rpc_pair.ts";

test("the public constants keep Python PeerLink 1.2's values, except PEER_TTL (chosen like Bonjour)", () => {
  assert.equal(C.MAX_SAFE_UDP_PAYLOAD, 1200);
  assert.equal(C.TCP_MAX_FRAME, 4 * 1024 * 1024);
  assert.equal(TCP_FRAME_HEADER_SIZE, 4);
  assert.equal(C.RPC_TIMEOUT, 5000);
  assert.equal(C.DISCOVERY_WAIT, 3000);
  // Python 1.2 prunes a silent peer after 60 s; PeerLink-TS keeps it for the TTL of the
  // mDNS records it publishes (120 s, as Bonjour), and drops it at once on goodbye.
  assert.equal(C.PEER_TTL, 120_000);
  assert.equal(DEFAULT_RPC_LIMITS.maxDatagramBytes, C.MAX_SAFE_UDP_PAYLOAD);
  assert.equal(DEFAULT_RPC_LIMITS.maxFrameBytes, C.TCP_MAX_FRAME);
});

test("a UDP call to a silent peer is sent at least ten times within RPC_TIMEOUT (the real retransmission path)", async () => {
  // The host is cut off: every copy the worker sends is lost, so the worker's own counters
  // show the schedule src/rpc/udp.ts really follows with the default limits.
  const t = await rpcPair({ fake: true });
  try {
    t.network.partition(["10.0.0.1"], ["10.0.0.2"]);
    const call = t.worker.call(t.peer, "f", [], { transport: "udp", timeout: C.RPC_TIMEOUT });
    const failed = assert.rejects(call, PeerTimeoutError);
    await t.clock!.advance(C.RPC_TIMEOUT + 1);
    await failed;
    const { sent, retransmits } = t.worker.stats().udp;
    const sends = 1 + retransmits;
    assert.equal(sent, sends);
    assert.ok(sends >= 10, `only ${sends} sends within ${C.RPC_TIMEOUT} ms`);
    // 30% loss each way: a send and its reply both arrive with p = 0.49.
    const failure = Math.pow(1 - 0.49, sends);
    assert.ok(failure < 0.001, `a call would fail with probability ${failure}`);
  } finally {
    await t.close();
  }
});

test("callers stop retransmitting while the callee still remembers the call id, and close idle connections first", () => {
  assert.ok(DEFAULT_RPC_LIMITS.retryWindow < DEFAULT_RPC_LIMITS.replyCacheTtl);
  assert.ok(DEFAULT_RPC_LIMITS.clientIdleTimeout < DEFAULT_RPC_LIMITS.serverIdleTimeout);
});
