/**
 * The errors PeerLink throws. Every one is an `instanceof` {@linkcode PeerLinkError}, has a
 * `name` equal to its class name and a stable machine-readable `code`, and its message says
 * what happened and what to do. The names and texts follow Python PeerLink 1.2 where it had
 * them (`PeerNotFound: Peer 'Host' not found.  Known: ['NodeA', 'Worker1']`).
 *
 * @module
 */

import type { PeerDownReason } from "./discovery.ts";
import type { NetErrorCode } from "./net.ts";

/**
 * Stable machine-readable reason of a {@linkcode PeerLinkError}: the library's own codes, and
 * the socket codes of a {@linkcode NetError} (`ADDR_IN_USE`, `CONNECTION_REFUSED`, ...).
 */
export type PeerLinkErrorCode =
  | "PEER_NOT_FOUND"
  | "PEER_LEFT"
  | "TIMEOUT"
  | "REMOTE_ERROR"
  | "PAYLOAD_TOO_LARGE"
  | "BUSY"
  | "NODE_STOPPED"
  | "NOT_STARTED"
  | "PORT_IN_USE"
  | "CONNECTION_FAILED"
  | "CONNECTION_LOST"
  | "PROTOCOL_ERROR"
  | "BAD_MESSAGE"
  | "INSECURE_PEER"
  | "NAME_CONFLICT"
  | "NOT_SUPPORTED"
  // Wide-area DNS-SD (src/dnssd): bad settings, a silent server, a refused update, a taken name.
  | "DNS_CONFIG"
  | "DNS_NO_ANSWER"
  | "DNS_REFUSED"
  | "DNS_NAME_IN_USE"
  // mDNS input: a name or label, TXT data, or a record that cannot be put on the wire.
  | "INVALID_NAME"
  | "INVALID_TXT"
  | "CANNOT_ENCODE"
  | NetErrorCode
  | FileErrorCode
  | "OTHER";

/** Transport a call or a failure happened on. */
export type WireTransport = "udp" | "tcp";

/**
 * Formats a list of names as Python prints a list of strings, e.g. `['NodeA', 'Worker1']`,
 * so messages read the same as in Python PeerLink 1.2.
 */
function pythonList(names: readonly string[]): string {
  return `[${names.map(pythonString).join(", ")}]`;
}

/** A string as Python's `repr()` shows it: single quotes unless the text holds one and no double quote. */
function pythonString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
  return quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote;
}

/**
 * Base class of every PeerLink error. Catch this to handle them all.
 *
 * @example
 * ```ts
 * import { PeerLinkError } from "@peerlink/peerlink";
 * try {
 *   throw new PeerLinkError("something failed", "OTHER");
 * } catch (err) {
 *   if (err instanceof PeerLinkError) console.log(err.code); // "OTHER"
 * }
 * ```
 */
export class PeerLinkError extends Error {
  /** Stable machine-readable reason. */
  readonly code: PeerLinkErrorCode;

  /**
   * Creates a {@linkcode PeerLinkError}.
   *
   * @param message What happened and what to do.
   * @param code Stable reason code (default `"OTHER"`).
   * @param options Underlying cause, if any.
   */
  constructor(message: string, code: PeerLinkErrorCode = "OTHER", options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PeerLinkError";
    this.code = code;
  }
}

/**
 * The named peer is not known (not discovered yet, expired, or misspelled). Lists the peers
 * that are known. Names are matched exactly.
 *
 * @example
 * ```ts
 * import { PeerNotFound } from "@peerlink/peerlink";
 * const err = new PeerNotFound("Host", ["NodeA", "Worker1"]);
 * console.log(String(err)); // PeerNotFound: Peer 'Host' not found.  Known: ['NodeA', 'Worker1']
 * ```
 */
export class PeerNotFound extends PeerLinkError {
  /** The name that was asked for. */
  readonly peer: string;
  /** Names of the peers known at the time. */
  readonly known: readonly string[];

