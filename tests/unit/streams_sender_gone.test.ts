/**
 * A caller that closes its side of the TCP connection (or whose process dies: the kernel closes
 * it) while the handler still reads an argument stream: the stream can get nothing more, so its
 * reader fails instead of waiting forever (a file put held its target busy that way after the
 * sender was killed). A stream that ended before the close keeps its data, and the reply still
 * goes out on the half-closed connection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PeerConnectionError } from "../../src/errors.ts";
import type { StreamConnection } from "../../src/net.ts";
import { isStreamFrame, streamFrame, StreamFrameKind } from "../../src/streams/frames.ts";
import { FrameReader, TCP_FRAME_HEADER_SIZE, writeFrame } from "../../src/wire/frames.ts";
import { type RpcPair, rpcPair } from "../support/rpc_pair.ts";

const MAX_FRAME = 1 << 20;
const STREAM = 5;

/** Sends a request for `fn` with one argument stream, the way a peer's runtime would. */
async function request(connection: StreamConnection, fn: string): Promise<void> {
  const json = new TextEncoder().encode(JSON.stringify({
    type: "request",
    id: `call-${fn}`,
    src: "Caller",
    dst: "Host",
    rpc: fn,
    args: [{ __stream__: STREAM }],
    kwargs: {},
    plx: 2,
  }));
  await writeFrame(connection, [new Uint8Array(TCP_FRAME_HEADER_SIZE), json], MAX_FRAME);
}

function data(bytes: number): Uint8Array[] {
  return streamFrame(StreamFrameKind.data, STREAM, new Uint8Array(bytes).fill(7));
}

/** The bodies of the frames the host sends until it closes the connection. */
async function framesUntilClosed(connection: StreamConnection): Promise<Uint8Array[]> {
  const reader = new FrameReader(MAX_FRAME);
  const frames: Uint8Array[] = [];
  for (let chunk = await connection.read(); chunk !== null; chunk = await connection.read()) {
    frames.push(...reader.push(chunk));
  }
  return frames;
}

/** Yields to the in-memory network and promise chains until `predicate` holds (bounded). */
async function until(predicate: () => boolean, rounds = 5000): Promise<boolean> {
  for (let i = 0; i < rounds && !predicate(); i++) await new Promise((r) => setTimeout(r, 0));
  return predicate();
}

/**
 * A host whose handler `read` reads its one argument stream to the end (what happened goes into
 * `outcomes`), and a raw caller's connection that has sent it the request.
 */
async function calling(
  body: (connection: StreamConnection, t: RpcPair, outcomes: unknown[]) => Promise<void>,
): Promise<void> {
  const outcomes: unknown[] = [];
  const read = async (input: ReadableStream<Uint8Array>) => {
    let bytes = 0;
    try {
      for await (const chunk of input) bytes += chunk.length;
      outcomes.push({ ended: bytes });
      return bytes;
    } catch (error) {
      outcomes.push(error);
      throw error;
    }
  };
  const t = await rpcPair({ host: { handlers: { read } } });
  try {
    const connection = await t.network.host("10.0.0.66").connect({ address: "10.0.0.2", port: t.peer.tcpPort });
    await request(connection, "read");
    await body(connection, t, outcomes);
    await connection.close();
  } finally {
    await t.close();
  }
}

test("the caller closes its connection mid-stream: the handler's reader fails with PeerConnectionError", async () => {
  await calling(async (connection, t, outcomes) => {
    await writeFrame(connection, data(1000), MAX_FRAME);
    assert.ok(await until(() => t.host.stats().streams.open === 1), "the stream is open");
    await connection.close();
    assert.ok(await until(() => outcomes.length > 0), "the handler's stream ended one way or the other");
    assert.ok(outcomes[0] instanceof PeerConnectionError, String(outcomes[0]));
    assert.ok(await until(() => t.host.stats().streams.open === 0), "nothing stays open on the host");
  });
});

test("a caller that half-closes after its stream ended still gets every byte read and the reply", async () => {
  await calling(async (connection, _t, outcomes) => {
    for (let i = 0; i < 3; i++) await writeFrame(connection, data(1000), MAX_FRAME);
    await writeFrame(connection, streamFrame(StreamFrameKind.end, STREAM), MAX_FRAME);
    await connection.closeWrite();
    assert.ok(await until(() => outcomes.length > 0), "the handler finished");
    assert.deepEqual(outcomes, [{ ended: 3000 }]);
    const replies = (await framesUntilClosed(connection)).filter((body) => !isStreamFrame(body));
    assert.equal(replies.length, 1, "one reply, then the host closed the connection");
    const reply = JSON.parse(new TextDecoder().decode(replies[0]));
    assert.equal(reply.type, "response");
    assert.equal(reply.result, 3000);
  });
});
