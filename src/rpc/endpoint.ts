/**
 * {@linkcode RpcEndpoint}: the RPC engine of a PeerLink node, without discovery. It binds one
 * UDP socket and one TCP listener, serves the registered handlers on both, and calls peers
 * whose endpoints the caller supplies (the PeerLink node takes them from mDNS).
 *
 * Written only against `SocketRuntime`, `Clock` and `Logger`, so it runs on real sockets and
 * on the in-memory network alike.
 *
 * With a `secret` (or pre-derived `keys`), every message is sealed (AES-256-GCM, fresh nonce,
 * replay window): the UDP and TCP sides pass everything that enters and leaves through one
 * {@linkcode Gate} (`src/security/gate.ts`, with the admission table). Plaintext is then
 * dropped unless `allowInsecurePeers`. Every limit lives in {@linkcode RpcLimits}.
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import { RPC_TIMEOUT } from "../constants.ts";
import type { PeerDownReason } from "../discovery.ts";
import {
  BusyError,
  NodeNotStarted,
  NodeStopped,
  NotSupportedError,
  PayloadTooLarge,
  PeerLeftError,
  PortInUseError,
} from "../errors.ts";
import { InternalErrors } from "../internal_errors.ts";
import type { Logger } from "../log.ts";
import { NetError, type SocketRuntime, type StreamConnection } from "../net.ts";
import type { NodeStats } from "../stats.ts";
import { SEAL_MAX_SENDER_BYTES } from "../security/envelope.ts";
import { Gate } from "../security/gate.ts";
import { deriveKeysSync, isSecurityKeys, type SecurityKeys } from "../security/keys.ts";
import { NO_CAPABILITIES } from "../wire/capabilities.ts";
import { OutgoingMessage } from "../wire/codec.ts";
import { PLX_STREAMS, PLX_VERSION } from "../wire/messages.ts";
import type { StreamCollector } from "../wire/values.ts";
import { emptyStreamStats } from "../streams/mux.ts";
import { abortError, type CallOptions, PendingCall, perPeer, type RpcPeer } from "./call.ts";
import { CallIds } from "./call_ids.ts";
import { Dispatcher, type Handler, HandlerRegistry } from "./dispatch.ts";
import { resolveLimits, type RpcLimits } from "./limits.ts";
import { ReplyCache } from "./reply_cache.ts";
import { RequestProcessor } from "./server.ts";
import { TcpClient, type TcpClientStats } from "./tcp_client.ts";
import { emptyTcpServerStats, TcpServer } from "./tcp_server.ts";
import { TimerSet } from "./timers.ts";
import { emptyUdpStats, UdpRpc } from "./udp.ts";

export type { CallOptions, RpcPeer, Transport } from "./call.ts";

/** Options of {@linkcode RpcEndpoint}. */
export interface RpcEndpointOptions {
  /** Socket adapter (a runtime from `runtimes/`, or an in-memory host). */
  runtime: SocketRuntime;
  /** This node's name: the `src` of its requests. */
  name: string;
  /** UDP port to bind; 0 (default) lets the OS choose. */
  udpPort?: number;
  /** TCP port to listen on; 0 (default) lets the OS choose. */
  tcpPort?: number;
  /**
   * When a given port is busy: `false` (default) makes `start()` reject with
   * `PortInUseError`; `true` binds an OS-chosen port instead and logs a warning (for derived
   * ports, which discovery advertises). Per transport with `{ udp, tcp }`.
   */
  portFallback?: boolean | { udp?: boolean; tcp?: boolean };
  /** Local address to bind (default `"0.0.0.0"`). */
  address?: string;
  /** Handlers to serve: a registry (shared, so later registrations count), a Map or a record. */
  handlers?: HandlerRegistry | ReadonlyMap<string, Handler> | Readonly<Record<string, Handler>>;
  /** Limits and timings; defaults from `constants.ts`. */
  limits?: Partial<RpcLimits>;
  /**
   * Shared secret: every message is then sealed (authenticated and encrypted with keys derived
   * from it; see `src/security/`), and messages that are not sealed with it are dropped and
   * counted, never answered. Keys are derived in `start()`. Default: none, plaintext (anyone on
   * the LAN can call this node).
   */
  secret?: string;
  /** Keys from `deriveKeys(secret)`, when the caller derived them already (wins over `secret`). */
  keys?: SecurityKeys;
  /**
   * With a secret: also serve plaintext requests (answered in plaintext) and allow calls to
   * peers marked `insecure` (Python PeerLink 1.2, nodes without a secret). Those calls can be
   * read and forged by anyone on the LAN. Default false.
   */
  allowInsecurePeers?: boolean;
  /** Default call timeout in ms (default `RPC_TIMEOUT`). */
  timeout?: number;
  /** Time source (default the system clock). */
  clock?: Clock;
  /** Diagnostics. */
  logger?: Logger;
  /**
   * Serves a TCP connection that starts with an HTTP method instead of an RPC frame (the
   * node's plain HTTP file path); without it such a connection is closed as malformed.
   */
  plainHttp?: (connection: StreamConnection, first: Uint8Array) => Promise<void>;
  /**
   * Told about every call that failed (before its promise rejects), e.g. so discovery can
   * check on a peer that timed out. Must not throw.
   */
  onCallFailed?: (peer: RpcPeer, error: unknown) => void;
  /**
   * `false`: a client only. No TCP listener, and every request that reaches the UDP socket is
   * answered with a `NotServing` error; calls work as usual (replies come back to the UDP
   * socket, or over the TCP connections this endpoint opens). Default `true`.
   */
  serve?: boolean;
  /**
   * Told when `portFallback` bound an OS-chosen port because the given one was busy (instead
   * of the default warning), so the owner can explain it once. Must not throw.
   */
  onPortFallback?: (fallback: PortFallback) => void;
}