  /**
   * Creates a {@linkcode PeerNotFound}.
   *
   * @param peer The name that was asked for.
   * @param known Names of the peers known at the time.
   */
  constructor(peer: string, known: readonly string[] = []) {
    super(`Peer ${pythonString(peer)} not found.  Known: ${pythonList(known)}`, "PEER_NOT_FOUND");
    this.name = "PeerNotFound";
    this.peer = peer;
    this.known = [...known];
  }
}

/**
 * Alias of {@linkcode PeerNotFound}, the name Python PeerLink also exports.
 *
 * @example
 * ```ts
 * import { PeerNotFound, PeerNotFoundError } from "@peerlink/peerlink";
 * console.log(new PeerNotFoundError("X") instanceof PeerNotFound); // true
 * ```
 */
export const PeerNotFoundError: typeof PeerNotFound = PeerNotFound;
/** Alias of {@linkcode PeerNotFound}. */
export type PeerNotFoundError = PeerNotFound;

/**
 * A call got no reply in time. Names the peer, the function, the time waited and the transport.
 *
 * @example
 * ```ts
 * import { PeerTimeoutError } from "@peerlink/peerlink";
 * const err = new PeerTimeoutError({ peer: "Host", function: "add", timeoutMs: 5000, transport: "udp" });
 * console.log(err.message); // Call 'add' on 'Host' timed out after 5000 ms (udp). ...
 * ```
 */
export class PeerTimeoutError extends PeerLinkError {
  /** The peer called. */
  readonly peer: string;
  /** The function called. */
  readonly function: string;
  /** How long the call waited, in milliseconds. */
  readonly timeoutMs: number;
  /** The transport the call was waiting on, when known. */
  readonly transport?: WireTransport;

  /**
   * Creates a {@linkcode PeerTimeoutError}.
   *
   * @param details The peer, function, time waited and transport.
   */
  constructor(details: { peer: string; function: string; timeoutMs: number; transport?: WireTransport }) {
    const via = details.transport ? ` (${details.transport})` : "";
    super(
      `Call ${pythonString(details.function)} on ${
        pythonString(details.peer)
      } timed out after ${details.timeoutMs} ms${via}. ` +
        `Check that the peer is running and reachable; for a slow handler pass a longer timeout.`,
      "TIMEOUT",
    );
    this.name = "PeerTimeoutError";
    this.peer = details.peer;
    this.function = details.function;
    this.timeoutMs = details.timeoutMs;
    this.transport = details.transport;
  }
}

/**
 * The remote handler failed (it threw, or the function does not exist there). Carries the
 * remote error's type name and message as the peer sent them and, from a PeerLink-TS peer,
 * the thrown error's `code` and its other own properties that JSON can carry
 * (`remoteCode`, `remoteData`); a Python peer sends only type and message.
 *
 * @example
 * ```ts
 * import { RemoteError } from "@peerlink/peerlink";
 * const err = new RemoteError({
 *   peer: "Host",
 *   function: "reserve",
 *   remoteType: "QuotaError",
 *   remoteMessage: "quota exceeded",
 *   remoteCode: "E_QUOTA",
 *   remoteData: { limit: 10 },
 * });
 * console.log(err.message); // 'reserve' on 'Host' failed: QuotaError: quota exceeded
 * console.log(err.remoteCode, err.remoteData.limit); // "E_QUOTA" 10
 * ```
 */
export class RemoteError extends PeerLinkError {
  /** The peer that answered with the error. */
  readonly peer: string;
  /** The function called. */
  readonly function: string;
  /** The remote error's type name, e.g. `"TypeError"`, `"ZeroDivisionError"`, `"NoSuchFunction"`. */
  readonly remoteType: string;
  /** The remote error's message. */
  readonly remoteMessage: string;
  /**
   * The thrown error's own `code` (`err.code = "E_QUOTA"` in the handler), when it had a string
   * one and the peer is PeerLink-TS. `code` itself is always `"REMOTE_ERROR"`.
   */
  readonly remoteCode?: string;
  /**
   * The thrown error's other own enumerable properties that JSON can carry (`{ limit: 10 }`
   * for `Object.assign(new Error("..."), { limit: 10 })`), from a PeerLink-TS peer; else `{}`.
   */
  readonly remoteData: Readonly<Record<string, unknown>>;

