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
 * Serving: see `server.ts` (reply cache, too-large replies). Datagrams that are not valid
 * messages are dropped and counted; a request whose id was readable is answered with a
 * `BadMessage` error so the caller does not wait for nothing.
 *
 * @module
 */
import { BadMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type Datagram, type DatagramSocket, formatEndpoint, type SocketRuntime } from "../net.ts";
import { decodeDatagram, OutgoingMessage } from "../wire/codec.ts";
import type { ErrorMessage, ResponseMessage } from "../wire/messages.ts";
import type { PendingCall } from "./call.ts";
import type { RpcLimits } from "./limits.ts";
import { settleWithReply } from "./replies.ts";
import type { RequestProcessor } from "./server.ts";
import { RttEstimator } from "./rtt.ts";
import type { TimerSet } from "./timers.ts";

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
export interface UdpStats {
  /** Datagrams sent (requests, retransmissions and replies). */
  sent: number;
  /** Datagrams received. */
  received: number;
  /** Request retransmissions. */
  retransmits: number;
  /** Datagrams dropped as malformed. */
  malformed: number;
  /** Replies that matched no waiting call (late, duplicate or forged). */
  unmatched: number;
  /** Sends that failed at the socket. */
  sendErrors: number;
  /** Calls that waited for a slot in the peer's window. */
  queued: number;
}

/** What a {@linkcode UdpRpc} needs. */
export interface UdpRpcOptions {
  /** Socket adapter. */
  runtime: SocketRuntime;
  /** Timers (counted). */
  timers: TimerSet;
  /** Limits and retransmission timing. */
  limits: RpcLimits;
  /** Serves incoming requests. */
  processor: RequestProcessor;
  /** Called when a reply says "too large for UDP, fetch over TCP". */
  onRetryOverTcp: (call: PendingCall) => void;
  /** Diagnostics. */
  logger?: Logger;
}

/**
 * The UDP side of an RPC endpoint.
 *
 * @example
 * ```ts ignore
 * const udp = new UdpRpc({ runtime, timers, limits, processor, onRetryOverTcp });
 * const port = await udp.bind("0.0.0.0", 0);
 * udp.call(pendingCall, outgoing.datagram());
 * ```
 */
export class UdpRpc {
  readonly #options: UdpRpcOptions;
  readonly #waiting = new Map<string, Flight>();
  readonly #rtt: RttEstimator;
  readonly #windows = new Map<string, PeerWindow>();
  readonly #stats: UdpStats = {
    sent: 0,
    received: 0,
    retransmits: 0,
    malformed: 0,
    unmatched: 0,
    sendErrors: 0,
    queued: 0,
  };
  #socket: DatagramSocket | undefined;
  #closed = false;

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
    const peerKey = formatEndpoint(call.peer.address, call.peer.udpPort);
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
    this.#send(datagram, address, udpPort);
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
        this.#send(datagram, address, udpPort);
        interval = Math.min(interval * limits.retryBackoff, limits.retryMaxInterval);
        schedule();
      }, interval);
    };
    schedule();
  }

  /** Closes the socket. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = undefined;
    await socket?.close();
  }

  #send(data: Uint8Array, address: string, port: number): void {
    const socket = this.#socket;
    if (!socket || this.#closed) return;
    this.#stats.sent++;
    socket.send(data, address, port).catch((error) => {
      this.#stats.sendErrors++;
      this.#options.logger?.debug(`UDP send to ${formatEndpoint(address, port)} failed: ${(error as Error).message}`);
    });
  }

  #onDatagram(datagram: Datagram): void {
    if (this.#closed) return;
    this.#stats.received++;
    let message;
    try {
      message = decodeDatagram(datagram.data, this.#options.limits.maxDepth);
    } catch (error) {
      this.#stats.malformed++;
      const from = formatEndpoint(datagram.address, datagram.port);
      this.#options.logger?.debug(`dropped a malformed datagram from ${from}: ${(error as Error).message}`);
      if (error instanceof BadMessage && error.requestId !== undefined) {
        const reply = OutgoingMessage.error(error.requestId, { type: "BadMessage", message: error.message });
        this.#send(reply.datagram(), datagram.address, datagram.port);
      }
      return;
    }
    if (message.type === "request") {
      const caller = { name: message.src, address: datagram.address, port: datagram.port, transport: "udp" as const };
      this.#options.processor.serveDatagram(message, caller).then((reply) => {
        if (reply) this.#send(reply, datagram.address, datagram.port);
      }).catch((error) => {
        this.#options.logger?.error(`serving '${message.rpc}' for ${caller.name} failed: ${(error as Error).message}`);
      });
      return;
    }
    this.#onReply(message);
  }

  #onReply(reply: ResponseMessage | ErrorMessage): void {
    const flight = this.#waiting.get(reply.id);
    if (!flight) {
      this.#stats.unmatched++;
      return;
    }
    const call = flight.call;
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
