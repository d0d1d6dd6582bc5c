import { test } from "node:test";
import assert from "node:assert/strict";
import {
  closedError,
  connectTimeoutError,
  invalidTtlError,
  netErrorCode,
  toNetError,
  writeAfterEndError,
} from "../../src/net_errors.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { NetError } from "../../src/net.ts";

test("toNetError() maps Node/Bun errno codes and names the endpoint", () => {
  const err = toNetError(
    Object.assign(new Error("bind EADDRINUSE"), { code: "EADDRINUSE" }),
    "UDP bind",
    "0.0.0.0",
    5353,
  );
  assert.ok(err instanceof NetError);
  assert.equal(err.code, "ADDR_IN_USE");
  assert.equal(err.port, 5353);
  assert.match(err.message, /^ADDR_IN_USE: UDP bind 0\.0\.0\.0:5353: address already in use\. Choose another port/);
});

test("netErrorCode() maps Deno error class names", () => {
  const denoLike = new Error("Connection refused (os error 111)");
  denoLike.name = "ConnectionRefused";
  assert.equal(netErrorCode(denoLike), "CONNECTION_REFUSED");
  const inUse = new Error("whatever");
  inUse.name = "AddrInUse";
  assert.equal(netErrorCode(inUse), "ADDR_IN_USE");
});

test("toNetError() keeps unknown errors' text and brackets IPv6 endpoints", () => {
  const err = toNetError(new Error("strange failure"), "TCP connect", "fe80::1", 80);
  assert.equal(err.code, "OTHER");
  assert.match(err.message, /TCP connect \[fe80::1\]:80: failed\. strange failure/);
  assert.equal(toNetError(err, "again"), err);
});

test("closedError() has one text, the same as a runtime's closed-socket error mapped by toNetError()", () => {
  const err = closedError("TCP read from", "10.0.0.2", 4000);
  assert.ok(err instanceof NetError);
  assert.equal(err.code, "CLOSED");
  assert.equal(err.address, "10.0.0.2");
  assert.equal(err.port, 4000);
  assert.equal(err.message, "CLOSED: TCP read from 10.0.0.2:4000: the socket is closed. Open a new one.");
  const mapped = toNetError({ code: "ERR_SOCKET_CLOSED" }, "TCP read from", "10.0.0.2", 4000);
  assert.equal(mapped.message, err.message);
  assert.equal(
    closedError("UDP set multicast TTL").message,
    "CLOSED: UDP set multicast TTL: the socket is closed. Open a new one.",
  );
});

test("the memory network reports a closed socket with closedError()'s text", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  try {
    const host = network.host("10.0.0.1");
    const socket = await host.bindDatagram({ address: "0.0.0.0", port: 5000 }, () => {});
    await socket.close();
    await assert.rejects(socket.send(new Uint8Array(1), "10.0.0.2", 9), (e: unknown) => {
      assert.ok(e instanceof NetError);
      assert.equal(e.message, closedError("UDP send", "10.0.0.2", 9).message);
      return true;
    });
  } finally {
    await network.close();
  }
});

test("connectTimeoutError() and writeAfterEndError() name the endpoint and what to do", () => {
  const timeout = connectTimeoutError("fe80::1", 80, 3000);
  assert.equal(timeout.code, "TIMED_OUT");
  assert.match(timeout.message, /^TIMED_OUT: TCP connect to \[fe80::1\]:80: no answer within 3000 ms\. Check/);
  const late = writeAfterEndError("10.0.0.2", 4000);
  assert.equal(late.code, "CLOSED");
  assert.match(late.message, /^CLOSED: TCP write to 10\.0\.0\.2:4000: closeWrite\(\) was called/);
});

test("invalidTtlError() accepts integers 0-255 and names anything else", () => {
  for (const ttl of [0, 1, 255]) assert.equal(invalidTtlError(ttl, "UDP set multicast TTL"), undefined);
  for (const ttl of [-1, 256, 1.5, Number.NaN, "1"]) {
    const err = invalidTtlError(ttl, "UDP set multicast TTL");
    assert.ok(err instanceof NetError, `TTL ${String(ttl)} was accepted`);
    assert.equal(err.code, "OTHER");
    assert.match(err.message, new RegExp(`TTL must be an integer 0-255, got ${String(ttl)}\\.`));
  }
});
