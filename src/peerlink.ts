/**
 * {@linkcode PeerLink}: a named node on the LAN. It publishes itself and finds peers with
 * mDNS/DNS-SD (`Discovery`), serves its registered functions over UDP and TCP and calls its
 * peers' functions (`RpcEndpoint`), by name, through typed proxies, or all at once.
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import { DISCOVERY_WAIT, RPC_TIMEOUT, STOP_GRACE } from "./constants.ts";
import { derivePort, deriveRealm } from "./derive.ts";
import { Discovery, type DiscoveryOptions, type PeerDownReason, type PeerInfo } from "./discovery.ts";
import type { SocketRuntime } from "./net.ts";
import {
  NameConflict,
  NodeNotStarted,
  NodeStopped,
  PeerConnectionError,
  PeerNotFound,
  PeerTimeoutError,
} from "./errors.ts";
import { Emitter } from "./events.ts";
import { createLogger, type Logger } from "./log.ts";
import { validateLabel } from "./mdns/names.ts";
import type {
  CallOptions,
  CallResult,
  OpenStreamOptions,
  PeerDiscovery,
  PeerLinkEvents,
  PeerLinkOptions,
  PeerOptions,
  StopOptions,
  WaitForPeersOptions,
} from "./options.ts";
import { createPeerProxy, type RemoteApi } from "./proxy.ts";
import { duplexParts, type DuplexStream, type StreamHandler, streamHandler } from "./streams/duplex.ts";
import { type Handler, HandlerRegistry } from "./rpc/dispatch.ts";
import { type PortFallback, RpcEndpoint, type RpcPeer } from "./rpc/endpoint.ts";
import { runtimeFrom } from "./runtime_default.ts";
import { detectRuntime } from "./runtime_kind.ts";
import type { NodeStats } from "./stats.ts";
import {
  CAPABILITIES_TXT_KEY,
  formatCapabilities,
  LOCAL_CAPABILITIES,
  parseCapabilities,
} from "./wire/capabilities.ts";
import { VERSION } from "./version.ts";
import {
  type FileEntry,
  FILES_PREFIX,
  type GetFileOptions,
  type GetFileResult,
  NodeFiles,
  type PutAnswer,
  type PutFileOptions,
  type ShareOptions,
} from "./files/mod.ts";
import { deriveKeysSync, type SecurityKeys } from "./security/keys.ts";
import { acceptPeerWith, announcesProof, PLAINTEXT_TXT_KEY, proofTxt, takesOnlySealed } from "./security/proof.ts";

/** The target name that makes {@linkcode PeerLink.call} fan out to every known peer. */
export const ALL_PEERS = "ALL";

/** Python-style lifecycle callback for a peer that appeared. */
export type PeerUpCallback = (name: string, address: string, udpPort: number, tcpPort: number) => void;
/** Python-style lifecycle callback for a peer that left. */
export type PeerDownCallback = (name: string, reason: PeerDownReason) => void;

type State = "new" | "starting" | "started" | "stopping";

interface Running {
  rpc: RpcEndpoint;
  discovery: PeerDiscovery;
  unsubscribe: (() => void)[];
  /** Aborted on stop: ends `waitForPeers()` and fan-outs in flight. */
  stopped: AbortController;
}

/**
 * A PeerLink node.
 *
 * @example
 * ```ts
 * import { PeerLink } from "@peerlink/peerlink";
 *
 * interface HostApi { add(a: number, b: number): number }
 * await using node = await new PeerLink("Worker").register("echo", (x: unknown) => x).start();
 * await node.waitForPeers(1, { timeout: 3000 });
 * const host = node.peer<HostApi>("Host");
 * console.log(await host.add(1, 2)); // 3
 * for (const r of await node.call("ALL", "status")) console.log(r.peer, r.ok ? r.value : r.error.message);
 * ```
 */
export class PeerLink {
  readonly #requestedName: string;
  readonly #options: PeerLinkOptions;
  readonly #realm: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #timeout: number;
  readonly #stopGrace: number;
  readonly #handlers = new HandlerRegistry();
  readonly #files: NodeFiles;
  readonly #events: Emitter<PeerLinkEvents>;
  #state: State = "new";
  #running: Running | undefined;
  #starting: Promise<this> | undefined;
  #stopping: Promise<void> | undefined;
  #lifecycle: (() => void)[] = [];
  #removeSignalHandlers: (() => void) | undefined;

