/**
 * Raw baseline sockets on Deno: `Deno.listenDatagram` (unstable `net` API) and
 * `Deno.listen` / `Deno.connect` with `read()` into a reused buffer and `write()`.
 *
 * Docs: https://docs.deno.com/api/deno/~/Deno.listenDatagram,
 * https://docs.deno.com/api/deno/~/Deno.DatagramConn, https://docs.deno.com/api/deno/~/Deno.TcpConn
 *
 * Deno's sockets are pull-based: one receive/read loop per socket. Writes go through a
 * per-connection queue drained by one writer, one `write()` per buffer (as PeerLink's Deno
 * adapter does), so bytes of two buffers never interleave after a partial write.
 *
 * @module
 */
import { LOOPBACK, type RawSockets, type RawTcpConnection, type TcpDataHandler } from "./types.ts";

interface DenoAddr {
  transport: string;
  hostname: string;
  port: number;
}

interface DenoDatagramConn {
  readonly addr: DenoAddr;
  receive(p?: Uint8Array): Promise<[Uint8Array, DenoAddr]>;
  send(p: Uint8Array, addr: DenoAddr): Promise<number>;
  close(): void;
}

interface DenoTcpConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
}

interface DenoTcpListener {
  readonly addr: DenoAddr;
  accept(): Promise<DenoTcpConn>;
  close(): void;
}

interface DenoNet {
  listenDatagram(options: { transport: "udp"; hostname: string; port: number }): DenoDatagramConn;
  listen(options: { transport: "tcp"; hostname: string; port: number }): DenoTcpListener;
  connect(options: { transport: "tcp"; hostname: string; port: number }): Promise<DenoTcpConn>;
}

/** Reused receive buffer of each socket: big enough for any datagram, and large TCP reads. */
const READ_BUFFER_BYTES = 256 * 1024;

function deno(): DenoNet {
  const api = (globalThis as unknown as { Deno?: DenoNet }).Deno;
  if (typeof api?.listenDatagram !== "function") {
    throw new Error("raw/deno.ts: Deno.listenDatagram is missing: run deno with --unstable-net");
  }
  return api;
}

/** Starts the read loop and the write queue of one connection. */
function wrap(conn: DenoTcpConn, onData: TcpDataHandler, onClose?: () => void): RawTcpConnection {
  conn.setNoDelay(true);
  let closed = false;
  const queue: Uint8Array[] = [];
  let writing = false;
  /** Waiting for the queue to empty (see `drained`). */
  let waiters: (() => void)[] = [];
  const wake = () => {
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };
  const close = () => {
    if (closed) return;
    closed = true;
    wake();
    onClose?.();
    try {
      conn.close();
    } catch {
      // Already closed by the other side.
    }
  };
  const drain = async () => {
    writing = true;
    try {
      while (queue.length > 0 && !closed) {
        const next = queue.shift()!;
        let offset = 0;
        while (offset < next.length) offset += await conn.write(next.subarray(offset));
      }
    } catch {
      close();
    } finally {
      writing = false;
      wake();
    }
  };
  const connection: RawTcpConnection = {
    write(data) {
      if (closed) return;
      queue.push(data);
      if (!writing) void drain();
    },
    drained: () => writing ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve(),
    close,
  };
  void (async () => {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        onData(connection, buffer.subarray(0, n));
      }
    } catch {
      // Closed locally or reset.
    }
    close();
  })();
  return connection;
}

/**
 * Creates the raw sockets of Deno.
 *
 * @returns The sockets.
 * @throws {Error} When the unstable net API is off.
 */
export function denoRawSockets(): RawSockets {
  const api = deno();
  return {
    api: "Deno.listenDatagram / Deno.listen",
    openUdp(onMessage) {
      const conn = api.listenDatagram({ transport: "udp", hostname: LOOPBACK, port: 0 });
      let closed = false;
      void (async () => {
        const buffer = new Uint8Array(READ_BUFFER_BYTES);
        while (!closed) {
          try {
            const [data, from] = await conn.receive(buffer);
            onMessage(data, from.port, from.hostname);
          } catch {
            if (closed) break;
          }
        }
      })();
      const ignore = () => {};
      return Promise.resolve({
        port: conn.addr.port,
        send: (data, port, hostname) => void conn.send(data, { transport: "udp", hostname, port }).catch(ignore),
        close: () => {
          closed = true;
          conn.close();
        },
      });
    },
    listenTcp(onData, hostname = LOOPBACK) {
      const listener = api.listen({ transport: "tcp", hostname, port: 0 });
      const open = new Set<RawTcpConnection>();
      let closed = false;
      void (async () => {
        while (!closed) {
          try {
            const conn = await listener.accept();
            const connection = wrap(conn, onData, () => open.delete(connection));
            open.add(connection);
          } catch {
            if (closed) break;
          }
        }
      })();
      return Promise.resolve({
        port: listener.addr.port,
        close: () => {
          closed = true;
          listener.close();
          for (const connection of [...open]) connection.close();
        },
      });
    },
    async connectTcp(port, onData, hostname = LOOPBACK) {
      const conn = await api.connect({ transport: "tcp", hostname, port });
      return wrap(conn, onData);
    },
  };
}
