/**
 * RPC over one UDP socket: both serving requests and making calls.
 *
 * Calls: the request goes out as one datagram; a peer that advertises `dedupe` (at-most-once
 * execution) gets the same datagram again after the peer's retransmission timeout (from its
 * measured round-trip times, see `rtt.ts`; between `retryInitial` and `retryMaxInterval`),
 * then at growing intervals (`retryBackoff`, capped at `retryMaxInterval`) until the reply
 * arrives, the call's deadline passes, or `retryWindow` is over. A Python 1.2 peer gets exactly one datagram, as its own
 * client sends, because it would run the handler once per copy. Replies are matched by id.
 *
 * Serving: see `server.ts` (reply cache, too-large replies, the amplification bound).
 * Datagrams that are not valid messages are dropped and counted; a request whose id was
 * readable is answered with a `BadMessage` error so the caller does not wait for nothing
 * (unless that answer would exceed the amplification bound).
 *
 * Security is the gate's (`src/security/gate.ts`): every datagram passes `gate.admit` as it
 * arrives and `gate.seal` as it leaves (each copy with a fresh nonce: a retransmission is not
 * a replay). What the gate drops is never answered. Replies go back sealed exactly when the
 * request came sealed, and a call accepts only a reply the gate matches to it.
 *
 * @module
 */
import { BadMessage } from "../errors.ts";
import type { InternalErrors } from "../internal_errors.ts";
import type { Logger } from "../log.ts";
import { type Datagram, type DatagramSocket, formatEndpoint, type SocketRuntime } from "../net.ts";
import { SealKind } from "../security/envelope.ts";
import type { Arrival, Gate } from "../security/gate.ts";
import { decodeDatagram, OutgoingMessage } from "../wire/codec.ts";
import type { ErrorMessage, ResponseMessage } from "../wire/messages.ts";
import { Activity } from "./activity.ts";
import { type PendingCall, perPeer } from "./call.ts";
import type { RpcLimits } from "./limits.ts";
import { settleWithReply } from "./replies.ts";
import type { RequestProcessor } from "./server.ts";
import { RttEstimator } from "./rtt.ts";
import type { TimerSet } from "./timers.ts";
import type { NodeStats } from "../stats.ts";

/** A call waiting for its UDP reply. */
interface Flight {
  readonly call: PendingCall;
  /** When the first copy was sent. */
  readonly sentAt: number;
  /** Whether a copy was re-sent (then the reply gives no RTT sample: Karn's rule). */
  retransmitted: boolean;
  /** RTT estimator and window key of the peer. */
  readonly peerKey: string;
  /** Ends the flight: stops retransmitting, frees the window slot. Idempotent. */
  readonly release: () => void;
  /** Whether {@linkcode Flight.release} ran. */
  released: boolean;
}

/** Calls in flight to one peer, and the ones waiting for a slot. */
interface PeerWindow {
  inFlight: number;
  /** Starters of waiting calls, in arrival order. */
  queue: Set<() => void>;
}

/** UDP counters. */
export type UdpStats = NodeStats["udp"];

/** Counters of a UDP side that has not run yet (all zero). */
export function emptyUdpStats(): UdpStats {
  return {
    sent: 0,
    received: 0,
    requests: 0,
    replies: 0,
    retransmits: 0,
    malformed: 0,
    unmatched: 0,
    sendErrors: 0,
    queued: 0,
  };
}

/** What a {@linkcode UdpRpc} needs. */
export interface UdpRpcOptions {
  /** Socket adapter. */
  runtime: SocketRuntime;
  /** The security gate: admits what arrives, seals what leaves. */
  gate: Gate;
  /** Timers (counted). */
  timers: TimerSet;
  /** Limits and retransmission timing. */
  limits: RpcLimits;
  /** Serves incoming requests. */
  processor: RequestProcessor;
  /** Called when a reply says "too large for UDP, fetch over TCP". */
  onRetryOverTcp: (call: PendingCall) => void;
  /** Counts (and logs) exceptions that are bugs, not bad input. */
  internal: InternalErrors;
  /** Diagnostics. */
  logger?: Logger;
}

/**
 * The UDP side of an RPC endpoint.
 *
 * @example
 * ```ts ignore
 * const udp = new UdpRpc({ runtime, gate, timers, limits, processor, onRetryOverTcp, internal });
 * const port = await udp.bind("0.0.0.0", 0);
 * udp.call(pendingCall, outgoing.datagram());
 * ```
 */