  /**
   * Creates a {@linkcode RemoteError}.
   *
   * @param details The peer, the function, the remote error's type and message, and its code
   *   and data when the peer sent them.
   */
  constructor(details: {
    peer: string;
    function: string;
    remoteType: string;
    remoteMessage: string;
    remoteCode?: string;
    remoteData?: Readonly<Record<string, unknown>>;
  }) {
    super(
      `${pythonString(details.function)} on ${
        pythonString(details.peer)
      } failed: ${details.remoteType}: ${details.remoteMessage}`,
      "REMOTE_ERROR",
    );
    this.name = "RemoteError";
    this.peer = details.peer;
    this.function = details.function;
    this.remoteType = details.remoteType;
    this.remoteMessage = details.remoteMessage;
    if (details.remoteCode !== undefined) this.remoteCode = details.remoteCode;
    this.remoteData = details.remoteData ?? {};
  }
}

/**
 * The peer left the network while a call to it was pending, so the call fails at once instead
 * of waiting out its timeout: discovery saw it go. `reason` says how: `"goodbye"` (it stopped
 * and said so), `"expired"` (it went silent: it crashed, or its link went down), `"replaced"`
 * (it restarted: a new instance of that name took its place). The handler may or may not have
 * run; call again once the peer is back.
 *
 * @example
 * ```ts
 * import { PeerLeftError } from "@peerlink/peerlink";
 * const err = new PeerLeftError({ peer: "Host", function: "render", reason: "goodbye" });
 * console.log(err.code, err.reason); // "PEER_LEFT" "goodbye"
 * ```
 */
export class PeerLeftError extends PeerLinkError {
  /** The peer that left. */
  readonly peer: string;
  /** The function that was pending; `""` for a stream with the peer that was open. */
  readonly function: string;
  /** How discovery saw it leave. */
  readonly reason: PeerDownReason;

  /**
   * Creates a {@linkcode PeerLeftError}.
   *
   * @param details The peer, the function pending (none: a stream was open), and how the peer left.
   */
  constructor(details: { peer: string; function?: string; reason: PeerDownReason }) {
    const what = details.function
      ? `while ${
        pythonString(details.function)
      } was pending. It may or may not have run the call; call again once the peer is back.`
      : "while a stream with it was open. Open it again once the peer is back.";
    super(`${pythonString(details.peer)} left the network (${LEFT_BECAUSE[details.reason]}) ${what}`, "PEER_LEFT");
    this.name = "PeerLeftError";
    this.peer = details.peer;
    this.function = details.function ?? "";
    this.reason = details.reason;
  }
}

/** How each peer-down reason reads in a {@linkcode PeerLeftError}. */
const LEFT_BECAUSE: Readonly<Record<PeerDownReason, string>> = {
  goodbye: "goodbye: it stopped",
  expired: "expired: it went silent, it crashed or lost its link",
  replaced: "replaced: it restarted as a new instance",
};

/**
 * A message is larger than its transport allows. Thrown by the sender before any byte is sent,
 * or reported for a received TCP frame header above the limit.
 *
 * @example
 * ```ts
 * import { MAX_SAFE_UDP_PAYLOAD } from "@peerlink/peerlink";
 * import { PayloadTooLarge } from "@peerlink/peerlink";
 * const err = PayloadTooLarge.udp(2048, MAX_SAFE_UDP_PAYLOAD);
 * console.log(String(err));
 * // PayloadTooLarge: UDP send: 2048 bytes > MAX_SAFE_UDP_PAYLOAD (1200). Use TCP transport for large payloads.
 * ```
 */
