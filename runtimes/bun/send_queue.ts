/**
 * Sending datagrams on a `Bun.udpSocket`, in order, through Bun's backpressure and its
 * stale errors. https://bun.sh/docs/api/udp
 *
 * - `send()` returns false when the socket's send buffer is full, then `drain` fires; the
 *   datagram must be sent again by us. Datagrams wait here (bounded in count and time) and
 *   go out on `drain` or a retry timer, in order.
 * - Bun sets IP_RECVERR, so an ICMP error that answers an earlier datagram (e.g. port
 *   unreachable) can fail the next `send()`, to any destination, without sending it;
 *   sending again works (measured on Bun 1.4.5). Such errors are retried a few times.
 *
 * @module
 */
import { formatEndpoint, NetError } from "../../src/net.ts";
import { closedError, toNetError } from "../../src/net_errors.ts";
import type { BunUdpSocket } from "./api.ts";
import { log } from "./handlers.ts";

/** Errors the kernel parks on a UDP socket when an ICMP reply answers an earlier datagram. */
const STALE_SEND_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]);
/** Extra attempts after a stale error; a real error for this destination repeats and is reported. */
const STALE_SEND_RETRIES = 2;

/** How long a datagram may wait for socket buffer space before its send() gives up. */
const SEND_STALL_MS = 2_000;
/** Retry interval while the send buffer is full, in case a `drain` event is missed. */
const SEND_RETRY_MS = 20;
/** Datagrams that may wait for buffer space at once; more are refused at once. */
const SEND_QUEUE_LIMIT = 1_024;

/** A datagram waiting for send-buffer space. */
interface QueuedDatagram {
  data: Uint8Array;
  address: string;
  port: number;
  deadline: number;
  resolve(): void;
  reject(error: NetError): void;
}

/** The send side of one Bun UDP socket. */
export class DatagramSendQueue {
  readonly #socket: BunUdpSocket;
  readonly #waiting: QueuedDatagram[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** @param socket The Bun socket to send on. */
  constructor(socket: BunUdpSocket) {
    this.#socket = socket;
  }

  /**
   * Sends one datagram now, or queues it behind those already waiting.
   *
   * @param data Payload.
   * @param address Destination address.
   * @param port Destination port.
   * @returns Resolves once Bun took the datagram; rejects when it was not sent.
   */
  send(data: Uint8Array, address: string, port: number): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("UDP send to", address, port));
    if (this.#waiting.length === 0) {
      try {
        if (this.#sendNow(data, address, port)) return Promise.resolve();
      } catch (error) {
        return Promise.reject(toNetError(error, "UDP send to", address, port));
      }
    }
    // Bun said "not now" (send buffer full) or older datagrams are still waiting: queue
    // behind them so order is kept, and finish on `drain` (bounded in count and time).
    if (this.#waiting.length >= SEND_QUEUE_LIMIT) {
      return Promise.reject(
        new NetError(
          "OTHER",
          `OTHER: UDP send to ${formatEndpoint(address, port)}: ${SEND_QUEUE_LIMIT} datagrams already wait for ` +
            "socket buffer space; this one was not sent. Send more slowly.",
          { address, port },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ data, address, port, deadline: Date.now() + SEND_STALL_MS, resolve, reject });
      this.#armRetry();
    });
  }

  /** Called on Bun's `drain` and on the retry timer: sends what waits, in order. */
  flush(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    while (this.#waiting.length > 0 && !this.#closed) {
      const head = this.#waiting[0];
      let sent: boolean;
      try {
        sent = this.#sendNow(head.data, head.address, head.port);
      } catch (error) {
        this.#waiting.shift();
        head.reject(toNetError(error, "UDP send to", head.address, head.port));
        continue;
      }
      if (sent) {
        this.#waiting.shift();
        head.resolve();
      } else if (Date.now() >= head.deadline) {
        this.#waiting.shift();
        head.reject(
          new NetError(
            "TIMED_OUT",
            `TIMED_OUT: UDP send to ${formatEndpoint(head.address, head.port)}: the socket's send buffer stayed ` +
              `full for ${SEND_STALL_MS} ms; the datagram was not sent. Send more slowly or check the interface.`,
            { address: head.address, port: head.port },
          ),
        );
      } else {
        break;
      }
    }
    if (this.#waiting.length > 0) this.#armRetry();
  }

  /** Rejects every waiting datagram with `CLOSED`; later sends reject too. */
  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const queued of this.#waiting.splice(0)) {
      queued.reject(closedError("UDP send to", queued.address, queued.port));
    }
  }

  /** One Bun send(), retried past errors that belong to earlier datagrams (see STALE_SEND_ERRORS). */
  #sendNow(data: Uint8Array, address: string, port: number): boolean {
    for (let attempt = 0;; attempt++) {
      try {
        return this.#socket.send(data, port, address);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (attempt >= STALE_SEND_RETRIES || typeof code !== "string" || !STALE_SEND_ERRORS.has(code)) throw error;
        log.debug(`UDP send to ${formatEndpoint(address, port)}: ${code} left by an earlier datagram; sending again`);
      }
    }
  }

  #armRetry(): void {
    this.#retryTimer ??= setTimeout(() => this.flush(), SEND_RETRY_MS);
  }
}
