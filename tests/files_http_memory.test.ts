/**
 * The plain HTTP path on the in-memory network, byte for byte: Python PeerLink's request form,
 * ranges, ETags, methods, the secret policy, and malformed requests (huge heads, a slowloris
 * head on the fake clock, bad ranges): each gets a 4xx and a closed connection, and the node
 * keeps serving RPC.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { PeerLink } from "../src/peerlink.ts";
import type { PeerLinkOptions } from "../src/options.ts";
import type { StreamConnection } from "../src/net.ts";
import { FakeClock } from "../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../src/testing/memory_net.ts";
import { Directory } from "./support/node_harness.ts";
import { pattern, tempDir } from "./support/files_fixture.ts";

const text = new TextEncoder();

interface HttpFixture {
  network: MemoryNetwork;
  clock: FakeClock | undefined;
  host: PeerLink;
  /** A node that calls the host over RPC. */
  worker: PeerLink;
  port: number;
  close(): Promise<void>;
}

async function httpFixture(options: PeerLinkOptions & { fake?: boolean } = {}): Promise<HttpFixture> {
  const clock = options.fake ? new FakeClock(1_000_000) : undefined;
  const network = new MemoryNetwork({ seed: 1, clock });
  const directory = new Directory();
  const pub = tempDir("http-pub");
  const inbox = tempDir("http-inbox");
  writeFileSync(pub.join("a.txt"), "hello, http\n");
  writeFileSync(pub.join("data.bin"), pattern(100_000, 3));
  writeFileSync(pub.join(".env"), "KEY=1");
  const { fake: _, ...nodeOptions } = options;
  const host = new PeerLink("Host", {
    runtime: network.host("10.0.0.2"),
    discovery: directory.factory("10.0.0.2"),
    clock,
    ...nodeOptions,
  }).serveFiles(pub.path, { prefix: "/pub" }).serveFiles(inbox.path, { prefix: "/inbox", writable: true });
  const worker = new PeerLink("Worker", {
    runtime: network.host("10.0.0.3"),
    discovery: directory.factory("10.0.0.3"),
    clock,
    ...nodeOptions,
  });
  await host.start();
  await worker.start();
  return {
    network,
    clock,
    host,
    worker,
    port: host.ports!.tcpPort,
    async close() {
      await worker.stop();
      await host.stop();
      await network.close();
      pub.remove();
      inbox.remove();
    },
  };
}

/** Reads everything until the server closes. */
async function readAll(connection: StreamConnection): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const chunk = await connection.read().catch(() => null);
    if (chunk === null) break;
    chunks.push(chunk);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: Uint8Array;
}

