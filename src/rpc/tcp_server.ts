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
 * not a valid request closes the connection too, unless the request id was readable: then the
 * caller gets a `BadMessage` error reply and the connection carries on.
 *
 * @module
 */
import { BadMessage, PayloadTooLarge } from "../errors.ts";
import type { Logger } from "../log.ts";
import { formatEndpoint, type SocketRuntime, type StreamConnection, type StreamListener } from "../net.ts";
import { maxWireFrame } from "../wire/binary_frame.ts";
import { decodeFrame, OutgoingMessage } from "../wire/codec.ts";
import { FrameReader, FrameWriter } from "../wire/frames.ts";
import type { RpcLimits } from "./limits.ts";
import type { RequestProcessor } from "./server.ts";
import type { TimerSet } from "./timers.ts";

/** TCP server counters. */
export interface TcpServerStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Request frames received. */
  requests: number;
  /** Connections closed because a frame header announced more than the limit. */
  oversizeFrames: number;
  /** Frames that were not valid requests. */
  malformed: number;
  /** Connections closed for idling. */
  idleClosed: number;
}

/** What a {@linkcode TcpServer} needs. */
export interface TcpServerOptions {
  /** Socket adapter. */
  runtime: SocketRuntime;
  /** Timers (counted). */
  timers: TimerSet;
  /** Limits. */
  limits: RpcLimits;
  /** Serves requests. */
  processor: RequestProcessor;
  /** Diagnostics. */
  logger?: Logger;
}

/**
 * Accepts RPC connections.
 *
 * @example
 * ```ts ignore
 * const server = new TcpServer({ runtime, timers, limits, processor });
 * const port = await server.listen("0.0.0.0", 0);
 * await server.close();
 * ```
 */
export class TcpServer {
  readonly #options: TcpServerOptions;
  readonly #connections = new Set<StreamConnection>();
  readonly #stats: TcpServerStats = {
    accepted: 0,
    open: 0,
    requests: 0,
    oversizeFrames: 0,
    malformed: 0,
    idleClosed: 0,
  };
  #listener: StreamListener | undefined;
  #closed = false;

  /**
   * Creates a {@linkcode TcpServer}.
   *
   * @param options Runtime, timers, limits, request processor and logger.
   */
  constructor(options: TcpServerOptions) {
    this.#options = options;
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
    return { ...this.#stats, open: this.#connections.size };
  }

  /**
   * Starts listening. Rejects with the adapter's `NetError` (e.g. `ADDR_IN_USE`).
   *
   * @param address Local address.
   * @param port Local port, 0 for any.
   * @returns The bound port.
   */
  async listen(address: string, port: number): Promise<number> {
    this.#listener = await this.#options.runtime.listen({ address, port }, (connection) => {
      if (this.#closed) {
        connection.close().catch(() => {});
        return;
      }
      this.#stats.accepted++;
      this.#connections.add(connection);
      this.#serve(connection).catch((error) => {
        this.#options.logger?.error(`TCP connection ended with an error: ${(error as Error).message}`);
        this.#connections.delete(connection);
        connection.close().catch(() => {});
      });
    });
    return this.#listener.localAddress.port;
  }

  /** Stops listening and closes every accepted connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const listener = this.#listener;
    this.#listener = undefined;
    const closing: Promise<void>[] = [];
    if (listener) closing.push(listener.close());
    for (const connection of this.#connections) closing.push(connection.close());
    this.#connections.clear();
    await Promise.allSettled(closing);
  }

  async #serve(connection: StreamConnection): Promise<void> {
    const { limits, timers, processor, logger } = this.#options;
    const { address, port } = connection.remoteAddress;
    const peer = formatEndpoint(address, port);
    const wireLimit = maxWireFrame(limits.maxFrameBytes);
    const reader = new FrameReader(wireLimit);
    const writer = new FrameWriter(connection, wireLimit);
    let inFlight = 0;
    let ended = false;
    let closed = false;
    let lastActivity = timers.clock.now();
    const close = () => {
      if (closed) return;
      closed = true;
      timers.clear(idleTimer);
      this.#connections.delete(connection);
      connection.close().catch(() => {});
    };
    // One timer per connection, re-armed for the remaining idle time instead of on every frame.
    let idleTimer: ReturnType<TimerSet["set"]> | undefined;
    const armIdle = (delay: number) => {
      idleTimer = timers.set(() => {
        idleTimer = undefined;
        if (closed) return;
        const idleFor = timers.clock.now() - lastActivity;
        if (inFlight === 0 && idleFor >= limits.serverIdleTimeout) {
          this.#stats.idleClosed++;
          logger?.debug(`closing idle TCP connection from ${peer}`);
          close();
        } else {
          armIdle(Math.max(1, limits.serverIdleTimeout - idleFor));
        }
      }, delay);
    };
    armIdle(limits.serverIdleTimeout);

    const answer = (parts: Promise<Uint8Array[]>) => {
      inFlight++;
      parts.then((frame) => (closed ? undefined : writer.write(frame))).catch((error) => {
        logger?.debug(`TCP reply to ${peer} failed: ${(error as Error).message}`);
      }).finally(() => {
        inFlight--;
        lastActivity = timers.clock.now();
        if (ended && inFlight === 0) close();
      });
    };

    try {
      while (!closed) {
        let chunk: Uint8Array | null;
        try {
          chunk = await connection.read();
        } catch {
          break; // reset, or closed by us
        }
        if (chunk === null) {
          ended = true;
          if (inFlight === 0) close();
          break;
        }
        lastActivity = timers.clock.now();
        let frames: readonly Uint8Array[];
        try {
          frames = reader.push(chunk);
        } catch (error) {
          if (!(error instanceof PayloadTooLarge)) throw error;
          this.#stats.oversizeFrames++;
          logger?.warn(`closing TCP connection from ${peer}: ${error.message}`);
          break;
        }
        for (const body of frames) {
          let message;
          try {
            message = decodeFrame(body, limits.maxFrameBytes, limits.maxDepth);
          } catch (error) {
            this.#stats.malformed++;
            if (error instanceof BadMessage && error.requestId !== undefined) {
              logger?.debug(`bad request from ${peer}: ${error.message}`);
              const reply = OutgoingMessage.error(error.requestId, { type: "BadMessage", message: error.message });
              answer(Promise.resolve(reply.frame(false, limits.maxFrameBytes)));
              continue;
            }
            logger?.warn(`closing TCP connection from ${peer}: not a PeerLink request (${(error as Error).message})`);
            closed || close();
            return;
          }
          if (message.type !== "request") {
            this.#stats.malformed++;
            logger?.debug(`ignoring a ${message.type} message sent to the TCP server by ${peer}`);
            continue;
          }
          this.#stats.requests++;
          const caller = { name: message.src, address, port, transport: "tcp" as const };
          answer(processor.serveFrame(message, caller));
        }
      }
    } finally {
      // After end of stream, the last reply closes the connection (see answer()).
      if (!ended || inFlight === 0) close();
    }
  }
}