export class PayloadTooLarge extends PeerLinkError {
  /** Transport whose limit was exceeded. */
  readonly transport: WireTransport;
  /** Size in bytes. */
  readonly size: number;
  /** The limit in bytes. */
  readonly limit: number;

  /**
   * Prefer the helpers {@linkcode PayloadTooLarge.udp}, {@linkcode PayloadTooLarge.tcp} and
   * {@linkcode PayloadTooLarge.tcpReceive}, which word the message.
   *
   * @param details Transport, size, limit and the full message.
   */
  constructor(details: { transport: WireTransport; size: number; limit: number; message: string }) {
    super(details.message, "PAYLOAD_TOO_LARGE");
    this.name = "PayloadTooLarge";
    this.transport = details.transport;
    this.size = details.size;
    this.limit = details.limit;
  }

  /**
   * A UDP datagram over the safe size.
   *
   * @param size Encoded size in bytes.
   * @param limit The limit (normally `MAX_SAFE_UDP_PAYLOAD`).
   * @returns The error.
   */
  static udp(size: number, limit: number): PayloadTooLarge {
    return new PayloadTooLarge({
      transport: "udp",
      size,
      limit,
      message: `UDP send: ${size} bytes > MAX_SAFE_UDP_PAYLOAD (${limit}). Use TCP transport for large payloads.`,
    });
  }

  /**
   * A TCP message over the frame limit.
   *
   * @param size Size in bytes: the JSON text, or the total of the binary values when `binary`.
   * @param limit The limit (normally `TCP_MAX_FRAME`).
   * @param binary Whether `size` counts raw binary values rather than JSON text.
   * @returns The error.
   */
  static tcp(size: number, limit: number, binary = false): PayloadTooLarge {
    const what = binary ? `${size} bytes of binary data` : `${size} bytes`;
    return new PayloadTooLarge({
      transport: "tcp",
      size,
      limit,
      message: `TCP send: ${what} > TCP_MAX_FRAME (${limit}). ` +
        `Split the payload into smaller calls, or raise maxFrameBytes on both nodes.`,
    });
  }

  /**
   * A received TCP frame header announcing more than the receiver accepts.
   *
   * @param size Length announced by the header.
   * @param limit Largest frame accepted.
   * @returns The error.
   */
  static tcpReceive(size: number, limit: number): PayloadTooLarge {
    return new PayloadTooLarge({
      transport: "tcp",
      size,
      limit,
      message: `TCP receive: frame header announces ${size} bytes > limit (${limit}). ` +
        `The sender is not PeerLink or uses a larger maxFrameBytes; closing the connection.`,
    });
  }
}

/**
 * The peer (or this node) is at a limit (concurrent handlers, pending calls, connections) and
 * refused the call instead of queueing it. Retry later.
 *
 * @example
 * ```ts
 * import { BusyError } from "@peerlink/peerlink";
 * const err = new BusyError("Host is busy: 64 handlers running (maxConcurrentHandlers). Retry later.", { peer: "Host" });
 * console.log(err.code); // "BUSY"
 * ```
 */
export class BusyError extends PeerLinkError {
  /** The busy peer, when the peer refused. */
  readonly peer?: string;
  /** The function called, when known. */
  readonly function?: string;

  /**
   * Creates a {@linkcode BusyError}.
   *
   * @param message What limit was hit and what to do.
   * @param details The peer and function involved.
   */
  constructor(message: string, details: { peer?: string; function?: string } = {}) {
    super(message, "BUSY");
    this.name = "BusyError";
    this.peer = details.peer;
    this.function = details.function;
  }
}

/**
 * The node was stopped (or is stopping): the call was cancelled, or the node cannot call now.
 *
 * @example
 * ```ts
 * import { NodeStopped } from "@peerlink/peerlink";
 * console.log(new NodeStopped("Worker").message); // node stopped: 'Worker' is shut down ...
 * ```
 */
