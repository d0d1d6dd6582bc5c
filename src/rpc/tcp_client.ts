/**
 * The calling side of TCP.
 *
 * Toward a peer that advertises `persist` (PeerLink-TS) every call shares one pooled
 * connection per peer endpoint: requests are written as they come (pipelined) and replies are
 * matched by id. The connection closes after `clientIdleTimeout` without calls; when it breaks
 * it leaves the pool at once, so the next call opens a new one, and a call whose request could
 * not be written on a connection that turned out dead is sent once more on a fresh connection.
 * Calls whose requests were already written when the connection broke fail with
 * `PeerConnectionError` (code `CONNECTION_LOST`): they may have run.
 *
 * Toward any other peer (Python PeerLink 1.2) each call opens its own connection, writes one
 * frame, reads one reply frame and closes, as Python's own client does.
 *
 * Streams (in a call's arguments, or in its result) flow on the pooled connection between the
 * frames of calls (`src/streams/`); the connection stays open while any is open. A call whose
 * argument streams flow is kept alive by their progress (its timeout counts from the last
 * credit), and a failed call cancels its argument streams.
 *
 * Every frame passes the security gate (`src/security/gate.ts`): a sealed call's frame is
 * sealed just before it is written (so a re-sent request gets a fresh nonce), and only a reply
 * the gate matches to the call settles it. A server at its connection
 * limit answers with one `BusyError` frame of id `"*"`: every call waiting on that connection
 * then fails with `BusyError`.
 *
 * @module
 */
import { PeerConnectionError, ProtocolError } from "../errors.ts";
import type { InternalErrors } from "../internal_errors.ts";
import type { Logger } from "../log.ts";
import { formatEndpoint, NetError, type SocketRuntime, type StreamConnection } from "../net.ts";
import { SealKind } from "../security/envelope.ts";
import type { Arrival, Gate } from "../security/gate.ts";
import { maxWireFrame } from "../wire/binary_frame.ts";
import { decodeFrame } from "../wire/codec.ts";
import { FrameWriter } from "../wire/frame_writer.ts";
import { FrameReader, writeFrame } from "../wire/frames.ts";
import type { ErrorMessage, ResponseMessage } from "../wire/messages.ts";
import { type PendingCall, perPeer, type RpcPeer } from "./call.ts";
import { isStreamFrame } from "../streams/frames.ts";
import { StreamMux, type StreamStats } from "../streams/mux.ts";
import { cancelSources } from "../streams/outgoing.ts";
import type { StreamReviver } from "../wire/values.ts";
import type { OutgoingMessage } from "../wire/codec.ts";
import type { RpcLimits } from "./limits.ts";
import { settleWithReply } from "./replies.ts";
import { CONNECTION_REFUSED_ID } from "./tcp_server.ts";
import type { TimerSet } from "./timers.ts";
import type { NodeStats } from "../stats.ts";

/** TCP client counters. */
export type TcpClientStats = NodeStats["tcpClient"];

/** What a {@linkcode TcpClient} needs. */
export interface TcpClientOptions {
  /** Socket adapter. */
  runtime: SocketRuntime;
  /** The security gate: admits what arrives, seals what leaves. */
  gate: Gate;
  /** Stream counters, shared with the server side. */
  streamStats: StreamStats;
  /** Timers (counted). */
  timers: TimerSet;
  /** Limits. */
  limits: RpcLimits;
  /** Counts (and logs) exceptions that are bugs, not bad input. */
  internal: InternalErrors;
  /** Diagnostics. */
  logger?: Logger;
}

function replyOf(
  body: Uint8Array,
  options: TcpClientOptions,
  peer: RpcPeer,
  streams?: StreamReviver,
): ResponseMessage | ErrorMessage {
  const { limits } = options;
  let message;
  try {
    message = decodeFrame(body, limits.maxFrameBytes, limits.maxDepth, streams);
  } catch (cause) {
    options.internal.badInput(cause, `decoding a TCP reply from '${peer.name}'`);
    throw new ProtocolError(`'${peer.name}' sent a TCP reply that is not a valid PeerLink message`, { cause });
  }
  if (message.type === "request") {
    throw new ProtocolError(`'${peer.name}' sent a request where a reply was expected`);
  }
  return message;
}