  /**
   * Creates a {@linkcode PeerLink} node, stopped: nothing touches the network until {@linkcode PeerLink.start}.
   *
   * @param name This node's name on the LAN (1-63 bytes of UTF-8, no dots; `"ALL"` is reserved).
   *   Peers call it by exactly this name.
   * @param options See {@linkcode PeerLinkOptions}.
   * @throws {TypeError} For an invalid name or contradictory options.
   */
  constructor(name: string, options: PeerLinkOptions = {}) {
    checkNodeName(name);
    if (options.realm !== undefined && options.secret !== undefined) {
      throw new TypeError(
        "PeerLink: give either realm or secret, not both (a secret derives the realm: deriveRealm(secret))",
      );
    }
    if (options.realm !== undefined && typeof options.realm !== "string") {
      throw new TypeError(`PeerLink: realm must be a string, got ${typeof options.realm}`);
    }
    checkPort(options.port, "port");
    checkPort(options.tcpPort, "tcpPort");
    this.#timeout = options.timeout ?? RPC_TIMEOUT;
    if (!(this.#timeout > 0) || !Number.isFinite(this.#timeout)) {
      throw new RangeError(`PeerLink: timeout must be a positive number of milliseconds, got ${options.timeout}`);
    }
    this.#stopGrace = checkGrace(options.stopGrace ?? STOP_GRACE, "stopGrace");
    this.#requestedName = name;
    this.#options = { ...options };
    this.#realm = options.secret !== undefined ? deriveRealm(options.secret) : options.realm ?? "";
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? createLogger(`peerlink ${name}`, { verbose: options.verbose });
    this.#events = new Emitter<PeerLinkEvents>(this.#logger);
    this.#files = new NodeFiles(this.#handlers, this.#clock);
  }

  /** This node's name (after `start()`, the published one, which differs only after an allowed rename). */
  get name(): string {
    return this.#running?.discovery.name ?? this.#requestedName;
  }

  /** The realm (`""` for none): the `realm` option, or `deriveRealm(secret)`. */
  get realm(): string {
    return this.#realm;
  }

  /** Whether the node is started and not stopping. */
  get started(): boolean {
    return this.#state === "started";
  }

  /**
   * The bound ports while started (the real ones, after any fallback), else `undefined`.
   * `tcpPort` is 0 for a client-only node (`announce: false`), which listens on no TCP port.
   */
  get ports(): { udpPort: number; tcpPort: number } | undefined {
    return this.#state === "started" ? this.#running?.rpc.ports : undefined;
  }

  /**
   * Registers functions peers can call: `register("add", fn)`, or several at once with
   * `register({ add, sub })`. Works before and after `start()`; a second registration of a
   * name replaces the first. Handlers receive the positional arguments, then a kwargs object
   * when a (Python) caller sent keyword arguments; `currentPeer()` tells who called.
   *
   * @param name Function name (1-256 characters), or a record of name → function.
   * @param fn The function (may be async) when `name` is a string.
   * @returns This node, for chaining.
   * @throws {TypeError} For an invalid name or a non-function.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const node = new PeerLink("Calc")
   *   .register("add", (a: number, b: number) => a + b)
   *   .register({ neg: (a: number) => -a });
   * ```
   */
  register(name: string, fn: Handler): this;
  /**
   * Registers several functions at once, by name.
   *
   * @param handlers A record of name → function.
   * @returns This node, for chaining.
   */
  register(handlers: Readonly<Record<string, Handler>>): this;
  register(name: string | Readonly<Record<string, Handler>>, fn?: Handler): this {
    if (typeof name === "object" && name !== null) {
      for (const key of Object.keys(name)) this.#handlers.register(key, name[key]);
    } else {
      this.#handlers.register(name, fn as Handler);
    }
    return this;
  }

  /**
   * Registers a stream handler: peers open a duplex byte stream to it with
   * {@linkcode PeerLink.openStream}. The handler gets the stream (`readable`: what the peer
   * writes; `writable`: what goes back) and the caller; the stream closes when the handler
   * settles, and when it throws, the peer's readable errors with a `RemoteError` carrying the
   * error. Flow control, sealing (with a secret) and failure handling are those of every stream.
   *
   * @param name The name peers open (1-256 characters).
   * @param handler Runs once per opened stream.
   * @returns This node, for chaining.
   * @throws {TypeError} For an invalid name or a non-function.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const upper = () =>
   *   new TransformStream<Uint8Array, Uint8Array>({
   *     transform: (chunk, c) => c.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())),
   *   });
   * const host = new PeerLink("Host").registerStream("shell", async (stream, caller) => {
   *   console.log("stream from", caller.name);
   *   await stream.readable.pipeThrough(upper()).pipeTo(stream.writable);
   * });
   * ```
   */
  registerStream(name: string, handler: StreamHandler): this {
    if (typeof handler !== "function") {
      throw new TypeError(`registerStream(): the handler of '${String(name)}' must be a function`);
    }
    this.#handlers.register(name, streamHandler(name, handler));
    return this;
  }

  /**
   * Opens a duplex byte stream to a peer's stream handler (see {@linkcode PeerLink.registerStream}).
   * Write to `writable`, read from `readable`; `close()` ends both ways, `closed` settles when
   * both have ended. The stream shares the persistent TCP connection with calls, with flow
   * control both ways; it fails (never hangs) when the connection breaks, the peer leaves or
   * either node stops.
   *
   * @param peer Peer name (exact).
   * @param name The stream handler's name.
   * @param options `timeout` for opening (ms, default the node's), `signal` to abort: before the
   *   stream is open it rejects the open, after it closes the stream with the signal's reason.
   * @returns The stream, once the peer's handler took it.
   * @throws {PeerNotFound} When no peer has this name; `NotSupportedError` when it cannot take
   *   streams (Python PeerLink 1.2); `RemoteError` when it has no such stream handler.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const worker = await new PeerLink("Worker").start();
   * const s = await worker.openStream("Host", "shell", { timeout: 5000 });
   * const writer = s.writable.getWriter();
   * await writer.write(new TextEncoder().encode("hello"));
   * await writer.close();
   * for await (const chunk of s.readable) console.log(new TextDecoder().decode(chunk)); // HELLO
   * await s.closed;
   * await worker.stop();
   * ```
   */
  async openStream(peer: string, name: string, options: OpenStreamOptions = {}): Promise<DuplexStream> {
    const parts = duplexParts();
    const { signal, timeout } = options;
    let answer: unknown;
    try {
      answer = await this.call(peer, name, [parts.outgoing], { transport: "tcp", timeout, signal });
    } catch (error) {
      parts.abort(error);
      throw error;
    }
    if (!(answer instanceof ReadableStream)) {
      parts.abort(new TypeError("not a stream handler"));
      throw new TypeError(
        `openStream(): '${name}' on '${peer}' is a function, not a stream handler (register it with registerStream())`,
      );
    }
    const stream = parts.connect(answer as ReadableStream<Uint8Array>, peer);
    if (signal) {
      const onAbort = () => void stream.close();
      signal.addEventListener("abort", onAbort, { once: true });
      stream.closed.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => {});
    }
    return stream;
  }