export class NodeStopped extends PeerLinkError {
  /** The stopped node's name. */
  readonly node: string;

  /**
   * Creates a {@linkcode NodeStopped}.
   *
   * @param node The stopped node's name.
   */
  constructor(node: string) {
    super(
      `node stopped: ${
        pythonString(node)
      } is shut down, so the call was cancelled. Start the node again to make calls.`,
      "NODE_STOPPED",
    );
    this.name = "NodeStopped";
    this.node = node;
  }
}

/**
 * The node is not started yet; call `start()` first.
 *
 * @example
 * ```ts
 * import { NodeNotStarted } from "@peerlink/peerlink";
 * console.log(new NodeNotStarted("Worker").code); // "NOT_STARTED"
 * ```
 */
export class NodeNotStarted extends PeerLinkError {
  /** The node's name. */
  readonly node: string;

  /**
   * Creates a {@linkcode NodeNotStarted}.
   *
   * @param node The node's name.
   */
  constructor(node: string) {
    super(`${pythonString(node)} is not started: await start() before making calls.`, "NOT_STARTED");
    this.name = "NodeNotStarted";
    this.node = node;
  }
}

/**
 * A port PeerLink was asked to bind is taken by another socket.
 *
 * @example
 * ```ts
 * import { PortInUseError } from "@peerlink/peerlink";
 * const err = new PortInUseError({ node: "Worker", transport: "udp", port: 50000 });
 * console.log(err.message); // UDP port 50000 of 'Worker' is already in use. ...
 * ```
 */
export class PortInUseError extends PeerLinkError {
  /** The node's name. */
  readonly node: string;
  /** The transport of the busy port. */
  readonly transport: WireTransport;
  /** The busy port. */
  readonly port: number;

  /**
   * Creates a {@linkcode PortInUseError}.
   *
   * @param details Node name, transport and port; `cause` is the socket error.
   */
  constructor(details: { node: string; transport: WireTransport; port: number; cause?: unknown }) {
    super(
      `${details.transport.toUpperCase()} port ${details.port} of ${
        pythonString(details.node)
      } is already in use. Choose another port (or leave it unset to use a derived port), or stop the process that holds it.`,
      "PORT_IN_USE",
      { cause: details.cause },
    );
    this.name = "PortInUseError";
    this.node = details.node;
    this.transport = details.transport;
    this.port = details.port;
  }
}

/**
 * A TCP connection to a peer could not be opened, or broke before the reply arrived.
 * `cause` holds the socket error (a `NetError` with its own code).
 *
 * @example
 * ```ts
 * import { PeerConnectionError } from "@peerlink/peerlink";
 * const err = new PeerConnectionError({ peer: "Host", address: "10.0.0.2", port: 50001, lost: false });
 * console.log(err.code); // "CONNECTION_FAILED"
 * ```
 */
export class PeerConnectionError extends PeerLinkError {
  /** The peer's name. */
  readonly peer: string;
  /** Address dialled. */
  readonly address: string;
  /** Port dialled. */
  readonly port: number;

  /**
   * Creates a {@linkcode PeerConnectionError}.
   *
   * @param details Peer, endpoint, whether an open connection was lost (`true`) or could not be
   *   opened (`false`), optional function name and the socket error as `cause`.
   */
  constructor(
    details: { peer: string; address: string; port: number; lost: boolean; function?: string; cause?: unknown },
  ) {
    const where = `${pythonString(details.peer)} at ${
      details.address.includes(":") ? `[${details.address}]` : details.address
    }:${details.port}`;
    const why = details.cause instanceof Error ? ` (${details.cause.message})` : "";
    const message = details.lost
      ? `TCP connection to ${where} closed before the reply${
        details.function ? ` to ${pythonString(details.function)}` : ""
      } arrived${why}. The peer may have stopped or restarted; call again.`
      : `Cannot open a TCP connection to ${where}${why}. Check that the peer is running and reachable.`;
    super(message, details.lost ? "CONNECTION_LOST" : "CONNECTION_FAILED", { cause: details.cause });
    this.name = "PeerConnectionError";
    this.peer = details.peer;
    this.address = details.address;
    this.port = details.port;
  }
}

