/**
 * The raw baseline: an echo server and its client on the runtime's own sockets (see `raw/`).
 *
 * - UDP echo: the client sends a datagram of `requestBytes` (the size of PeerLink's encoded
 *   `add(1, 2)` request), the server answers with `replyBytes` (the size of PeerLink's reply),
 *   carrying the request id back in the first 4 bytes.
 * - TCP echo: the same, as 4-byte length-prefixed frames on one persistent connection; the
 *   server parses the framing as PeerLink must, and answers every complete frame of a read in
 *   one write.
 * - TCP upload: one frame of `bytes`, acknowledged with a single byte once fully received.
 * - TCP stream: the same sink, fed in chunks (64 KiB) that each wait for the socket to take the
 *   previous ones, as a streaming sender with backpressure does (the baseline of PeerLink's
 *   streams).
 *
 * @module
 */
import { buildFrames, buildReplies, FrameScanner } from "./frame_scanner.ts";
import type { CallClient } from "../../worker/client.ts";
import { clientRole } from "../../worker/client.ts";
import {
  type LatencyResult,
  measureLatency,
  measureTransfer,
  type ThroughputResult,
  type TransferResult,
} from "../../worker/measure.ts";
import { num, type RoleFactory } from "../../worker/role.ts";
import { rawSockets } from "./sockets/mod.ts";
import { LOOPBACK, type RawTcpConnection, type RawTcpListener, type RawUdp } from "./sockets/types.ts";

/** Ports of a running raw server. */
export interface RawServerPorts {
  /** UDP echo. */
  udpPort: number;
  /** TCP echo, one write per reply. */
  tcpPort: number;
  /** TCP echo answering all frames of a read in one write. */
  tcpCoalescedPort: number;
  /** TCP upload sink. */
  uploadPort: number;
}

/** A running raw server. */
export interface RawServer extends RawServerPorts {
  /** Which native API it uses. */
  api: string;
  /** Closes every socket. */
  close(): void;
}

/**
 * Starts the raw echo and upload servers.
 *
 * @param replyBytes Size of each echo reply (UDP payload or TCP frame body).
 * @returns The server.
 */
export async function startRawServer(replyBytes: number): Promise<RawServer> {
  const sockets = await rawSockets();
  const udp: RawUdp = await sockets.openUdp((data, port, address) => {
    const reply = new Uint8Array(replyBytes);
    reply[0] = data[0];
    reply[1] = data[1];
    reply[2] = data[2];
    reply[3] = data[3];
    udp.send(reply, port, address);
  });
  const echo = async (coalesce: boolean) => {
    const scanners = new WeakMap<RawTcpConnection, { scanner: FrameScanner; ids: number[] }>();
    return await sockets.listenTcp((connection, chunk) => {
      let state = scanners.get(connection);
      if (!state) {
        const ids: number[] = [];
        const scanner = new FrameScanner(
          coalesce ? (id) => ids.push(id) : (id) => connection.write(buildReplies([id], replyBytes)),
        );
        state = { ids, scanner };
        scanners.set(connection, state);
      }
      state.scanner.push(chunk);
      if (state.ids.length > 0) {
        connection.write(buildReplies(state.ids, replyBytes));
        state.ids.length = 0;
      }
    });
  };
  const tcp = await echo(false);
  const tcpCoalesced = await echo(true);
  const ACK = new Uint8Array([1]);
  const uploadScanners = new WeakMap<RawTcpConnection, FrameScanner>();
  const upload: RawTcpListener = await sockets.listenTcp((connection, chunk) => {
    let scanner = uploadScanners.get(connection);
    if (!scanner) {
      scanner = new FrameScanner(() => connection.write(ACK));
      uploadScanners.set(connection, scanner);
    }
    scanner.push(chunk);
  });
  return {
    api: sockets.api,
    udpPort: udp.port,
    tcpPort: tcp.port,
    tcpCoalescedPort: tcpCoalesced.port,
    uploadPort: upload.port,
    close() {
      udp.close();
      tcp.close();
      tcpCoalesced.close();
      upload.close();
    },
  };
}

/** How the throughput test sends: see {@linkcode RawClient.throughput}. */
export type RawThroughputTransport = "udp" | "tcp" | "tcp-coalesced";

