/**
 * The admission table of the security gate (src/security/gate.ts), row by row: first on the
 * gate itself for every inbound place, then end to end through two RPC endpoints over UDP
 * and TCP, where a row's outcome is what the caller and the callee's counters see.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { ADMISSION, Gate, type GateMode, type Inbound } from "../../src/security/gate.ts";
import { SealKind } from "../../src/security/envelope.ts";
import { deriveKeysSync } from "../../src/security/keys.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import type { RpcEndpointOptions } from "../../src/rpc/endpoint.ts";
import { PeerConnectionError, PeerTimeoutError } from "../../src/errors.ts";
import { rpcPair } from "../support/rpc_pair.ts";

const SECRET = "gate table secret 9c1d7e";
const keys = deriveKeysSync(SECRET);
const text = new TextEncoder();

/** The table of src/security/gate.ts, written out again so that a change to either is caught. */
const TABLE: { mode: GateMode; secret: boolean; allowInsecurePeers: boolean; plaintext: string; sealed: string }[] = [
  { mode: "open", secret: false, allowInsecurePeers: false, plaintext: "admit", sealed: "sealedWithoutSecret" },
  { mode: "strict", secret: true, allowInsecurePeers: false, plaintext: "plaintextDropped", sealed: "verify" },
  { mode: "lenient", secret: true, allowInsecurePeers: true, plaintext: "admit", sealed: "verify" },
];

function gate(mode: GateMode, name = "B", clock = new FakeClock()): Gate {
  return new Gate({
    keys: mode === "open" ? undefined : keys,
    allowInsecurePeers: mode === "lenient",
    name,
    clock,
    replayWindow: 30_000,
    replayCacheEntries: 1000,
  });
}

/** The kind a sender seals for each inbound place. */
const KIND_FOR: Record<Inbound, SealKind> = {
  udp: SealKind.udpRequest,
  accepted: SealKind.tcpRequest,
  dialed: SealKind.tcpReply,
};

test("the gate's table is the documented one", () => {
  for (const row of TABLE) {
    assert.deepEqual(ADMISSION[row.mode], { plaintext: row.plaintext, sealed: row.sealed }, row.mode);
    assert.equal(gate(row.mode).mode, row.mode);
    assert.equal(gate(row.mode).secured, row.secret);
  }
});

for (const row of TABLE) {
  for (const where of ["udp", "accepted", "dialed"] as const) {
    test(`gate, ${row.mode} node, ${where}: plaintext -> ${row.plaintext}, sealed -> ${row.sealed}`, () => {
      const clock = new FakeClock();
      const receiver = gate(row.mode, "B", clock);
      const sender = gate("strict", "A", clock);
      const body = text.encode('{"type":"request"}');
      const plain = receiver.admit(body, where, "10.0.0.1:1");
      const sealed = receiver.admit(sender.seal(KIND_FOR[where], body, true), where, "10.0.0.1:1");
      const stats = receiver.stats();
      if (row.plaintext === "admit") {
        assert.ok(plain);
        assert.equal(plain.sender, undefined, "plaintext is never authenticated");
        assert.equal(plain.plaintext, body);
      } else {
        assert.equal(plain, undefined);
        assert.equal(stats.plaintextDropped, 1);
      }
      if (row.sealed === "verify") {
        assert.ok(sealed);
        assert.equal(sealed.sender, "A");
        assert.equal(sealed.kind, KIND_FOR[where]);
        assert.deepEqual([...sealed.plaintext], [...body]);
        assert.equal(stats.opened, 1);
      } else {
        assert.equal(sealed, undefined);
        assert.equal(stats.sealedWithoutSecret, 1);
      }
    });
  }
}

test("gate: a sealed frame is admitted only where its kind belongs (no reflection)", () => {
  const clock = new FakeClock();
  const receiver = gate("strict", "B", clock);
  const sender = gate("strict", "A", clock);
  const body = text.encode("{}");
  const places: Inbound[] = ["udp", "accepted", "dialed"];
  for (const kind of Object.values(SealKind)) {
    for (const where of places) {
      const expected = where === "udp"
        ? kind === SealKind.udpRequest || kind === SealKind.udpReply
        : where === "accepted"
        ? kind === SealKind.tcpRequest
        : kind === SealKind.tcpReply;
      const admitted = receiver.admit(sender.seal(kind, body, true), where, "x");
      assert.equal(admitted !== undefined, expected, `kind ${kind} at ${where}`);
    }
  }
  assert.equal(receiver.stats().misdirected, 12 - 4);
});