/**
 * A peer sent something that is not a valid PeerLink message (a reply that cannot be decoded,
 * a frame over the limit). The connection involved is closed.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@peerlink/peerlink";
 * const err = new ProtocolError("reply from 'Host' is not valid JSON");
 * console.log(err.code); // "PROTOCOL_ERROR"
 * ```
 */
export class ProtocolError extends PeerLinkError {
  /**
   * Creates a {@linkcode ProtocolError}.
   *
   * @param message What was wrong.
   * @param options Underlying cause.
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, "PROTOCOL_ERROR", options);
    this.name = "ProtocolError";
  }
}

/**
 * A received message failed validation (wrong types, missing fields, forbidden keys, too deep).
 * Used inside the wire layer; such messages are dropped and counted, never given to a handler.
 *
 * @example
 * ```ts
 * import { BadMessage } from "./errors.ts";
 * const err = new BadMessage("request.args must be an array");
 * console.log(err.code); // "BAD_MESSAGE"
 * ```
 */
export class BadMessage extends PeerLinkError {
  /**
   * Id of the request that failed validation, when the message was a request whose id was
   * readable: the receiver can then answer with an error instead of leaving the caller waiting.
   */
  requestId?: string;

  /**
   * Creates a {@linkcode BadMessage}.
   *
   * @param message What was wrong, e.g. `request.id must be a non-empty string`.
   * @param options Underlying cause.
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, "BAD_MESSAGE", options);
    this.name = "BadMessage";
  }
}

/**
 * A call between a node with a secret and one without, which the secured side would refuse,
 * failed at once on the caller; nothing was sent. `missingSecret` says which side lacks it:
 *
 * - `"peer"`: this node has a secret and the peer announced none (a Python PeerLink 1.2 node, or
 *   a node of the same realm without the secret), and `allowInsecurePeers` is off;
 * - `"caller"`: the peer announced a proof of a secret (TXT `auth`) and takes only sealed calls,
 *   and this node has no secret (same realm, e.g. `realm: deriveRealm(secret)`, but no secret).
 *
 * @example
 * ```ts
 * import { InsecurePeerError } from "@peerlink/peerlink";
 * const err = new InsecurePeerError("Vault", { missingSecret: "caller" });
 * console.log(err.code, err.missingSecret); // "INSECURE_PEER" "caller"
 * ```
 */
export class InsecurePeerError extends PeerLinkError {
  /** The peer called. */
  readonly peer: string;
  /** Which side has no secret: the peer, or this node (the caller). */
  readonly missingSecret: "peer" | "caller";

  /**
   * Creates an {@linkcode InsecurePeerError}.
   *
   * @param peer The peer's name.
   * @param options `missingSecret`: which side lacks the secret (default `"peer"`).
   */
  constructor(peer: string, options: { missingSecret?: "peer" | "caller" } = {}) {
    const missingSecret = options.missingSecret ?? "peer";
    const name = pythonString(peer);
    super(
      missingSecret === "peer"
        ? `${name} has no secret (it announced no proof) and this node only talks sealed. ` +
          `Give ${name} the same secret, or set allowInsecurePeers: true to call it in plaintext (anyone on the LAN can then read and forge those calls).`
        : `${name} has a secret (it announced a proof, TXT auth) and drops plaintext calls, and this node has none, ` +
          `so the call was not sent. Give this node the same secret as ${name}, or set allowInsecurePeers: true on ${name} to accept plaintext calls.`,
      "INSECURE_PEER",
    );
    this.name = "InsecurePeerError";
    this.peer = peer;
    this.missingSecret = missingSecret;
  }
}

/**
 * A name this node wanted to publish is already in use on the network (RFC 6762 sections 8
 * and 9): another node (or another process on this host) has it. Thrown by `start()` unless
 * the node may rename itself (`allowRename: true` takes `"Name (2)"`). `cause` holds the
 * mDNS layer's own report when the node wraps it.
 *
 * @example
 * ```ts
 * import { NameConflict } from "@peerlink/peerlink";
 * const err = new NameConflict("Worker._peerlink._tcp.local", "10.0.0.2");
 * console.log(err.code, err.holder); // "NAME_CONFLICT" "10.0.0.2"
 * ```
 */
export class NameConflict extends PeerLinkError {
  /** The contested name (the full mDNS name, or the node name when the node reports it). */
  readonly fullName: string;
  /** Address of the host that holds it, when known. */
  readonly holder?: string;

