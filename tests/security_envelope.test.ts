import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { deriveKeys, isSecurityKeys } from "../src/security/keys.ts";
import { SecureChannel, STARTUP_TOLERANCE } from "../src/security/channel.ts";
import {
  envelopeOverhead,
  isSealed,
  parseEnvelopeHeader,
  SEAL_FIXED_HEADER,
  SEAL_MAGIC,
  SealKind,
} from "../src/security/envelope.ts";
import { ReplayGuard } from "../src/security/replay.ts";
import { OutgoingMessage } from "../src/wire/codec.ts";

const text = new TextEncoder();

function channel(name: string, keys: Awaited<ReturnType<typeof deriveKeys>>, clock = new FakeClock(), window = 30_000) {
  return new SecureChannel({ keys, name, clock, replayWindow: window, replayCacheEntries: 1000 });
}

test("deriveKeys() gives AES-GCM and HMAC keys that cannot be exported, and refuses an empty secret", async () => {
  const keys = await deriveKeys("kitchen-lan secret 7f3a");
  assert.ok(isSecurityKeys(keys));
  assert.equal(keys.rpc.algorithm.name, "AES-GCM");
  assert.equal(keys.proof.algorithm.name, "HMAC");
  assert.equal(keys.rpc.extractable, false);
  assert.equal(keys.proof.extractable, false);
  await assert.rejects(deriveKeys(""), TypeError);
  await assert.rejects(deriveKeys(42 as unknown as string), TypeError);
  assert.equal(isSecurityKeys({ rpc: {}, proof: {} }), false);
});

test("sealed messages start with the magic byte, which no plaintext message can start with", async () => {
  const keys = await deriveKeys("s1");
  const a = channel("Alice", keys);
  const plain = OutgoingMessage.request({ id: "1", src: "Alice", dst: "Bob", rpc: "f", args: [], kwargs: {} });
  const sealed = await a.seal(SealKind.udpRequest, plain.datagram());
  assert.equal(sealed[0], SEAL_MAGIC);
  assert.ok(isSealed(sealed));
  assert.equal(sealed.length, plain.datagram().length + envelopeOverhead(5));
  assert.equal(a.overhead, envelopeOverhead(5));
  assert.equal(isSealed(plain.datagram()), false);
  const binaryFrame = plain.frame(true, 1 << 20);
  assert.equal(isSealed(binaryFrame[0].subarray(4)), false);
  const withBinary = OutgoingMessage.request({
    id: "2",
    src: "A",
    dst: "B",
    rpc: "f",
    args: [new Uint8Array(3)],
    kwargs: {},
  }).frame(true, 1 << 20);
  assert.equal(withBinary[0][4], 0xff, "binary frames start with 0xFF, not the seal magic");
  // 0xFE is never part of UTF-8, so JSON text cannot start with it.
  assert.throws(() => new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([SEAL_MAGIC])));
});

test("a sealed message opens with the same secret and names its sender and kind", async () => {
  const keys = await deriveKeys("same secret");
  const clock = new FakeClock();
  const a = channel("Alice", keys, clock);
  const b = channel("Bob", keys, clock);
  const body = text.encode('{"type":"request","id":"x"}');
  const sealed = await a.seal(SealKind.udpRequest, body);
  const opened = await b.open(sealed);
  assert.ok(opened);
  assert.equal(opened.sender, "Alice");
  assert.equal(opened.kind, SealKind.udpRequest);
  assert.deepEqual([...opened.plaintext], [...body]);
  assert.equal(b.stats().opened, 1);
  assert.equal(a.stats().sealed, 1);
});

test("two seals of the same message differ (fresh nonce every time)", async () => {
  const keys = await deriveKeys("same secret");
  const a = channel("Alice", keys);
  const body = text.encode("{}");
  const one = await a.seal(SealKind.udpRequest, body);
  const two = await a.seal(SealKind.udpRequest, body);
  const h1 = parseEnvelopeHeader(one);
  const h2 = parseEnvelopeHeader(two);
  assert.ok(typeof h1 !== "string" && typeof h2 !== "string");
  assert.notEqual(h1.nonceKey, h2.nonceKey);
  assert.notDeepEqual([...one.subarray(SEAL_FIXED_HEADER)], [...two.subarray(SEAL_FIXED_HEADER)]);
});

