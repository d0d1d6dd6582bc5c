/**
 * The raw baseline of the file row: one file moved over TCP on the runtime's own sockets (see
 * `sockets/`), read from a file on one side and written to a file on the other, with nothing
 * else (no framing, no hash, no part file).
 *
 * - Server: for every line a connection sends it (a file name in its folder), sends that whole
 *   file back: read with `node:fs` in pieces of PeerLink's file read size into one buffer, each
 *   piece written and waited for (backpressure) before the next is read, as the raw stream does.
 * - Client: `fetch` asks for a file and writes every chunk that arrives to `dest`, until
 *   `bytes` have come.
 *
 * @module
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { READ_CHUNK_BYTES } from "../../../src/files/io.ts";
import { num, type RoleFactory } from "../../worker/role.ts";
import { rawSockets } from "./sockets/mod.ts";
import type { RawTcpConnection } from "./sockets/types.ts";

/** Sends the whole file at `path` on `connection`. */
async function sendFile(connection: RawTcpConnection, path: string): Promise<void> {
  const fd = openSync(path, "r");
  try {
    // One buffer is enough: `drained()` resolves once the socket no longer holds the bytes.
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) return;
      connection.write(buffer.subarray(0, read));
      await connection.drained();
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `chunk` at the file's current position. */
function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done, chunk.length - done);
}

/**
 * Roles: `raw/file#server` (config `dir`: the folder of the files, `address`: where to listen)
 * and `raw/file#client` (config `address` and `port` of the server).
 */
export const roles: Record<string, RoleFactory> = {
  async server(config) {
    const sockets = await rawSockets();
    const dir = String(config.dir);
    const requests = new WeakMap<RawTcpConnection, string>();
    const decoder = new TextDecoder();
    const listener = await sockets.listenTcp((connection, chunk) => {
      const lines = ((requests.get(connection) ?? "") + decoder.decode(chunk)).split("\n");
      requests.set(connection, lines.pop()!);
      for (const name of lines) void sendFile(connection, join(dir, basename(name))).catch(() => connection.close());
    }, String(config.address));
    return { ready: { api: sockets.api, port: listener.port }, handlers: {}, close: () => listener.close() };
  },
  async client(config) {
    const sockets = await rawSockets();
    let onChunk: (chunk: Uint8Array) => void = () => {};
    const connection = await sockets.connectTcp(
      num(config, "port"),
      (_connection, chunk) => onChunk(chunk),
      String(config.address),
    );
    const fetch = (name: string, dest: string, bytes: number) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const started = performance.now();
        const fd = openSync(dest, "w");
        let received = 0;
        const finish = (error?: Error) => {
          onChunk = () => {};
          closeSync(fd);
          if (error) reject(error);
          else resolve({ rate: bytes / 1e6 / ((performance.now() - started) / 1000) });
        };
        onChunk = (chunk) => {
          try {
            writeAll(fd, chunk);
          } catch (error) {
            return finish(error as Error);
          }
          received += chunk.length;
          if (received === bytes) finish();
          else if (received > bytes) finish(new Error(`raw file: received ${received} bytes, expected ${bytes}`));
        };
        connection.write(new TextEncoder().encode(`${name}\n`));
      });
    return {
      ready: { api: sockets.api },
      handlers: { fetch: (c) => fetch(String(c.name), String(c.dest), num(c, "bytes")) },
      close: () => connection.close(),
    };
  },
};