/** A busy port replaced by an OS-chosen one (see `portFallback`). */
export interface PortFallback {
  /** Which socket. */
  transport: "udp" | "tcp";
  /** The busy port. */
  requested: number;
  /** The port bound instead. */
  chosen: number;
}

/** Bound ports. */
export interface RpcPorts {
  /** UDP port. */
  udpPort: number;
  /** TCP port. */
  tcpPort: number;
}

interface Running {
  udp: UdpRpc;
  tcpServer: TcpServer;
  tcpClient: TcpClient;
  ports: RpcPorts;
}

const EMPTY_TCP_CLIENT: TcpClientStats = {
  connects: 0,
  connectFailures: 0,
  pooled: 0,
  oneShot: 0,
  resent: 0,
  unmatched: 0,
  refused: 0,
};

/**
 * Serves handlers over UDP and TCP and calls peers, given their endpoints.
 *
 * @example
 * ```ts
 * import { MemoryNetwork } from "@peerlink/peerlink/testing";
 * import { RpcEndpoint } from "./endpoint.ts";
 * import { LOCAL_CAPABILITIES } from "../wire/capabilities.ts";
 *
 * const network = new MemoryNetwork();
 * const host = new RpcEndpoint({ runtime: network.host("10.0.0.2"), name: "Host", handlers: { add: (a, b) => a + b } });
 * const worker = new RpcEndpoint({ runtime: network.host("10.0.0.1"), name: "Worker" });
 * const { udpPort, tcpPort } = await host.start();
 * await worker.start();
 * const peer = { name: "Host", address: "10.0.0.2", udpPort, tcpPort, capabilities: LOCAL_CAPABILITIES };
 * console.log(await worker.call(peer, "add", [1, 2])); // 3
 * await worker.stop();
 * await host.stop();
 * await network.close();
 * ```
 */
