/**
 * {@linkcode SwarmNode}: a PeerLink node in one call — handlers in, started node out,
 * optionally after its first peers were found. Start failures say which node, which ports,
 * and what to do.
 *
 * @module
 */
import { derivePort } from "./derive.ts";
import { PeerLinkError, type PeerLinkErrorCode } from "./errors.ts";
import type { PeerLinkOptions } from "./options.ts";
import { PeerLink } from "./peerlink.ts";
import type { Handler } from "./rpc/dispatch.ts";

/** Options of {@linkcode SwarmNode}: those of `PeerLink` plus handlers and an optional wait. */
export interface SwarmNodeOptions extends PeerLinkOptions {
  /** Functions to register, by name. */
  handlers?: Readonly<Record<string, Handler>> | ReadonlyMap<string, Handler>;
  /** After starting, wait until this many peers are known (default 0: do not wait). */
  waitForPeers?: number;
  /** How long to wait for them, ms (default `DISCOVERY_WAIT`, 3000). */
  waitTimeout?: number;
}

/**
 * `start()` of a {@linkcode SwarmNode} failed. The message names the node, its ports, the
 * cause and what to do; `code` is the cause's code when it has one, `cause` the original error.
 *
 * @example
 * ```ts
 * import { SwarmNode, SwarmStartError } from "@peerlink/peerlink";
 * try {
 *   await SwarmNode.start("Worker", { port: 5000 });
 * } catch (err) {
 *   if (err instanceof SwarmStartError) console.error(err.message, err.udpPort);
 * }
 * ```
 */
export class SwarmStartError extends PeerLinkError {
  /** The node that failed to start. */
  readonly node: string;
  /** The UDP port it tried (explicit or derived). */
  readonly udpPort: number;
  /** The TCP port it tried (explicit or derived). */
  readonly tcpPort: number;

  /**
   * Creates a {@linkcode SwarmStartError}.
   *
   * @param details Node, ports, and the original error as `cause`.
   */
  constructor(details: { node: string; udpPort: number; tcpPort: number; cause: unknown }) {
    const cause = details.cause;
    const causeText = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const code = cause instanceof PeerLinkError ? cause.code : "OTHER";
    super(
      `SwarmNode '${details.node}' could not start (UDP port ${details.udpPort}, TCP port ${details.tcpPort}): ` +
        `${causeText}${advice(cause, code)}`,
      code as PeerLinkErrorCode,
      { cause },
    );
    this.name = "SwarmStartError";
    this.node = details.node;
    this.udpPort = details.udpPort;
    this.tcpPort = details.tcpPort;
  }
}

/** What to do, when the cause's own message does not already say it. */
function advice(cause: unknown, code: string): string {
  const text = cause instanceof Error ? cause.message : "";
  if (code === "PORT_IN_USE") return "";
  if (cause instanceof PeerLinkError && cause.code === "NAME_CONFLICT") {
    return /allowRename/.test(text) ? "" : " Choose another node name, or pass allowRename: true to take 'Name (2)'.";
  }
  if (code === "TIMEOUT") {
    return " Check that the other nodes are running in the same realm (same secret) and on this network.";
  }
  return "";
}

/**
 * A {@linkcode PeerLink} node set up from one options object: registers `handlers`, and
 * {@linkcode SwarmNode.start} (or the static {@linkcode SwarmNode.start}) binds, publishes
 * and optionally waits for `waitForPeers` peers. If that wait runs out, the node is stopped
 * again and `start()` rejects, so a failed start leaves nothing open.
 *
 * @example
 * ```ts
 * import { SwarmNode } from "@peerlink/peerlink";
 * await using node = await SwarmNode.start("Worker", {
 *   handlers: { add: (a: number, b: number) => a + b },
 *   waitForPeers: 1,
 * });
 * console.log(node.peers().map((p) => p.name));
 * ```
 */
export class SwarmNode extends PeerLink {
  readonly #waitFor: number;
  readonly #waitTimeout?: number;
  readonly #udpPort: number;
  readonly #tcpPort: number;

  /**
   * Creates a {@linkcode SwarmNode} and registers its handlers; nothing is bound until `start()`.
   *
   * @param name Node name.
   * @param options PeerLink options plus `handlers`, `waitForPeers`, `waitTimeout`.
   */
  constructor(name: string, options: SwarmNodeOptions = {}) {
    const { handlers, waitForPeers, waitTimeout, ...rest } = options;
    super(name, rest);
    if (waitForPeers !== undefined && (!Number.isInteger(waitForPeers) || waitForPeers < 0)) {
      throw new RangeError(`SwarmNode: waitForPeers must be a whole number >= 0, got ${String(waitForPeers)}`);
    }
    this.#waitFor = waitForPeers ?? 0;
    this.#waitTimeout = waitTimeout;
    this.#udpPort = rest.port ?? derivePort(name, this.realm);
    this.#tcpPort = rest.tcpPort ?? derivePort(name, this.realm, "tcp");
    if (handlers instanceof Map) {
      for (const [fnName, fn] of handlers) this.register(fnName, fn);
    } else if (handlers) {
      this.register(handlers as Readonly<Record<string, Handler>>);
    }
  }

  /**
   * Creates and starts a node in one call.
   *
   * @param name Node name.
   * @param options PeerLink options plus `handlers`, `waitForPeers`, `waitTimeout`.
   * @returns The started node.
   * @throws {SwarmStartError} When binding, publishing or the wait for peers fails.
   */
  static start(name: string, options: SwarmNodeOptions = {}): Promise<SwarmNode> {
    return new SwarmNode(name, options).start();
  }

  /**
   * Starts the node, then waits for `waitForPeers` peers when asked to.
   *
   * @returns This node.
   * @throws {SwarmStartError} Naming the node, its ports, the cause and what to do.
   */
  override async start(): Promise<this> {
    const wasStarted = this.started;
    try {
      await super.start();
    } catch (cause) {
      throw new SwarmStartError({ node: this.name, udpPort: this.#udpPort, tcpPort: this.#tcpPort, cause });
    }
    if (this.#waitFor > 0 && !wasStarted) {
      try {
        await this.waitForPeers(this.#waitFor, { timeout: this.#waitTimeout });
      } catch (cause) {
        const ports = this.ports ?? { udpPort: this.#udpPort, tcpPort: this.#tcpPort };
        await this.stop();
        throw new SwarmStartError({ node: this.name, ...ports, cause });
      }
    }
    return this;
  }
}
