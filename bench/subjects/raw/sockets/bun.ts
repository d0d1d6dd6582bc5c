/**
 * Raw baseline sockets on Bun: `Bun.udpSocket`, `Bun.listen` and `Bun.connect`.
 *
 * Docs: https://bun.sh/docs/api/udp and https://bun.sh/docs/api/tcp. Bun's `write()` returns
 * how many bytes the kernel took and keeps no copy of the rest, so each connection keeps the
 * remainder and retries on `drain`; `send()` on UDP returns false under backpressure, and the
 * datagram is then retried on `drain` too.
 *
 * @module
 */
import { LOOPBACK, type RawSockets, type RawTcpConnection, type TcpDataHandler } from "./types.ts";

interface BunUdpSocket {
  readonly port: number;
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}

interface BunTcpSocket {
  data: Slot | undefined;
  write(data: Uint8Array): number;
  end(): void;
  setNoDelay?(enabled: boolean): boolean;
}

interface BunTcpHandler {
  open(socket: BunTcpSocket): void;
  data(socket: BunTcpSocket, data: Uint8Array): void;
  drain(socket: BunTcpSocket): void;
  close(socket: BunTcpSocket): void;
  error(socket: BunTcpSocket, error: unknown): void;
}

interface BunNet {
  udpSocket(options: {
    hostname: string;
    port: number;
    socket: {
      data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
      drain(socket: BunUdpSocket): void;
      error(...args: unknown[]): void;
    };
  }): Promise<BunUdpSocket>;
  listen(
    options: { hostname: string; port: number; socket: BunTcpHandler },
  ): { port: number; stop(all?: boolean): void };
  connect(options: { hostname: string; port: number; socket: BunTcpHandler }): Promise<BunTcpSocket>;
}

/** Per-socket state: the connection object handed out, and bytes Bun did not take yet. */
interface Slot {
  connection: RawTcpConnection;
  pending: Uint8Array[];
  /** Waiting for `pending` to empty (see `drained`). */
  waiters: (() => void)[];
}

function bun(): BunNet {
  const api = (globalThis as unknown as { Bun?: BunNet }).Bun;
  if (!api) throw new Error("raw/bun.ts: not running on Bun");
  return api;
}

/** Writes what Bun takes now and keeps the rest (in order) for `drain`. */
function flush(socket: BunTcpSocket, slot: Slot): void {
  while (slot.pending.length > 0) {
    const head = slot.pending[0];
    const written = socket.write(head);
    if (written < 0) {
      slot.pending = [];
      break;
    }
    if (written < head.length) {
      slot.pending[0] = head.subarray(written);
      return;
    }
    slot.pending.shift();
  }
  const woken = slot.waiters;
  slot.waiters = [];
  for (const resolve of woken) resolve();
}

function attach(socket: BunTcpSocket): Slot {
  socket.setNoDelay?.(true);
  const slot: Slot = {
    pending: [],
    waiters: [],
    connection: {
      write(data) {
        if (slot.pending.length > 0) {
          slot.pending.push(data);
          return;
        }
        const written = socket.write(data);
        if (written >= 0 && written < data.length) slot.pending.push(data.subarray(written));
      },
      drained: () =>
        slot.pending.length === 0 ? Promise.resolve() : new Promise((resolve) => slot.waiters.push(resolve)),
      close: () => socket.end(),
    },
  };
  socket.data = slot;
  return slot;
}

function handler(onData: TcpDataHandler, onOpen?: (slot: Slot) => void): BunTcpHandler {
  return {
    open(socket) {
      const slot = attach(socket);
      onOpen?.(slot);
    },
    data(socket, data) {
      onData(socket.data!.connection, data);
    },
    drain(socket) {
      if (socket.data) flush(socket, socket.data);
    },
    close(socket) {
      // Nothing more will be written: release whoever waits for the backlog.
      if (socket.data) {
        socket.data.pending = [];
        flush(socket, socket.data);
      }
    },
    error() {},
  };
}

/**
 * Creates the raw sockets of Bun.
 *
 * @returns The sockets.
 */
export function bunRawSockets(): RawSockets {
  const api = bun();
  return {
    api: "Bun.udpSocket / Bun.listen",
    async openUdp(onMessage) {
      const backlog: [Uint8Array, number, string][] = [];
      const socket = await api.udpSocket({
        hostname: LOOPBACK,
        port: 0,
        socket: {
          data: (_socket, data, port, address) => onMessage(data, port, address),
          drain(s) {
            while (backlog.length > 0 && s.send(...backlog[0])) backlog.shift();
          },
          error() {},
        },
      });
      return {
        port: socket.port,
        send(data, port, address) {
          if (backlog.length > 0 || !socket.send(data, port, address)) backlog.push([data, port, address]);
        },
        close: () => socket.close(),
      };
    },
    listenTcp(onData, hostname = LOOPBACK) {
      const listener = api.listen({ hostname, port: 0, socket: handler(onData) });
      return Promise.resolve({ port: listener.port, close: () => listener.stop(true) });
    },
    async connectTcp(port, onData, hostname = LOOPBACK) {
      const socket = await api.connect({ hostname, port, socket: handler(onData) });
      return socket.data?.connection ?? attach(socket).connection;
    },
  };
}
