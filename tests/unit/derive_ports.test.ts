import { test } from "node:test";
import assert from "node:assert/strict";
import { DERIVED_PORT_BASE, DERIVED_PORT_RANGE, derivePort, deriveRealm } from "../../src/derive.ts";

// Expected values computed with Python's hashlib, mirroring Python PeerLink 1.2:
// python3 -c 'import hashlib
// def realm(s): return hashlib.sha256(f"peerlink|{s}".encode()).hexdigest()[:16] if s else None
// def port(name, realm=None, salt=None):
//     key = name if not realm else f"{realm}|{name}"
//     if salt: key += "|" + salt
//     return 49152 + int(hashlib.md5(key.encode()).hexdigest(), 16) % 16383
// r = realm("hunter2")
// for n in ["Worker", "Host", "NodeA", "Worker1", "Ünïcode-节点", ""]:
//     print(repr(n), port(n), port(n, None, "tcp"), port(n, r), port(n, r, "tcp"))'
const VECTORS: Array<[name: string, udp: number, tcp: number, realmUdp: number, realmTcp: number]> = [
  ["Worker", 62463, 60231, 53285, 50968],
  ["Host", 53312, 55395, 55168, 62810],
  ["NodeA", 60146, 55788, 55236, 62387],
  ["Worker1", 64520, 58281, 53265, 56279],
  ["Ünïcode-节点", 63928, 64789, 59227, 58550],
  ["", 51177, 49881, 53818, 64202],
];

test("deriveRealm() matches Python PeerLink 1.2 (sha256 of 'peerlink|secret', 16 hex chars)", () => {
  assert.equal(deriveRealm("hunter2"), "1d3b40d1060fb2b0");
  assert.equal(deriveRealm("s3cret"), "37d8f00488dac487");
  assert.equal(deriveRealm("ü-secret"), "d40857b68225de2e");
});

test("deriveRealm() gives no realm for an empty or missing secret, like Python", () => {
  assert.equal(deriveRealm(""), "");
  assert.equal(deriveRealm(undefined), "");
  assert.equal(deriveRealm(null), "");
});

test("derivePort() matches Python PeerLink 1.2 for UDP and TCP, with and without a realm", () => {
  const realm = deriveRealm("hunter2");
  for (const [name, udp, tcp, realmUdp, realmTcp] of VECTORS) {
    assert.equal(derivePort(name), udp, `udp port of ${JSON.stringify(name)}`);
    assert.equal(derivePort(name, undefined, "tcp"), tcp, `tcp port of ${JSON.stringify(name)}`);
    assert.equal(derivePort(name, realm), realmUdp, `realm udp port of ${JSON.stringify(name)}`);
    assert.equal(derivePort(name, realm, "tcp"), realmTcp, `realm tcp port of ${JSON.stringify(name)}`);
  }
});

test("derivePort() treats an empty realm and salt as absent", () => {
  assert.equal(derivePort("Worker", ""), derivePort("Worker"));
  assert.equal(derivePort("Worker", deriveRealm(""), ""), 62463);
});

test("derivePort() stays inside the dynamic port range for many names", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const port = derivePort(`node-${i}`, i % 2 ? "abcd" : undefined, i % 3 ? "tcp" : undefined);
    assert.ok(port >= DERIVED_PORT_BASE && port < DERIVED_PORT_BASE + DERIVED_PORT_RANGE, `port ${port}`);
    assert.ok(port <= 65535);
    seen.add(port);
  }
  assert.ok(seen.size > 1800, `ports should spread out, got ${seen.size} distinct of 2000`);
});