test("a wrong secret, or any single changed byte, fails verification and is counted as forged", async () => {
  const clock = new FakeClock();
  const keys = await deriveKeys("right");
  const a = channel("Alice", keys, clock);
  const b = channel("Bob", keys, clock);
  const mallory = channel("Bob", await deriveKeys("wrong"), clock);
  const sealed = await a.seal(SealKind.udpRequest, text.encode('{"type":"request"}'));
  assert.equal(await mallory.open(sealed), undefined);
  assert.equal(mallory.stats().forged, 1);
  // Flip one bit at every position after the fixed layout checks: name, nonce, time, body, tag.
  let rejected = 0;
  for (let i = 2; i < sealed.length; i++) {
    const tampered = sealed.slice();
    tampered[i] ^= 0x01;
    if (await b.open(tampered) === undefined) rejected++;
  }
  assert.equal(rejected, sealed.length - 2);
  assert.equal(b.stats().opened, 0);
  const s = b.stats();
  assert.equal(s.forged + s.stale + s.malformed, sealed.length - 2);
  assert.ok(s.forged > 0 && s.stale > 0 && s.malformed > 0, JSON.stringify(s));
  // The untouched original still opens (nothing above consumed its nonce).
  assert.ok(await b.open(sealed));
});

test("a replayed message is dropped, within the window and after it", async () => {
  const clock = new FakeClock();
  const keys = await deriveKeys("k");
  const a = channel("Alice", keys, clock);
  const b = channel("Bob", keys, clock);
  const sealed = await a.seal(SealKind.udpRequest, text.encode("{}"));
  assert.ok(await b.open(sealed));
  assert.equal(await b.open(sealed), undefined);
  assert.equal(b.stats().replayed, 1);
  await clock.advance(30_001);
  assert.equal(await b.open(sealed), undefined);
  assert.equal(b.stats().stale, 1);
  // A message sealed now is fine.
  assert.ok(await b.open(await a.seal(SealKind.udpRequest, text.encode("{}"))));
});

test("a message stamped too far ahead is dropped as stale, and logged with a hint about clocks", async () => {
  const keys = await deriveKeys("k");
  const future = new FakeClock();
  const warnings: string[] = [];
  const logger = { debug: () => {}, info: () => {}, warn: (m: string) => void warnings.push(m), error: () => {} };
  const a = new SecureChannel({ keys, name: "A", clock: future, replayWindow: 30_000, replayCacheEntries: 10 });
  const b = new SecureChannel({
    keys,
    name: "B",
    clock: new FakeClock(),
    replayWindow: 30_000,
    replayCacheEntries: 10,
    logger,
  });
  // Positive control: while the clocks agree, b opens what a seals.
  assert.ok(await b.open(await a.seal(SealKind.udpRequest, text.encode("{}"))));
  await future.advance(40_000); // a's wall clock now runs 40 s ahead of b's
  assert.ok(a.wallNow() - b.wallNow() >= 39_000);
  assert.equal(await b.open(await a.seal(SealKind.udpRequest, text.encode("{}"))), undefined);
  assert.equal(b.stats().stale, 1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /ahead .*clock/);
});

test("a new channel refuses messages stamped before it started (no replay across a restart)", async () => {
  const keys = await deriveKeys("k");
  const clock = new FakeClock();
  const epoch = Date.now();
  const options = { keys, clock, replayWindow: 30_000, replayCacheEntries: 10 };
  const a = new SecureChannel({ ...options, name: "A", epoch });
  const before = new SecureChannel({ ...options, name: "B", epoch });
  const old = await a.seal(SealKind.udpRequest, text.encode("{}"));
  assert.ok(await before.open(old), "accepted by the first incarnation");
  await clock.advance(STARTUP_TOLERANCE + 1000);
  const restarted = new SecureChannel({ ...options, name: "B", epoch: epoch + STARTUP_TOLERANCE + 1000 });
  assert.equal(await restarted.open(old), undefined);
  assert.equal(restarted.stats().stale, 1);
  assert.ok(await restarted.open(await a.seal(SealKind.udpRequest, text.encode("{}"))));
});

