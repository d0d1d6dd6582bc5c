import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as errors from "../../src/errors.ts";
import * as mod from "../../mod.ts";
import {
  BadMessage,
  BusyError,
  InsecurePeerError,
  NameConflict,
  NodeNotStarted,
  NodeStopped,
  PayloadTooLarge,
  PeerConnectionError,
  PeerLeftError,
  PeerLinkError,
  PeerNotFound,
  PeerNotFoundError,
  PeerTimeoutError,
  PortInUseError,
  ProtocolError,
  RemoteError,
} from "../../src/errors.ts";
import { NetError } from "../../src/net.ts";
import { SwarmStartError } from "../../src/swarm.ts";
import { NameError } from "../../src/mdns/names.ts";
import { TxtError } from "../../src/mdns/txt.ts";
import { EncodeError } from "../../src/mdns/packet.ts";
import { MdnsStateError } from "../../src/mdns/errors.ts";
import { WideAreaError } from "../../src/dnssd/errors.ts";
const { FileError } = errors;
import { MAX_SAFE_UDP_PAYLOAD, TCP_MAX_FRAME } from "../../src/constants.ts";

test("PeerNotFound lists the known peers in Python's format", () => {
  const err = new PeerNotFound("Host", ["NodeA", "Worker1"]);
  assert.equal(String(err), "PeerNotFound: Peer 'Host' not found.  Known: ['NodeA', 'Worker1']");
  assert.deepEqual(err.known, ["NodeA", "Worker1"]);
  assert.equal(err.peer, "Host");
  assert.equal(err.code, "PEER_NOT_FOUND");
  assert.equal(new PeerNotFound("X").message, "Peer 'X' not found.  Known: []");
});

test("PeerNotFound quotes names with quotes the way Python's repr does", () => {
  const err = new PeerNotFound("Bob's", ["it's", 'say "hi"']);
  assert.equal(err.message, `Peer "Bob's" not found.  Known: ["it's", 'say "hi"']`);
});

test("PeerNotFoundError is an alias of PeerNotFound", () => {
  const err = new PeerNotFoundError("Host", []);
  assert.ok(err instanceof PeerNotFound);
  assert.equal(PeerNotFoundError, PeerNotFound);
  assert.equal(err.name, "PeerNotFound");
});

test("PayloadTooLarge words the UDP and TCP limits with advice", () => {
  const udp = PayloadTooLarge.udp(2048, MAX_SAFE_UDP_PAYLOAD);
  assert.equal(
    String(udp),
    "PayloadTooLarge: UDP send: 2048 bytes > MAX_SAFE_UDP_PAYLOAD (1200). Use TCP transport for large payloads.",
  );
  assert.equal(udp.size, 2048);
  assert.equal(udp.limit, 1200);
  assert.equal(udp.transport, "udp");
  const tcp = PayloadTooLarge.tcp(TCP_MAX_FRAME + 1, TCP_MAX_FRAME, true);
  assert.match(tcp.message, /^TCP send: 4194305 bytes of binary data > TCP_MAX_FRAME \(4194304\)\. Split/);
  const rx = PayloadTooLarge.tcpReceive(3 * 2 ** 30, 8 * 2 ** 20);
  assert.match(rx.message, /^TCP receive: frame header announces 3221225472 bytes > limit \(8388608\)/);
  assert.equal(rx.code, "PAYLOAD_TOO_LARGE");
});

test("PeerTimeoutError names the peer, the function, the time and the transport", () => {
  const err = new PeerTimeoutError({ peer: "Host", function: "add", timeoutMs: 1500, transport: "udp" });
  assert.match(err.message, /'add' on 'Host' timed out after 1500 ms \(udp\)/);
  assert.equal(err.peer, "Host");
  assert.equal(err.function, "add");
  assert.equal(err.timeoutMs, 1500);
  assert.equal(err.code, "TIMEOUT");
});

test("RemoteError carries the remote type and message, the peer and the function", () => {
  const err = new RemoteError({
    peer: "Host",
    function: "div",
    remoteType: "ZeroDivisionError",
    remoteMessage: "division by zero",
  });
  assert.equal(err.message, "'div' on 'Host' failed: ZeroDivisionError: division by zero");
  assert.equal(err.remoteType, "ZeroDivisionError");
  assert.equal(err.remoteMessage, "division by zero");
  assert.equal(err.peer, "Host");
  assert.equal(err.function, "div");
});

