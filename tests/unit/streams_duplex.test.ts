/**
 * Duplex streams (`openStream` / `registerStream`): `closed` settles when both directions are
 * over, whether or not this side reads, and rejects at once when the stream fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryLan } from "../support/node_harness.ts";
import { PeerConnectionError } from "../../src/errors.ts";
import { until } from "../support/streams.ts";
import { duplexParts } from "../../src/streams/duplex.ts";

/** Whether a promise has settled, without waiting for it. */
function watch(promise: Promise<unknown>): { settled: boolean; error: unknown } {
  const state = { settled: false, error: undefined as unknown };
  promise.then(() => (state.settled = true), (error) => {
    state.settled = true;
    state.error = error;
  });
  return state;
}

test("duplex: an upload that never reads the readable still sees closed resolve once the handler is done", async () => {
  const lan = memoryLan(21);
  try {
    let received = 0;
    const host = lan.node("Host").registerStream("upload", async (stream) => {
      for await (const chunk of stream.readable) received += chunk.length;
    });
    const worker = lan.node("Worker");
    await host.start();
    await worker.start();
    const s = await worker.openStream("Host", "upload");
    const writer = s.writable.getWriter();
    await writer.write(new Uint8Array(1000));
    await writer.close();
    const closed = watch(s.closed);
    assert.ok(await until(() => closed.settled), "closed settled without reading the readable");
    assert.equal(closed.error, undefined);
    assert.equal(received, 1000);
  } finally {
    await lan.close();
  }
});

test("duplex: closed rejects at once when the connection breaks, though nobody reads the readable", async () => {
  const lan = memoryLan(22);
  try {
    const host = lan.node("Host").registerStream("hold", async (stream) => {
      await stream.readable.pipeTo(new WritableStream()).catch(() => {});
    });
    const worker = lan.node("Worker");
    await host.start();
    await worker.start();
    const s = await worker.openStream("Host", "hold");
    const closed = watch(s.closed);
    await lan.network.host("10.0.0.1").closeAll();
    assert.ok(await until(() => closed.settled), "closed settled");
    assert.ok(closed.error instanceof PeerConnectionError, String(closed.error));
    // The readable errors too, with the same error.
    await assert.rejects(s.readable.getReader().read(), PeerConnectionError);
  } finally {
    await lan.close();
  }
});

test("duplex: the chunk read just before the other side's end is delivered", async () => {
  for (let round = 0; round < 20; round++) {
    const chunks = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])];
    let i = 0;
    // Closes in the same pull that gives the last chunk, as a received stream does at its end.
    const incoming = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(chunks[i++]);
        if (i === chunks.length) c.close();
      },
    }, { highWaterMark: 0 });
    const duplex = duplexParts().connect(incoming, "Peer");
    const got: number[] = [];
    for await (const chunk of duplex.readable) got.push(chunk[0]);
    assert.deepEqual(got, [1, 2, 3]);
  }
});