export class RpcEndpoint {
  /** The handlers served; register more at any time. */
  readonly handlers: HandlerRegistry;
  /** Effective limits. */
  readonly limits: Readonly<RpcLimits>;
  readonly #runtime: SocketRuntime;
  readonly #timers: TimerSet;
  readonly #logger?: Logger;
  readonly #options: RpcEndpointOptions;
  readonly #defaultTimeout: number;
  readonly #dispatcher: Dispatcher;
  readonly #cache: ReplyCache;
  readonly #processor: RequestProcessor;
  /** Calls not settled yet (a set of objects: no string hashing on the hot path). */
  readonly #pending = new Set<PendingCall>();
  readonly #calls = { started: 0, succeeded: 0, failed: 0, udp: 0, tcp: 0, retriedOverTcp: 0, busy: 0 };
  /** Pending calls per peer (name and address). */
  readonly #pendingByPeer = new Map<string, number>();
  readonly #callIds = new CallIds();
  /**
   * The security gate, created once (its replay cache outlives restarts): admits what
   * arrives, seals what leaves.
   */
  readonly #gate: Gate;
  /** Streams over all connections, both sides. */
  readonly #streamStats = emptyStreamStats();
  #nextStreamId = 0;
  /** Gives every stream this node sends its id (one counter: ids never repeat on a connection). */
  readonly #streamIds: StreamCollector = {
    add: () => (this.#nextStreamId = (this.#nextStreamId % 0xffff_ffff) + 1),
  };
  /** Exceptions that were bugs, not bad input, since construction (see `internal_errors.ts`). */
  readonly #internal: InternalErrors;
  #running: Running | undefined;
  #starting: Promise<RpcPorts> | undefined;
  #stopping: Promise<void> | undefined;
  /** Set by {@linkcode RpcEndpoint.drain} until the endpoint is stopped. */
  #draining = false;