  /**
   * Removes a registered function; later calls to it answer "no such function".
   *
   * @param name Function name.
   * @returns Whether it was registered.
   */
  unregister(name: string): boolean {
    return this.#handlers.unregister(name);
  }

  /** Names of the registered functions (the built-in `__ping__` and the `__files_*` functions are answered too). */
  functions(): string[] {
    return this.#handlers.names().filter((name) => !name.startsWith(FILES_PREFIX));
  }

  /**
   * Shares a folder with the peers: they list it with `listFiles`, fetch its files with
   * `getFile` (any size, resumable, SHA-256 verified), put files into it with `putFile` when
   * it is `writable`, and fetch files of read-only shares over plain HTTP from the node's TCP
   * port (`curl http://HOST:TCPPORT/path`). Nothing outside the folder is ever served or
   * written: `..`, absolute paths, NUL, backslashes, symlinks leading out and devices are refused
   * with `FileError` code `FILE_FORBIDDEN`; names starting with `.` are hidden unless
   * `hidden: true`. With a secret every transfer is sealed. Works before and after `start()`.
   *
   * @param folder The local folder.
   * @param options `prefix` (default `"/"`), `writable` (default false), `hidden` (default
   *   false), `maxFileBytes` (default 64 GiB, for puts).
   * @returns This node, for chaining.
   * @throws {FileError} When the folder does not exist; `TypeError` for a bad prefix.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const host = new PeerLink("Host")
   *   .serveFiles("./public") //                                read-only, at "/"
   *   .serveFiles("./inbox", { prefix: "/inbox", writable: true }); // peers may put files here
   * await host.start();
   * ```
   */
  serveFiles(folder: string, options?: ShareOptions): this {
    this.#files.serve(folder, options);
    return this;
  }

  /**
   * Stops sharing the folder shared at `prefix`; transfers under way finish.
   *
   * @param prefix The prefix it was shared at (default `"/"`).
   * @returns Whether a share was there.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const host = new PeerLink("Host").serveFiles("./public");
   * host.unserveFiles("/"); // true
   * ```
   */
  unserveFiles(prefix = "/"): boolean {
    return this.#files.unserve(prefix);
  }

  /**
   * Lists a folder of a peer's shares (hidden names and transfers in progress left out; the
   * prefixes of its shares appear as folders).
   *
   * @param peer Peer name (exact).
   * @param path The folder (default `"/"`), or a file (its own entry).
   * @param options `timeout` (ms) and `signal`.
   * @returns `[{ name, size, mtime, type: "file" | "dir" }]`.
   * @throws {FileError} `FILE_NOT_FOUND`, `FILE_FORBIDDEN`; call errors as `call()` has them.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const worker = await new PeerLink("Worker").start();
   * for (const entry of await worker.listFiles("Host", "/")) console.log(entry.type, entry.name, entry.size);
   * await worker.stop();
   * ```
   */
  listFiles(peer: string, path = "/", options: { timeout?: number; signal?: AbortSignal } = {}): Promise<FileEntry[]> {
    return this.#files.list(this.#fileCall(peer), path, options);
  }