/** A reply frame the gate let in, decoded. */
interface AcceptedReply {
  reply: ResponseMessage | ErrorMessage;
  arrival: Arrival;
}

/** Admits (opening when sealed) and decodes a reply frame; `undefined` for a frame the gate dropped (counted). */
function acceptReply(body: Uint8Array, options: TcpClientOptions, peer: RpcPeer): AcceptedReply | undefined {
  const arrival = options.gate.admit(body, "dialed", formatEndpoint(peer.address, peer.tcpPort));
  return arrival && { reply: replyOf(arrival.plaintext, options, peer), arrival };
}

/** Largest frame body a client reads or writes: the wire limit, plus the envelope when sealing. */
function wireLimitOf(options: TcpClientOptions): number {
  return maxWireFrame(options.limits.maxFrameBytes) + options.gate.maxOverhead;
}

/** Seals a call's frame when the call is sealed. */
function outgoingFrame(call: PendingCall, parts: Uint8Array[], options: TcpClientOptions): Uint8Array[] {
  return options.gate.sealFrame(SealKind.tcpRequest, parts, call.sealed);
}

/** The pool's key of a peer's connection: one per address and TCP port. */
function poolKey(peer: Pick<RpcPeer, "address" | "tcpPort">): string {
  return `${peer.address}|${peer.tcpPort}`;
}

/**
 * Sends calls over TCP.
 *
 * @example
 * ```ts ignore
 * const client = new TcpClient({ runtime, gate, timers, limits, internal });
 * client.send(call, outgoing.frame(call.peer.capabilities?.binary ?? false, limits.maxFrameBytes));
 * await call.promise;
 * await client.close();
 * ```
 */
export class TcpClient {
  readonly #options: TcpClientOptions;
  readonly #pool = new Map<string, PooledConnection>();
  readonly #oneShot = new Set<StreamConnection>();
  readonly #stats = { connects: 0, connectFailures: 0, resent: 0, unmatched: 0, refused: 0 };
  readonly #context: PoolContext;
  #closed = false;