  /**
   * Creates a stopped endpoint; {@linkcode RpcEndpoint.start} binds it.
   *
   * @param options Runtime, name, ports, handlers, limits, clock, logger.
   */
  constructor(options: RpcEndpointOptions) {
    if (typeof options.name !== "string" || options.name.length === 0) {
      throw new TypeError("RpcEndpoint: name must be a non-empty string");
    }
    this.#options = options;
    this.#runtime = options.runtime;
    this.#logger = options.logger;
    this.limits = Object.freeze(resolveLimits(options.limits));
    this.#defaultTimeout = checkTimeout(options.timeout ?? RPC_TIMEOUT, "timeout");
    this.#timers = new TimerSet(options.clock ?? systemClock);
    this.#internal = new InternalErrors(options.logger);
    this.handlers = HandlerRegistry.from(options.handlers);
    if (options.keys !== undefined && !isSecurityKeys(options.keys)) {
      throw new TypeError("RpcEndpoint: keys must come from deriveKeys(secret)");
    }
    if (options.keys === undefined && options.secret !== undefined) {
      if (typeof options.secret !== "string" || options.secret.length === 0) {
        throw new TypeError("RpcEndpoint: secret must be a non-empty string");
      }
    }
    const keys = options.keys ?? (options.secret === undefined ? undefined : deriveKeysSync(options.secret));
    if (keys && new TextEncoder().encode(options.name).length > SEAL_MAX_SENDER_BYTES) {
      throw new TypeError(`RpcEndpoint: with a secret the name must be at most ${SEAL_MAX_SENDER_BYTES} UTF-8 bytes`);
    }
    this.#gate = new Gate({
      keys,
      allowInsecurePeers: options.allowInsecurePeers === true,
      name: options.name,
      clock: this.#timers.clock,
      replayWindow: this.limits.replayWindow,
      replayCacheEntries: this.limits.replayCacheEntries,
      logger: this.#logger,
    });
    this.#dispatcher = new Dispatcher({
      node: options.name,
      registry: this.handlers,
      logger: this.#logger,
      maxDepth: this.limits.maxDepth,
      maxConcurrent: this.limits.maxConcurrentHandlers,
      maxPerCaller: this.limits.maxHandlersPerCaller,
      streams: this.#streamIds,
    });
    this.#cache = new ReplyCache({
      clock: this.#timers.clock,
      ttl: this.limits.replyCacheTtl,
      maxEntries: this.limits.replyCacheEntries,
      maxBytes: this.limits.replyCacheBytes,
      // Streams of a reply that leaves unfetched are cancelled (the processor exists by then).
      onForget: (reply) => this.#processor.forget(reply),
    });
    this.#processor = new RequestProcessor({
      dispatcher: this.#dispatcher,
      cache: this.#cache,
      limits: this.limits,
      logger: this.#logger,
    });
  }

  /** This node's name: the `src` of its requests (changes with {@linkcode RpcEndpoint.rename}). */
  get name(): string {
    return this.#gate.name;
  }

  /**
   * Takes a new name at once, without a restart and without freeing the ports: the `src` of
   * every later request, the sender of what is sealed, the `dst` sealed requests must carry,
   * and the name in error replies. For a node renamed after a name conflict.
   *
   * @param name The new name.
   * @throws {TypeError} For an empty name, or one too long to seal with a secret.
   */
  rename(name: string): void {
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError("RpcEndpoint: name must be a non-empty string");
    }
    this.#gate.rename(name);
    this.#dispatcher.rename(name);
    this.#logger?.debug(`RPC endpoint renamed to '${name}'`);
  }

  /** Bound ports while started, else `undefined`. */
  get ports(): RpcPorts | undefined {
    return this.#running ? { ...this.#running.ports } : undefined;
  }

  /** Whether this endpoint seals its messages (a secret or keys were given). */
  get secured(): boolean {
    return this.#gate.secured;
  }

  /** Whether the endpoint is started (and not stopping). */
  get started(): boolean {
    return this.#running !== undefined && this.#stopping === undefined;
  }

  /**
   * Binds UDP and TCP. A busy port rejects with {@linkcode PortInUseError} naming it, unless
   * `portFallback` allows an OS-chosen port. Calling it again while started returns the ports.
   *
   * @returns The bound ports.
   */
  start(): Promise<RpcPorts> {
    if (this.#stopping) return this.#stopping.then(() => this.start());
    if (this.#running) return Promise.resolve({ ...this.#running.ports });
    return this.#starting ??= this.#start().finally(() => (this.#starting = undefined));
  }

  async #start(): Promise<RpcPorts> {
    const address = this.#options.address ?? "0.0.0.0";
    const common = {
      runtime: this.#runtime,
      timers: this.#timers,
      limits: this.limits,
      logger: this.#logger,
      gate: this.#gate,
      streamStats: this.#streamStats,
      internal: this.#internal,
    };
    const udp = new UdpRpc({
      ...common,
      processor: this.#processor,
      onRetryOverTcp: (call) => this.#retryOverTcp(call),
    });
    const tcpServer = new TcpServer({ ...common, processor: this.#processor, plainHttp: this.#options.plainHttp });
    const serving = this.#options.serve !== false;
    if (serving) this.#dispatcher.resume();
    else this.#dispatcher.refuse(`'${this.name}' is a client only (announce: false) and serves no functions`);
    const udpPort = await this.#bind("udp", this.#options.udpPort ?? 0, (port) => udp.bind(address, port));
    let tcpPort = 0;
    try {
      if (serving) {
        tcpPort = await this.#bind("tcp", this.#options.tcpPort ?? 0, (port) => tcpServer.listen(address, port));
      }
    } catch (error) {
      await udp.close();
      throw error;
    }
    const ports = { udpPort, tcpPort };
    this.#running = { udp, tcpServer, tcpClient: new TcpClient(common), ports };
    this.#logger?.debug(
      serving
        ? `RPC '${this.name}' serving on UDP ${udpPort} and TCP ${tcpPort}`
        : `RPC '${this.name}' calling from UDP ${udpPort} (a client only: no TCP listener)`,
    );
    return { ...ports };
  }

  async #bind(transport: "udp" | "tcp", port: number, bind: (port: number) => Promise<number>): Promise<number> {
    try {
      return await bind(port);
    } catch (cause) {
      if (!(cause instanceof NetError) || cause.code !== "ADDR_IN_USE" || port === 0) throw cause;
      const fallback = this.#options.portFallback;
      const allowed = typeof fallback === "object" ? fallback[transport] : fallback;
      if (!allowed) throw new PortInUseError({ node: this.name, transport, port, cause });
      const chosen = await bind(0);
      const report = this.#options.onPortFallback;
      if (report) report({ transport, requested: port, chosen });
      else {
        this.#logger?.warn(
          `${transport.toUpperCase()} port ${port} is busy; using port ${chosen} instead (discovery advertises it)`,
        );
      }
      return chosen;
    }
  }

  /**
   * Calls `fn` on `peer`. Rejects with `PeerTimeoutError` (names peer, function and time),
   * `RemoteError` (the handler failed there), `PayloadTooLarge` (before anything is sent),
   * `PeerConnectionError`, `BusyError` (the peer is at a limit, or `maxPendingCallsPerPeer`
   * calls to it are pending here), `InsecurePeerError` (this node has a secret, the peer is
   * `insecure`, and `allowInsecurePeers` is off), `NodeStopped`, an `AbortError`, or a
   * `TypeError` for arguments JSON cannot carry (naming the path, e.g. `args[1].foo`).
   *
   * @param peer Where the peer's RPC server is, and what it understands.
   * @param fn Function name.
   * @param args Positional arguments.
   * @param options Transport, timeout, signal, kwargs.
   * @returns What the remote handler returned.
   */
  call(peer: RpcPeer, fn: string, args: readonly unknown[] = [], options: CallOptions = {}): Promise<unknown> {
    // Not async: the caller gets the call's own promise, one resolution instead of a chain.
    try {
      return this.#launch(peer, fn, args, options).promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Validates, encodes and sends a call; throws (nothing registered) when it is refused. */
  #launch(peer: RpcPeer, fn: string, args: readonly unknown[], options: CallOptions): PendingCall {
    const running = this.#running;
    if (!running || this.#stopping || this.#draining) {
      throw running ? new NodeStopped(this.name) : new NodeNotStarted(this.name);
    }
    if (typeof fn !== "string" || fn.length === 0) {
      throw new TypeError("call(): the function name must be a non-empty string");
    }
    if (!Array.isArray(args)) throw new TypeError("call(): args must be an array of positional arguments");
    const timeout = options.timeout === undefined ? this.#defaultTimeout : checkTimeout(options.timeout, "timeout");
    const transport = options.transport ?? "auto";
    if (transport !== "auto" && transport !== "udp" && transport !== "tcp") {
      throw new TypeError(`call(): transport must be "auto", "udp" or "tcp", got ${JSON.stringify(transport)}`);
    }
    const signal = options.signal;
    if (signal?.aborted) throw abortError(signal, `call '${fn}' on '${peer.name}'`);
    const sealed = this.#gate.sealsTo(peer);
    const peerKey = pendingKeyOf(peer);
    const pendingToPeer = this.#pendingByPeer.get(peerKey) ?? 0;
    if (pendingToPeer >= this.limits.maxPendingCallsPerPeer) {
      this.#calls.busy++;
      throw new BusyError(
        `call '${fn}' on '${peer.name}' refused: ${pendingToPeer} calls to it are pending (maxPendingCallsPerPeer). Await some first, or raise the limit.`,
        { peer: peer.name, function: fn },
      );
    }
    const capabilities = peer.capabilities ?? NO_CAPABILITIES;
    const extended = capabilities.persist || capabilities.binary || capabilities.dedupe;
    const id = this.#callIds.next();
    const message = OutgoingMessage.request(
      {
        id,
        src: this.#gate.name,
        dst: peer.name,
        rpc: fn,
        args: args as unknown[],
        kwargs: options.kwargs ?? {},
        // Streams in the result come on the pooled connection, used toward peers with `persist`.
        plx: capabilities.persist ? PLX_STREAMS : extended ? PLX_VERSION : undefined,
      },
      this.limits.maxDepth,
      this.#streamIds,
    );
    const streams = message.streams;
    if (streams.length > 0) {
      if (!capabilities.stream || !capabilities.persist) {
        throw new NotSupportedError(peer.name, "streams", "it is Python PeerLink 1.2 or an older PeerLink-TS");
      }
      if (transport === "udp") {
        throw new TypeError(`call(): '${fn}' has stream arguments, which go over TCP; use transport "auto" or "tcp"`);
      }
    }

    // Choose the transport and encode before registering anything, so a refusal leaks nothing.
    // The envelope counts against the datagram limit.
    const overhead = sealed ? this.#gate.overhead : 0;
    const maxDatagram = this.limits.maxDatagramBytes - overhead;
    let datagram: Uint8Array | undefined;
    if (transport !== "tcp" && streams.length === 0 && message.minDatagramBytes <= maxDatagram) {
      datagram = message.datagram();
      if (datagram.length > maxDatagram) datagram = undefined;
    }
    if (transport === "udp" && !datagram) {
      throw PayloadTooLarge.udp(message.datagram().length + overhead, this.limits.maxDatagramBytes);
    }
    const frame = datagram ? undefined : message.frame(capabilities.binary, this.limits.maxFrameBytes);

    const call = new PendingCall({ id, peer, fn, timeoutMs: timeout, timers: this.#timers, signal });
    call.sealed = sealed;
    this.#calls.started++;
    this.#pending.add(call);
    this.#pendingByPeer.set(peerKey, pendingToPeer + 1);
    call.onSettle(() => {
      this.#pending.delete(call);
      call.request = undefined;
      const left = (this.#pendingByPeer.get(peerKey) ?? 1) - 1;
      if (left > 0) this.#pendingByPeer.set(peerKey, left);
      else this.#pendingByPeer.delete(peerKey);
      if (call.failure === undefined) {
        this.#calls.succeeded++;
        return;
      }
      this.#calls.failed++;
      this.#options.onCallFailed?.(peer, call.failure.error);
    });
    if (datagram) {
      this.#calls.udp++;
      call.request = message;
      running.udp.call(call, datagram);
    } else {
      this.#calls.tcp++;
      running.tcpClient.send(call, frame!, streams);
    }
    return call;
  }

  #retryOverTcp(call: PendingCall): void {
    const message = call.request;
    const running = this.#running;
    if (!message || !running || call.settled) return;
    this.#calls.retriedOverTcp++;
    try {
      running.tcpClient.send(call, message.frame(call.peer.capabilities?.binary ?? false, this.limits.maxFrameBytes));
    } catch (error) {
      call.settle({ ok: false, error });
    }
  }

  /**
   * Fails at once every pending call to a peer that discovery reported gone, with a
   * {@linkcode PeerLeftError} that says how it left, instead of letting each wait out its
   * timeout (over UDP nothing else would tell). Calls are matched by the peer's name and
   * endpoint (address, UDP and TCP port), so calls already sent to a new instance elsewhere
   * go on.
   *
   * @param peer The peer that left, as discovery last knew it.
   * @param reason How it left.
   * @returns How many calls failed.
   */
  peerLeft(peer: Pick<RpcPeer, "name" | "address" | "udpPort" | "tcpPort">, reason: PeerDownReason): number {
    let failed = 0;
    for (const call of [...this.#pending]) {
      const to = call.peer;
      if (
        to.name !== peer.name || to.address !== peer.address || to.udpPort !== peer.udpPort ||
        to.tcpPort !== peer.tcpPort
      ) continue;
      call.settle({ ok: false, error: new PeerLeftError({ peer: peer.name, function: call.fn, reason }) });
      failed++;
    }
    const running = this.#running;
    if (running) {
      // Its streams (read from it, or sent to it) fail too: over our connection to it, and
      // over its connections to us, which a crashed peer never closes.
      const left = new PeerLeftError({ peer: peer.name, reason });
      failed += running.tcpClient.peerLeft(peer, left);
      failed += running.tcpServer.peerLeft(peer.name, peer.address, left);
    }
    return failed;
  }

  /**
   * The first half of a graceful stop: this endpoint's own pending calls reject with
   * {@linkcode NodeStopped} and it makes no new ones; new requests are answered at once with
   * a `NotServing` error; the handlers running now may finish and their replies are sent.
   * After `graceMs` it waits no longer and aborts the handlers' signal
   * (`currentPeer().signal`). Then call {@linkcode RpcEndpoint.stop}.
   *
   * @param graceMs Longest wait for the running handlers, in milliseconds (0: none).
   * @returns Whether every handler finished and was answered within the grace period.
   */
  async drain(graceMs: number): Promise<boolean> {
    const running = this.#running;
    if (!running || this.#draining || this.#stopping) return true;
    this.#draining = true;
    const stopped = new NodeStopped(this.name);
    for (const call of [...this.#pending]) call.settle({ ok: false, error: stopped });
    this.#dispatcher.refuse(`'${this.name}' is stopping and takes no new calls`);
    let finished = running.udp.inService + running.tcpServer.inService === 0;
    if (!finished && graceMs > 0) {
      let timer: ReturnType<TimerSet["set"]>;
      const expired = new Promise<false>((resolve) => (timer = this.#timers.set(() => resolve(false), graceMs)));
      const idle = Promise.all([running.udp.idle(), running.tcpServer.idle()]).then(() => true as const);
      finished = await Promise.race([idle, expired]);
      this.#timers.clear(timer!);
    }
    if (!finished) this.#dispatcher.abortHandlers(stopped);
    return finished;
  }

  /**
   * Stops serving and calling: pending calls reject with {@linkcode NodeStopped}, sockets and
   * connections close, timers are cancelled. Idempotent; `start()` may be called again after.
   * For a graceful stop, {@linkcode RpcEndpoint.drain} first.
   *
   * @returns Resolves when everything is closed.
   */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (this.#starting) return this.#starting.then(() => this.stop(), () => undefined);
    const running = this.#running;
    if (!running) return Promise.resolve();
    this.#stopping = (async () => {
      const stopped = new NodeStopped(this.name);
      for (const call of [...this.#pending]) call.settle({ ok: false, error: stopped });
      await Promise.allSettled([running.udp.close(), running.tcpServer.close(), running.tcpClient.close(stopped)]);
      this.#timers.clearAll();
      this.#cache.clear();
      this.#running = undefined;
      this.#logger?.debug(`RPC '${this.name}' stopped`);
    })().finally(() => {
      this.#stopping = undefined;
      this.#draining = false;
    });
    return this.#stopping;
  }

  /** Stops the endpoint (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters.
   */
  stats(): NodeStats {
    const running = this.#running;
    return {
      internalErrors: this.#internal.count,
      pendingCalls: this.#pending.size,
      timers: this.#timers.size,
      calls: { ...this.#calls },
      udp: running?.udp.stats() ?? emptyUdpStats(),
      tcpServer: running?.tcpServer.stats() ?? emptyTcpServerStats(),
      tcpClient: running?.tcpClient.stats() ?? { ...EMPTY_TCP_CLIENT },
      serve: this.#processor.stats(),
      handlers: this.#dispatcher.stats(),
      replyCache: { entries: this.#cache.size, bytes: this.#cache.bytes },
      security: this.#gate.stats(),
      streams: {
        ...this.#streamStats,
        open: (running?.tcpServer.openStreams ?? 0) + (running?.tcpClient.openStreams ?? 0),
      },
    };
  }
}

function checkTimeout(value: number, what: string): number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${what} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/** Key of the per-peer pending counts (name and address). */
const pendingKeyOf = perPeer((peer) => `${peer.name}\u0000${peer.address}`);
