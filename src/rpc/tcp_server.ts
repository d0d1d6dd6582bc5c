/**
 * The TCP side of serving: one listener, and per accepted connection a loop that reads frames
 * and answers each request as soon as its handler finishes.
 *
 * Both client styles work on the same code path:
 * - Python PeerLink 1.2 (one-shot): connect, one request frame, read one reply frame, close.
 *   The server answers, sees end of stream, and closes its side.
 * - PeerLink-TS (persistent, pipelined): many requests on one connection, possibly before
 *   earlier ones are answered; replies go out in completion order and the caller matches
 *   them by id. The connection stays open until the caller closes it or it idles for
 *   `serverIdleTimeout`.
 *
 * A frame header above the limit closes that connection at once, with a logged reason and
 * without allocating the announced body; other connections are unaffected. A frame that is
 * not a valid request is dropped and counted (`malformed`), and the connection carries on,
 * since the length prefix still frames the stream; when the request id was readable the
 * caller gets a `BadMessage` error reply. Every frame passes the security gate
 * (`src/security/gate.ts`) as it arrives and leaves; a frame the gate drops closes the
 * connection unanswered.
 *
 * Limits (`limits.ts`), so that no client can exhaust the node or stall others:
 * - at most `maxConnections` open (`maxConnectionsPerSource` per address): a new connection
 *   over a limit displaces the connection that has nothing in service (requests, writes, open
 *   streams) and was quiet longest (connections that never sent a valid frame go first; with a
 *   secret, authenticated ones are never displaced); if none can go, the newcomer gets one
 *   `BusyError` frame (id `"*"`) and is closed, so its caller fails fast and clearly;
 * - one watchdog timer per connection closes it when a frame is not complete `readTimeout`
 *   (plus its size at `minReadRate`) after its first byte, when a new connection sends no
 *   frame within `readTimeout` or later idles for `serverIdleTimeout`, or when a reply waits
 *   longer than `writeTimeout` to be written (a client that does not read);
 * - partial frames are held in buffers that grow with the bytes received (`FrameReader`), and
 *   over `maxBufferedBytes` in all, connections with a partial frame stop reading until memory
 *   is freed; a connection with `maxRequestsPerConnection` requests in service stops reading
 *   until one is answered (backpressure through TCP). Requests that carry streams do not count:
 *   their handlers wait for the stream frames behind them, which a paused connection would
 *   never read (their number is bounded by `maxStreamsPerConnection`).
 *
 * @module
 */
import { BadMessage, NodeStopped, PayloadTooLarge, PeerConnectionError } from "../errors.ts";
import type { InternalErrors } from "../internal_errors.ts";
import type { Logger } from "../log.ts";
import { formatEndpoint, type SocketRuntime, type StreamConnection, type StreamListener } from "../net.ts";
import { SealKind } from "../security/envelope.ts";
import type { Arrival, Gate } from "../security/gate.ts";
import { maxWireFrame } from "../wire/binary_frame.ts";
import { decodeFrame, OutgoingMessage } from "../wire/codec.ts";
import { FrameWriter } from "../wire/frame_writer.ts";
import { FrameReader, writeFrame } from "../wire/frames.ts";
import { isStreamFrame } from "../streams/frames.ts";
import type { IncomingStream } from "../streams/incoming.ts";
import { StreamMux, type StreamStats } from "../streams/mux.ts";
import { cancelSources } from "../streams/outgoing.ts";
import type { RpcLimits } from "./limits.ts";
import { Activity } from "./activity.ts";
import { BUSY_ERROR } from "./dispatch.ts";
import type { ReplyFrame, RequestProcessor } from "./server.ts";
import type { TimerHandle, TimerSet } from "./timers.ts";
import type { NodeStats } from "../stats.ts";

/** Id of the error frame a refused connection receives: it answers whatever the client sent. */
export const CONNECTION_REFUSED_ID = "*";

