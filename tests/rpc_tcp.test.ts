import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork } from "../src/testing/memory_net.ts";
import { RpcEndpoint, type RpcEndpointOptions } from "../src/rpc/endpoint.ts";
import { LOCAL_CAPABILITIES } from "../src/wire/capabilities.ts";
import { type RpcPair, rpcPair } from "./support/rpc_pair.ts";
import { PayloadTooLarge, PeerConnectionError, RemoteError } from "../src/errors.ts";
import { FrameReader, writeFrameHeader } from "../src/wire/frames.ts";
import type { Logger } from "../src/log.ts";
import { NetError, type SocketRuntime } from "../src/net.ts";

const MiB = 1024 * 1024;

type Pair = RpcPair;

/** "Worker" (10.0.0.1) calls "Host" (10.0.0.2) on an in-memory LAN. */
function pair(hostOptions: Partial<RpcEndpointOptions> = {}, fake = false): Promise<Pair> {
  return rpcPair({ host: hostOptions, fake, seed: 3, highWaterMark: 8 * MiB });
}

function pattern(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 131 + (i >>> 8)) & 0xff;
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

test("TCP: a 4 MiB Uint8Array round-trips byte-exact in both directions", async () => {
  const t = await pair({ handlers: { echo: (bytes: Uint8Array) => bytes, size: (b: Uint8Array) => b.length } });
  try {
    const blob = pattern(4 * MiB);
    const back = await t.worker.call(t.peer, "echo", [blob], { transport: "tcp", timeout: 30_000 }) as Uint8Array;
    assert.ok(back instanceof Uint8Array);
    assert.ok(sameBytes(back, blob));
    assert.equal(await t.worker.call(t.peer, "size", [blob], { timeout: 30_000 }), 4 * MiB, "auto picks TCP");
  } finally {
    await t.close();
  }
});

test("TCP: 4 MiB + 1 is refused at the sender with PayloadTooLarge before any byte is sent", async () => {
  let invocations = 0;
  const t = await pair({ handlers: { size: () => ++invocations } });
  try {
    for (const transport of ["tcp", "auto"] as const) {
      await assert.rejects(t.worker.call(t.peer, "size", [new Uint8Array(4 * MiB + 1)], { transport }), (err) => {
        assert.ok(err instanceof PayloadTooLarge);
        assert.equal(err.transport, "tcp");
        assert.equal(err.size, 4 * MiB + 1);
        return true;
      });
    }
    assert.equal(t.host.stats().tcpServer.accepted, 0, "no connection was even opened");
    assert.equal(t.worker.stats().pendingCalls, 0);
    assert.equal(t.worker.stats().timers, 0);
    assert.equal(invocations, 0);
  } finally {
    await t.close();
  }
});

test("TCP: a reply over the frame limit reaches the caller as an error, not a hang", async () => {
  const t = await pair({ handlers: { huge: () => new Uint8Array(4 * MiB + 1) } });
  try {
    await assert.rejects(t.worker.call(t.peer, "huge", [], { transport: "tcp" }), (err) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.remoteType, "PayloadTooLarge");
      assert.match(err.remoteMessage, /reply to 'huge' is too large/);
      return true;
    });
  } finally {
    await t.close();
  }
});

test("TCP: a header claiming 3 GiB closes that connection, and the node keeps serving others", async () => {
  const logger = recordingLogger();
  const t = await pair({ handlers: { ping: () => "pong" }, logger });
  const attacker = t.network.host("10.0.0.66");
  try {
    const bystander = t.worker.call(t.peer, "ping", [], { transport: "tcp" });
    const conn = await attacker.connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    await conn.write(new Uint8Array([0xc0, 0x00, 0x00, 0x00]));
    assert.equal(await conn.read(), null, "the server closed the connection");
    await conn.close();
    assert.equal(await bystander, "pong");
    assert.equal(await t.worker.call(t.peer, "ping", [], { transport: "tcp" }), "pong");
    assert.equal(t.host.stats().tcpServer.oversizeFrames, 1);
    assert.ok(
      logger.lines.some((l) =>
        /^warn: closing TCP connection from 10\.0\.0\.66:\d+: TCP receive: frame header announces 3221225472 bytes/
          .test(l)
      ),
      logger.lines.join("\n"),
    );
  } finally {
    await t.close();
  }
});