  /**
   * Creates a {@linkcode NameConflict}.
   *
   * @param fullName The contested name.
   * @param holder Address of the other host, or `"this process"`.
   * @param options `message` to use instead of the mDNS wording; `cause`.
   */
  constructor(fullName: string, holder?: string, options: { message?: string; cause?: unknown } = {}) {
    super(
      options.message ??
        `the mDNS name "${fullName}" is already in use on this network${
          holder ? ` (by ${holder})` : ""
        }. Choose another name, or allow automatic renaming (allowRename: true).`,
      "NAME_CONFLICT",
      { cause: options.cause },
    );
    this.name = "NameConflict";
    this.fullName = fullName;
    this.holder = holder;
  }

  /**
   * The node-level report of a conflict the mDNS layer found: names the node, keeps the
   * mDNS error as `cause`.
   *
   * @param node The node name.
   * @param cause The mDNS layer's {@linkcode NameConflict}.
   * @returns The error `start()` rejects with.
   */
  static forNode(node: string, cause: NameConflict): NameConflict {
    const by = cause.holder === "this process"
      ? "another node in this process"
      : cause.holder
      ? `another node at ${cause.holder}`
      : "another node";
    return new NameConflict(node, cause.holder, {
      message: `the name ${
        pythonString(node)
      } is already used by ${by} on this network. Choose another name, or pass allowRename: true to take '${node} (2)'.`,
      cause,
    });
  }
}

/** Alias of {@linkcode NameConflict}, in the `...Error` style of the other error classes. */
export const NameConflictError: typeof NameConflict = NameConflict;
/** Alias of {@linkcode NameConflict}. */
export type NameConflictError = NameConflict;

/**
 * The peer cannot do what the call needs: it does not advertise the capability (TXT `ext`),
 * e.g. streams toward Python PeerLink 1.2. Nothing was sent.
 *
 * @example
 * ```ts
 * import { NotSupportedError } from "./errors.ts";
 * const err = new NotSupportedError("PyNode", "streams", "it is Python PeerLink 1.2 or an older PeerLink-TS");
 * console.log(err.code, err.peer); // "NOT_SUPPORTED" "PyNode"
 * ```
 */
export class NotSupportedError extends PeerLinkError {
  /** The peer. */
  readonly peer: string;
  /** What it cannot do. */
  readonly feature: string;