/** Message sizes and where the server is. */
export interface RawClientOptions extends RawServerPorts {
  /** Size of each request (UDP payload or TCP frame body), at least 4. */
  requestBytes: number;
}

/** The measurements the raw client can run. */
export interface RawClient extends CallClient {
  /** Sequential round trips (`"udp"` or `"tcp"`). */
  latency(transport: string, count: number, warmup: number): Promise<LatencyResult>;
  /**
   * `total` round trips with `concurrency` in flight. `"tcp"` writes each request and each
   * reply on its own, as independent calls do; `"tcp-coalesced"` writes all requests (and the
   * server all replies) that one read made due in a single write.
   */
  throughput(transport: string, concurrency: number, total: number, warmup: number): Promise<ThroughputResult>;
  /** Uploads of `bytes` with a 1-byte ack. */
  upload(bytes: number, count: number, warmup: number): Promise<TransferResult>;
  /** Transfers of `bytes` in `chunkBytes` writes, each waiting for the socket (backpressure). */
  stream(bytes: number, chunkBytes: number, count: number, warmup: number): Promise<TransferResult>;
  /** Datagrams sent again after 500 ms without an answer (loss on loopback: should stay 0). */
  resent(): number;
}

function pick<T>(table: Record<string, T>, transport: string): T {
  const found = table[transport];
  if (!found) throw new Error(`raw echo: unknown transport ${JSON.stringify(transport)}; use ${Object.keys(table)}`);
  return found;
}

/** A datagram unanswered this long is sent again (loopback loses packets only under overload). */
const UDP_RESEND_MS = 500;

/**
 * Connects the raw client.
 *
 * @param options Server ports and request size.
 * @returns The client.
 */
