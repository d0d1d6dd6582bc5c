import { test } from "node:test";
import assert from "node:assert/strict";
import { autoRuntime } from "../runtimes/auto.ts";
import { socketSkip } from "./support/env.ts";
import { fuzzSeed, INJECTED_FAULTS, withFault } from "./support/fuzz.ts";
import {
  checkRpcFuzz,
  describeRpcFuzz,
  type RpcFuzzFloors,
  runMemoryRpcFuzz,
  runSocketRpcFuzz,
} from "./support/fuzz_rpc_harness.ts";

// Floors count what the RECEIVERS decoded (their own counters), not what was sent.
const FULL = { datagrams: 55_000, frames: 58_000, sealedDatagrams: 5_000, sealedFrames: 1_000 };
const FULL_FLOORS: RpcFuzzFloors = { udpDecoded: 50_000, tcpDecoded: 45_000, decoded: 100_000, legitimate: 20 };
const SMALL = { datagrams: 3_000, frames: 3_000, sealedDatagrams: 300, sealedFrames: 100 };
const SMALL_FLOORS: RpcFuzzFloors = { udpDecoded: 2_500, tcpDecoded: 2_500, decoded: 5_000, legitimate: 5 };

test("fuzz: 100,000 hostile datagrams and TCP frames reach the RPC decoders (receiver counts); no internal error, no handler sees a malformed request, legitimate callers keep getting answers", async () => {
  const started = performance.now();
  const report = await runMemoryRpcFuzz(fuzzSeed("rpc memory"), FULL);
  console.log(`fuzz: ${describeRpcFuzz(report)}, ${Math.round(performance.now() - started)} ms`);
  checkRpcFuzz(report, FULL_FLOORS, true);
});

test("fuzz (can fail): with an injected decoder fault the same harness reports internal errors and its check fails", async () => {
  for (const rule of [INJECTED_FAULTS.constructorInRpc, INJECTED_FAULTS.onePercent("rpc.datagram", "rpc.frame")]) {
    const { result, thrown } = await withFault(rule, () => runMemoryRpcFuzz(fuzzSeed("rpc memory, fault"), SMALL));
    assert.ok(thrown > 0, "the fault fired");
    assert.equal(result.internalErrors, thrown, "every injected fault was counted once, as an internal error");
    assert.throws(() => checkRpcFuzz(result, SMALL_FLOORS, true), /internal errors/);
  }
});

test(
  "fuzz on real sockets: hostile datagrams and frames on 127.0.0.1 reach the decoders while a caller keeps getting answers",
  {
    skip: socketSkip,
  },
  async () => {
    const size = { datagrams: 3_000, frames: 3_000, sealedDatagrams: 0, sealedFrames: 0 };
    const report = await runSocketRpcFuzz(autoRuntime(), fuzzSeed("rpc sockets"), size);
    console.log(`fuzz on real sockets: ${describeRpcFuzz(report)}`);
    // Sends wait for the receiver, so loopback drops (almost) nothing; a frame that starts like a
    // sealed envelope or a lying header ends its connection early, so not every frame arrives.
    checkRpcFuzz(report, { udpDecoded: 2_900, tcpDecoded: 2_000, decoded: 5_000, legitimate: 5 }, false);
  },
);

test("fuzz on real sockets (can fail): an injected decoder fault is reported and fails the check", {
  skip: socketSkip,
}, async () => {
  const size = { datagrams: 500, frames: 500, sealedDatagrams: 0, sealedFrames: 0 };
  const { result, thrown } = await withFault(
    INJECTED_FAULTS.onePercent("rpc.datagram", "rpc.frame"),
    () => runSocketRpcFuzz(autoRuntime(), fuzzSeed("rpc sockets, fault"), size),
  );
  assert.ok(thrown > 0, "the fault fired");
  assert.equal(result.internalErrors, thrown);
  assert.throws(
    () => checkRpcFuzz(result, { udpDecoded: 300, tcpDecoded: 300, decoded: 600, legitimate: 1 }, false),
    /internal/,
  );
});
