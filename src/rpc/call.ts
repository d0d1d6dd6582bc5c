/**
 * One outgoing call in flight: its promise, its deadline, its cancellation, and the cleanup
 * that must run however it ends. Whatever settles a call (reply, timeout, abort, stop,
 * connection loss) goes through {@linkcode PendingCall.settle}, which runs every registered
 * cleanup exactly once: timers are cleared, listeners removed, map entries deleted.
 *
 * @module
 */
import type { WireTransport } from "../errors.ts";
import { PeerTimeoutError } from "../errors.ts";
import type { PeerCapabilities } from "../wire/capabilities.ts";
import type { OutgoingMessage } from "../wire/codec.ts";
import type { TimerSet } from "./timers.ts";

/**
 * How a call travels. `"auto"` (the default) uses UDP when the encoded request fits
 * `MAX_SAFE_UDP_PAYLOAD` (1200 bytes) and TCP otherwise; `"udp"` refuses larger requests with
 * `PayloadTooLarge` before sending anything; `"tcp"` always uses TCP.
 */
export type Transport = "auto" | "udp" | "tcp";

/** Options of one call (`node.call(peer, fn, args, options)`). */
export interface CallOptions {
  /** Transport; default `"auto"`. */
  transport?: Transport;
  /** Milliseconds before the call fails with `PeerTimeoutError`; default the node's `timeout`. */
  timeout?: number;
  /**
   * Cancels the call promptly. It rejects with the signal's reason, as `fetch` does: an
   * `AbortError` from `controller.abort()`, a `TimeoutError` from `AbortSignal.timeout(ms)`.
   */
  signal?: AbortSignal;
  /** Keyword arguments for a Python handler (`def fn(*args, **kwargs)`). */
  kwargs?: Record<string, unknown>;
}

/** Where to reach a peer's RPC server. Discovery supplies these. */
export interface RpcPeer {
  /** Peer's node name. */
  name: string;
  /** Numeric address. */
  address: string;
  /** UDP port of its RPC socket. */
  udpPort: number;
  /** TCP port of its RPC server. */
  tcpPort: number;
  /** Wire extensions it advertised; none (Python PeerLink 1.2) when missing. */
  capabilities?: Readonly<PeerCapabilities>;
  /**
   * True when the peer has no secret (it announced no proof, e.g. Python PeerLink 1.2). A node
   * with a secret calls such a peer in plaintext only with `allowInsecurePeers`, and refuses
   * otherwise; a node without a secret ignores it.
   */
  insecure?: boolean;
  /**
   * True when the peer has a secret and drops plaintext (it announced a proof, and not that it
   * takes plaintext calls too): a node without a secret refuses to call it at once with
   * `InsecurePeerError`, instead of waiting for a reply that never comes.
   */
  sealedOnly?: boolean;
}

/**
 * Memoizes a value derived from a peer view, once per view: calls are hot code, and a
 * discovered peer's view is one object for as long as the peer does not change.
 *
 * @param derive Computes the value from the peer.
 * @returns A function returning `derive(peer)`, computed once per peer object.
 *
 * @example
 * ```ts
 * import { perPeer } from "./call.ts";
 * const keyOf = perPeer((p) => `${p.address}:${p.udpPort}`);
 * const peer = { name: "B", address: "10.0.0.2", udpPort: 1, tcpPort: 2 };
 * console.log(keyOf(peer) === keyOf(peer)); // true
 * ```
 */
export function perPeer<T>(derive: (peer: RpcPeer) => T): (peer: RpcPeer) => T {
  const values = new WeakMap<RpcPeer, T>();
  return (peer) => {
    let value = values.get(peer);
    if (value === undefined && !values.has(peer)) values.set(peer, value = derive(peer));
    return value as T;
  };
}

/**
 * The error a cancelled call rejects with, as `fetch` does: the signal's reason when it is an
 * Error (by default a `DOMException` named `"AbortError"`; `AbortSignal.timeout(ms)` gives a
 * `"TimeoutError"`), else a new `AbortError` whose `cause` is the reason.
 *
 * @param signal The aborted signal.
 * @param what What was cancelled, for the message.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { abortError } from "./call.ts";
 * const controller = new AbortController();
 * controller.abort();
 * console.log(abortError(controller.signal, "call").name); // "AbortError"
 * console.log(abortError(AbortSignal.abort("bored"), "call").name); // "AbortError"
 * ```
 */
export function abortError(signal: AbortSignal, what: string): Error {
  const reason = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new DOMException(`${what} was aborted`, "AbortError");
  if (reason !== undefined) Object.defineProperty(error, "cause", { value: reason });
  return error;
}

