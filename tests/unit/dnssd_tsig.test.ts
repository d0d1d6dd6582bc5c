/**
 * TSIG (RFC 8945, HMAC-SHA256) signing and verification (src/dnssd/tsig.ts), BIND key files
 * (src/dnssd/key_file.ts), and a fuzz of the verifier like the mDNS decoder's
 * (tests/unit/mdns_fuzz.test.ts): 100,000 mutated signed messages are each verified or refused with
 * a reason, never thrown, and the verifier itself never fails (`internal`).
 * Interoperability with BIND's own nsupdate is tests/sockets/dnssd_nsupdate.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { findTsig, signMessage, TSIG_FUDGE, tsigSecret, verifyMessage } from "../../src/dnssd/tsig.ts";
import { parseBindKeyFile } from "../../src/dnssd/key_file.ts";
import { WideAreaError } from "../../src/dnssd/errors.ts";
import { addRecord, deleteName, encodeUpdate, nameNotInUse } from "../../src/dnssd/update.ts";
import { encodeDnsMessage, type WireRecord } from "../../src/dnssd/wire.ts";
import { mulberry32 } from "../../src/testing/prng.ts";
import { mutate } from "../support/fuzz_mutate.ts";
import { unsignedTsigError, updateReply } from "../support/memory_dns.ts";

const KEY = tsigSecret({
  name: "pl-key",
  algorithm: "hmac-sha256",
  secret: "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=",
});
const OTHER = tsigSecret({ name: "pl-key", secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" });
const NOW = 1_800_000_000;

function update(id = 0x1234): Uint8Array {
  const a = { name: "box.lab.example", type: "A" as const, ttl: 120, flush: false, data: "10.77.0.1" };
  return encodeUpdate(id, "lab.example", [nameNotInUse(a.name)], [deleteName("old.lab.example"), addRecord(a)]);
}

const reply = (id: number, rcode = 0, additionals: WireRecord[] = []) =>
  updateReply(id, "lab.example", rcode, additionals);

test("a signed request verifies, and the signed reply verifies only over the request's MAC", () => {
  const request = signMessage(update(), KEY, { now: NOW });
  assert.equal(request.mac.length, 32);
  const checked = verifyMessage(request.bytes, KEY, { now: NOW + 10 });
  assert.ok(checked.ok, JSON.stringify(checked));
  assert.equal(checked.tsig.keyName, "pl-key");
  assert.equal(checked.tsig.originalId, 0x1234);
  assert.equal(checked.tsig.fudge, TSIG_FUDGE);
  // ARCOUNT counts the TSIG record.
  assert.equal((request.bytes[10] << 8) | request.bytes[11], 1);

  const answer = signMessage(reply(0x1234), KEY, { now: NOW, requestMac: request.mac });
  assert.ok(verifyMessage(answer.bytes, KEY, { now: NOW, requestMac: request.mac }).ok);
  const otherRequest = signMessage(update(), KEY, { now: NOW + 1 });
  assert.deepEqual(
    verifyMessage(answer.bytes, KEY, { now: NOW, requestMac: otherRequest.mac }).ok,
    false,
    "a reply replayed for another request does not verify",
  );
  assert.equal(verifyMessage(answer.bytes, KEY, { now: NOW }).ok, false, "a reply is not a request");
});

test("verification says why: unsigned, another key, wrong secret, tampered, clock skew, unsigned error", () => {
  const request = signMessage(update(), KEY, { now: NOW });
  const reason = (bytes: Uint8Array, key = KEY, now = NOW) => {
    const v = verifyMessage(bytes, key, { now });
    assert.equal(v.ok, false);
    return v.ok ? "" : v.reason;
  };
  assert.equal(reason(update()), "unsigned");
  assert.equal(reason(request.bytes, OTHER), "bad MAC");
  const renamed = tsigSecret({ name: "other-key", secret: "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=" });
  assert.match(reason(request.bytes, renamed), /another key \("pl-key"\)/);
  const tampered = request.bytes.slice();
  tampered[tampered.indexOf(77)] = 78; // 10.77.0.1 -> 10.78.0.1
  assert.equal(reason(tampered), "bad MAC");
  assert.match(reason(request.bytes, KEY, NOW + TSIG_FUDGE + 1), /301 s away from our clock/);
  assert.ok(verifyMessage(request.bytes, KEY, { now: NOW + TSIG_FUDGE }).ok, "within the fudge");
  const badsig = reply(0x1234, 9, [unsignedTsigError("pl-key", 0x1234, 16, NOW)]);
  const v = verifyMessage(badsig, KEY, { now: NOW, requestMac: request.mac });
  assert.ok(!v.ok && v.reason === "unsigned BADSIG" && v.tsig?.error === 16, JSON.stringify(v));
  // A TSIG that is not the last record is malformed.
  const twice = encodeDnsMessage({
    id: 1,
    questions: [],
    additionals: [unsignedTsigError("pl-key", 1, 0, NOW), {
      name: "",
      type: 41,
      klass: 1232,
      ttl: 0,
      rdata: new Uint8Array(),
    }],
  });
  assert.deepEqual(findTsig(twice), { reason: "TSIG is not the last additional record" });
});

test("the MAC is checked in constant time over the canonical key name: case does not matter", () => {
  const upper = tsigSecret({ name: "PL-Key.", secret: "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=" });
  assert.equal(upper.name, "pl-key");
  const signed = signMessage(update(), upper, { now: NOW });
  assert.ok(verifyMessage(signed.bytes, KEY, { now: NOW }).ok);
});

test("keys: checked with messages naming the option; BIND key files parsed", () => {
  const error = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof WideAreaError);
      assert.equal(err.code, "DNS_CONFIG");
      return err.message;
    }
    assert.fail("no error");
  };
  assert.match(
    error(() => tsigSecret({ name: "k", algorithm: "hmac-md5" as "hmac-sha256", secret: "AAAA" })),
    /hmac-sha256/,
  );
  assert.match(error(() => tsigSecret({ name: "k", secret: "not base64!" })), /not base64/);
  assert.match(error(() => tsigSecret({ name: "bad key", secret: "AAAA" })), /not a key name/);

  const file = `# made by tsig-keygen
key "pl-key" {
\talgorithm hmac-sha256;
\tsecret "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=";
};
`;
  assert.deepEqual(parseBindKeyFile(file), {
    name: "pl-key",
    algorithm: "hmac-sha256",
    secret: "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=",
  });
  assert.equal(parseBindKeyFile('/* c */ key lab { secret "AAAA"; algorithm "hmac-sha256"; } ;').name, "lab");
  // "//" inside a quoted secret is not a comment (base64 may hold it); "#", "//", "/* */" outside are.
  assert.deepEqual(
    parseBindKeyFile('key "pl-key" { algorithm hmac-sha256; # c\n secret "ab//cd/+ef=="; }; // end /* x */'),
    { name: "pl-key", algorithm: "hmac-sha256", secret: "ab//cd/+ef==" },
  );
  assert.match(error(() => parseBindKeyFile("options { };", "k.conf")), /k\.conf holds no key statement/);
  assert.match(
    error(() => parseBindKeyFile(`${file}\n${file.replace("pl-key", "two")}`)),
    /holds 2 keys \(pl-key, two\)/,
  );
  assert.match(error(() => parseBindKeyFile('key "x" { algorithm hmac-sha256; };')), /lacks a secret/);
  assert.match(error(() => parseBindKeyFile('key "x" { algorithm hmac-sha1; secret "AAAA"; };')), /hmac-sha256/);
});