  /**
   * Creates a {@linkcode TcpClient}.
   *
   * @param options Runtime, timers, limits and logger.
   */
  constructor(options: TcpClientOptions) {
    this.#options = options;
    this.#context = {
      options,
      connect: (peer, timeoutMs) => this.#connect(peer, timeoutMs),
      forget: (key, pooled) => {
        if (this.#pool.get(key) === pooled) this.#pool.delete(key);
      },
      resend: (call, parts) => {
        this.#stats.resent++;
        if (!this.#closed) this.#pooled(call.peer).enqueue(call, parts, false, []);
      },
      unmatched: () => void this.#stats.unmatched++,
      refused: () => void this.#stats.refused++,
    };
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters.
   */
  stats(): TcpClientStats {
    return { ...this.#stats, pooled: this.#pool.size, oneShot: this.#oneShot.size };
  }

  /**
   * Sends a call's request frame; the call settles with the reply or a failure.
   *
   * @param call The call (armed with its deadline).
   * @param parts The request frame (`writeFrame` format), already checked against the limits.
   * @param streams Streams of the request (only toward peers with `persist` and `stream`).
   */
  send(call: PendingCall, parts: Uint8Array[], streams: OutgoingMessage["streams"] = []): void {
    call.transport = "tcp";
    if (this.#closed) return;
    // A request whose streams started cannot be re-sent on a fresh connection.
    if (call.peer.capabilities?.persist) this.#pooled(call.peer).enqueue(call, parts, streams.length === 0, streams);
    else this.#sendOneShot(call, parts);
  }

  /** Streams open on the pooled connections now. */
  get openStreams(): number {
    let open = 0;
    for (const pooled of this.#pool.values()) open += pooled.openStreams;
    return open;
  }

  /**
   * Closes every connection; their streams fail with `reason`. Idempotent.
   *
   * @param reason What open streams fail with (the node stopped).
   */
  async close(reason?: unknown): Promise<void> {
    this.#closed = true;
    const closing: Promise<void>[] = [];
    for (const pooled of this.#pool.values()) closing.push(pooled.close(reason));
    for (const connection of this.#oneShot) closing.push(connection.close());
    this.#pool.clear();
    this.#oneShot.clear();
    await Promise.allSettled(closing);
  }

  /**
   * A peer left (discovery said so): the pooled connection to it closes, and the streams open
   * on it fail with `reason` instead of waiting on a connection nobody answers.
   *
   * @param peer Where the peer was.
   * @param reason What its open streams fail with (a `PeerLeftError`).
   * @returns How many streams failed.
   */
  peerLeft(peer: Pick<RpcPeer, "address" | "tcpPort">, reason: unknown): number {
    const pooled = this.#pool.get(poolKey(peer));
    if (!pooled) return 0;
    const open = pooled.openStreams;
    pooled.close(reason).catch(() => {});
    return open;
  }

  /** Opens a connection; failures become {@linkcode PeerConnectionError}. */
  async #connect(peer: RpcPeer, timeoutMs: number): Promise<StreamConnection> {
    this.#stats.connects++;
    try {
      return await this.#options.runtime.connect({ address: peer.address, port: peer.tcpPort, timeoutMs });
    } catch (cause) {
      this.#stats.connectFailures++;
      throw new PeerConnectionError({ peer: peer.name, address: peer.address, port: peer.tcpPort, lost: false, cause });
    }
  }

  #pooled(peer: RpcPeer): PooledConnection {
    const key = poolKeyOf(peer);
    let pooled = this.#pool.get(key);
    if (!pooled || pooled.broken) {
      pooled = new PooledConnection(this.#context, key, peer);
      this.#pool.set(key, pooled);
    }
    return pooled;
  }

  #sendOneShot(call: PendingCall, parts: Uint8Array[]): void {
    const { limits, timers } = this.#options;
    const peer = call.peer;
    const run = async () => {
      const connection = await this.#connect(peer, Math.min(limits.connectTimeout, call.remaining(timers.clock.now())));
      if (this.#closed || call.settled) {
        await connection.close();
        return;
      }
      this.#oneShot.add(connection);
      call.onSettle(() => {
        this.#oneShot.delete(connection);
        connection.close().catch(() => {});
      });
      const wireLimit = wireLimitOf(this.#options);
      await writeFrame(connection, outgoingFrame(call, parts, this.#options), wireLimit);
      const reader = new FrameReader(wireLimit);
      while (!call.settled) {
        const chunk = await connection.read();
        if (chunk === null) {
          throw new PeerConnectionError({
            peer: peer.name,
            address: peer.address,
            port: peer.tcpPort,
            lost: true,
            function: call.fn,
          });
        }
        for (const body of reader.push(chunk)) {
          const accepted = acceptReply(body, this.#options, peer);
          if (!accepted || !this.#options.gate.admitsReply(accepted.arrival, call)) continue;
          const reply = accepted.reply;
          if (reply.id === CONNECTION_REFUSED_ID && reply.type === "error") this.#stats.refused++;
          else if (reply.id !== call.id) {
            throw new ProtocolError(`'${peer.name}' answered a different call id over TCP`);
          }
          settleWithReply(call, reply);
          break;
        }
      }
    };
    run().catch((error) => {
      if (call.settled) return;
      const failure = error instanceof NetError
        ? new PeerConnectionError({
          peer: peer.name,
          address: peer.address,
          port: peer.tcpPort,
          lost: true,
          function: call.fn,
          cause: error,
        })
        : error;
      call.settle({ ok: false, error: failure });
    });
  }
}

/** What a pooled connection needs from its {@linkcode TcpClient}. */
interface PoolContext {
  readonly options: TcpClientOptions;
  connect(peer: RpcPeer, timeoutMs: number): Promise<StreamConnection>;
  /** Removes a connection that left service from the pool. */
  forget(key: string, pooled: PooledConnection): void;
  /** Sends a call again on a fresh connection (its write failed on a dead one). */
  resend(call: PendingCall, parts: Uint8Array[]): void;
  /** Counts a reply that matched no call. */
  unmatched(): void;
  /** Counts a connection the server refused. */
  refused(): void;
}

/** One persistent connection to a peer, shared by many calls. */
class PooledConnection {
  readonly #client: PoolContext;
  readonly #key: string;
  readonly #peer: RpcPeer;
  readonly #waiting = new Map<string, PendingCall>();
  readonly #opening: Promise<StreamConnection>;
  #writer: FrameWriter | undefined;
  #connection: StreamConnection | undefined;
  #idleTimer: ReturnType<TimerSet["set"]> | undefined;
  #broken = false;
  #mux: StreamMux | undefined;

  constructor(client: PoolContext, key: string, peer: RpcPeer) {
    this.#client = client;
    this.#key = key;
    this.#peer = peer;
    const { limits } = client.options;
    this.#opening = client.connect(peer, limits.connectTimeout);
    this.#opening.then((connection) => {
      if (this.#broken) {
        connection.close().catch(() => {});
        return;
      }
      this.#connection = connection;
      this.#writer = new FrameWriter(connection, wireLimitOf(client.options));
      this.#readLoop(connection).catch((error) => this.#fail(error));
    }, (error) => this.#fail(error));
  }

  /** True once the connection failed or closed; the pool then opens a new one. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Streams open on this connection. */
  get openStreams(): number {
    return this.#mux?.open ?? 0;
  }

  enqueue(call: PendingCall, parts: Uint8Array[], mayResend: boolean, streams: OutgoingMessage["streams"]): void {
    const { timers } = this.#client.options;
    this.#waiting.set(call.id, call);
    timers.clear(this.#idleTimer);
    this.#idleTimer = undefined;
    call.onSettle(() => {
      if (this.#waiting.get(call.id) === call) this.#waiting.delete(call.id);
      this.#idleCheck();
    });
    const reused = this.#connection !== undefined;
    let streamsStarted = false;
    if (streams.length > 0) {
      // A call that ends before its request is written (aborted, timed out, no connection)
      // never starts its streams: their sources are cancelled, as a started stream's would be.
      call.onSettle(() => {
        if (!streamsStarted) cancelSources(streams, call.failure?.error);
      });
    }
    const write = (writer: FrameWriter) => {
      const written = writer.write(outgoingFrame(call, parts, this.#client.options));
      // Queued behind the request, so every frame of its streams follows it.
      if (streams.length > 0) {
        streamsStarted = true;
        this.#sendStreams(call, streams);
      }
      return written;
    };
    // An open connection: straight to the writer (the common, hot case).
    const written = reused && this.#writer ? write(this.#writer) : this.#opening.then(() => {
      if (call.settled) return;
      if (!this.#writer) throw new NetError("CLOSED", "connection closed before the request was written");
      return write(this.#writer);
    });
    written.catch((error) => {
      if (call.settled) return;
      if (this.#waiting.get(call.id) === call) this.#waiting.delete(call.id);
      if (mayResend && reused && error instanceof NetError) {
        // The pooled connection was dead before we noticed: the request never left, send it on a fresh one.
        this.#markBroken();
        this.#client.resend(call, parts);
        return;
      }
      call.settle({ ok: false, error: this.#asCallError(error, call) });
    });
  }

  async close(reason?: unknown): Promise<void> {
    this.#markBroken();
    if (reason !== undefined) this.#mux?.failAll(reason);
    const connection = this.#connection ?? await this.#opening.catch(() => undefined);
    await connection?.close();
  }

  /** The connection's streams (made when a call or a reply first carries one). */
  #streams(): StreamMux {
    const options = this.#client.options;
    return this.#mux ??= new StreamMux({
      send: (parts, sealed, bulk) => {
        if (!this.#writer) return Promise.reject(new NetError("CLOSED", "the connection is closed"));
        return this.#writer.write(options.gate.sealFrame(SealKind.tcpRequest, parts, sealed), bulk);
      },
      peer: () => this.#peer.name,
      limits: options.limits,
      clock: options.timers.clock,
      stats: options.streamStats,
      onChange: () => this.#idleCheck(),
    });
  }

  /**
   * Starts a call's argument streams: their progress keeps the call alive; its failure cancels
   * their sources and errors them on the receiving side (the handler is not left waiting).
   */
  #sendStreams(call: PendingCall, streams: OutgoingMessage["streams"]): void {
    const started = this.#streams().send(streams, call.sealed ? this.#peer.name : undefined, () => call.keepAlive());
    call.onSettle(() => {
      const failure = call.failure;
      if (failure) { for (const stream of started) stream.abort(failure.error); }
    });
  }

  /** Idle: no call waits and no stream is open; closes after `clientIdleTimeout`. */
  #idleCheck(): void {
    if (this.#waiting.size === 0 && !this.#mux?.open && !this.#broken) this.#armIdle();
  }

  async #readLoop(connection: StreamConnection): Promise<void> {
    const options = this.#client.options;
    const reader = new FrameReader(wireLimitOf(options));
    for (;;) {
      const chunk = await connection.read();
      if (chunk === null) {
        this.#fail(undefined);
        return;
      }
      for (const body of reader.push(chunk)) {
        const arrival = options.gate.admit(body, "dialed", formatEndpoint(this.#peer.address, this.#peer.tcpPort));
        if (!arrival) continue;
        if (isStreamFrame(arrival.plaintext)) {
          if (!this.#mux) options.streamStats.unknownStream++;
          else if (!this.#mux.onFrame(arrival.plaintext, arrival.sender)) {
            throw new ProtocolError(`'${this.#peer.name}' sent a stream frame that breaks the protocol`);
          }
          continue;
        }
        const reply = replyOf(
          arrival.plaintext,
          options,
          this.#peer,
          (id, where) => this.#streams().revive(id, where, arrival.sender),
        );
        const accepted = { reply, arrival };
        if (reply.id === CONNECTION_REFUSED_ID && reply.type === "error") {
          // The server is at its connection limit: every call on this connection gets its answer.
          this.#client.refused();
          this.#markBroken();
          for (const call of [...this.#waiting.values()]) {
            if (options.gate.admitsReply(accepted.arrival, call)) settleWithReply(call, reply);
          }
          continue;
        }
        const call = this.#waiting.get(reply.id);
        if (call && options.gate.admitsReply(accepted.arrival, call)) {
          this.#mux?.label(call.fn);
          settleWithReply(call, reply);
        } else {
          if (!call) this.#client.unmatched();
          this.#mux?.dropUnlabelled(new ProtocolError("a reply that answers no call"));
        }
      }
    }
  }

  #armIdle(): void {
    const { timers, limits } = this.#client.options;
    timers.clear(this.#idleTimer);
    this.#idleTimer = timers.set(() => {
      this.#idleTimer = undefined;
      if (this.#waiting.size === 0 && !this.#mux?.open) {
        this.#client.options.logger?.debug(`closing idle TCP connection to '${this.#peer.name}'`);
        this.close().catch(() => {});
      }
    }, limits.clientIdleTimeout);
  }

  #markBroken(): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#client.forget(this.#key, this);
    this.#client.options.timers.clear(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #fail(error: unknown): void {
    const quiet = this.#broken && this.#waiting.size === 0; // our own close() ending the read loop
    this.#markBroken();
    this.#connection?.close().catch(() => {});
    this.#mux?.failAll(
      error instanceof PeerConnectionError || error instanceof ProtocolError ? error : new PeerConnectionError({
        peer: this.#peer.name,
        address: this.#peer.address,
        port: this.#peer.tcpPort,
        lost: true,
        cause: error,
      }),
    );
    if (!quiet && error !== undefined && !(error instanceof PeerConnectionError)) {
      const where = formatEndpoint(this.#peer.address, this.#peer.tcpPort);
      this.#client.options.logger?.debug(`TCP connection to ${where} failed: ${(error as Error)?.message}`);
    }
    for (const call of [...this.#waiting.values()]) call.settle({ ok: false, error: this.#asCallError(error, call) });
    this.#waiting.clear();
  }

  #asCallError(error: unknown, call: PendingCall): unknown {
    if (error instanceof PeerConnectionError || error instanceof ProtocolError) return error;
    return new PeerConnectionError({
      peer: this.#peer.name,
      address: this.#peer.address,
      port: this.#peer.tcpPort,
      lost: true,
      function: call.fn,
      cause: error,
    });
  }
}

/** {@linkcode poolKey}, computed once per peer object (calls are hot code). */
const poolKeyOf = perPeer(poolKey);