export class UdpRpc {
  readonly #options: UdpRpcOptions;
  readonly #waiting = new Map<string, Flight>();
  readonly #rtt: RttEstimator;
  readonly #windows = new Map<string, PeerWindow>();
  readonly #stats: UdpStats = emptyUdpStats();
  #socket: DatagramSocket | undefined;
  #closed = false;
  /** Requests in service: from arrival until their reply went to the socket (or none was due). */
  readonly #serving = new Activity();

  /**
   * Creates a {@linkcode UdpRpc}.
   *
   * @param options Runtime, timers, limits, request processor and the TCP fallback hook.
   */
  constructor(options: UdpRpcOptions) {
    this.#options = options;
    this.#rtt = new RttEstimator(options.limits.retryInitial, options.limits.retryMaxInterval);
  }

  /** The bound port, once bound. */
  get port(): number | undefined {
    return this.#socket?.localAddress.port;
  }

  /** Calls waiting for a UDP reply. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters.
   */
  stats(): UdpStats {
    return { ...this.#stats };
  }

  /**
   * Binds the socket. Rejects with the adapter's `NetError` (e.g. `ADDR_IN_USE`).
   *
   * @param address Local address, e.g. `"0.0.0.0"`.
   * @param port Local port, 0 for any.
   * @returns The bound port.
   */
  async bind(address: string, port: number): Promise<number> {
    this.#socket = await this.#options.runtime.bindDatagram({ address, port }, (d) => this.#onDatagram(d));
    return this.#socket.localAddress.port;
  }

  /**
   * Sends a call's request and waits for the reply, retransmitting if the peer deduplicates.
   * At most `udpWindow` calls per peer are in flight; later ones wait their turn (within their
   * own deadline), so a burst of calls does not overflow the peer's socket buffer. The call
   * settles through its own promise; its cleanup stops the retransmissions.
   *
   * @param call The call (already armed with its deadline).
   * @param datagram The encoded request (at most `maxDatagramBytes`).
   */
  call(call: PendingCall, datagram: Uint8Array): void {
    const peerKey = udpKeyOf(call.peer);
    call.transport = "udp";
    let window = this.#windows.get(peerKey);
    if (!window) this.#windows.set(peerKey, window = { inFlight: 0, queue: new Set() });
    if (window.inFlight < this.#options.limits.udpWindow) {
      this.#launch(call, datagram, peerKey, window);
      return;
    }
    const start = () => this.#launch(call, datagram, peerKey, window);
    window.queue.add(start);
    this.#stats.queued++;
    call.onSettle(() => window.queue.delete(start));
  }

  #launch(call: PendingCall, datagram: Uint8Array, peerKey: string, window: PeerWindow): void {
    const { timers, limits } = this.#options;
    const { address, udpPort } = call.peer;
    window.inFlight++;
    let retransmit: ReturnType<TimerSet["set"]> | undefined;
    const flight: Flight = {
      call,
      sentAt: timers.clock.now(),
      retransmitted: false,
      peerKey,
      release: () => {
        if (flight.released) return;
        flight.released = true;
        if (this.#waiting.get(call.id) === flight) this.#waiting.delete(call.id);
        timers.clear(retransmit);
        window.inFlight--;
        const next = window.queue.values().next();
        if (!next.done) {
          window.queue.delete(next.value);
          next.value();
        } else if (window.inFlight === 0 && this.#windows.get(peerKey) === window) {
          this.#windows.delete(peerKey);
        }
      },
      released: false,
    };
    this.#waiting.set(call.id, flight);
    call.onSettle(flight.release);
    const out = () => this.#options.gate.seal(SealKind.udpRequest, datagram, call.sealed);
    this.#send(out(), address, udpPort);
    if (!call.peer.capabilities?.dedupe) return;
    const windowEnd = call.startedAt + limits.retryWindow;
    let interval = this.#rtt.timeout(peerKey);
    const schedule = () => {
      const now = timers.clock.now();
      if (now + interval >= windowEnd || call.remaining(now) <= interval) return;
      retransmit = timers.set(() => {
        retransmit = undefined;
        if (flight.released) return;
        this.#stats.retransmits++;
        flight.retransmitted = true;
        this.#send(out(), address, udpPort);
        interval = Math.min(interval * limits.retryBackoff, limits.retryMaxInterval);
        schedule();
      }, interval);
    };
    schedule();
  }

  /** Requests in service now (handler running, or reply not yet sent). */
  get inService(): number {
    return this.#serving.count;
  }

  /**
   * Resolves once no request is in service: every handler running now has finished and its
   * reply has been sent. At once when none is.
   *
   * @returns Resolves when idle.
   */
  idle(): Promise<void> {
    return this.#serving.idle();
  }

  /** Closes the socket. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = undefined;
    await socket?.close();
  }

  /** Sends a datagram; the promise (unused on the call path) settles once the socket took it. */
  #send(data: Uint8Array, address: string, port: number): Promise<void> | undefined {
    const socket = this.#socket;
    if (!socket || this.#closed) return;
    this.#stats.sent++;
    return socket.send(data, address, port).catch((error) => {
      this.#stats.sendErrors++;
      this.#options.logger?.debug(`UDP send to ${formatEndpoint(address, port)} failed: ${(error as Error).message}`);
    });
  }

  #onDatagram(datagram: Datagram): void {
    if (this.#closed) return;
    this.#stats.received++;
    const from = formatEndpoint(datagram.address, datagram.port);
    try {
      const arrival = this.#options.gate.admit(datagram.data, "udp", from);
      if (arrival) this.#onMessage(arrival, datagram, from);
    } catch (error) {
      // Bad input was dealt with below: what arrives here is a bug.
      this.#options.internal.record(error, `handling a datagram from ${from}`);
    }
  }

  /**
   * Largest reply datagram (before sealing) a request may get: a full datagram for an
   * authenticated caller, else at most `maxUdpAmplification` times the request.
   */
  #maxReply(requestBytes: number, arrival: Arrival): number {
    const { limits, gate } = this.#options;
    if (arrival.sender !== undefined) return limits.maxDatagramBytes - gate.overhead;
    return Math.min(limits.maxDatagramBytes, Math.floor(requestBytes * limits.maxUdpAmplification));
  }