/** Signed requests, signed replies (one with BADTIME other data) and unsigned error replies. */
function corpus(): { bytes: Uint8Array; mac?: Uint8Array }[] {
  const out: { bytes: Uint8Array; mac?: Uint8Array }[] = [];
  for (let id = 1; id <= 4; id++) {
    const request = signMessage(update(id * 1000), KEY, { now: NOW });
    out.push({ bytes: request.bytes });
    out.push({
      bytes: signMessage(reply(id * 1000), KEY, { now: NOW, requestMac: request.mac }).bytes,
      mac: request.mac,
    });
  }
  const late = signMessage(update(9), KEY, { now: NOW });
  out.push({
    bytes: signMessage(reply(9, 9), KEY, {
      now: NOW,
      requestMac: late.mac,
      error: 18,
      otherData: Uint8Array.from([0, 0, 0x6b, 0x49, 0xd2, 0x00]),
    }).bytes,
    mac: late.mac,
  });
  out.push({ bytes: reply(5, 9, [unsignedTsigError("pl-key", 5, 17, NOW)]) });
  return out;
}

/** A message without what the MAC does not cover: the header id (the TSIG's original id is covered) and ASCII case. */
const uncovered = (bytes: Uint8Array) =>
  Array.from(bytes, (b, i) => (i < 2 ? 0 : b >= 65 && b <= 90 ? b + 32 : b)).join(",");

test("fuzz: 100,000 mutated signed messages are verified or refused with a reason, never thrown, never an internal error", () => {
  // The verifier walks each message once with the mDNS decoder's bounds (tests/unit/mdns_fuzz.test.ts).
  const seeds = corpus();
  for (const s of seeds.slice(0, -2)) assert.ok(verifyMessage(s.bytes, KEY, { now: NOW, requestMac: s.mac }).ok);
  const random = mulberry32(18);
  const reasons = new Map<string, number>();
  let verified = 0;
  let internal = 0;
  for (let i = 0; i < 100_000; i++) {
    const seed = seeds[Math.floor(random() * seeds.length)];
    const bytes = mutate(random, seed.bytes);
    const v = verifyMessage(bytes, KEY, { now: NOW, requestMac: seed.mac }); // must not throw
    if (v.ok) {
      verified++;
      // Only a change the MAC does not cover may pass: the header id, the ASCII case of names.
      assert.equal(
        uncovered(bytes),
        uncovered(seed.bytes),
        "a verified mutation differs from its seed in id or case only",
      );
      continue;
    }
    if (v.internal) internal++;
    const key = v.reason.replace(/\d+/g, "N").slice(0, 40);
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  assert.equal(internal, 0, "the verifier itself never failed");
  // About 2%: mutations that only hit the header id (2 bytes of ~110), checked above.
  assert.ok(verified < 5000, `${verified} mutations verified`);
  for (const expected of ["bad MAC", "malformed: rdata runs past the end", "unsigned"]) {
    assert.ok((reasons.get(expected) ?? 0) > 100, `reason "${expected}" seen: ${JSON.stringify([...reasons])}`);
  }
});
