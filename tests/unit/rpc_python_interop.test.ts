import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { RpcEndpoint } from "../../src/rpc/endpoint.ts";
import { NO_CAPABILITIES } from "../../src/wire/capabilities.ts";
import { FrameReader } from "../../src/wire/frames.ts";
import { PeerConnectionError, RemoteError } from "../../src/errors.ts";
import type { StreamConnection } from "../../src/net.ts";

// Frames written and read by hand, byte for byte as Python PeerLink 1.2 does:
//   sock.sendall(struct.pack(">I", len(payload)) + payload), payload = json.dumps(msg).encode()
// json.dumps separates with ", " and ": ".

const utf8 = new TextEncoder();

function pyFrame(json: string): Uint8Array {
  const body = utf8.encode(json);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

async function readOneFrame(conn: StreamConnection): Promise<{ body: Uint8Array; json: Record<string, unknown> }> {
  const reader = new FrameReader(1 << 24);
  for (;;) {
    const chunk = await conn.read();
    assert.ok(chunk, "stream ended before a whole frame arrived");
    const frames = reader.push(chunk);
    if (frames.length > 0) return { body: frames[0], json: JSON.parse(new TextDecoder().decode(frames[0])) };
  }
}

test("Python-style one-shot TCP client: one request, one plain JSON reply, then close", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  const host = new RpcEndpoint({
    runtime: network.host("10.0.0.2"),
    name: "Host",
    handlers: {
      add: (a: number, b: number, kw?: { scale?: number }) => (a + b) * (kw?.scale ?? 1),
      raw: () => new Uint8Array([1, 2, 255]),
    },
  });
  const { tcpPort } = await host.start();
  const py = network.host("10.0.0.9");
  try {
    const conn = await py.connect({ address: "10.0.0.2", port: tcpPort });
    await conn.write(pyFrame(
      '{"type": "request", "id": "0b7c4a6e-1111-4222-8333-944455556666", "src": "PyNode", "dst": "Host", "rpc": "add", "args": [2, 3], "kwargs": {"scale": 10}}',
    ));
    const { body, json } = await readOneFrame(conn);
    assert.equal(body[0], "{".charCodeAt(0), "plain JSON frame, never a binary one");
    assert.deepEqual(json, { type: "response", id: "0b7c4a6e-1111-4222-8333-944455556666", result: 50 });
    await conn.close();

    const second = await py.connect({ address: "10.0.0.2", port: tcpPort });
    await second.write(
      pyFrame(
        '{"type": "request", "id": "r2", "src": "PyNode", "dst": "Host", "rpc": "raw", "args": [], "kwargs": {}}',
      ),
    );
    const { json: bytesReply } = await readOneFrame(second);
    assert.deepEqual(
      bytesReply,
      { type: "response", id: "r2", result: { __bytes__: "AQL/" } },
      "binary as base64 for Python",
    );
    await second.closeWrite();
    assert.equal(await second.read(), null, "the server closes after the client's end of stream");
    await second.close();
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(host.stats().tcpServer.open, 0);
  } finally {
    await host.stop();
    await network.close();
  }
});

test("Python-style client sending an unknown function gets an error in Python's shape (our type NoSuchFunction)", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  const host = new RpcEndpoint({ runtime: network.host("10.0.0.2"), name: "Host" });
  const { tcpPort } = await host.start();
  try {
    const conn = await network.host("10.0.0.9").connect({ address: "10.0.0.2", port: tcpPort });
    await conn.write(
      pyFrame('{"type": "request", "id": "x", "src": "Py", "dst": "Host", "rpc": "nope", "args": [], "kwargs": {}}'),
    );
    const { json } = await readOneFrame(conn);
    assert.deepEqual(json, {
      type: "error",
      id: "x",
      error: { type: "NoSuchFunction", message: "No such function 'nope' registered on 'Host'." },
    });
    await conn.close();
  } finally {
    await host.stop();
    await network.close();
  }
});

test("a Python caller's bare NaN, Infinity and -Infinity (json.dumps' default) reach the handler as numbers", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  const received: unknown[] = [];
  const host = new RpcEndpoint({
    runtime: network.host("10.0.0.2"),
    name: "Host",
    handlers: {
      take: (...args: unknown[]) => {
        received.push(args);
        return "ok";
      },
    },
  });
  const { tcpPort } = await host.start();
  try {
    const conn = await network.host("10.0.0.9").connect({ address: "10.0.0.2", port: tcpPort });
    await conn.write(pyFrame(
      '{"type": "request", "id": "n1", "src": "Py", "dst": "Host", "rpc": "take", "args": [NaN, [Infinity, -Infinity], "NaN"], "kwargs": {}}',
    ));
    const { json } = await readOneFrame(conn);
    assert.deepEqual(json, { type: "response", id: "n1", result: "ok" });
    assert.deepEqual(received, [[NaN, [Infinity, -Infinity], "NaN"]]);
    await conn.close();
  } finally {
    await host.stop();
    await network.close();
  }
});