  /** Replies go back sealed exactly when the request came sealed. */
  #reply(reply: Uint8Array, datagram: Datagram, arrival: Arrival): Promise<void> | undefined {
    return this.#send(
      this.#options.gate.seal(SealKind.udpReply, reply, arrival.sender !== undefined),
      datagram.address,
      datagram.port,
    );
  }

  #onMessage(arrival: Arrival, datagram: Datagram, from: string): void {
    const { gate, limits, logger, processor, internal } = this.#options;
    let message;
    try {
      message = decodeDatagram(arrival.plaintext, limits.maxDepth);
    } catch (error) {
      if (!internal.badInput(error, `decoding a datagram from ${from}`)) return;
      this.#stats.malformed++;
      logger?.debug(`dropped a malformed datagram from ${from}: ${(error as Error).message}`);
      if (error instanceof BadMessage && error.requestId !== undefined) {
        if (arrival.kind !== undefined && arrival.kind !== SealKind.udpRequest) return;
        const reply = OutgoingMessage.error(error.requestId, { type: "BadMessage", message: error.message }).datagram();
        if (reply.length <= this.#maxReply(datagram.data.length, arrival)) this.#reply(reply, datagram, arrival);
      }
      return;
    }
    if (message.type === "request") {
      if (!gate.admitsRequest(arrival, message.src, message.dst)) return;
      this.#stats.requests++;
      const caller = {
        name: message.src,
        address: datagram.address,
        port: datagram.port,
        transport: "udp" as const,
        authenticated: arrival.sender !== undefined,
      };
      const maxReply = this.#maxReply(datagram.data.length, arrival);
      const serving = this.#serving;
      serving.begin();
      const reply = processor.serveDatagram(message, caller, maxReply);
      if (!(reply instanceof Promise)) {
        // Answered synchronously: sent now, not a microtask later; in service until it left.
        const sent = reply ? this.#reply(reply, datagram, arrival) : undefined;
        if (sent) sent.then(serving.end);
        else serving.end();
        return;
      }
      reply.then((ready) => {
        if (ready) return this.#reply(ready, datagram, arrival);
      }).then(serving.end, (error) => {
        internal.record(error, `serving '${message.rpc}' for ${caller.name} (${from})`);
        serving.end();
      });
      return;
    }
    this.#stats.replies++;
    this.#onReply(message, arrival);
  }

  #onReply(reply: ResponseMessage | ErrorMessage, arrival: Arrival): void {
    const flight = this.#waiting.get(reply.id);
    if (!flight) {
      this.#stats.unmatched++;
      return;
    }
    const call = flight.call;
    if (!this.#options.gate.admitsReply(arrival, call)) return;
    if (!flight.retransmitted) this.#rtt.sample(flight.peerKey, this.#options.timers.clock.now() - flight.sentAt);
    if (reply.type === "error" && reply.retry === "tcp") {
      flight.release();
      call.transport = "tcp";
      this.#options.onRetryOverTcp(call);
      return;
    }
    settleWithReply(call, reply);
  }
}

/** Key (address:port) of a peer's window and RTT estimate. */
const udpKeyOf = perPeer((peer) => formatEndpoint(peer.address, peer.udpPort));