test("every error is a PeerLinkError with its class name and a code", () => {
  const cause = new Error("ECONNREFUSED");
  const errors: Array<[PeerLinkError, string, string]> = [
    [new PeerLinkError("x"), "PeerLinkError", "OTHER"],
    [new PeerNotFound("a"), "PeerNotFound", "PEER_NOT_FOUND"],
    [new PeerTimeoutError({ peer: "a", function: "f", timeoutMs: 1 }), "PeerTimeoutError", "TIMEOUT"],
    [new RemoteError({ peer: "a", function: "f", remoteType: "T", remoteMessage: "m" }), "RemoteError", "REMOTE_ERROR"],
    [PayloadTooLarge.udp(2000, 1200), "PayloadTooLarge", "PAYLOAD_TOO_LARGE"],
    [new BusyError("busy", { peer: "a" }), "BusyError", "BUSY"],
    [new NodeStopped("W"), "NodeStopped", "NODE_STOPPED"],
    [new NodeNotStarted("W"), "NodeNotStarted", "NOT_STARTED"],
    [new PortInUseError({ node: "W", transport: "tcp", port: 50001, cause }), "PortInUseError", "PORT_IN_USE"],
    [
      new PeerConnectionError({ peer: "a", address: "::1", port: 9, lost: false, cause }),
      "PeerConnectionError",
      "CONNECTION_FAILED",
    ],
    [new ProtocolError("bad"), "ProtocolError", "PROTOCOL_ERROR"],
    [new BadMessage("bad"), "BadMessage", "BAD_MESSAGE"],
    [new PeerLeftError({ peer: "a", function: "f", reason: "expired" }), "PeerLeftError", "PEER_LEFT"],
    [new InsecurePeerError("a"), "InsecurePeerError", "INSECURE_PEER"],
    [new InsecurePeerError("a", { missingSecret: "caller" }), "InsecurePeerError", "INSECURE_PEER"],
    [new NameConflict("a._peerlink._tcp.local", "10.0.0.2"), "NameConflict", "NAME_CONFLICT"],
    [new NetError("ADDR_IN_USE", "UDP bind 0.0.0.0:5353: address already in use"), "NetError", "ADDR_IN_USE"],
    [new SwarmStartError({ node: "W", udpPort: 1, tcpPort: 2, cause }), "SwarmStartError", "OTHER"],
    [new FileError("FILE_NOT_FOUND", "'/x' does not exist"), "FileError", "FILE_NOT_FOUND"],
    [new WideAreaError("DNS_REFUSED", "refused"), "WideAreaError", "DNS_REFUSED"],
    // The mDNS entry (@peerlink/peerlink/mdns): its errors are PeerLinkErrors too.
    [new NameError("bad label"), "NameError", "INVALID_NAME"],
    [new TxtError("bad key"), "TxtError", "INVALID_TXT"],
    [new EncodeError("cannot encode"), "EncodeError", "CANNOT_ENCODE"],
    [new MdnsStateError("stopped"), "MdnsStateError", "NOT_STARTED"],
  ];
  for (const [err, name, code] of errors) {
    assert.ok(err instanceof PeerLinkError, name);
    assert.ok(err instanceof Error, name);
    assert.equal(err.name, name);
    assert.equal(err.code, code);
    assert.ok(err.message.length > 0);
    assert.ok(String(err).startsWith(`${name}: `));
  }
});

test("NodeStopped, PortInUseError and PeerConnectionError say what to do", () => {
  assert.match(new NodeStopped("Worker").message, /^node stopped: 'Worker'/);
  const busy = new PortInUseError({ node: "Worker", transport: "udp", port: 50000 });
  assert.match(busy.message, /^UDP port 50000 of 'Worker' is already in use\. Choose another port/);
  assert.equal(busy.port, 50000);
  const cause = new Error("connection refused");
  const failed = new PeerConnectionError({ peer: "Host", address: "fe80::1", port: 9, lost: false, cause });
  assert.match(failed.message, /Cannot open a TCP connection to 'Host' at \[fe80::1\]:9 \(connection refused\)/);
  assert.equal(failed.cause, cause);
  const lost = new PeerConnectionError({ peer: "Host", address: "10.0.0.1", port: 9, lost: true, function: "f" });
  assert.equal(lost.code, "CONNECTION_LOST");
  assert.match(lost.message, /closed before the reply to 'f' arrived/);
});

test("every error a user can meet is exported from mod.ts and has a row in README's error table", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const table = readme.slice(readme.indexOf("## Errors"), readme.indexOf("## Security"));
  const classes = Object.entries(errors).filter(([, value]) =>
    typeof value === "function" && value.prototype instanceof Error || value === PeerLinkError
  ).map(([name]) => name);
  // BadMessage never leaves the wire layer: a malformed message is dropped (or answered), not thrown to users.
  const users = [...classes.filter((name) => name !== "BadMessage"), "NetError", "SwarmStartError"];
  assert.ok(users.length >= 18, users.join());
  for (const name of users) {
    assert.equal(typeof (mod as Record<string, unknown>)[name], "function", `mod.ts exports ${name}`);
    assert.ok(new RegExp(`^\\| \`${name}\``, "m").test(table) || table.includes(`alias \`${name}\``), name);
  }
});

test("PeerLeftError and InsecurePeerError say what happened and which side to fix", () => {
  const left = new PeerLeftError({ peer: "Host", function: "render", reason: "goodbye" });
  assert.match(left.message, /^'Host' left the network \(goodbye: it stopped\) while 'render' was pending\./);
  assert.equal(left.reason, "goodbye");
  const peerSide = new InsecurePeerError("Py");
  assert.equal(peerSide.missingSecret, "peer");
  assert.match(peerSide.message, /^'Py' has no secret .*allowInsecurePeers: true/);
  const callerSide = new InsecurePeerError("Vault", { missingSecret: "caller" });
  assert.match(callerSide.message, /^'Vault' has a secret .* this node has none, so the call was not sent\./);
  const net = new NetError("CONNECTION_REFUSED", "refused");
  assert.ok(net instanceof PeerLinkError && net instanceof NetError);
});
