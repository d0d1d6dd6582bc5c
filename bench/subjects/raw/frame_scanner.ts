/**
 * Finds the frames in a TCP byte stream of 4-byte big-endian length-prefixed frames (PeerLink's
 * TCP framing) without copying anything: it reports each complete frame's length and the
 * first four bytes of its body (the raw baselines put a request id there).
 *
 * @module
 */

/** Called once per complete frame: `id` is the body's first 4 bytes (big-endian, 0 if shorter). */
export type FrameHandler = (id: number, length: number) => void;

/**
 * Incremental frame boundary scanner.
 *
 * @example
 * ```ts
 * import { FrameScanner } from "./frame_scanner.ts";
 * const scanner = new FrameScanner((id, length) => console.log(id, length));
 * scanner.push(new Uint8Array([0, 0, 0, 5, 0, 0, 0, 7, 9])); // 7 5
 * ```
 */
export class FrameScanner {
  readonly #onFrame: FrameHandler;
  #inHeader = true;
  /** Bytes still missing from the header or the body. */
  #need = 4;
  #header = 0;
  #length = 0;
  #id = 0;
  #idBytes = 0;

  /** @param onFrame Called for each complete frame. */
  constructor(onFrame: FrameHandler) {
    this.#onFrame = onFrame;
  }

  /**
   * Scans the next chunk of the stream.
   *
   * @param chunk Bytes in stream order; not kept.
   */
  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#inHeader) {
        this.#header = this.#header * 256 + chunk[i++];
        if (--this.#need === 0) {
          this.#length = this.#need = this.#header;
          this.#header = this.#id = this.#idBytes = 0;
          this.#inHeader = false;
          if (this.#length === 0) this.#complete();
        }
        continue;
      }
      while (this.#idBytes < 4 && this.#need > 0 && i < n) {
        this.#id = this.#id * 256 + chunk[i++];
        this.#idBytes++;
        this.#need--;
      }
      const take = Math.min(this.#need, n - i);
      i += take;
      this.#need -= take;
      if (this.#need === 0) this.#complete();
    }
  }

  #complete(): void {
    this.#inHeader = true;
    this.#need = 4;
    this.#onFrame(this.#id, this.#length);
  }
}

/**
 * Builds `count` frames back to back, each a copy of `body` with a request id in its first
 * 4 bytes, ready for one write.
 *
 * @param body Frame body template (at least 4 bytes).
 * @param firstId Id of the first frame; the others count up.
 * @param count Number of frames.
 * @returns The bytes.
 */
export function buildFrames(body: Uint8Array, firstId: number, count: number): Uint8Array {
  const size = 4 + body.length;
  const out = new Uint8Array(size * count);
  const view = new DataView(out.buffer);
  for (let k = 0; k < count; k++) {
    const at = k * size;
    view.setUint32(at, body.length);
    out.set(body, at + 4);
    view.setUint32(at + 4, (firstId + k) >>> 0);
  }
  return out;
}

/**
 * Builds frames that answer the given request ids, each with a body of `bodyBytes`.
 *
 * @param ids Request ids, in order.
 * @param bodyBytes Reply body size (at least 4).
 * @returns The bytes, for one write.
 */
export function buildReplies(ids: readonly number[], bodyBytes: number): Uint8Array {
  const size = 4 + bodyBytes;
  const out = new Uint8Array(size * ids.length);
  const view = new DataView(out.buffer);
  for (let k = 0; k < ids.length; k++) {
    view.setUint32(k * size, bodyBytes);
    view.setUint32(k * size + 4, ids[k] >>> 0);
  }
  return out;
}
