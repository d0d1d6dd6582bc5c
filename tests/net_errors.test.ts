import { test } from "node:test";
import assert from "node:assert/strict";
import { netErrorCode, toNetError } from "../src/net_errors.ts";
import { NetError } from "../src/net.ts";

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
