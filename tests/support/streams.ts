/**
 * Helpers of the stream tests: reading a stream whole, building byte patterns, waiting on the
 * in-memory network (bounded), and raw frames a hostile client writes by hand.
 */
import type { StreamConnection } from "../../src/net.ts";
import { FrameReader } from "../../src/wire/frames.ts";

export { concat } from "./security_harness.ts";

/** Reads a stream to its end. */
export async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

/** `size` bytes of a pattern that depends on `seed`. */
export function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** Yields to the in-memory network and promise chains until `predicate` holds, at most `rounds` times. */
export async function until(predicate: () => boolean, rounds = 2000): Promise<boolean> {
  for (let i = 0; i < rounds && !predicate(); i++) await new Promise((r) => setTimeout(r, 0));
  return predicate();
}

/** A length-prefixed TCP frame around `body`. */
export function rawFrame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** A stream frame body: 0xFD, kind, stream id, payload. */
export function streamFrameBody(kind: number, id: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = new Uint8Array(6 + payload.length);
  body[0] = 0xfd;
  body[1] = kind;
  new DataView(body.buffer).setUint32(2, id >>> 0);
  body.set(payload, 6);
  return body;
}

/** A framed stream frame, as written on the connection. */
export function rawStreamFrame(kind: number, id: number, payload?: Uint8Array): Uint8Array {
  return rawFrame(streamFrameBody(kind, id, payload));
}

/** A framed plaintext JSON request. */
export function rawRequest(fields: Record<string, unknown>): Uint8Array {
  return rawFrame(new TextEncoder().encode(JSON.stringify({ type: "request", kwargs: {}, plx: 2, ...fields })));
}

/** Collects every frame body a raw connection receives (until it closes), as they arrive. */
export function readFrames(connection: StreamConnection): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const reader = new FrameReader(1 << 24);
  (async () => {
    for (;;) {
      const chunk = await connection.read();
      if (chunk === null) return;
      frames.push(...reader.push(chunk));
    }
  })().catch(() => {});
  return frames;
}

/** The JSON messages among frame bodies (stream frames left out). */
export function messagesIn(frames: readonly Uint8Array[]): Record<string, unknown>[] {
  return frames.filter((body) => body[0] === 0x7b).map((body) => JSON.parse(new TextDecoder().decode(body)));
}

/**
 * Sends a request on a raw connection and reads just its reply (then nothing more: a receiver
 * that does not read), returning the id of the stream its result carries.
 */
export async function rawResultStream(connection: StreamConnection, fields: Record<string, unknown>): Promise<number> {
  await connection.write(rawRequest(fields));
  const reader = new FrameReader(1 << 20);
  let reply: Record<string, unknown> | undefined;
  while (!reply) reply = messagesIn(reader.push((await connection.read())!))[0];
  return (reply.result as { __stream__: number }).__stream__;
}