test("TCP: many concurrent calls share one pipelined connection and match replies by id", async () => {
  const t = await pair({
    handlers: {
      slow: async (i: number) => {
        await new Promise((resolve) => setTimeout(resolve, (i * 7) % 13));
        return i * 2;
      },
    },
  });
  try {
    const calls = Array.from({ length: 60 }, (_, i) => t.worker.call(t.peer, "slow", [i], { transport: "tcp" }));
    assert.deepEqual(await Promise.all(calls), calls.map((_, i) => i * 2));
    assert.equal(t.worker.stats().tcpClient.connects, 1);
    assert.equal(t.host.stats().tcpServer.accepted, 1);
    assert.equal(t.worker.stats().tcpClient.pooled, 1);
  } finally {
    await t.close();
  }
});

test("TCP: an idle pooled connection closes, and the next call opens a new one", async () => {
  const t = await pair({ handlers: { f: () => 1 } }, true);
  try {
    const first = t.worker.call(t.peer, "f", [], { transport: "tcp" });
    await t.clock!.advance(0);
    assert.equal(await first, 1);
    assert.equal(t.worker.stats().tcpClient.pooled, 1);
    await t.clock!.advance(t.worker.limits.clientIdleTimeout + 1);
    assert.equal(t.worker.stats().tcpClient.pooled, 0);
    await t.clock!.advance(0);
    assert.equal(t.host.stats().tcpServer.open, 0, "the server saw the close");
    const second = t.worker.call(t.peer, "f", [], { transport: "tcp" });
    await t.clock!.advance(0);
    assert.equal(await second, 1);
    assert.equal(t.worker.stats().tcpClient.connects, 2);
  } finally {
    await t.close();
  }
});

test("TCP: the server closes connections left idle", async () => {
  const t = await pair({}, true);
  try {
    const conn = await t.network.host("10.0.0.5").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    await t.clock!.advance(0);
    assert.equal(t.host.stats().tcpServer.open, 1);
    await t.clock!.advance(t.host.limits.serverIdleTimeout + 1);
    assert.equal(t.host.stats().tcpServer.open, 0);
    assert.equal(t.host.stats().tcpServer.idleClosed, 1);
    assert.equal(await conn.read(), null);
    await conn.close();
  } finally {
    await t.close();
  }
});

test("TCP: when the peer restarts, the dead pooled connection is replaced transparently", async () => {
  const t = await pair({ handlers: { f: () => "ok" } });
  try {
    assert.equal(await t.worker.call(t.peer, "f", [], { transport: "tcp" }), "ok");
    await t.host.stop();
    const restarted = new RpcEndpoint({
      runtime: t.network.host("10.0.0.2"),
      name: "Host",
      udpPort: t.peer.udpPort,
      tcpPort: t.peer.tcpPort,
      handlers: { f: () => "again" },
    });
    await restarted.start();
    try {
      assert.equal(await t.worker.call(t.peer, "f", [], { transport: "tcp" }), "again");
      assert.equal(t.worker.stats().tcpClient.connects, 2);
    } finally {
      await restarted.stop();
    }
  } finally {
    await t.close();
  }
});