export async function startRawClient(options: RawClientOptions): Promise<RawClient> {
  const sockets = await rawSockets();
  const { requestBytes } = options;
  let nextId = 1;
  let resent = 0;
  /** Where the reply with this id goes; swapped by each measurement. */
  let onReply: (id: number) => void = () => {};
  /** Runs after each TCP chunk was scanned (batching the next requests into one write). */
  let afterChunk: () => void = () => {};

  const udp = await sockets.openUdp((data) => {
    onReply(((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0);
  });
  const udpRequest = (id: number) => {
    const buffer = new Uint8Array(requestBytes);
    new DataView(buffer.buffer).setUint32(0, id);
    return buffer;
  };
  const sendUdp = (id: number) => udp.send(udpRequest(id), options.udpPort, LOOPBACK);

  const scanner = new FrameScanner((id) => onReply(id));
  const tcp = await sockets.connectTcp(options.tcpPort, (_connection, chunk) => scanner.push(chunk));
  const coalescedScanner = new FrameScanner((id) => onReply(id));
  const tcpCoalesced = await sockets.connectTcp(options.tcpCoalescedPort, (_connection, chunk) => {
    coalescedScanner.push(chunk);
    afterChunk();
  });
  const template = new Uint8Array(requestBytes);

  let onAck: () => void = () => {};
  const upload = await sockets.connectTcp(options.uploadPort, (_connection, chunk) => {
    for (let i = 0; i < chunk.length; i++) onAck();
  });

  // Datagrams outstanding, with the time they were (last) sent, for the resend watchdog.
  const outstanding = new Map<number, number>();
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const [id, sentAt] of outstanding) {
      if (now - sentAt > UDP_RESEND_MS) {
        outstanding.set(id, now);
        resent++;
        sendUdp(id);
      }
    }
  }, UDP_RESEND_MS / 2);

  const udpRoundTrip = () =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      outstanding.set(id, performance.now());
      onReply = (got) => {
        if (outstanding.delete(got) && got === id) resolve();
      };
      sendUdp(id);
    });
  const tcpRoundTrip = () =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      onReply = (got) => {
        if (got === id) resolve();
      };
      tcp.write(buildFrames(template, id, 1));
    });

  const udpBatch = (concurrency: number, total: number) =>
    new Promise<void>((resolve) => {
      let sent = 0;
      let done = 0;
      const sendOne = () => {
        const id = nextId++;
        sent++;
        outstanding.set(id, performance.now());
        sendUdp(id);
      };
      onReply = (id) => {
        if (!outstanding.delete(id)) return;
        if (++done === total) resolve();
        else if (sent < total) sendOne();
      };
      for (let k = 0; k < Math.min(concurrency, total); k++) sendOne();
    });
  const tcpBatch = (concurrency: number, total: number) =>
    new Promise<void>((resolve) => {
      let sent = 0;
      let done = 0;
      const sendOne = () => {
        sent++;
        tcp.write(buildFrames(template, nextId++, 1));
      };
      onReply = () => {
        if (++done === total) resolve();
        else if (sent < total) sendOne();
      };
      for (let k = 0; k < Math.min(concurrency, total); k++) sendOne();
    });
  const tcpCoalescedBatch = (concurrency: number, total: number) =>
    new Promise<void>((resolve) => {
      let sent = 0;
      let done = 0;
      let answered = 0;
      const send = (count: number) => {
        tcpCoalesced.write(buildFrames(template, nextId, count));
        nextId += count;
        sent += count;
      };
      onReply = () => {
        done++;
        answered++;
      };
      afterChunk = () => {
        const more = Math.min(answered, total - sent);
        answered = 0;
        if (more > 0) send(more);
        if (done === total) {
          afterChunk = () => {};
          resolve();
        }
      };
      send(Math.min(concurrency, total));
    });

  /** One frame of `bytes` on the upload connection, resolving on the sink's ack. */
  const transfer = (bytes: number, write: () => Promise<void> | void) => {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, bytes);
    return () =>
      new Promise<void>((resolve, reject) => {
        onAck = resolve;
        upload.write(header);
        Promise.resolve(write()).catch(reject);
      });
  };

  return {
    latency(transport, count, warmup) {
      return measureLatency(pick({ udp: udpRoundTrip, tcp: tcpRoundTrip }, transport), count, warmup);
    },
    async throughput(transport, concurrency, total, warmup) {
      const batch = pick({ udp: udpBatch, tcp: tcpBatch, "tcp-coalesced": tcpCoalescedBatch }, transport);
      if (warmup > 0) await batch(concurrency, warmup);
      const start = performance.now();
      await batch(concurrency, total);
      const elapsedMs = performance.now() - start;
      return { rate: (total / elapsedMs) * 1000, count: total, elapsedMs };
    },
    upload(bytes, count, warmup) {
      const payload = new Uint8Array(bytes).fill(7);
      return measureTransfer(transfer(bytes, () => upload.write(payload)), bytes, count, warmup);
    },
    stream(bytes, chunkBytes, count, warmup) {
      // One chunk, written again and again: the bytes' content does not matter to a sink that
      // counts them, and PeerLink's stream rows write the same way.
      const chunk = new Uint8Array(chunkBytes).fill(7);
      const send = async () => {
        for (let left = bytes; left > 0; left -= chunkBytes) {
          upload.write(left >= chunkBytes ? chunk : chunk.subarray(0, left));
          await upload.drained();
        }
      };
      return measureTransfer(transfer(bytes, send), bytes, count, warmup);
    },
    resent: () => resent,
    close() {
      clearInterval(watchdog);
      udp.close();
      tcp.close();
      tcpCoalesced.close();
      upload.close();
    },
  };
}

/** Roles: `raw/echo#server` (config `replyBytes`) and `raw/echo#client` (the server's ports, `requestBytes`). */
export const roles: Record<string, RoleFactory> = {
  async server(config) {
    const server = await startRawServer(num(config, "replyBytes"));
    const { api, udpPort, tcpPort, tcpCoalescedPort, uploadPort } = server;
    return {
      ready: { api, udpPort, tcpPort, tcpCoalescedPort, uploadPort },
      handlers: {},
      close: () => server.close(),
    };
  },
  async client(config) {
    const client = await startRawClient({
      udpPort: num(config, "udpPort"),
      tcpPort: num(config, "tcpPort"),
      tcpCoalescedPort: num(config, "tcpCoalescedPort"),
      uploadPort: num(config, "uploadPort"),
      requestBytes: num(config, "requestBytes"),
    });
    client.commands = {
      stream: async (c) => ({
        ...(await client.stream(num(c, "bytes"), num(c, "chunkBytes"), num(c, "count"), num(c, "warmup"))),
      }),
      stats: () => ({ resent: client.resent() }),
    };
    return clientRole(client);
  },
};