test("calling a Python-style server: one-shot connection, plain JSON frame, base64 binary, no extensions", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  const pyHost = network.host("10.0.0.9");
  const requests: Array<Record<string, unknown>> = [];
  const firstBytes: number[] = [];
  let connections = 0;
  // A server that behaves like Python PeerLink 1.2's TCP handler: read one frame, reply, close.
  const listener = await pyHost.listen({ address: "0.0.0.0", port: 50001 }, (conn) => {
    connections++;
    (async () => {
      const { body, json } = await readOneFrame(conn);
      firstBytes.push(body[0]);
      requests.push(json);
      const args = json.args as unknown[];
      const id = json.id;
      // Python 1.2's replies, text for text (its server's own error for an unknown function).
      const replies: Record<string, string> = {
        fail: `{"type": "error", "id": "${id}", "error": {"type": "ZeroDivisionError", "message": "division by zero"}}`,
        nope:
          `{"type": "error", "id": "${id}", "error": {"type": "RemoteError", "message": "No function 'nope' registered on Py"}}`,
        nan: `{"type": "response", "id": "${id}", "result": [NaN, Infinity, -Infinity, 1.5]}`,
        echo: `{"type": "response", "id": "${id}", "result": ${JSON.stringify(args)}}`,
      };
      // A handler returning bytes: json.dumps raises, and Python closes without a reply.
      if (json.rpc !== "raw") await conn.write(pyFrame(replies[json.rpc as string]));
      await conn.close();
    })().catch(() => conn.close());
  });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker" });
  await worker.start();
  const peer = { name: "Py", address: "10.0.0.9", udpPort: 50000, tcpPort: 50001, capabilities: NO_CAPABILITIES };
  try {
    const echoed = await worker.call(peer, "echo", [new Uint8Array([104, 105]), { k: 1 }], { transport: "tcp" });
    assert.deepEqual(echoed, [new Uint8Array([104, 105]), { k: 1 }], "base64 tags come back as Uint8Array");
    await assert.rejects(worker.call(peer, "fail", [], { transport: "tcp", kwargs: { x: 1 } }), (err) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.remoteType, "ZeroDivisionError");
      assert.equal(err.remoteMessage, "division by zero");
      assert.equal(err.peer, "Py");
      return true;
    });
    await assert.rejects(worker.call(peer, "nope", [], { transport: "tcp" }), (err) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.remoteType, "RemoteError");
      assert.equal(err.remoteMessage, "No function 'nope' registered on Py");
      return true;
    });
    const nan = await worker.call(peer, "nan", [], { transport: "tcp" });
    assert.deepEqual(nan, [NaN, Infinity, -Infinity, 1.5], "Python's bare NaN and infinities decode as numbers");
    await assert.rejects(
      worker.call(peer, "raw", [], { transport: "tcp", timeout: 5000 }),
      (err) => err instanceof PeerConnectionError && err.code === "CONNECTION_LOST",
      "Python 1.2 cannot send bytes: the connection closes without a reply, and the call fails at once",
    );
    assert.equal(connections, 5, "one connection per call");
    assert.deepEqual(firstBytes, Array(5).fill("{".charCodeAt(0)));
    assert.deepEqual(Object.keys(requests[0]), ["type", "id", "src", "dst", "rpc", "args", "kwargs"]);
    assert.deepEqual(requests[0].args, [{ __bytes__: "aGk=" }, { k: 1 }]);
    assert.deepEqual(requests[1].kwargs, { x: 1 });
    assert.equal(worker.stats().tcpClient.oneShot, 0, "one-shot connections are closed after the reply");
    assert.equal(worker.stats().tcpClient.pooled, 0);
  } finally {
    await worker.stop();
    await listener.close();
    await network.close();
  }
});

test("toward a Python-style caller an error reply holds only type and message, whatever was thrown", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  const host = new RpcEndpoint({
    runtime: network.host("10.0.0.2"),
    name: "Host",
    handlers: {
      reserve: () => {
        throw Object.assign(new RangeError("over quota"), { code: "E_QUOTA", limit: 10 });
      },
      plain: () => {
        throw { message: "a plain object", code: "E_PLAIN" };
      },
    },
  });
  const { tcpPort } = await host.start();
  const py = network.host("10.0.0.9");
  try {
    for (
      const [rpc, error] of [
        ["reserve", { type: "RangeError", message: "over quota" }],
        ["plain", { type: "Error", message: "a plain object" }],
      ] as const
    ) {
      const conn = await py.connect({ address: "10.0.0.2", port: tcpPort });
      await conn.write(pyFrame(
        `{"type": "request", "id": "e-${rpc}", "src": "PyNode", "dst": "Host", "rpc": "${rpc}", "args": [], "kwargs": {}}`,
      ));
      const { json } = await readOneFrame(conn);
      assert.deepEqual(json, { type: "error", id: `e-${rpc}`, error });
      await conn.close();
    }
  } finally {
    await host.stop();
    await network.close();
  }
});

test("a Python-style UDP reply holding a bare NaN settles the call with NaN instead of timing out", async () => {
  const network = new MemoryNetwork({ seed: 1 });
  const pyHost = network.host("10.0.0.9");
  // Python 1.2's UDP server: one datagram in, json.dumps(reply) out, NaN written bare.
  const socket = await pyHost.bindDatagram({ address: "0.0.0.0", port: 50000 }, (d) => {
    const id = JSON.parse(new TextDecoder().decode(d.data)).id;
    socket.send(
      utf8.encode(`{"type": "response", "id": "${id}", "result": {"mean": NaN, "max": Infinity}}`),
      d.address,
      d.port,
    )
      .catch(() => {});
  });
  const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker" });
  await worker.start();
  const peer = { name: "Py", address: "10.0.0.9", udpPort: 50000, tcpPort: 50001, capabilities: NO_CAPABILITIES };
  try {
    assert.deepEqual(
      await worker.call(peer, "stats", [], { transport: "udp", timeout: 2000 }),
      { mean: NaN, max: Infinity },
    );
    assert.equal(worker.stats().udp.malformed, 0);
  } finally {
    await worker.stop();
    await socket.close();
    await network.close();
  }
});