  /**
   * Fetches a file from a peer's shares into `dest`, in bounded memory whatever its size. It is
   * written to `dest + ".part"` (with the sidecar `dest + ".part.json"` naming the source) and
   * renamed to `dest` only after its SHA-256 matched the peer's; a mismatch deletes the part
   * file and fails with `FILE_CORRUPT`. An interrupted get (connection lost, either process
   * killed, `signal`) leaves the part file, and the next `getFile` to the same `dest` continues
   * after its bytes; when the file changed on the peer meanwhile it starts over and says so
   * (`restarted: true`).
   *
   * @param peer Peer name (exact).
   * @param path The file in the peer's shares.
   * @param dest A local path, or a `WritableStream<Uint8Array>` (no resume then).
   * @param options `resume` (default true), `overwrite` (default false), `onProgress`
   *   (`{ bytes, total, rate }`), `signal`, `timeout`.
   * @returns `{ bytes, sha256, resumedFrom, restarted }`.
   * @throws {FileError} `FILE_NOT_FOUND`, `FILE_FORBIDDEN`, `FILE_EXISTS`, `FILE_CORRUPT`,
   *   `FILE_CHANGED`, `FILE_IO`; call errors (`PeerConnectionError`, ...); an `AbortError`.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const worker = await new PeerLink("Worker").start();
   * const got = await worker.getFile("Host", "/videos/a.mp4", "./a.mp4", {
   *   onProgress: (p) => console.log(`${p.bytes} of ${p.total} bytes, ${Math.round(p.rate / 1e6)} MB/s`),
   * });
   * console.log(got.sha256, got.resumedFrom);
   * await worker.stop();
   * ```
   */
  getFile(
    peer: string,
    path: string,
    dest: string | WritableStream<Uint8Array>,
    options?: GetFileOptions,
  ): Promise<GetFileResult> {
    return this.#files.get(this.#fileCall(peer), peer, path, dest, options);
  }

  /**
   * Sends a local file (or a stream of `options.size` bytes) into a peer's writable share, in
   * bounded memory whatever its size. The share writes `NAME.part` with its sidecar, compares
   * the SHA-256 with the one this node sends after the bytes, and renames it into place; an
   * interrupted put resumes from the share's part file on the next `putFile` of the same
   * (unchanged) file, and starts over, saying so, when the file changed.
   *
   * @param peer Peer name (exact).
   * @param source A local path, or a `ReadableStream<Uint8Array>` with `options.size`.
   * @param path Where in the peer's shares, e.g. `"/inbox/report.pdf"`.
   * @param options `overwrite` (default false), `onProgress`, `signal`, `timeout`, `size`.
   * @returns `{ bytes, sha256, resumedFrom, restarted }`.
   * @throws {FileError} `FILE_READ_ONLY`, `FILE_EXISTS`, `FILE_TOO_LARGE`, `FILE_FORBIDDEN`,
   *   `FILE_BUSY`, `FILE_CORRUPT`, ...; call errors; an `AbortError`.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const worker = await new PeerLink("Worker").start();
   * await worker.putFile("Host", "./report.pdf", "/inbox/report.pdf", { overwrite: false });
   * await worker.stop();
   * ```
   */
  putFile(
    peer: string,
    source: string | ReadableStream<Uint8Array>,
    path: string,
    options?: PutFileOptions,
  ): Promise<PutAnswer> {
    return this.#files.put(this.#fileCall(peer), source, path, options, this.#timeout);
  }

