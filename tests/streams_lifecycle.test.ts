/**
 * Streams end with the calls and handlers they belong to: a failed call ends its argument
 * streams on the handler's side too, a handler that ignores its argument stream releases it,
 * and a stream's resources (the sender's source, slots, connections) are freed however it ends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rpcPair } from "./support/rpc_pair.ts";
import { RemoteError } from "../src/errors.ts";
import { collect, until } from "./support/streams.ts";

test("an aborted call ends its argument stream on the handler's side (the handler is not left waiting)", async () => {
  let handlerSaw: unknown;
  let firstChunk!: () => void;
  const started = new Promise<void>((resolve) => (firstChunk = resolve));
  const t = await rpcPair({
    host: {
      handlers: {
        ingest: async (input: ReadableStream<number>) => {
          try {
            for await (const _ of input) firstChunk();
            handlerSaw = "end";
          } catch (error) {
            handlerSaw = error;
          }
          return "done";
        },
      },
    },
  });
  try {
    const source = new TransformStream<number, number>();
    const writer = source.writable.getWriter();
    void writer.write(1);
    const abort = new AbortController();
    const call = t.worker.call(t.peer, "ingest", [source.readable], { signal: abort.signal });
    await started;
    abort.abort();
    await assert.rejects(call, { name: "AbortError" });
    assert.ok(await until(() => handlerSaw !== undefined), "the handler's stream ended");
    assert.ok(handlerSaw instanceof RemoteError, String(handlerSaw));
    assert.equal(handlerSaw.remoteType, "AbortError");
    assert.ok(await until(() => t.host.stats().streams.open === 0), "the host forgot the stream");
    assert.ok(await until(() => t.worker.stats().streams.open === 0), "the worker forgot the stream");
  } finally {
    await t.close();
  }
});
