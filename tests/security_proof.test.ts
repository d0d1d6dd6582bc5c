import { test } from "node:test";
import assert from "node:assert/strict";
import { deriveKeys } from "../src/security/keys.ts";
import {
  acceptPeerWith,
  announcesProof,
  peerProofStatus,
  PROOF_TXT_KEY,
  proofTxt,
  verifyPeerProof,
} from "../src/security/proof.ts";

const subject = { name: "Host", instanceId: "5f0c9c2e-6d7b-4c1e-9a53-0e7c1b2d3f40", udpPort: 51234, tcpPort: 52345 };

test("proofTxt() yields one base64url HMAC entry that a node with the same secret accepts", async () => {
  const keys = await deriveKeys("team secret 42");
  const txt = await proofTxt(keys, subject);
  assert.deepEqual(Object.keys(txt), [PROOF_TXT_KEY]);
  assert.match(txt.auth, /^[A-Za-z0-9_-]{43}$/);
  const peer = { ...subject, txt: { ext: "persist,bin,dedupe", ...txt } };
  assert.equal(await verifyPeerProof(keys, peer), true);
  assert.equal(await peerProofStatus(keys, peer), "proven");
  assert.equal(announcesProof(peer), true);
  // Deterministic for one subject: peers can re-check on every announcement.
  assert.equal((await proofTxt(await deriveKeys("team secret 42"), subject)).auth, txt.auth);
});

test("a node with another secret, or none, is refused as a peer", async () => {
  const mine = await deriveKeys("team secret 42");
  const theirs = await deriveKeys("team secret 43");
  // Positive control: the same subject with OUR secret's proof passes the same checks.
  const proven = { ...subject, txt: await proofTxt(mine, subject) };
  assert.equal(await verifyPeerProof(mine, proven), true);
  assert.equal(await peerProofStatus(mine, proven), "proven");
  const forged = { ...subject, txt: await proofTxt(theirs, subject) };
  assert.equal(await verifyPeerProof(mine, forged), false);
  assert.equal(await peerProofStatus(mine, forged), "forged");
  const none = { ...subject, txt: { ext: "persist" } };
  assert.equal(await verifyPeerProof(mine, none), false);
  assert.equal(await peerProofStatus(mine, none), "unproven");
  assert.equal(announcesProof(none), false);
  assert.equal(await verifyPeerProof(mine, { ...subject }), false, "no TXT at all");
});

test("a proof does not transfer: another name, instance or port makes it invalid", async () => {
  const keys = await deriveKeys("team secret 42");
  const txt = await proofTxt(keys, subject);
  assert.equal(await verifyPeerProof(keys, { ...subject, txt }), true, "positive control: the unchanged subject");
  for (
    const changed of [
      { name: "Worker" },
      { name: "host" },
      { instanceId: "other" },
      { udpPort: subject.udpPort + 1 },
      { tcpPort: subject.tcpPort + 1 },
    ]
  ) {
    assert.equal(await verifyPeerProof(keys, { ...subject, ...changed, txt }), false, JSON.stringify(changed));
  }
});

test("garbage proofs are refused without throwing", async () => {
  const keys = await deriveKeys("team secret 42");
  const valid = (await proofTxt(keys, subject)).auth;
  assert.equal(await verifyPeerProof(keys, { ...subject, txt: { auth: valid } }), true, "positive control");
  const flipped = (valid[0] === "A" ? "B" : "A") + valid.slice(1);
  for (const auth of ["", "x", "!".repeat(43), valid + "A", valid.slice(1), flipped, "a".repeat(10_000)]) {
    assert.equal(await verifyPeerProof(keys, { ...subject, txt: { auth } }), false, auth.slice(0, 20));
  }
  const weird = { name: 7, instanceId: null, udpPort: "x", tcpPort: {}, txt: { auth: valid } };
  assert.equal(await verifyPeerProof(keys, weird as unknown as typeof subject), false);
});

test("acceptPeerWith() accepts proven peers, and unproven ones only with allowInsecurePeers", async () => {
  const keys = await deriveKeys("team secret 42");
  const proven = { ...subject, txt: await proofTxt(keys, subject) };
  const python = { ...subject, name: "PyNode", txt: {} };
  const spoof = { ...subject, txt: await proofTxt(await deriveKeys("guess"), subject) };
  const strict = acceptPeerWith(keys);
  const lenient = acceptPeerWith(keys, { allowInsecurePeers: true });
  assert.deepEqual(await Promise.all([proven, python, spoof].map(strict)), [true, false, false]);
  assert.deepEqual(await Promise.all([proven, python, spoof].map(lenient)), [true, true, false]);
});