/** How long a refused connection is given to receive its `BusyError` frame before it is closed. */
const REFUSAL_GRACE_MS = 1000;

/** TCP server counters. */
export type TcpServerStats = NodeStats["tcpServer"];

/** What a {@linkcode TcpServer} needs. */
export interface TcpServerOptions {
  /** Socket adapter. */
  runtime: SocketRuntime;
  /** The security gate: admits what arrives, seals what leaves. */
  gate: Gate;
  /** Timers (counted). */
  timers: TimerSet;
  /** Limits. */
  limits: RpcLimits;
  /** Serves requests. */
  processor: RequestProcessor;
  /** Stream counters, shared with the client side. */
  streamStats: StreamStats;
  /** Counts (and logs) exceptions that are bugs, not bad input. */
  internal: InternalErrors;
  /**
   * Takes a connection whose first byte is an ASCII capital letter (an HTTP method; an RPC frame
   * starts with a length whose first byte is 0) and serves it to the end, within its own
   * timeouts; the connection counts toward the connection limits until it settles.
   */
  plainHttp?: (connection: StreamConnection, first: Uint8Array) => Promise<void>;
  /** Diagnostics. */
  logger?: Logger;
}

/** State of one accepted connection. */
interface Served {
  readonly connection: StreamConnection;
  readonly address: string;
  readonly port: number;
  /** `address:port`, for messages. */
  readonly peer: string;
  readonly reader: FrameReader;
  readonly writer: FrameWriter;
  readonly openedAt: number;
  lastActivity: number;
  /** When the frame being received started, while one is partly received. */
  frameStartedAt: number | undefined;
  /** Frames that decoded as requests. */
  requests: number;
  /** True once a sealed request verified on it. */
  authenticated: boolean;
  /** Requests in service: running, or reply not yet written. */
  inFlight: number;
  /**
   * Of those, requests that carry streams: their handlers wait for stream frames that follow on
   * this connection, so they do not count toward pausing it (`maxRequestsPerConnection`).
   */
  streaming: number;
  /** Reply frames queued or being written. */
  pendingWrites: number;
  /** Last time a write finished, or the queue became non-empty. */
  writeProgressAt: number;
  /** Bytes of this connection counted in the buffer budget. */
  buffered: number;
  ended: boolean;
  closed: boolean;
  watchdog: TimerHandle;
  /** Resumes a paused read loop. */
  wake: (() => void) | undefined;
  /** Its streams, once a message on it carried one. */
  mux: StreamMux | undefined;
  /** The caller's name, as its last request gave it (for errors about its streams). */
  caller: string;
  /** Handed to `plainHttp`, which keeps its own timeouts. */
  handedOff: boolean;
}

/** Counters of a TCP server that has not run yet (all zero). */
export function emptyTcpServerStats(): TcpServerStats {
  return {
    accepted: 0,
    open: 0,
    requests: 0,
    oversizeFrames: 0,
    malformed: 0,
    idleClosed: 0,
    readTimeouts: 0,
    writeTimeouts: 0,
    evicted: 0,
    refused: 0,
    securityClosed: 0,
    readPauses: 0,
    bufferedBytes: 0,
    peakBufferedBytes: 0,
  };
}

/**
 * Accepts RPC connections.
 *
 * @example
 * ```ts ignore
 * const server = new TcpServer({ runtime, gate, timers, limits, processor, internal });
 * const port = await server.listen("0.0.0.0", 0);
 * await server.close();
 * ```
 */
export class TcpServer {
  readonly #options: TcpServerOptions;
  readonly #served = new Set<Served>();
  readonly #perSource = new Map<string, number>();
  readonly #refusing = new Set<StreamConnection>();
  /** Streams received per source address, over its connections (`maxStreamsPerPeer`). */
  readonly #streamsBySource = new Map<string, number>();
  readonly #wireLimit: number;
  readonly #stats: Omit<TcpServerStats, "open" | "bufferedBytes"> = emptyTcpServerStats();
  #buffered = 0;
  #listener: StreamListener | undefined;
  #closed = false;
  /** Requests in service on every connection: from arrival until their reply was written. */
  readonly #inService = new Activity();