  /**
   * Creates a {@linkcode NotSupportedError}.
   *
   * @param peer The peer's name.
   * @param feature What it cannot do, e.g. `"streams"`.
   * @param why Why, e.g. what the peer is.
   */
  constructor(peer: string, feature: string, why: string) {
    super(
      `${
        pythonString(peer)
      } cannot take ${feature}: ${why} (it does not advertise them). Send the data as one value instead (a Uint8Array of up to 4 MiB), or upgrade that peer to PeerLink-TS.`,
      "NOT_SUPPORTED",
    );
    this.name = "NotSupportedError";
    this.peer = peer;
    this.feature = feature;
  }
}

/**
 * Stable reasons of a {@linkcode FileError}, each with an HTTP-like status (`FILE_STATUS`).
 *
 * | code                | status | when                                                                          |
 * |---------------------|--------|-------------------------------------------------------------------------------|
 * | `FILE_FORBIDDEN`    | 403    | a confinement rule refused the path (`rule` names it)                         |
 * | `FILE_NOT_FOUND`    | 404    | no such file or folder in the shares                                          |
 * | `FILE_READ_ONLY`    | 405    | a put into a share that is not writable                                       |
 * | `FILE_EXISTS`       | 409    | the target exists and `overwrite` was not given                               |
 * | `FILE_BUSY`         | 409    | another transfer is writing the same file now                                 |
 * | `FILE_CHANGED`      | 409    | the source changed while it was being read                                    |
 * | `FILE_TOO_LARGE`    | 413    | over the share's `maxFileBytes`                                               |
 * | `FILE_BAD_RANGE`    | 416    | an offset or range outside the file                                           |
 * | `FILE_CORRUPT`      | 422    | the SHA-256 or the size of what arrived differs from the sender's             |
 * | `FILE_IO`           | 500    | the file system failed (disk full, permissions); `cause` holds the error      |
 */
export type FileErrorCode =
  | "FILE_FORBIDDEN"
  | "FILE_NOT_FOUND"
  | "FILE_READ_ONLY"
  | "FILE_EXISTS"
  | "FILE_BUSY"
  | "FILE_CHANGED"
  | "FILE_TOO_LARGE"
  | "FILE_BAD_RANGE"
  | "FILE_CORRUPT"
  | "FILE_IO";

/** The HTTP-like status of each {@linkcode FileErrorCode} (the HTTP path answers with it). */
export const FILE_STATUS: Readonly<Record<FileErrorCode, number>> = Object.freeze({
  FILE_FORBIDDEN: 403,
  FILE_NOT_FOUND: 404,
  FILE_READ_ONLY: 405,
  FILE_EXISTS: 409,
  FILE_BUSY: 409,
  FILE_CHANGED: 409,
  FILE_TOO_LARGE: 413,
  FILE_BAD_RANGE: 416,
  FILE_CORRUPT: 422,
  FILE_IO: 500,
});

/**
 * A file transfer, listing or share refused or failed. Its message starts with the code
 * (`"FILE_FORBIDDEN: ..."`, as Node's `"ENOENT: ..."`), so the code survives the trip from a
 * serving peer as a remote error's message; `status` is the HTTP-like status and `rule` names
 * the confinement rule that refused a path (`"dotdot"`, `"absolute"`, `"nul"`, `"backslash"`,
 * `"symlink"`, `"hidden"`, `"not-regular"`, ...).
 *
 * @example
 * ```ts
 * import { FileError } from "./errors.ts";
 * const err = new FileError("FILE_FORBIDDEN", "'/../etc/passwd' leaves the share ('..' is not allowed)", { rule: "dotdot" });
 * console.log(err.status, err.rule, err.message); // 403 "dotdot" "FILE_FORBIDDEN: '/../etc/passwd' leaves ..."
 * ```
 */
export class FileError extends PeerLinkError {
  /** The reason. */
  declare readonly code: FileErrorCode;
  /** HTTP-like status: 403, 404, 405, 409, 413, 416, 422 or 500. */
  readonly status: number;
  /** The confinement rule that refused a path, for `FILE_FORBIDDEN`. */
  readonly rule?: string;
  /** The path involved, when known. */
  readonly path?: string;

  /**
   * Creates a {@linkcode FileError}.
   *
   * @param code The reason.
   * @param text What happened and what to do (the code is put in front of it).
   * @param details The rule, the path and the underlying cause.
   */
  constructor(code: FileErrorCode, text: string, details: { rule?: string; path?: string; cause?: unknown } = {}) {
    super(text.startsWith(`${code}: `) ? text : `${code}: ${text}`, code, { cause: details.cause });
    this.name = "FileError";
    this.status = FILE_STATUS[code];
    this.rule = details.rule;
    this.path = details.path;
  }
}