test("gate: sealed requests must come from their src and be addressed here; replies from the peer called", () => {
  const clock = new FakeClock();
  const receiver = gate("strict", "B", clock);
  const sender = gate("strict", "A", clock);
  const request = receiver.admit(sender.seal(SealKind.udpRequest, text.encode("{}"), true), "udp", "x")!;
  assert.equal(receiver.admitsRequest(request, "A", "B"), true, "positive control");
  assert.equal(receiver.admitsRequest(request, "Mallory", "B"), false);
  assert.equal(receiver.admitsRequest(request, "A", "C"), false);
  const reply = receiver.admit(sender.seal(SealKind.udpReply, text.encode("{}"), true), "udp", "x")!;
  assert.equal(receiver.admitsRequest(reply, "A", "B"), false, "a reply is not a request");
  const call = { sealed: true, fn: "f", peer: { name: "A" } };
  assert.equal(receiver.admitsReply(reply, call), true, "positive control");
  assert.equal(receiver.admitsReply(reply, { ...call, peer: { name: "C" } }), false);
  assert.equal(receiver.admitsReply(request, call), false, "a request is not a reply");
  assert.equal(receiver.admitsReply({ plaintext: new Uint8Array(), sender: undefined, kind: undefined }, call), false);
  assert.equal(receiver.stats().misdirected, 5);
  assert.equal(receiver.stats().plaintextDropped, 1);
  const open = gate("open");
  const plain = open.admit(text.encode("{}"), "udp", "x")!;
  assert.equal(
    open.admitsRequest(plain, "anyone", "anywhere"),
    true,
    "plaintext requests are the gate's admit decision",
  );
  assert.equal(open.admitsReply(plain, { sealed: false, fn: "f", peer: { name: "A" } }), true);
});

test("gate: a renamed node seals under its new name and takes requests addressed to it", () => {
  const clock = new FakeClock();
  const a = gate("strict", "A", clock);
  const b = gate("strict", "B", clock);
  a.rename("A (2)");
  b.rename("B (2)");
  const arrival = b.admit(a.seal(SealKind.udpRequest, text.encode("{}"), true), "udp", "x")!;
  assert.equal(arrival.sender, "A (2)");
  assert.equal(b.admitsRequest(arrival, "A (2)", "B (2)"), true);
  assert.equal(b.admitsRequest(arrival, "A (2)", "B"), false, "the old name no longer addresses it");
  assert.equal(a.overhead, 24 + "A (2)".length + 16);
});

/** How an end-to-end row turns out for the caller, and what the callee counted. */
type Outcome = "authenticated" | "unauthenticated" | "sealedWithoutSecret" | "plaintextDropped" | "refused";

/** Caller (sealed or not) x callee mode -> outcome. A sealing caller knows the callee announced a proof. */
const END_TO_END: { callee: GateMode; callerSeals: boolean; outcome: Outcome }[] = [
  { callee: "open", callerSeals: false, outcome: "unauthenticated" },
  { callee: "open", callerSeals: true, outcome: "sealedWithoutSecret" },
  { callee: "strict", callerSeals: false, outcome: "plaintextDropped" },
  { callee: "strict", callerSeals: true, outcome: "authenticated" },
  { callee: "lenient", callerSeals: false, outcome: "unauthenticated" },
  { callee: "lenient", callerSeals: true, outcome: "authenticated" },
];

function endpointOptions(mode: GateMode): Partial<RpcEndpointOptions> {
  return mode === "open" ? {} : { keys, allowInsecurePeers: mode === "lenient" };
}

for (const row of END_TO_END) {
  for (const transport of ["udp", "tcp"] as const) {
    test(`end to end over ${transport}: ${row.callerSeals ? "sealed" : "plaintext"} caller -> ${row.callee} callee: ${row.outcome}`, async () => {
      let runs = 0;
      const t = await rpcPair({
        fake: true,
        host: { ...endpointOptions(row.callee), handlers: { who: () => (runs++, { ...currentPeer() }) } },
        worker: row.callerSeals ? { keys } : {},
      });
      try {
        const call = t.worker.call(t.peer, "who", [], { transport, timeout: 1000 });
        const outcome = call.then((v) => v as Record<string, unknown>, (e) => e as Error);
        await t.clock!.advance(1500);
        const result = await outcome;
        const security = t.host.stats().security;
        if (row.outcome === "authenticated" || row.outcome === "unauthenticated") {
          assert.ok(!(result instanceof Error), String(result));
          assert.equal(result.authenticated, row.outcome === "authenticated");
          assert.equal(result.name, "Worker");
          assert.equal(runs, 1);
        } else {
          assert.ok(result instanceof PeerTimeoutError || result instanceof PeerConnectionError, String(result));
          assert.equal(runs, 0, "a dropped request never reaches a handler");
          assert.ok(security[row.outcome as "sealedWithoutSecret" | "plaintextDropped"] >= 1, JSON.stringify(security));
          if (transport === "tcp") assert.ok(t.host.stats().tcpServer.securityClosed >= 1);
        }
      } finally {
        await t.close();
      }
    });
  }
}

test("a caller with a secret refuses to call a peer without a proof in plaintext unless allowInsecurePeers", async () => {
  for (const allowInsecurePeers of [false, true]) {
    const t = await rpcPair({ fake: true, host: { handlers: { f: () => 1 } }, worker: { keys, allowInsecurePeers } });
    try {
      const insecurePeer = { ...t.peer, insecure: true };
      if (allowInsecurePeers) assert.equal(await t.worker.call(insecurePeer, "f", []), 1);
      else await assert.rejects(t.worker.call(insecurePeer, "f", []), { code: "INSECURE_PEER" });
    } finally {
      await t.close();
    }
  }
});