  /**
   * Creates a {@linkcode TcpServer}.
   *
   * @param options Runtime, name, security policy, timers, limits, request processor and logger.
   */
  constructor(options: TcpServerOptions) {
    this.#options = options;
    this.#wireLimit = maxWireFrame(options.limits.maxFrameBytes) + options.gate.maxOverhead;
  }

  /** The bound port, once listening. */
  get port(): number | undefined {
    return this.#listener?.localAddress.port;
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters.
   */
  stats(): TcpServerStats {
    return { ...this.#stats, open: this.#served.size, bufferedBytes: this.#buffered };
  }

  /**
   * Starts listening. Rejects with the adapter's `NetError` (e.g. `ADDR_IN_USE`).
   *
   * @param address Local address.
   * @param port Local port, 0 for any.
   * @returns The bound port.
   */
  async listen(address: string, port: number): Promise<number> {
    this.#listener = await this.#options.runtime.listen({ address, port }, (connection) => this.#accept(connection));
    return this.#listener.localAddress.port;
  }

  /** Requests in service now (handler running, or reply not yet sent). */
  get inService(): number {
    return this.#inService.count;
  }

  /**
   * Resolves once no request is in service on any connection: every handler running now has
   * finished and its reply has been written. At once when none is.
   *
   * @returns Resolves when idle.
   */
  idle(): Promise<void> {
    return this.#inService.idle();
  }

  /** Stops listening and closes every accepted connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const listener = this.#listener;
    this.#listener = undefined;
    const closing: Promise<void>[] = [];
    if (listener) closing.push(listener.close());
    const stopping = new NodeStopped(this.#options.gate.name);
    for (const served of [...this.#served]) this.#close(served, stopping);
    for (const connection of this.#refusing) closing.push(connection.close());
    this.#refusing.clear();
    await Promise.allSettled(closing);
  }

  #accept(connection: StreamConnection): void {
    if (this.#closed) {
      connection.close().catch(() => {});
      return;
    }
    const { limits, timers, logger } = this.#options;
    const { address, port } = connection.remoteAddress;
    const fromSource = this.#perSource.get(address) ?? 0;
    const sourceFull = fromSource >= limits.maxConnectionsPerSource;
    if (sourceFull || this.#served.size >= limits.maxConnections) {
      const victim = this.#victim(sourceFull ? address : undefined);
      if (!victim) {
        this.#refuse(
          connection,
          sourceFull
            ? `${fromSource} from ${address} (maxConnectionsPerSource)`
            : `${this.#served.size} (maxConnections)`,
        );
        return;
      }
      this.#stats.evicted++;
      logger?.debug(
        `closing quiet TCP connection from ${victim.peer} to make room for ${formatEndpoint(address, port)}`,
      );
      this.#close(victim);
    }
    this.#stats.accepted++;
    this.#perSource.set(address, (this.#perSource.get(address) ?? 0) + 1);
    const now = timers.clock.now();
    const served: Served = {
      connection,
      address,
      port,
      peer: formatEndpoint(address, port),
      reader: new FrameReader(this.#wireLimit),
      writer: new FrameWriter(connection, this.#wireLimit),
      openedAt: now,
      lastActivity: now,
      frameStartedAt: undefined,
      requests: 0,
      authenticated: false,
      inFlight: 0,
      streaming: 0,
      pendingWrites: 0,
      writeProgressAt: now,
      buffered: 0,
      ended: false,
      closed: false,
      watchdog: undefined,
      wake: undefined,
      mux: undefined,
      caller: formatEndpoint(address, port),
      handedOff: false,
    };
    this.#served.add(served);
    this.#armWatchdog(served);
    this.#serve(served).catch((error) => {
      this.#options.internal.record(error, `serving the TCP connection from ${served.peer}`);
      this.#close(served);
    });
  }

  /**
   * The connection to displace for a newcomer: nothing in service (no request, no write, no
   * open stream), lowest standing (no valid frame yet < valid frames < authenticated), quiet
   * longest. Authenticated connections are never displaced.
   */
  #victim(source: string | undefined): Served | undefined {
    let best: Served | undefined;
    let bestRank = Infinity;
    for (const served of this.#served) {
      if (served.closed || served.authenticated || served.inFlight > 0 || served.pendingWrites > 0) continue;
      if (served.mux?.open) continue; // a quiet stream (a log tail, an idle shell) is in service too
      if (source !== undefined && served.address !== source) continue;
      const rank = (served.requests > 0 ? 1e15 : 0) + served.lastActivity;
      if (rank < bestRank) {
        best = served;
        bestRank = rank;
      }
    }
    return best;
  }

  /** Sends a refused connection one `BusyError` frame, then closes it (bounded in time). */
  #refuse(connection: StreamConnection, why: string): void {
    const { limits, timers, logger, gate } = this.#options;
    this.#stats.refused++;
    const peer = formatEndpoint(connection.remoteAddress.address, connection.remoteAddress.port);
    logger?.debug(`refusing TCP connection from ${peer}: ${why} connections open`);
    this.#refusing.add(connection);
    const done = () => {
      if (!this.#refusing.delete(connection)) return;
      timers.clear(grace);
      connection.close().catch(() => {});
    };
    const grace = timers.set(done, REFUSAL_GRACE_MS);
    (async () => {
      const message = `'${gate.name}' is busy: ${why} connections open. Retry later.`;
      const plain = OutgoingMessage.error(CONNECTION_REFUSED_ID, { type: BUSY_ERROR, message }).frame(
        false,
        limits.maxFrameBytes,
      );
      // A strict node's callers only read sealed frames; anyone else gets plaintext.
      const frame = gate.sealFrame(SealKind.tcpReply, plain, gate.mode === "strict");
      await writeFrame(connection, frame, this.#wireLimit);
      // Half-close and drain what the client sent, so that closing does not reset the
      // connection before the client has read the refusal.
      await connection.closeWrite();
      while (this.#refusing.has(connection) && (await connection.read()) !== null);
    })().catch(() => {}).finally(done);
  }

  /** Streams open on this server's connections now. */
  get openStreams(): number {
    let open = 0;
    for (const served of this.#served) open += served.mux?.open ?? 0;
    return open;
  }

  /**
   * A peer left (discovery said so): connections on which it has streams open close, and
   * those streams fail with `reason` (a crashed caller sends no FIN; its uploads would wait).
   *
   * @param name The peer's name, as its requests gave it.
   * @param address The peer's address.
   * @param reason What its open streams fail with (a `PeerLeftError`).
   * @returns How many streams failed.
   */
  peerLeft(name: string, address: string, reason: unknown): number {
    let failed = 0;
    for (const served of [...this.#served]) {
      if (served.caller !== name || served.address !== address || !served.mux?.open) continue;
      failed += served.mux.open;
      this.#close(served, reason);
    }
    return failed;
  }

  /**
   * Closes a connection and releases everything it holds; its streams fail with `reason`
   * (default: the connection was lost). Idempotent.
   */
  #close(served: Served, reason?: unknown): void {
    if (served.closed) return;
    served.closed = true;
    served.mux?.failAll(reason ?? this.#lost(served));
    this.#options.timers.clear(served.watchdog);
    served.watchdog = undefined;
    this.#served.delete(served);
    const left = (this.#perSource.get(served.address) ?? 1) - 1;
    if (left > 0) this.#perSource.set(served.address, left);
    else this.#perSource.delete(served.address);
    this.#account(served, 0);
    served.wake?.();
    served.connection.close().catch(() => {});
  }

  /** The error of a connection that broke. */
  #lost(served: Served): PeerConnectionError {
    return new PeerConnectionError({ peer: served.caller, address: served.address, port: served.port, lost: true });
  }

  /** Sets the bytes a connection holds in the buffer budget; wakes paused readers when memory was freed. */
  #account(served: Served, bytes: number): void {
    const delta = bytes - served.buffered;
    if (delta === 0) return;
    served.buffered = bytes;
    this.#buffered += delta;
    if (this.#buffered > this.#stats.peakBufferedBytes) this.#stats.peakBufferedBytes = this.#buffered;
    if (delta < 0 && this.#buffered <= this.#options.limits.maxBufferedBytes) {
      for (const other of this.#served) other.wake?.();
    }
  }

  /** The watchdog: one timer per connection, at the next deadline (or sooner, to notice new ones). */
  #armWatchdog(served: Served): void {
    const { timers, limits } = this.#options;
    const period = Math.max(1, Math.min(limits.readTimeout, limits.writeTimeout, limits.serverIdleTimeout) / 2);
    const now = timers.clock.now();
    const deadline = this.#deadline(served);
    // Capped: every limit may be Infinity, and timers overflow past 2^31 - 1 ms.
    const delay = Math.min(deadline ? Math.max(1, Math.min(deadline.at - now, period)) : period, 0x3fff_ffff);
    served.watchdog = timers.set(() => {
      served.watchdog = undefined;
      if (served.closed) return;
      const due = this.#deadline(served);
      if (due && timers.clock.now() >= due.at) {
        this.#stats[due.counter]++;
        this.#options.logger?.debug(`closing TCP connection from ${served.peer}: ${due.reason}`);
        this.#close(served);
        return;
      }
      this.#armWatchdog(served);
    }, delay);
  }

  #deadline(
    served: Served,
  ): { at: number; counter: "readTimeouts" | "writeTimeouts" | "idleClosed"; reason: string } | undefined {
    const { limits } = this.#options;
    if (served.handedOff) return undefined;
    let best: { at: number; counter: "readTimeouts" | "writeTimeouts" | "idleClosed"; reason: string } | undefined;
    const consider = (at: number, counter: "readTimeouts" | "writeTimeouts" | "idleClosed", reason: string) => {
      if (!best || at < best.at) best = { at, counter, reason };
    };
    if (served.pendingWrites > 0) {
      consider(served.writeProgressAt + limits.writeTimeout, "writeTimeouts", "the client does not read its replies");
    }
    if (!served.reader.idle) {
      const expected = served.reader.expectedBytes ?? 0;
      const allowance = limits.readTimeout + (expected / limits.minReadRate) * 1000;
      consider(
        (served.frameStartedAt ?? served.lastActivity) + allowance,
        "readTimeouts",
        "a frame arrived too slowly",
      );
    } else if (served.inFlight === 0 && !served.ended && !served.mux?.open) {
      if (served.requests === 0) consider(served.openedAt + limits.readTimeout, "idleClosed", "no request was sent");
      consider(served.lastActivity + limits.serverIdleTimeout, "idleClosed", "idle");
    }
    return best;
  }

  async #serve(served: Served): Promise<void> {
    const { limits, timers, logger } = this.#options;
    const { connection, reader, peer } = served;
    try {
      while (!served.closed) {
        const overBudget = !reader.idle && this.#buffered > limits.maxBufferedBytes;
        if (served.inFlight - served.streaming >= limits.maxRequestsPerConnection || overBudget) {
          this.#stats.readPauses++;
          await new Promise<void>((resolve) => (served.wake = resolve));
          served.wake = undefined;
          continue;
        }
        let chunk: Uint8Array | null;
        try {
          chunk = await connection.read();
        } catch {
          break; // reset, or closed by us
        }
        if (chunk === null) {
          served.ended = true;
          // The connection stays open for the replies of calls in flight, but the streams they
          // are reading can get no more data: a sender that died must not hold them forever.
          served.mux?.endOfInput(this.#lost(served));
          break;
        }
        if (served.requests === 0 && reader.idle && isPlainText(chunk) && this.#options.plainHttp) {
          served.handedOff = true;
          await this.#options.plainHttp(connection, chunk).catch(() => {});
          return;
        }
        const now = timers.clock.now();
        served.lastActivity = now;
        const wasIdle = reader.idle;
        let frames: readonly Uint8Array[];
        try {
          frames = reader.push(chunk);
        } catch (error) {
          if (!(error instanceof PayloadTooLarge)) throw error;
          this.#stats.oversizeFrames++;
          logger?.warn(`closing TCP connection from ${peer}: ${error.message}`);
          break;
        }
        if (reader.idle) served.frameStartedAt = undefined;
        else if (wasIdle || frames.length > 0) served.frameStartedAt = now;
        this.#account(served, reader.bufferedBytes);
        for (const body of frames) {
          if (!this.#onFrame(served, body)) {
            this.#close(served);
            return;
          }
          if (served.closed) return;
        }
      }
    } finally {
      // After end of stream, the last reply closes the connection (see #answer()).
      if (!served.ended || served.inFlight === 0) this.#close(served);
    }
  }

  /** Handles one frame; false closes the connection. */
  #onFrame(served: Served, body: Uint8Array): boolean {
    const { limits, logger, gate, processor } = this.#options;
    const arrival = gate.admit(body, "accepted", served.peer);
    if (!arrival) {
      this.#stats.securityClosed++;
      return false;
    }
    if (isStreamFrame(arrival.plaintext)) {
      if (served.mux) return served.mux.onFrame(arrival.plaintext, arrival.sender);
      this.#options.streamStats.unknownStream++;
      return true;
    }
    let message;
    try {
      message = decodeFrame(
        arrival.plaintext,
        limits.maxFrameBytes,
        limits.maxDepth,
        (id, where) => this.#mux(served).revive(id, where, arrival.sender),
      );
    } catch (error) {
      if (!this.#options.internal.badInput(error, `decoding a frame from ${served.peer}`)) return false;
      this.#stats.malformed++;
      served.mux?.dropUnlabelled(error);
      if (error instanceof BadMessage && error.requestId !== undefined) {
        logger?.debug(`bad request from ${served.peer}: ${error.message}`);
        const reply = OutgoingMessage.error(error.requestId, { type: "BadMessage", message: error.message });
        const frame = { parts: reply.frame(false, limits.maxFrameBytes), streams: [], failed: true };
        this.#answer(served, frame, arrival, []);
        return true;
      }
      // The length prefix still frames the stream, so the connection carries on (a client
      // that only ever sends garbage is closed by the watchdog: no request within readTimeout).
      logger?.debug(`dropped a frame from ${served.peer}: not a PeerLink request (${(error as Error).message})`);
      return true;
    }
    if (message.type !== "request") {
      this.#stats.malformed++;
      served.mux?.dropUnlabelled(new BadMessage("a reply sent to a server"));
      logger?.debug(`ignoring a ${message.type} message sent to the TCP server by ${served.peer}`);
      return true;
    }
    if (!gate.admitsRequest(arrival, message.src, message.dst)) {
      served.mux?.dropUnlabelled(new BadMessage("a misdirected request"));
      this.#stats.securityClosed++;
      return false;
    }
    const authenticated = arrival.sender !== undefined;
    if (authenticated) served.authenticated = true;
    served.requests++;
    served.caller = message.src;
    this.#stats.requests++;
    const caller = {
      name: message.src,
      address: served.address,
      port: served.port,
      transport: "tcp" as const,
      authenticated,
    };
    const streams = served.mux?.label(message.rpc) ?? [];
    this.#answer(served, processor.serveFrame(message, caller), arrival, streams);
    return true;
  }

  /** The connection's stream mux, made when a message on it first carries a stream. */
  #mux(served: Served): StreamMux {
    const { limits, gate, streamStats } = this.#options;
    return served.mux ??= new StreamMux({
      send: (parts, sealed, bulk) => this.#write(served, gate.sealFrame(SealKind.tcpReply, parts, sealed), bulk),
      peer: () => served.caller,
      limits,
      clock: this.#options.timers.clock,
      stats: streamStats,
      admit: () => {
        const count = this.#streamsBySource.get(served.address) ?? 0;
        if (count >= limits.maxStreamsPerPeer) return false;
        this.#streamsBySource.set(served.address, count + 1);
        return true;
      },
      release: () => {
        const left = (this.#streamsBySource.get(served.address) ?? 1) - 1;
        if (left > 0) this.#streamsBySource.set(served.address, left);
        else this.#streamsBySource.delete(served.address);
      },
      onChange: () => {
        served.lastActivity = this.#options.timers.clock.now();
      },
    });
  }

  /**
   * Writes a frame within `writeTimeout`: a client that stops reading (replies or stream
   * frames it granted credit for) is closed by the watchdog.
   */
  async #write(served: Served, parts: Uint8Array[], bulk = false): Promise<void> {
    const { timers } = this.#options;
    if (served.pendingWrites++ === 0) served.writeProgressAt = timers.clock.now();
    try {
      await served.writer.write(parts, bulk);
    } finally {
      served.pendingWrites--;
      served.writeProgressAt = timers.clock.now();
    }
  }

  /**
   * Writes a reply when it is ready (sealed when the request was), then starts the streams of
   * its result; the request's own streams are ended when the reply is an error or the handler
   * left them unread (see `IncomingStream.afterHandler`).
   */
  #answer(
    served: Served,
    reply: ReplyFrame | Promise<ReplyFrame>,
    arrival: Arrival,
    requestStreams: IncomingStream[],
  ): void {
    served.inFlight++;
    this.#inService.begin();
    if (requestStreams.length > 0) served.streaming++;
    void this.#writeReply(served, reply, arrival.sender, requestStreams);
  }

  /** One async step per reply (not a chain of then/catch/finally): replies are hot code. Never rejects. */
  async #writeReply(
    served: Served,
    pending: ReplyFrame | Promise<ReplyFrame>,
    sender: string | undefined,
    requestStreams: IncomingStream[],
  ): Promise<void> {
    const { timers, logger, gate } = this.#options;
    try {
      // A reply that is ready is written now, not a microtask later.
      const reply = pending instanceof Promise ? await pending : pending;
      if (served.closed) {
        cancelSources(reply.streams, this.#lost(served));
        return;
      }
      const written = this.#write(served, gate.sealFrame(SealKind.tcpReply, reply.parts, sender !== undefined));
      // Queued behind the reply, so every frame of a result stream follows it.
      const results = reply.streams.length > 0 ? this.#mux(served).send(reply.streams, sender) : [];
      if (requestStreams.length > 0) {
        const over = results.length > 0 ? Promise.all(results.map((stream) => stream.done)) : undefined;
        for (const stream of requestStreams) stream.afterHandler(reply.failed, gate.name, over);
      }
      await written;
    } catch (error) {
      logger?.debug(`TCP reply to ${served.peer} failed: ${(error as Error).message}`);
    } finally {
      served.inFlight--;
      this.#inService.end();
      if (requestStreams.length > 0) served.streaming--;
      served.lastActivity = timers.clock.now();
      served.wake?.();
      if (served.ended && served.inFlight === 0) this.#close(served);
    }
  }
}

/**
 * Whether a new connection's first bytes start with an ASCII capital letter (an HTTP method):
 * as an RPC frame length that would be at least 1 GiB, above any frame this server takes.
 */
function isPlainText(first: Uint8Array): boolean {
  return first.length > 0 && first[0] >= 0x41 && first[0] <= 0x5a;
}