/**
 * A call waiting for its reply.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { PendingCall } from "./call.ts";
 * import { TimerSet } from "./timers.ts";
 * const timers = new TimerSet(systemClock);
 * const call = new PendingCall({ id: "1", peer: { name: "B", address: "10.0.0.2", udpPort: 1, tcpPort: 2 }, fn: "f", timeoutMs: 50, timers });
 * call.settle({ ok: true, value: 42 });
 * console.log(await call.promise, timers.size); // 42 0
 * ```
 */
export class PendingCall {
  /** Call id (UUID-shaped, see `call_ids.ts`). */
  readonly id: string;
  /** Target. */
  readonly peer: RpcPeer;
  /** Function name. */
  readonly fn: string;
  /** The deadline, as given. */
  readonly timeoutMs: number;
  /** Start time on the clock. */
  readonly startedAt: number;
  /** Transport currently carrying the call. */
  transport: WireTransport = "udp";
  /** Whether the call travels sealed (the endpoint has a secret and the peer is not `insecure`). */
  sealed = false;
  /** The encoded request, kept while a UDP call may still move to TCP (a large reply). */
  request: OutgoingMessage | undefined;
  /** Settles with the reply's result or the failure. */
  readonly promise: Promise<unknown>;
  #settled = false;
  #deadlineAt = 0;
  #timers!: TimerSet;
  #failure: { error: unknown } | undefined;
  #resolve!: (value: unknown) => void;
  #reject!: (error: unknown) => void;
  readonly #cleanups: Array<() => void> = [];

  /**
   * Creates the call and arms its deadline and cancellation.
   *
   * @param options Id, target, function, timeout, timers, optional abort signal.
   */
  constructor(
    options: { id: string; peer: RpcPeer; fn: string; timeoutMs: number; timers: TimerSet; signal?: AbortSignal },
  ) {
    this.id = options.id;
    this.peer = options.peer;
    this.fn = options.fn;
    this.timeoutMs = options.timeoutMs;
    this.startedAt = options.timers.clock.now();
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const timers = options.timers;
    this.#deadlineAt = this.startedAt + this.timeoutMs;
    // keepAlive() only moves #deadlineAt; the timer re-arms itself for the rest when it fires.
    let deadline: ReturnType<TimerSet["set"]>;
    const expire = () => {
      const left = this.#deadlineAt - timers.clock.now();
      if (left > 0) {
        deadline = timers.set(expire, left);
        return;
      }
      this.settle({
        ok: false,
        error: new PeerTimeoutError({
          peer: this.peer.name,
          function: this.fn,
          timeoutMs: this.timeoutMs,
          transport: this.transport,
        }),
      });
    };
    deadline = timers.set(expire, this.timeoutMs);
    this.#timers = timers;
    this.onSettle(() => timers.clear(deadline));
    const signal = options.signal;
    if (signal) {
      const onAbort = () =>
        this.settle({ ok: false, error: abortError(signal, `call '${this.fn}' on '${this.peer.name}'`) });
      signal.addEventListener("abort", onAbort, { once: true });
      this.onSettle(() => signal.removeEventListener("abort", onAbort));
    }
  }

  /** Whether the call has ended. */
  get settled(): boolean {
    return this.#settled;
  }

  /** The error, once the call has failed (`undefined` while pending or after success). */
  get failure(): { readonly error: unknown } | undefined {
    return this.#failure;
  }

  /** Milliseconds left before the deadline (0 when past). */
  remaining(now: number): number {
    return Math.max(0, this.#deadlineAt - now);
  }

  /**
   * Moves the deadline to `timeoutMs` from now: the call is making progress (its argument
   * streams are being read), so its timeout counts from the last sign of life.
   */
  keepAlive(): void {
    if (!this.#settled) this.#deadlineAt = this.#timers.clock.now() + this.timeoutMs;
  }

  /**
   * Registers cleanup to run when the call ends (at once if it already has).
   *
   * @param cleanup Cleanup function; must not throw.
   */
  onSettle(cleanup: () => void): void {
    if (this.#settled) cleanup();
    else this.#cleanups.push(cleanup);
  }

  /**
   * Ends the call. Later calls are ignored.
   *
   * @param outcome The result or the error.
   */
  settle(outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): void {
    if (this.#settled) return;
    this.#settled = true;
    if (!outcome.ok) this.#failure = { error: outcome.error };
    const cleanups = this.#cleanups;
    for (let i = 0; i < cleanups.length; i++) cleanups[i]();
    cleanups.length = 0;
    if (outcome.ok) this.#resolve(outcome.value);
    else this.#reject(outcome.error);
  }
}