  /** The calls of file transfers to one peer. */
  #fileCall(peer: string) {
    return (fn: string, args: unknown[], options: CallOptions) => this.call(peer, fn, args, options);
  }

  /**
   * Binds the RPC ports, publishes the node and starts discovering peers. Calling it while
   * starting or started returns the same node; after `stop()` it starts the node again.
   *
   * Rejects with `PortInUseError` when an explicit `port`/`tcpPort` is busy (a busy derived
   * port falls back to an OS-chosen one with a warning), and with a name-conflict error when
   * another node on the LAN has this name (unless `allowRename`).
   *
   * @returns This node, for `await using node = await new PeerLink("X").start()`.
   */
  start(): Promise<this> {
    if (this.#state === "started") return Promise.resolve(this);
    if (this.#state === "stopping") return this.#stopping!.then(() => this.start());
    return this.#starting ??= this.#start().finally(() => (this.#starting = undefined));
  }

  async #start(): Promise<this> {
    this.#state = "starting";
    try {
      this.#running = await this.#bringUp();
      this.#state = "started";
      const ports = this.#running.rpc.ports!;
      this.#logger.debug(
        `started as '${this.name}'${
          this.#realm ? ` in realm ${this.#realm}` : ""
        }: UDP ${ports.udpPort}, TCP ${ports.tcpPort}`,
      );
      return this;
    } catch (error) {
      this.#state = "new";
      throw error;
    }
  }

  async #bringUp(): Promise<Running> {
    const options = this.#options;
    const runtime = runtimeFrom(options.runtime);
    // An empty secret means none, as in Python PeerLink 1.2 (and deriveRealm("") is "").
    const keys = options.secret ? deriveKeysSync(options.secret) : undefined;
    const requested = this.#requestedName;
    const announce = options.announce !== false;
    const fallbacks: PortFallback[] = [];
    const rpc: RpcEndpoint = new RpcEndpoint({
      runtime,
      name: requested,
      // A client-only node is found by no one: any free port will do.
      udpPort: options.port ?? (announce ? derivePort(requested, this.#realm) : 0),
      tcpPort: options.tcpPort ?? derivePort(requested, this.#realm, "tcp"),
      portFallback: { udp: options.port === undefined, tcp: options.tcpPort === undefined },
      onPortFallback: (fallback) => fallbacks.push(fallback),
      serve: announce,
      handlers: this.#handlers,
      keys,
      allowInsecurePeers: options.allowInsecurePeers,
      timeout: this.#timeout,
      clock: this.#clock,
      logger: this.#logger,
      // A failure that suggests the peer is gone makes discovery check on it.
      onCallFailed: (peer, error) => {
        if (suggestsUnreachable(error)) this.#running?.discovery.reportUnreachable(peer.name);
      },
      limits: options.limits,
      // Read at each connection, so the limits and the name are the endpoint's own.
      plainHttp: (connection, first): Promise<void> =>
        this.#files.httpHook({
          secured: keys !== undefined,
          allowInsecurePeers: options.allowInsecurePeers === true,
          clock: this.#clock,
          readTimeout: rpc.limits.readTimeout,
          writeTimeout: rpc.limits.writeTimeout,
          name: rpc.name,
        })(connection, first),
    });
    const { udpPort, tcpPort } = await rpc.start();
    const me = { instanceId: crypto.randomUUID(), udpPort, tcpPort };
    // A rename after a conflict (while probing, or later) takes effect everywhere at once:
    // the announcement's proof covers the new name, and the RPC endpoint answers to it.
    const rename = (name: string) => {
      if (name === rpc.name) return;
      this.#logger.warn(`the name '${rpc.name}' is taken on this network; using '${name}'`);
      rpc.rename(name);
    };
    const discovery = this.#discoveryFor(runtime, keys, { name: requested, ...me }, rename);
    const unsubscribe = [
      discovery.on("peer-up", (peer) => this.#events.emit("peer-up", peer)),
      discovery.on("peer-down", (peer, reason) => {
        // Calls to a peer that left fail now, not at their timeout. A peer re-announced by the
        // same process (another address) still answers the calls it has.
        if (reason !== "replaced" || discovery.resolve(peer.name)?.instanceId !== peer.instanceId) {
          rpc.peerLeft(peer, reason);
        }
        this.#events.emit("peer-down", peer, reason);
      }),
    ];
    try {
      await discovery.start();
      rename(discovery.name); // a rename within this process is not reported as a change
    } catch (error) {
      for (const off of unsubscribe) off();
      await Promise.allSettled([discovery.stop(), rpc.stop()]);
      // A name in use explains busy derived ports too (a node of that name on this host): one message.
      throw error instanceof NameConflict ? NameConflict.forNode(requested, error) : error;
    }
    if (fallbacks.length > 0) this.#reportPortFallbacks(fallbacks, discovery.name !== requested);
    return { rpc, discovery, unsubscribe, stopped: new AbortController() };
  }

  /** One line about derived ports that were busy (none when a rename already said the name was taken). */
  #reportPortFallbacks(fallbacks: readonly PortFallback[], renamed: boolean): void {
    const busy = fallbacks.map((f) => `${f.transport.toUpperCase()} port ${f.requested}`).join(" and ");
    const chosen = fallbacks.map((f) => `${f.transport.toUpperCase()} ${f.chosen}`).join(" and ");
    const text = `${busy} (derived from the name) ${fallbacks.length > 1 ? "are" : "is"} busy; using ${chosen} ` +
      `instead (discovery advertises them). Another program holds ${fallbacks.length > 1 ? "them" : "it"}, ` +
      `or a node of this name and realm ran here before; pass port/tcpPort to choose.`;
    if (renamed) this.#logger.debug(text);
    else this.#logger.warn(text);
  }

  /** Creates the discovery that publishes `me` (with a proof of the secret, when there is one). */
  #discoveryFor(
    runtime: SocketRuntime,
    keys: SecurityKeys | undefined,
    me: { name: string; instanceId: string; udpPort: number; tcpPort: number },
    onRename: (name: string) => void,
  ): PeerDiscovery {
    const options = this.#options;
    const common = {
      // Python peers ignore these keys; `peerlink discover` shows runtime and version.
      [CAPABILITIES_TXT_KEY]: formatCapabilities(LOCAL_CAPABILITIES),
      rt: detectRuntime(),
      ver: VERSION,
    };
    // Tells nodes without the secret whether they may call this one (see takesOnlySealed).
    const plaintext: Record<string, string> = options.allowInsecurePeers ? { [PLAINTEXT_TXT_KEY]: "1" } : {};
    const discoveryOptions: DiscoveryOptions = {
      runtime,
      clock: this.#clock,
      logger: this.#logger,
      ...me,
      realm: this.#realm || undefined,
      // Python 1.2 announces on the public type even with a secret: meet it there when allowed.
      alsoPublic: keys !== undefined && options.allowInsecurePeers === true,
      // The proof covers the name, so it is made again for a new name after a rename.
      txt: keys ? (name) => ({ ...common, ...proofTxt(keys, { ...me, name }), ...plaintext }) : common,
      acceptPeer: keys ? acceptPeerWith(keys, { allowInsecurePeers: options.allowInsecurePeers }) : undefined,
      interfaces: options.interfaces,
      allowRename: options.allowRename,
      onRename,
      announce: options.announce,
      wideArea: options.wideArea,
      seeds: options.seeds,
      limits: options.discoveryLimits,
    };
    return (options.discovery ?? ((o: DiscoveryOptions) => new Discovery(o)))(discoveryOptions);
  }

  /**
   * Stops the node gracefully, in this order:
   *
   * 1. it takes no new work: its own pending calls reject with `NodeStopped` and `call()`
   *    throws it; a request from a peer is answered at once with a `NotServing` error;
   * 2. the handlers running now may finish and their replies leave, for at most the grace
   *    period (`options.grace`, else the `stopGrace` option, default `STOP_GRACE`, 5 s); when
   *    it runs out, their `currentPeer().signal` aborts and the node waits no longer;
   * 3. a goodbye tells the peers at once (their pending calls to it fail with `PeerLeftError`),
   *    and sockets and timers close.
   *
   * Idempotent (a second call returns the same promise); safe to call while starting.
   *
   * @param options `grace`: longest wait for running handlers, in ms (0: none).
   * @returns Resolves when everything is closed.
   *
   * @example
   * ```ts
   * import { currentPeer, PeerLink } from "@peerlink/peerlink";
   * const node = await new PeerLink("Worker")
   *   .register("slow", async (ms: number) => {
   *     await new Promise((resolve) => setTimeout(resolve, ms));
   *     return currentPeer()!.signal.aborted ? "cut short" : "done";
   *   })
   *   .start();
   * await node.stop({ grace: 2000 }); // a "slow" call running now may take 2 s to finish
   * ```
   */
  stop(options: StopOptions = {}): Promise<void> {
    let grace: number;
    try {
      grace = options.grace === undefined ? this.#stopGrace : checkGrace(options.grace, "stop(): grace");
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#stopping) return this.#stopping;
    if (this.#starting) return this.#starting.then(() => this.stop(options), () => undefined);
    const running = this.#running;
    if (this.#state !== "started" || !running) return Promise.resolve();
    this.#state = "stopping";
    this.#removeSignalHandlers?.();
    this.#stopping = (async () => {
      running.stopped.abort(new NodeStopped(this.name));
      if (!await running.rpc.drain(grace)) {
        const left = running.rpc.stats().handlers.running;
        const text = `stopping after the grace period of ${grace} ms with ${left} handler${
          left === 1 ? "" : "s"
        } still running; their callers get PeerLeftError. Raise stopGrace for longer handlers.`;
        // With grace 0 the caller asked not to wait: no news worth a warning.
        if (grace > 0) this.#logger.warn(text);
        else this.#logger.debug(text);
      }
      for (const off of running.unsubscribe) off();
      // Goodbye first, then close: peers learn that this node left, not that a connection broke.
      for (const close of [() => running.discovery.stop(), () => running.rpc.stop()]) {
        try {
          await close();
        } catch (error) {
          this.#logger.warn(`while stopping: ${describe(error)}`);
        }
      }
      this.#logger.debug("stopped");
    })().finally(() => {
      this.#running = undefined;
      this.#state = "new";
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /** Stops the node at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Calls `fn` on one peer, or on every known peer with target `"ALL"`.
   *
   * One peer: resolves with the handler's result; rejects with `PeerNotFound` (listing the
   * known peers) at once when no peer has exactly this name, `RemoteError` when the handler
   * threw, `PeerTimeoutError`, `PayloadTooLarge`, `NodeStopped`, an `AbortError`, or a
   * `TypeError` for arguments JSON cannot carry.
   *
   * `"ALL"`: resolves with one {@linkcode CallResult} per peer (in parallel, in peer name
   * order) and never rejects because one peer failed.
   *
   * @param target Peer name (exact), or `"ALL"`.
   * @param fn Function name.
   * @param args Positional arguments.
   * @param options Transport, timeout, signal, kwargs.
   * @returns The result, or the fan-out results.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const node = await new PeerLink("Worker").start();
   * const sum = await node.call<number>("Host", "add", [1, 2]);
   * const big = await node.call("Host", "upload", [new Uint8Array(1 << 20)], { transport: "tcp", timeout: 10_000 });
   * const all = await node.call("ALL", "status");
   * await node.stop();
   * ```
   */
  call<R = unknown>(
    target: "ALL",
    fn: string,
    args?: readonly unknown[],
    options?: CallOptions,
  ): Promise<CallResult<R>[]>;
  /**
   * Calls `fn` on the peer named exactly `target`.
   *
   * @param target Peer name.
   * @param fn Function name.
   * @param args Positional arguments.
   * @param options Transport, timeout, signal, kwargs.
   * @returns What the remote handler returned.
   */
  call<R = unknown>(target: string, fn: string, args?: readonly unknown[], options?: CallOptions): Promise<R>;
  call(target: string, fn: string, args: readonly unknown[] = [], options: CallOptions = {}): Promise<unknown> {
    // Not async: a call returns the RPC engine's promise itself (no chain of wrappers per call).
    try {
      const running = this.#require();
      if (typeof target !== "string" || target.length === 0) {
        throw new TypeError('call(): the target must be a peer name or "ALL"');
      }
      if (target === ALL_PEERS) return this.#fanOut(running, fn, args, options);
      const info = running.discovery.resolve(target);
      if (!info) throw new PeerNotFound(target, this.#knownNames(running));
      return running.rpc.call(toRpcPeer(info), fn, args, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #fanOut(running: Running, fn: string, args: readonly unknown[], options: CallOptions): Promise<CallResult[]> {
    const peers = running.discovery.peers().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return await Promise.all(peers.map(async (peer): Promise<CallResult> => {
      const started = this.#clock.now();
      try {
        // One snapshot for the whole fan-out: each peer is called as listed, without a second lookup.
        const value = await running.rpc.call(toRpcPeer(peer), fn, args, options);
        return { peer: peer.name, ok: true, value, elapsedMs: this.#clock.now() - started };
      } catch (error) {
        const reason = error instanceof Error ? error : new Error(String(error));
        return { peer: peer.name, ok: false, error: reason, elapsedMs: this.#clock.now() - started };
      }
    }));
  }

  /**
   * A proxy for calling one peer's functions as methods: `await node.peer("Host").add(1, 2)`.
   * With a type argument the methods are typed (`node.peer<HostApi>("Host")`); without, any
   * name is allowed. `isAlive()` pings the peer. The proxy checks that the peer is known now
   * and looks it up again on every call.
   *
   * @param name Peer name (exact).
   * @param options Transport, timeout and signal for every call through this proxy.
   * @returns The proxy.
   * @throws {PeerNotFound} At once when no peer has exactly this name (lists the known peers).
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * interface HostApi { add(a: number, b: number): number; getMap(): Promise<Uint8Array> }
   * const node = await new PeerLink("Worker").start();
   * const host = node.peer<HostApi>("Host");
   * const sum: number = await host.add(1, 2);
   * const map = await node.peer<HostApi>("Host", { transport: "tcp", timeout: 2000 }).getMap();
   * await node.stop();
   * ```
   */
  peer<T = Record<string, Handler>>(name: string, options: PeerOptions = {}): RemoteApi<T> {
    const running = this.#require();
    if (!running.discovery.resolve(name)) throw new PeerNotFound(name, this.#knownNames(running));
    const bound: CallOptions = { transport: options.transport, timeout: options.timeout, signal: options.signal };
    return createPeerProxy<T>((fn, args) => this.call(name, fn, args, bound), name);
  }

  /**
   * The known peers now (a snapshot; this node is never in it): name, address, UDP and TCP
   * ports, `lastSeen`, `instanceId` and what the peer advertised.
   *
   * @returns The peers, sorted by name; empty when not started.
   */
  peers(): PeerInfo[] {
    const peers = this.#state === "started" ? this.#running?.discovery.peers() ?? [] : [];
    return peers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Waits until at least `count` peers are known.
   *
   * @param count How many peers to wait for.
   * @param options `timeout` in ms (default `DISCOVERY_WAIT`, 3000) and `signal`.
   * @returns The known peers.
   * @throws When the time runs out first (the error says how many were found), on abort, or
   *   with `NodeStopped` when the node stops meanwhile.
   */
  async waitForPeers(count: number, options: WaitForPeersOptions = {}): Promise<PeerInfo[]> {
    const running = this.#require();
    const signals = [running.stopped.signal, ...(options.signal ? [options.signal] : [])];
    try {
      return await running.discovery.waitForPeers(count, {
        timeout: options.timeout ?? DISCOVERY_WAIT,
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      if (running.stopped.signal.aborted && !options.signal?.aborted) throw new NodeStopped(this.name);
      throw error;
    }
  }

  /**
   * Listens for peers coming and going. Listeners added before `start()` see every peer.
   *
   * @param event `"peer-up"` or `"peer-down"`.
   * @param listener Gets the peer (and for `peer-down` the reason: `goodbye`, `expired`, `replaced`).
   * @returns A function that removes the listener.
   *
   * @example
   * ```ts
   * import { PeerLink } from "@peerlink/peerlink";
   * const node = new PeerLink("Watcher");
   * node.on("peer-up", (p) => console.log(`${p.name} up at ${p.address}`));
   * node.on("peer-down", (p, reason) => console.log(`${p.name} down (${reason})`));
   * ```
   */
  on<K extends keyof PeerLinkEvents>(event: K, listener: (...args: PeerLinkEvents[K]) => void): () => void {
    if (event !== "peer-up" && event !== "peer-down") {
      throw new TypeError(`on(): unknown event ${JSON.stringify(event)}; use "peer-up" or "peer-down"`);
    }
    return this.#events.on(event, listener);
  }

  /**
   * Removes a listener added with {@linkcode PeerLink.on}.
   *
   * @param event Event name.
   * @param listener The listener.
   */
  off<K extends keyof PeerLinkEvents>(event: K, listener: (...args: PeerLinkEvents[K]) => void): void {
    this.#events.off(event, listener);
  }

  /**
   * Python-style lifecycle callbacks; replaces the ones set before (pass nothing to clear).
   *
   * @param onUp `(name, address, udpPort, tcpPort)` when a peer appears.
   * @param onDown `(name, reason)` when a peer leaves.
   * @returns This node.
   */
  setPeerLifecycle(onUp?: PeerUpCallback, onDown?: PeerDownCallback): this {
    for (const off of this.#lifecycle) off();
    this.#lifecycle = [];
    if (onUp) this.#lifecycle.push(this.on("peer-up", (p) => onUp(p.name, p.address, p.udpPort, p.tcpPort)));
    if (onDown) this.#lifecycle.push(this.on("peer-down", (p, reason) => onDown(p.name, reason)));
    return this;
  }

  /**
   * Stops the node (with goodbye, so peers see it leave at once) when the process gets
   * SIGINT or SIGTERM, then exits with 130 or 143 unless `exit: false`.
   *
   * @param options `exit: false` only stops the node and leaves the process running.
   * @returns A function that removes the signal handlers (stop() removes them too).
   */
  stopOnSignals(options: { exit?: boolean } = {}): () => void {
    this.#removeSignalHandlers?.();
    const proc = (globalThis as { process?: SignalProcess }).process;
    if (!proc || typeof proc.on !== "function") return () => {};
    const handlers = SIGNALS.map(([signal, code]) => {
      const handler = () => {
        remove();
        this.stop().finally(() => {
          if (options.exit !== false) proc.exit(code);
        });
      };
      proc.on(signal, handler);
      return [signal, handler] as const;
    });
    const remove = () => {
      for (const [signal, handler] of handlers) proc.off(signal, handler);
      if (this.#removeSignalHandlers === remove) this.#removeSignalHandlers = undefined;
    };
    this.#removeSignalHandlers = remove;
    return remove;
  }

  /**
   * Counters of the RPC engine (pending calls, timers, calls per transport, sockets), for
   * diagnostics and tests; `internalErrors` also counts discovery's.
   *
   * @returns The counters, or `undefined` when not started.
   */
  stats(): NodeStats | undefined {
    const running = this.#running;
    if (!running) return undefined;
    const stats = running.rpc.stats();
    stats.internalErrors += running.discovery.internalErrors ?? 0;
    return stats;
  }

  #require(): Running {
    if (this.#state === "stopping") throw new NodeStopped(this.name);
    if (this.#state !== "started" || !this.#running) throw new NodeNotStarted(this.name);
    return this.#running;
  }

  #knownNames(running: Running): string[] {
    return running.discovery.peers().map((p) => p.name).sort();
  }
}

const SIGNALS = [["SIGINT", 130], ["SIGTERM", 143]] as const;

interface SignalProcess {
  on(signal: string, fn: () => void): void;
  off(signal: string, fn: () => void): void;
  exit(code: number): void;
}

/** RPC views of discovered peers: a `PeerInfo` is an immutable snapshot, so its view is built once. */
const rpcPeers = new WeakMap<PeerInfo, RpcPeer>();

/** The RPC engine's view of a discovered peer (capabilities parsed once per snapshot). */
function toRpcPeer(info: PeerInfo): RpcPeer {
  let peer = rpcPeers.get(info);
  if (!peer) {
    peer = {
      name: info.name,
      address: info.address,
      udpPort: info.udpPort,
      tcpPort: info.tcpPort,
      capabilities: parseCapabilities(info.txt?.[CAPABILITIES_TXT_KEY]),
      // No proof in its TXT: the peer has no secret (e.g. Python 1.2) and talks plaintext.
      insecure: !announcesProof(info),
      sealedOnly: takesOnlySealed(info),
    };
    rpcPeers.set(info, peer);
  }
  return peer;
}

/** Failures after which discovery should check whether the peer is still there. */
function suggestsUnreachable(error: unknown): boolean {
  return error instanceof PeerTimeoutError ||
    (error instanceof PeerConnectionError && error.code === "CONNECTION_FAILED");
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function checkNodeName(name: unknown): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`PeerLink: the node name must be a string, got ${typeof name}`);
  }
  try {
    validateLabel(name, "node name");
  } catch (error) {
    throw new TypeError(`PeerLink: ${(error as Error).message} (the name is published as one mDNS label)`);
  }
  if (name === ALL_PEERS) {
    throw new TypeError(`PeerLink: "${ALL_PEERS}" is reserved (call("ALL", ...) fans out to every peer)`);
  }
}

function checkGrace(grace: unknown, what: string): number {
  if (typeof grace !== "number" || !(grace >= 0) || !Number.isFinite(grace)) {
    throw new RangeError(`PeerLink: ${what} must be a number of milliseconds >= 0, got ${String(grace)}`);
  }
  return grace;
}

function checkPort(port: unknown, what: string): void {
  if (port === undefined) return;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`PeerLink: ${what} must be an integer 0-65535, got ${String(port)}`);
  }
}
