/**
 * Handler registry and invocation: finds the handler of a request, runs it with the caller as
 * {@linkcode currentPeer}, and turns its outcome into a reply message.
 *
 * Lookup is in a `Map`, so `__proto__`, `constructor`, `prototype`, `hasOwnProperty`,
 * `toString` and every other name that was not registered answer "no such function" and never
 * reach inherited code.
 *
 * @module
 */
import { MAX_NAME_LENGTH, PLX_STREAMS } from "../wire/messages.ts";
import { MAX_NESTING_DEPTH, type StreamCollector } from "../wire/values.ts";
import type { Logger } from "../log.ts";
import { OutgoingMessage } from "../wire/codec.ts";
import type { RequestMessage } from "../wire/messages.ts";
import { type CallerInfo, type RequestSource, runWithCurrentPeer } from "./context.ts";
import { errorText, errorTypeName, remoteErrorInfo } from "./remote_errors.ts";
import type { NodeStats } from "../stats.ts";

/** A registered function. Receives the call's positional args, then its kwargs object when the caller sent any. */
// deno-lint-ignore no-explicit-any
export type Handler = (...args: any[]) => unknown;

/** Name of the built-in liveness handler (Python compatible). */
export const PING_FUNCTION = "__ping__";

/** Remote error type for a function that is not registered. */
export const NO_SUCH_FUNCTION = "NoSuchFunction";

/** Remote error type for a call refused because too many handlers are running. */
export const BUSY_ERROR = "BusyError";

/** Remote error type for a call to a node that serves nothing now (stopping, or client-only). */
export const NOT_SERVING = "NotServing";

export { errorTypeName };

/**
 * Registered functions by name.
 *
 * @example
 * ```ts
 * import { HandlerRegistry } from "./dispatch.ts";
 * const handlers = new HandlerRegistry()
 *   .register("add", (a: number, b: number) => a + b)
 *   .register("echo", (x: unknown) => x);
 * console.log(handlers.names()); // ["add", "echo"]
 * console.log(handlers.get("constructor")); // undefined
 * ```
 */
export class HandlerRegistry {
  readonly #handlers = new Map<string, Handler>();

  /**
   * Builds a registry from a record of functions (own enumerable properties only), a `Map`, or
   * another registry (shared, not copied, so later registrations are seen).
   *
   * @param handlers The handlers.
   * @returns A registry.
   */
  static from(
    handlers?: HandlerRegistry | ReadonlyMap<string, Handler> | Readonly<Record<string, Handler>>,
  ): HandlerRegistry {
    if (handlers instanceof HandlerRegistry) return handlers;
    const registry = new HandlerRegistry();
    if (handlers instanceof Map) {
      for (const [name, fn] of handlers) registry.register(name, fn);
    } else if (handlers) {
      for (const name of Object.keys(handlers)) registry.register(name, (handlers as Record<string, Handler>)[name]);
    }
    return registry;
  }

  /**
   * Registers (or replaces) a function.
   *
   * @param name Function name callers use (1-256 characters).
   * @param fn The function; may be async.
   * @returns This registry, for chaining.
   * @throws {TypeError} When `name` or `fn` is invalid.
   */
  register(name: string, fn: Handler): this {
    if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new TypeError(
        `register(): the name must be a string of 1-${MAX_NAME_LENGTH} characters, got ${String(name)}`,
      );
    }
    if (typeof fn !== "function") {
      throw new TypeError(`register(${JSON.stringify(name)}): the handler must be a function, got ${typeof fn}`);
    }
    this.#handlers.set(name, fn);
    return this;
  }

  /**
   * Removes a function.
   *
   * @param name Function name.
   * @returns Whether it was registered.
   */
  unregister(name: string): boolean {
    return this.#handlers.delete(name);
  }

  /**
   * The function registered under `name`.
   *
   * @param name Function name.
   * @returns The handler, or `undefined`.
   */
  get(name: string): Handler | undefined {
    return this.#handlers.get(name);
  }

  /**
   * Registered names, in registration order.
   *
   * @returns The names.
   */
  names(): string[] {
    return [...this.#handlers.keys()];
  }
}