test("TCP: calls in flight when the connection breaks fail with CONNECTION_LOST", async () => {
  let release!: () => void;
  const t = await pair({ handlers: { hang: () => new Promise<void>((resolve) => (release = resolve)) } });
  try {
    const call = t.worker.call(t.peer, "hang", [], { transport: "tcp" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await (t.network.host("10.0.0.2")).closeAll();
    await assert.rejects(call, (err) => {
      assert.ok(err instanceof PeerConnectionError);
      assert.equal(err.code, "CONNECTION_LOST");
      assert.match(err.message, /closed before the reply to 'hang' arrived/);
      return true;
    });
    release();
    assert.equal(t.worker.stats().pendingCalls, 0);
  } finally {
    await t.close();
  }
});

test("TCP: connecting to a port nobody listens on fails fast with CONNECTION_FAILED", async () => {
  const t = await pair();
  try {
    const nowhere = { ...t.peer, tcpPort: 1 };
    await assert.rejects(t.worker.call(nowhere, "f", [], { transport: "tcp" }), (err) => {
      assert.ok(err instanceof PeerConnectionError);
      assert.equal(err.code, "CONNECTION_FAILED");
      assert.match(err.message, /Cannot open a TCP connection to 'Host' at 10\.0\.0\.2:1/);
      return true;
    });
  } finally {
    await t.close();
  }
});

test("TCP: a persistent client may pipeline hand-written frames; replies come back by id", async () => {
  const t = await pair({ handlers: { add: (a: number, b: number) => a + b } });
  const conn = await t.network.host("10.0.0.7").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
  try {
    const frames = [1, 2, 3].map((i) =>
      JSON.stringify({
        type: "request",
        id: `p${i}`,
        src: "Raw",
        dst: "Host",
        rpc: "add",
        args: [i, i],
        kwargs: {},
        plx: 1,
      })
    ).map((json) => {
      const body = new TextEncoder().encode(json);
      const frame = new Uint8Array(4 + body.length);
      writeFrameHeader(frame, 0, body.length);
      frame.set(body, 4);
      return frame;
    });
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    frames.reduce((at, f) => (all.set(f, at), at + f.length), 0);
    await conn.write(all);
    const reader = new FrameReader(1 << 20);
    const replies: Array<{ id: string; result: number }> = [];
    while (replies.length < 3) {
      const chunk = await conn.read();
      assert.ok(chunk, "connection stays open between requests");
      for (const f of reader.push(chunk)) replies.push(JSON.parse(new TextDecoder().decode(f)));
    }
    assert.deepEqual(replies.map((r) => [r.id, r.result]).sort(), [["p1", 2], ["p2", 4], ["p3", 6]]);
  } finally {
    await conn.close();
    await t.close();
  }
});

test("TCP: a frame that is not a request (no readable id) is dropped and counted; the connection carries on", async () => {
  const t = await pair({ handlers: { add: (a: number, b: number) => a + b } });
  const conn = await t.network.host("10.0.0.7").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
  const frameOf = (text: string) => {
    const body = new TextEncoder().encode(text);
    const frame = new Uint8Array(4 + body.length);
    writeFrameHeader(frame, 0, body.length);
    frame.set(body, 4);
    return frame;
  };
  try {
    for (const junk of ["not json at all", "[1, 2, 3]", '{"type": "request", "id": 7}', "\u00ff\u00fe"]) {
      await conn.write(frameOf(junk));
    }
    await conn.write(frameOf(
      '{"type": "request", "id": "after", "src": "Raw", "dst": "Host", "rpc": "add", "args": [2, 3], "kwargs": {}}',
    ));
    const reader = new FrameReader(1 << 20);
    let reply: { id: string; result: number } | undefined;
    while (!reply) {
      const chunk = await conn.read();
      assert.ok(chunk, "the server kept the connection open past the malformed frames");
      const frames = reader.push(chunk);
      if (frames.length > 0) reply = JSON.parse(new TextDecoder().decode(frames[0]));
    }
    assert.deepEqual(reply, { type: "response", id: "after", result: 5 });
    assert.equal(t.host.stats().tcpServer.malformed, 4);
    assert.equal(t.host.stats().internalErrors, 0);
  } finally {
    await conn.close();
    await t.close();
  }
});

test("TCP: a request whose write fails on a dead pooled connection is re-sent on a fresh one", async () => {
  const network = new MemoryNetwork({ seed: 3 });
  const host = new RpcEndpoint({ runtime: network.host("10.0.0.2"), name: "Host", handlers: { f: (n: number) => n } });
  const { udpPort, tcpPort } = await host.start();
  // A runtime whose connections can be "killed": writes then fail, and reads never report it.
  const real = network.host("10.0.0.1");
  const killers: Array<() => void> = [];
  const runtime: SocketRuntime = {
    name: "killable",
    networkInterfaces: () => real.networkInterfaces(),
    bindDatagram: (options, onMessage) => real.bindDatagram(options, onMessage),
    listen: (options, onConnection) => real.listen(options, onConnection),
    async connect(options) {
      const conn = await real.connect(options);
      let dead = false;
      killers.push(() => (dead = true));
      return {
        localAddress: conn.localAddress,
        remoteAddress: conn.remoteAddress,
        read: () => conn.read(),
        write: (data) => dead ? Promise.reject(new NetError("CONNECTION_RESET", "reset")) : conn.write(data),
        closeWrite: () => conn.closeWrite(),
        close: () => conn.close(),
      };
    },
  };
  const worker = new RpcEndpoint({ runtime, name: "Worker" });
  await worker.start();
  const peer = { name: "Host", address: "10.0.0.2", udpPort, tcpPort, capabilities: LOCAL_CAPABILITIES };
  try {
    assert.equal(await worker.call(peer, "f", [1], { transport: "tcp" }), 1);
    killers[0]();
    assert.equal(await worker.call(peer, "f", [2], { transport: "tcp" }), 2);
    const stats = worker.stats().tcpClient;
    assert.equal(stats.resent, 1);
    assert.equal(stats.connects, 2);
    assert.equal(host.stats().handlers.invocations, 2);
  } finally {
    await worker.stop();
    await host.stop();
    await network.close();
  }
});
