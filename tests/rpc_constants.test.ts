import { test } from "node:test";
import assert from "node:assert/strict";
import * as C from "../src/constants.ts";

test("constants keep Python PeerLink 1.2's limits", () => {
  assert.equal(C.MAX_SAFE_UDP_PAYLOAD, 1200);
  assert.equal(C.TCP_MAX_FRAME, 4 * 1024 * 1024);
  assert.equal(C.TCP_FRAME_HEADER_SIZE, 4);
  assert.equal(C.RPC_TIMEOUT, 5000);
  assert.equal(C.DISCOVERY_WAIT, 3000);
  assert.equal(C.PEER_TTL, 120_000);
});

test("the UDP retransmission schedule sends a call about ten times within RPC_TIMEOUT", () => {
  let at = 0;
  let interval = C.UDP_RETRY_INITIAL;
  let sends = 1;
  while (at + interval < C.RPC_TIMEOUT) {
    at += interval;
    sends++;
    interval = Math.min(interval * C.UDP_RETRY_BACKOFF, C.UDP_RETRY_MAX_INTERVAL);
  }
  assert.ok(sends >= 10, `only ${sends} sends within ${C.RPC_TIMEOUT} ms`);
  // 30% loss each way: a send and its reply both arrive with p = 0.49.
  const failure = Math.pow(1 - 0.49, sends);
  assert.ok(failure < 0.001, `a call would fail with probability ${failure}`);
});

test("callers stop retransmitting while the callee still remembers the call id", () => {
  assert.ok(C.UDP_RETRY_WINDOW < C.REPLY_CACHE_TTL);
  assert.ok(C.TCP_CLIENT_IDLE_TIMEOUT < C.TCP_SERVER_IDLE_TIMEOUT);
  assert.ok(C.MAX_DATAGRAM >= C.MAX_SAFE_UDP_PAYLOAD);
});