function parseAnswer(bytes: Uint8Array): Answer {
  const raw = new TextDecoder("latin1").decode(bytes);
  const end = raw.indexOf("\r\n\r\n");
  assert.ok(end > 0, `no HTTP answer: ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...lines] = raw.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
  const headers = new Map(
    lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
  );
  return { status, headers, body: bytes.subarray(end + 4) };
}

/** Sends raw bytes to the node's TCP port and reads the answer until the server closes. */
async function exchange(f: HttpFixture, request: string | Uint8Array): Promise<Answer> {
  const connection = await f.network.host("10.0.0.9").connect({ address: "10.0.0.2", port: f.port });
  await connection.write(typeof request === "string" ? text.encode(request) : request);
  return parseAnswer(await readAll(connection));
}

test("http: Python PeerLink's file client form (GET path HTTP/1.1, no Host) gets the file with Content-Length and Connection: close", async () => {
  const f = await httpFixture();
  try {
    const answer = await exchange(f, "GET /pub/a.txt HTTP/1.1\r\n\r\n");
    assert.equal(answer.status, 200);
    assert.equal(new TextDecoder().decode(answer.body), "hello, http\n");
    assert.equal(answer.headers.get("content-length"), "12");
    assert.equal(answer.headers.get("connection"), "close");
    assert.equal(answer.headers.get("accept-ranges"), "bytes");
    assert.match(answer.headers.get("etag")!, /^"c-[0-9a-f]+"$/);
    const bare = await exchange(f, "GET pub/a.txt HTTP/1.0\n\n");
    assert.equal(bare.status, 200, "a path without its leading slash and bare newlines");
    const encoded = await exchange(f, "GET /pub/%61.txt?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal(new TextDecoder().decode(encoded.body), "hello, http\n");
  } finally {
    await f.close();
  }
});

test("http: ranges (a-b, a-, -n), If-Range, HEAD, ETag / If-None-Match and the refusals 400/403/404/405/416", async () => {
  const f = await httpFixture();
  const data = pattern(100_000, 3);
  try {
    const part = await exchange(f, "GET /pub/data.bin HTTP/1.1\r\nRange: bytes=100-199\r\n\r\n");
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 100-199/100000");
    assert.deepEqual(part.body, data.subarray(100, 200));
    const tail = await exchange(f, "GET /pub/data.bin HTTP/1.1\r\nRange: bytes=99990-\r\n\r\n");
    assert.deepEqual(tail.body, data.subarray(99_990));
    const suffix = await exchange(f, "GET /pub/data.bin HTTP/1.1\r\nRange: bytes=-5\r\n\r\n");
    assert.deepEqual(suffix.body, data.subarray(99_995));
    const head = await exchange(f, "HEAD /pub/data.bin HTTP/1.1\r\n\r\n");
    assert.deepEqual([head.status, head.headers.get("content-length"), head.body.length], [200, "100000", 0]);
    const etag = head.headers.get("etag")!;
    const cached = await exchange(f, `GET /pub/data.bin HTTP/1.1\r\nIf-None-Match: ${etag}\r\n\r\n`);
    assert.deepEqual([cached.status, cached.body.length], [304, 0]);
    const stale = await exchange(f, `GET /pub/data.bin HTTP/1.1\r\nRange: bytes=0-9\r\nIf-Range: "old"\r\n\r\n`);
    assert.deepEqual([stale.status, stale.body.length], [200, 100_000], "If-Range of another version: the whole file");
    const refusals: [string, number][] = [
      ["GET /pub/data.bin HTTP/1.1\r\nRange: bytes=100000-\r\n\r\n", 416],
      ["GET /pub/data.bin HTTP/1.1\r\nRange: bytes=5-2\r\n\r\n", 400],
      ["GET /pub/data.bin HTTP/1.1\r\nRange: items=1-2\r\n\r\n", 400],
      ["GET /pub/data.bin HTTP/1.1\r\nRange: bytes=0-1,5-6\r\n\r\n", 400],
      ["GET /pub/../../etc/passwd HTTP/1.1\r\n\r\n", 403],
      ["GET /pub/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n\r\n", 403],
      ["GET /pub/a.txt%00.png HTTP/1.1\r\n\r\n", 403],
      ["GET /pub/..%5c..%5cetc HTTP/1.1\r\n\r\n", 403],
      ["GET //etc/passwd HTTP/1.1\r\n\r\n", 403],
      ["GET /pub/.env HTTP/1.1\r\n\r\n", 403],
      ["GET /pub/missing HTTP/1.1\r\n\r\n", 404],
      ["GET /elsewhere/a.txt HTTP/1.1\r\n\r\n", 404],
      ["GET /pub/%ZZ HTTP/1.1\r\n\r\n", 400],
      ["DELETE /pub/a.txt HTTP/1.1\r\n\r\n", 405],
      ["BREW /pub/a.txt HTTP/1.1\r\n\r\n", 405],
    ];
    for (const [request, status] of refusals) {
      const answer = await exchange(f, request);
      assert.equal(answer.status, status, `${JSON.stringify(request)}: ${new TextDecoder().decode(answer.body)}`);
      assert.equal(answer.headers.get("connection"), "close");
    }
    const forbidden = await exchange(f, "GET /pub/%2e%2e/x HTTP/1.1\r\n\r\n");
    assert.match(new TextDecoder().decode(forbidden.body), /rule dotdot/, "the 403 names the rule");
    const unsatisfiable = await exchange(f, "GET /pub/data.bin HTTP/1.1\r\nRange: bytes=100000-\r\n\r\n");
    assert.equal(unsatisfiable.headers.get("content-range"), "bytes */100000");
    const listing = await exchange(f, "GET /pub/ HTTP/1.1\r\n\r\n");
    assert.equal(listing.status, 200);
    assert.match(new TextDecoder().decode(listing.body), /href="\/pub\/a\.txt"/);
    assert.doesNotMatch(new TextDecoder().decode(listing.body), /\.env/);
    // The same port still serves RPC, and the files.
    assert.deepEqual(await f.worker.listFiles("Host", "/pub").then((l) => l.map((e) => e.name)), ["a.txt", "data.bin"]);
    assert.equal((await f.worker.call<{ ok: boolean }>("Host", "__ping__", [], { transport: "tcp" })).ok, true);
  } finally {
    await f.close();
  }
});

test("http: PUT into a writable share (201, never replacing), GET of a writable share refused", async () => {
  const f = await httpFixture();
  try {
    const put = await exchange(f, "PUT /inbox/new.txt HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    assert.equal(put.status, 201, new TextDecoder().decode(put.body));
    assert.equal(JSON.parse(new TextDecoder().decode(put.body)).bytes, 5);
    const again = await exchange(f, "PUT /inbox/new.txt HTTP/1.1\r\nContent-Length: 5\r\n\r\nworld");
    assert.equal(again.status, 409);
    const noLength = await exchange(f, "PUT /inbox/b.txt HTTP/1.1\r\n\r\n");
    assert.equal(noLength.status, 411);
    const readOnly = await exchange(f, "PUT /pub/b.txt HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    assert.equal(readOnly.status, 405);
    const writableGet = await exchange(f, "GET /inbox/new.txt HTTP/1.1\r\n\r\n");
    assert.equal(writableGet.status, 403);
  } finally {
    await f.close();
  }
});

test("http: a node with a secret refuses plain HTTP (403) unless allowInsecurePeers; PUT never with a secret", async () => {
  const strict = await httpFixture({ secret: "http secret one 9f1e" });
  try {
    const answer = await exchange(strict, "GET /pub/a.txt HTTP/1.1\r\n\r\n");
    assert.equal(answer.status, 403);
    assert.match(new TextDecoder().decode(answer.body), /secret/);
  } finally {
    await strict.close();
  }
  const lenient = await httpFixture({ secret: "http secret two 9f1e", allowInsecurePeers: true });
  try {
    assert.equal((await exchange(lenient, "GET /pub/a.txt HTTP/1.1\r\n\r\n")).status, 200);
    const put = await exchange(lenient, "PUT /inbox/x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    assert.equal(put.status, 405);
  } finally {
    await lenient.close();
  }
});

test("http: malformed requests get a 4xx and a closed connection within the limits, and RPC carries on", async () => {
  const f = await httpFixture({ fake: true, limits: { readTimeout: 2000 } });
  try {
    const huge = await exchange(f, `GET /pub/a.txt HTTP/1.1\r\nX-Fill: ${"a".repeat(10_000)}\r\n\r\n`);
    assert.equal(huge.status, 431);
    const endless = await exchange(f, `GET /pub/a.txt HTTP/1.1\r\nX-Fill: ${"a".repeat(20_000)}`);
    assert.equal(endless.status, 431, "a head with no end is cut at its limit");
    const garbage = await exchange(f, "GARBAGE\r\n\r\n");
    assert.equal(garbage.status, 400);
    const badHeader = await exchange(f, "GET /pub/a.txt HTTP/1.1\r\nno colon here\r\n\r\n");
    assert.equal(badHeader.status, 400);
    const twice = await exchange(f, "GET /pub/a.txt HTTP/1.1\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n");
    assert.equal(twice.status, 400);
    // Slowloris: half a head, then silence. On the fake clock, readTimeout later: 408 and closed.
    const slow = await f.network.host("10.0.0.9").connect({ address: "10.0.0.2", port: f.port });
    await slow.write(text.encode("GET /pub/a.txt HTTP/1.1\r\nHost: x\r\n"));
    const reading = readAll(slow);
    await f.clock!.advance(1999);
    let done = false;
    void reading.then(() => (done = true));
    await f.clock!.advance(0);
    assert.equal(done, false, "still open before readTimeout");
    await f.clock!.advance(1);
    const answer = parseAnswer(await reading);
    assert.equal(answer.status, 408);
    const stats = f.host.stats()!;
    assert.equal(stats.tcpServer.open, 0, "every HTTP connection is closed");
  } finally {
    await f.close();
  }
});
