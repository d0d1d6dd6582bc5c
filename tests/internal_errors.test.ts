import { test } from "node:test";
import assert from "node:assert/strict";
import { InternalErrors, isBadInput } from "../src/internal_errors.ts";
import { BadMessage, PayloadTooLarge, PeerConnectionError, PeerTimeoutError } from "../src/errors.ts";
import { setFaultHook } from "../src/faults.ts";
import { decodeMessage } from "../src/mdns/packet.ts";
import type { Logger } from "../src/log.ts";
import { rpcPair } from "./support/rpc_pair.ts";

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) };
}

test("isBadInput(): PeerLinkErrors raised on purpose are bad input; anything else is a bug", () => {
  assert.equal(isBadInput(new BadMessage("message is not valid JSON")), true);
  assert.equal(isBadInput(PayloadTooLarge.tcp(10, 5)), true);
  for (const bug of [new TypeError("x is undefined"), new RangeError("offset"), new Error("boom"), "thrown text"]) {
    assert.equal(isBadInput(bug), false, String(bug));
  }
});

test("InternalErrors counts every internal error and logs each distinct one once, with its stack", () => {
  const logger = recordingLogger();
  const internal = new InternalErrors(logger);
  assert.equal(internal.badInput(new BadMessage("bad"), "decoding a datagram from 10.0.0.9:5000"), true);
  assert.equal(internal.count, 0, "bad input is not counted");
  for (let port = 5000; port < 5010; port++) {
    assert.equal(
      internal.badInput(new TypeError("x is undefined"), `decoding a datagram from 10.0.0.9:${port}`),
      false,
    );
  }
  internal.record(new RangeError("other"), "serving 'f'");
  assert.equal(internal.count, 11);
  assert.equal(logger.errors.length, 2, "the same error from other senders is only counted");
  assert.match(logger.errors[0], /internal error while decoding a datagram from 10\.0\.0\.9:5000/);
  assert.match(logger.errors[0], /TypeError: x is undefined\n\s+at /, "with the stack");
  assert.match(logger.errors[1], /RangeError: other/);
  for (let i = 0; i < 100; i++) internal.record(new Error(`distinct ${i}`), "somewhere");
  assert.equal(internal.count, 111);
  assert.ok(logger.errors.length <= 32, `logging is bounded (${logger.errors.length} lines)`);
});

test("an exception from the RPC decoders is an internal error in stats(), logged, not a malformed message; the node keeps serving", async () => {
  const logger = recordingLogger();
  const t = await rpcPair({ host: { handlers: { f: (x: unknown) => x }, logger } });
  try {
    setFaultHook((site, input) => {
      if (new TextDecoder().decode(input).includes("poison")) throw new TypeError(`injected fault in ${site}`);
    });
    // Dropped unanswered over UDP; over TCP the connection is closed (a bug leaves its state unknown).
    await assert.rejects(t.worker.call(t.peer, "f", ["poison"], { transport: "udp", timeout: 300 }), PeerTimeoutError);
    await assert.rejects(
      t.worker.call(t.peer, "f", ["poison"], { transport: "tcp", timeout: 2000 }),
      (err) => err instanceof PeerConnectionError && err.code === "CONNECTION_LOST",
    );
    setFaultHook(undefined);
    const stats = t.host.stats();
    assert.ok(stats.internalErrors >= 2, `internalErrors ${stats.internalErrors}`);
    assert.equal(stats.udp.malformed + stats.tcpServer.malformed, 0, "not counted as malformed input");
    assert.ok(logger.errors.some((line) => /internal error while decoding a datagram/.test(line)));
    assert.ok(logger.errors.some((line) => /internal error while decoding a frame/.test(line)));
    assert.equal(await t.worker.call(t.peer, "f", ["fine"], { transport: "udp" }), "fine");
    assert.equal(await t.worker.call(t.peer, "f", ["fine"], { transport: "tcp" }), "fine");
  } finally {
    setFaultHook(undefined);
    await t.close();
  }
});

test("decodeMessage() reports a decoder crash as internal, not as a drop reason of the input", () => {
  const query = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(decodeMessage(query).ok, true, "positive control");
  setFaultHook(() => {
    throw new TypeError("injected");
  });
  try {
    const result = decodeMessage(query);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.internal instanceof TypeError);
  } finally {
    setFaultHook(undefined);
  }
});