test("malformed envelopes are dropped without decrypting, each counted", async () => {
  const keys = await deriveKeys("k");
  const b = channel("B", keys);
  // Positive control: a well-formed envelope opens.
  assert.ok(await b.open(await channel("A", keys).seal(SealKind.udpRequest, text.encode("{}"))));
  const cases = [
    new Uint8Array([SEAL_MAGIC]),
    new Uint8Array(60).fill(SEAL_MAGIC),
    Uint8Array.from([SEAL_MAGIC, 9, 1, 1, ...new Uint8Array(60)]),
    Uint8Array.from([SEAL_MAGIC, 1, 7, 1, ...new Uint8Array(60)]),
    Uint8Array.from([SEAL_MAGIC, 1, 1, 0, ...new Uint8Array(60)]),
    Uint8Array.from([SEAL_MAGIC, 1, 1, 200, ...new Uint8Array(60)]),
  ];
  for (const bytes of cases) assert.equal(await b.open(bytes), undefined);
  assert.equal(b.stats().malformed, cases.length);
  assert.equal(b.stats().forged, 0);
  assert.equal(typeof parseEnvelopeHeader(cases[0]), "string");
});

test("ReplayGuard stays within its size bound and never lets a forgotten nonce back in", () => {
  const guard = new ReplayGuard({ window: 30_000, maxEntries: 100 });
  const now = 1_700_000_000_000;
  for (let i = 0; i < 1000; i++) assert.equal(guard.remember(`n${i}`, now + i, now + i), "ok");
  assert.ok(guard.size <= 100);
  // Every nonce forgotten early is refused (its timestamp is at or below the floor).
  for (let i = 0; i < 1000; i++) assert.notEqual(guard.check(`n${i}`, now + i, now + 1000), "ok");
  // New messages, stamped later, are accepted.
  assert.equal(guard.check("fresh", now + 1000, now + 1000), "ok");
  // Stale entries are swept by time too.
  guard.remember("late", now + 100_000, now + 100_000);
  assert.equal(guard.size, 1);
});

test("the envelope is unchanged: Web Crypto (the earlier implementation) opens ours, and ours opens its", async () => {
  const secret = "wire compatibility secret";
  const clock = new FakeClock();
  const ours = channel("Alice", await deriveKeys(secret), clock);
  const receiver = channel("Bob", await deriveKeys(secret), clock);
  // The key exactly as the earlier code derived it with Web Crypto.
  const material = await crypto.subtle.importKey("raw", text.encode(secret), "HKDF", false, ["deriveKey"]);
  const webKey = await crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: text.encode("PeerLink-TS secret v1"),
      info: text.encode("peerlink rpc aead v1"),
    },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  const body = text.encode('{"type":"request","id":"c0ffee"}');
  // Ours -> Web Crypto.
  const sealed = ours.seal(SealKind.udpRequest, body);
  const header = parseEnvelopeHeader(sealed);
  assert.ok(typeof header !== "string");
  const opened = await crypto.subtle.decrypt(
    {
      name: "AES-GCM",
      iv: sealed.slice(12, 24),
      additionalData: sealed.slice(0, header.headerBytes),
      tagLength: 128,
    },
    webKey,
    sealed.slice(header.headerBytes),
  );
  assert.deepEqual([...new Uint8Array(opened)], [...body]);
  // Web Crypto -> ours: the header written by our code, the body sealed as the earlier code did.
  const other = ours.seal(SealKind.udpRequest, body);
  const otherHeader = parseEnvelopeHeader(other);
  assert.ok(typeof otherHeader !== "string");
  const webSealed = new Uint8Array(
    await crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: other.slice(12, 24),
        additionalData: other.slice(0, otherHeader.headerBytes),
        tagLength: 128,
      },
      webKey,
      body,
    ),
  );
  const message = new Uint8Array(otherHeader.headerBytes + webSealed.length);
  message.set(other.subarray(0, otherHeader.headerBytes));
  message.set(webSealed, otherHeader.headerBytes);
  assert.deepEqual(message, other, "byte for byte the same envelope");
  const back = receiver.open(message);
  assert.ok(back);
  assert.deepEqual([...back.plaintext], [...body]);
});