/**
 * The built-in `__ping__` handler's answer, as Python PeerLink 1.2 gives it: `{ ok: true, ts }`
 * with `ts` in seconds since the Unix epoch.
 *
 * @returns The ping reply.
 *
 * @example
 * ```ts
 * import { pingReply } from "./dispatch.ts";
 * console.log(pingReply().ok); // true
 * ```
 */
export function pingReply(): { ok: true; ts: number } {
  return { ok: true, ts: Date.now() / 1000 };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** Outcome counters of a {@linkcode Dispatcher}. */
export type DispatchStats = NodeStats["handlers"];

/**
 * Runs handlers for requests.
 *
 * @example
 * ```ts
 * import { Dispatcher, HandlerRegistry } from "./dispatch.ts";
 * const dispatcher = new Dispatcher({ node: "Host", registry: new HandlerRegistry().register("add", (a, b) => a + b) });
 * const reply = await dispatcher.dispatch(
 *   { type: "request", id: "1", src: "A", dst: "Host", rpc: "add", args: [1, 2], kwargs: {} },
 *   { name: "A", address: "10.0.0.1", port: 50000, transport: "udp" },
 * );
 * console.log(reply.message); // { type: "response", id: "1", result: 3 }
 * ```
 */
export class Dispatcher {
  #node: string;
  readonly #registry: HandlerRegistry;
  readonly #logger?: Logger;
  readonly #maxDepth: number;
  readonly #maxConcurrent: number;
  readonly #maxPerCaller: number;
  readonly #streams: StreamCollector | undefined;
  /** Handlers waiting on a promise, per caller address. */
  readonly #runningBy = new Map<string, number>();
  readonly #stats: DispatchStats = {
    invocations: 0,
    failures: 0,
    unknownFunctions: 0,
    busy: 0,
    busyPerCaller: 0,
    notServing: 0,
    running: 0,
  };
  /** Why new calls are refused now (stopping, client-only), or `undefined` while serving. */
  #refusing: string | undefined;
  /** What handlers see as `currentPeer().signal`; a fresh one after {@linkcode Dispatcher.resume}. */
  #abort = new AbortController();

  /**
   * Creates a {@linkcode Dispatcher}.
   *
   * @param options Node name (for messages), registry, logger, nesting limit, the
   *   concurrency limits in all and per caller address, and where streams in results go
   *   (without it, a handler returning a stream answers with an error).
   */
  constructor(
    options: {
      node: string;
      registry: HandlerRegistry;
      logger?: Logger;
      maxDepth?: number;
      maxConcurrent?: number;
      maxPerCaller?: number;
      streams?: StreamCollector;
    },
  ) {
    this.#node = options.node;
    this.#registry = options.registry;
    this.#logger = options.logger;
    this.#maxDepth = options.maxDepth ?? MAX_NESTING_DEPTH;
    this.#maxConcurrent = options.maxConcurrent ?? Infinity;
    this.#maxPerCaller = options.maxPerCaller ?? Infinity;
    this.#streams = options.streams;
  }

  /**
   * Names the node differently in the error replies from now on.
   *
   * @param node The node's new name.
   */
  rename(node: string): void {
    this.#node = node;
  }

  /** The registry requests are looked up in. */
  get registry(): HandlerRegistry {
    return this.#registry;
  }

  /**
   * Refuses every new call from now on: each is answered at once with a `NotServing` error
   * that says why. Handlers already running go on.
   *
   * @param why The reason, e.g. `'Host' is stopping and takes no new calls`.
   */
  refuse(why: string): void {
    this.#refusing = why;
  }

  /** Serves new calls again (a restart), with a signal that is not aborted. */
  resume(): void {
    this.#refusing = undefined;
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
  }

  /**
   * Aborts the signal the running handlers see as `currentPeer().signal`.
   *
   * @param reason The abort reason (the node's `NodeStopped` error).
   */
  abortHandlers(reason: unknown): void {
    this.#abort.abort(reason);
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters.
   */
  stats(): DispatchStats {
    return { ...this.#stats };
  }

  /**
   * Runs the handler of `request` and returns the reply to send: at once when the handler
   * answered synchronously (no promise, no microtask: small calls are hot code), else a promise
   * of it. Never throws nor rejects: every failure becomes an error reply.
   *
   * @param request A validated request.
   * @param source Who called, exposed to the handler as `currentPeer()` (with the handlers' signal).
   * @returns The reply, or a promise of it.
   */
  dispatch(request: RequestMessage, source: RequestSource): OutgoingMessage | Promise<OutgoingMessage> {
    if (this.#refusing !== undefined) {
      this.#stats.notServing++;
      return OutgoingMessage.error(request.id, { type: NOT_SERVING, message: `${this.#refusing}.` });
    }
    const name = request.rpc;
    const handler = name === PING_FUNCTION && !this.#registry.get(name) ? pingReply : this.#registry.get(name);
    if (!handler) {
      this.#stats.unknownFunctions++;
      return OutgoingMessage.error(request.id, {
        type: NO_SUCH_FUNCTION,
        message: `No such function '${name}' registered on '${this.#node}'.`,
      });
    }
    if (this.#stats.running >= this.#maxConcurrent) {
      this.#stats.busy++;
      return OutgoingMessage.error(request.id, {
        type: BUSY_ERROR,
        message: `'${this.#node}' is busy: ${this.#stats.running} calls running (maxConcurrentHandlers). Retry later.`,
      });
    }
    const caller: CallerInfo = { ...source, signal: this.#abort.signal };
    const callerKey = caller.address;
    const byCaller = this.#runningBy.get(callerKey) ?? 0;
    if (byCaller >= this.#maxPerCaller) {
      this.#stats.busyPerCaller++;
      return OutgoingMessage.error(request.id, {
        type: BUSY_ERROR,
        message:
          `'${this.#node}' is busy: ${byCaller} calls from ${callerKey} running (maxHandlersPerCaller). Retry later.`,
      });
    }
    const args = Object.keys(request.kwargs).length > 0 ? [...request.args, request.kwargs] : request.args;
    this.#stats.invocations++;
    let result: unknown;
    try {
      result = runWithCurrentPeer(caller, () => handler(...args));
    } catch (error) {
      return this.#failed(request, caller, error);
    }
    return isThenable(result) ? this.#awaitResult(request, caller, result) : this.#reply(request, result);
  }

  /**
   * Waits for a handler's promise. Only handlers that are actually waiting count as running: a
   * burst of synchronous calls never looks like overload.
   */
  async #awaitResult(
    request: RequestMessage,
    caller: CallerInfo,
    pending: PromiseLike<unknown>,
  ): Promise<OutgoingMessage> {
    const callerKey = caller.address;
    this.#stats.running++;
    this.#runningBy.set(callerKey, (this.#runningBy.get(callerKey) ?? 0) + 1);
    let result: unknown;
    try {
      result = await pending;
    } catch (error) {
      return this.#failed(request, caller, error);
    } finally {
      this.#stats.running--;
      const left = (this.#runningBy.get(callerKey) ?? 1) - 1;
      if (left > 0) this.#runningBy.set(callerKey, left);
      else this.#runningBy.delete(callerKey);
    }
    return this.#reply(request, result);
  }

  /** The error reply of a handler that threw or rejected. */
  #failed(request: RequestMessage, caller: CallerInfo, error: unknown): OutgoingMessage {
    this.#stats.failures++;
    const info = remoteErrorInfo(error, request.plx !== undefined, this.#maxDepth);
    this.#logger?.debug(`handler '${request.rpc}' failed for ${caller.name}: ${info.type}: ${info.message}`);
    return OutgoingMessage.error(request.id, info, undefined, this.#maxDepth);
  }

  /** The reply carrying a handler's result, or an error reply when the result cannot be sent. */
  #reply(request: RequestMessage, result: unknown): OutgoingMessage {
    try {
      // Streams only to a caller that takes them (PeerLink-TS, on a persistent connection).
      const streams = (request.plx ?? 0) >= PLX_STREAMS ? this.#streams : undefined;
      return OutgoingMessage.response(request.id, result, this.#maxDepth, streams);
    } catch (error) {
      this.#stats.failures++;
      const message = `handler '${request.rpc}' returned a value that cannot be sent: ${errorText(error)}`;
      this.#logger?.warn(message);
      return OutgoingMessage.error(request.id, { type: "TypeError", message });
    }
  }
}
