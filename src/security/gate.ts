/**
 * {@linkcode Gate}: the one security gate between the sockets and everything above them.
 * Every datagram and TCP frame that arrives passes {@linkcode Gate.admit}, which returns the
 * plaintext and the authenticated sender or counts a drop with its reason; every one that
 * leaves passes {@linkcode Gate.seal} / {@linkcode Gate.sealFrame}. The transports keep
 * framing, windows, retries and pooling, and ask the gate every security question.
 *
 * The admission table (what arrives, by the node's mode):
 *
 * | mode      | secret | allowInsecurePeers | plaintext in                     | sealed in                   |
 * |-----------|--------|--------------------|----------------------------------|-----------------------------|
 * | `open`    | no     | (ignored)          | admitted, unauthenticated        | dropped: `sealedWithoutSecret` |
 * | `strict`  | yes    | false (default)    | dropped: `plaintextDropped`      | verified, then admitted     |
 * | `lenient` | yes    | true               | admitted, unauthenticated        | verified, then admitted     |
 *
 * "Verified" means, in this order (cheap checks first, see `channel.ts`): envelope layout
 * (`malformed`), timestamp within the replay window (`stale`), nonce not seen (`replayed`),
 * AES-GCM tag (`forged`), and the kind expected where it arrived (`misdirected`: a UDP
 * socket takes requests and replies, a connection we accepted takes frames from its dialer,
 * a connection we dialled frames from the acceptor, so nothing can be reflected back to the
 * node that sealed it). After decoding, {@linkcode Gate.admitsRequest} and
 * {@linkcode Gate.admitsReply} check that a sealed request comes from its `src` and is
 * addressed to this node, and that a reply is sealed exactly when its call was, by the peer
 * called.
 *
 * What leaves is sealed exactly when the other side expects it: a call to a peer that
 * announced a proof of the secret ({@linkcode Gate.sealsTo}), a reply or stream frame to
 * an authenticated sender. Frames of any kind go through the same two functions, so calls,
 * streams and file transfers share one policy.
 *
 * @module
 */
import { InsecurePeerError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../clock.ts";
import { disabledSecurityStats, SecureChannel, type SecurityDrop, type SecurityStats } from "./channel.ts";
import { envelopeOverhead, isSealed, SEAL_MAX_SENDER_BYTES, SealKind } from "./envelope.ts";
import type { SecurityKeys } from "./keys.ts";

/** The security mode of a node: a row group of the admission table. */
export type GateMode = "open" | "strict" | "lenient";

/** What the gate does with a message, by mode and form: admit it, verify it, or drop it for a reason. */
type Verdict = "admit" | "verify" | SecurityDrop;

/** The admission table of the module documentation, as data. */
export const ADMISSION: Readonly<Record<GateMode, { readonly plaintext: Verdict; readonly sealed: Verdict }>> = Object
  .freeze({
    open: { plaintext: "admit", sealed: "sealedWithoutSecret" },
    strict: { plaintext: "plaintextDropped", sealed: "verify" },
    lenient: { plaintext: "admit", sealed: "verify" },
  });

/**
 * Where bytes arrive: a UDP socket (requests and replies), a TCP connection this node
 * accepted (frames from the dialer), or one it dialled (frames from the acceptor).
 */
export type Inbound = "udp" | "accepted" | "dialed";

/** Sealed kinds each inbound place takes. */
const KINDS: Readonly<Record<Inbound, readonly SealKind[]>> = {
  udp: [SealKind.udpRequest, SealKind.udpReply],
  accepted: [SealKind.tcpRequest],
  dialed: [SealKind.tcpReply],
};

/** A message the gate let in. */
export interface Arrival {
  /** The plaintext: a JSON datagram, or a TCP frame body (JSON, binary or stream frame). */
  readonly plaintext: Uint8Array;
  /** The sender's name, authenticated by the seal; `undefined` for plaintext (anyone could have sent it). */
  readonly sender: string | undefined;
  /** The sealed kind; `undefined` for plaintext. */
  readonly kind: SealKind | undefined;
}

/** A call, as {@linkcode Gate.admitsReply} needs it. */
export interface GatedCall {
  /** Whether its request went sealed. */
  readonly sealed: boolean;
  /** Function name, for the log. */
  readonly fn: string;
  /** The peer called. */
  readonly peer: { readonly name: string };
}

/** What a {@linkcode Gate} needs. */
export interface GateOptions {
  /** Keys of the shared secret; none for an open node. */
  keys?: SecurityKeys;
  /** With keys: also admit plaintext and call peers without a proof. */
  allowInsecurePeers?: boolean;
  /** This node's name: the sender of what it seals, the `dst` sealed requests must carry. */
  name: string;
  /** Time source (moves the replay window). */
  clock: Clock;
  /** Replay window, ms. */
  replayWindow: number;
  /** Most nonces remembered. */
  replayCacheEntries: number;
  /** Diagnostics. */
  logger?: Logger;
}

/**
 * The security gate of one node. See the module documentation.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { deriveKeys } from "./keys.ts";
 * import { SealKind } from "./envelope.ts";
 * import { Gate } from "./gate.ts";
 *
 * const keys = await deriveKeys("a long random shared secret");
 * const common = { keys, clock: systemClock, replayWindow: 30_000, replayCacheEntries: 1000 };
 * const a = new Gate({ ...common, name: "A" });
 * const b = new Gate({ ...common, name: "B" });
 * const sealed = a.seal(SealKind.udpRequest, new TextEncoder().encode("{}"), true);
 * console.log(b.admit(sealed, "udp", "10.0.0.1:5000")?.sender); // "A"
 * console.log(b.admit(new TextEncoder().encode("{}"), "udp", "10.0.0.1:5000")); // undefined: plaintext dropped
 * ```
 */
export class Gate {
  /** The mode: `open` (no secret), `strict` or `lenient` (see the table). */
  readonly mode: GateMode;
  /** Seals and opens; `undefined` for an open node. */
  readonly #channel: SecureChannel | undefined;
  readonly #logger?: Logger;
  #name: string;
  #sealedWithoutSecret = 0;

  /**
   * Creates a {@linkcode Gate}.
   *
   * @param options Keys (or none), policy, own name, clock, replay settings, logger.
   * @throws {TypeError} With keys, when the name is not 1-255 UTF-8 bytes.
   */
  constructor(options: GateOptions) {
    this.#name = options.name;
    this.#logger = options.logger;
    this.mode = options.keys ? (options.allowInsecurePeers ? "lenient" : "strict") : "open";
    this.#channel = options.keys
      ? new SecureChannel({
        keys: options.keys,
        name: options.name,
        clock: options.clock,
        replayWindow: options.replayWindow,
        replayCacheEntries: options.replayCacheEntries,
        logger: options.logger,
      })
      : undefined;
  }

  /** Whether this node has a secret (it seals toward peers that have it too). */
  get secured(): boolean {
    return this.#channel !== undefined;
  }

  /** This node's name. */
  get name(): string {
    return this.#name;
  }

  /** Bytes sealing adds to this node's messages (0 without a secret). */
  get overhead(): number {
    return this.#channel?.overhead ?? 0;
  }

  /** Most bytes sealing can add to any peer's message (0 without a secret): frame limits allow for it. */
  get maxOverhead(): number {
    return this.#channel ? envelopeOverhead(SEAL_MAX_SENDER_BYTES) : 0;
  }

  /**
   * Seals and addresses everything from now on under a new name (after a late rename).
   *
   * @param name The new name.
   */
  rename(name: string): void {
    this.#channel?.rename(name);
    this.#name = name;
  }

  /**
   * Whether calls to `peer` go sealed: with a secret, toward every peer that announced a
   * proof of it. A peer without one (Python 1.2, a node without a secret) is called in
   * plaintext only when `allowInsecurePeers` is on. Without a secret, a peer that takes only
   * sealed calls cannot be called at all.
   *
   * @param peer The peer (`insecure`: it announced no proof; `sealedOnly`: it announced one,
   *   and not that it also takes plaintext).
   * @returns True to seal.
   * @throws {InsecurePeerError} When the peer would need plaintext and this node forbids it
   *   (`missingSecret: "peer"`), or the peer needs a sealed call and this node has no secret
   *   (`missingSecret: "caller"`).
   */
  sealsTo(peer: { readonly name: string; readonly insecure?: boolean; readonly sealedOnly?: boolean }): boolean {
    if (!this.#channel) {
      if (peer.sealedOnly === true) throw new InsecurePeerError(peer.name, { missingSecret: "caller" });
      return false;
    }
    if (peer.insecure !== true) return true;
    if (this.mode === "strict") throw new InsecurePeerError(peer.name);
    return false;
  }

  /**
   * Lets a datagram or frame body in, or drops it (counted, with the reason logged).
   *
   * @param bytes What arrived.
   * @param where Where it arrived.
   * @param from The sender's address, for the log.
   * @returns The plaintext and the authenticated sender, or `undefined` when dropped.
   */
  admit(bytes: Uint8Array, where: Inbound, from: string): Arrival | undefined {
    const sealed = isSealed(bytes);
    const verdict = ADMISSION[this.mode][sealed ? "sealed" : "plaintext"];
    if (verdict === "admit") return { plaintext: bytes, sender: undefined, kind: undefined };
    if (verdict !== "verify") {
      this.drop(verdict, `dropped a ${sealed ? "sealed" : "plaintext"} message from ${from}: ${WHY[verdict]}`);
      return undefined;
    }
    const opened = this.#channel!.open(bytes);
    if (!opened) return undefined;
    if (!KINDS[where].includes(opened.kind)) {
      this.drop("misdirected", `dropped a sealed ${KIND_NAMES[opened.kind]} from ${from} that does not belong there`);
      return undefined;
    }
    return { plaintext: opened.plaintext, sender: opened.sender, kind: opened.kind };
  }

  /**
   * Whether a decoded request may be served: a sealed one must be a request, come from its
   * `src` and be addressed to this node. Plaintext requests were decided by {@linkcode Gate.admit}.
   *
   * @param arrival What {@linkcode Gate.admit} returned for it.
   * @param src The request's `src`.
   * @param dst The request's `dst`.
   * @returns True to serve it; false when dropped (counted as `misdirected`).
   */
  admitsRequest(arrival: Arrival, src: string, dst: string): boolean {
    if (arrival.sender === undefined) return true;
    if (arrival.kind !== SealKind.udpRequest && arrival.kind !== SealKind.tcpRequest) {
      this.drop("misdirected", `dropped a sealed request that '${arrival.sender}' sent as a reply`);
      return false;
    }
    if (src !== arrival.sender || dst !== this.#name) {
      this.drop(
        "misdirected",
        `dropped a sealed request from '${src}' to '${dst}' sent by '${arrival.sender}' (this is '${this.#name}')`,
      );
      return false;
    }
    return true;
  }

  /**
   * Whether a decoded reply may settle `call`: sealed exactly when the call was, as a reply,
   * by the peer called (else a forgery, or another node's answer).
   *
   * @param arrival What {@linkcode Gate.admit} returned for it.
   * @param call The call it answers.
   * @returns True to settle the call with it; false when dropped (counted).
   */
  admitsReply(arrival: Arrival, call: GatedCall): boolean {
    const sealed = arrival.sender !== undefined;
    const asReply = arrival.kind === undefined || arrival.kind === SealKind.udpReply ||
      arrival.kind === SealKind.tcpReply;
    if (sealed === call.sealed && asReply && (!sealed || arrival.sender === call.peer.name)) return true;
    this.drop(
      sealed ? "misdirected" : "plaintextDropped",
      `dropped a ${sealed ? `sealed message from '${arrival.sender}'` : "plaintext reply"} answering the ${
        call.sealed ? "sealed" : "plaintext"
      } call '${call.fn}' on '${call.peer.name}'`,
    );
    return false;
  }

  /**
   * Seals a datagram (or any one-buffer message) when `sealed`, else returns it as it is.
   *
   * @param kind What it is.
   * @param bytes The plaintext.
   * @param sealed Whether to seal (see {@linkcode Gate.sealsTo}; replies: whether the request was).
   * @returns What to send.
   */
  seal(kind: SealKind, bytes: Uint8Array, sealed: boolean): Uint8Array {
    return sealed && this.#channel ? this.#channel.seal(kind, bytes) : bytes;
  }

  /**
   * Seals a TCP frame (`writeFrame` parts) when `sealed`, else returns it as it is.
   *
   * @param kind Direction on the connection (`tcpRequest`: from the dialer, `tcpReply`: from the acceptor).
   * @param parts The plaintext frame.
   * @param sealed Whether to seal.
   * @returns The frame to write.
   */
  sealFrame(kind: SealKind, parts: Uint8Array[], sealed: boolean): Uint8Array[] {
    return sealed && this.#channel ? this.#channel.sealFrame(kind, parts) : parts;
  }

  /**
   * Counts a message dropped for a security reason.
   *
   * @param reason Why.
   * @param detail What to log (see `SecureChannel.drop`).
   */
  drop(reason: SecurityDrop, detail?: string): void {
    if (this.#channel) {
      this.#channel.drop(reason, detail);
      return;
    }
    if (reason === "sealedWithoutSecret") this.#sealedWithoutSecret++;
    if (detail) this.#logger?.debug(detail);
  }

  /** Forgets remembered nonces (on stop); nothing forgotten becomes replayable. */
  reset(): void {
    this.#channel?.reset();
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters (`enabled` says whether a secret is set).
   */
  stats(): SecurityStats {
    const stats = this.#channel?.stats() ?? disabledSecurityStats(0);
    stats.sealedWithoutSecret += this.#sealedWithoutSecret;
    return stats;
  }
}

const WHY: Readonly<Record<SecurityDrop, string>> = {
  plaintextDropped: "this node has a secret and allowInsecurePeers is off",
  sealedWithoutSecret: "this node has no secret",
  malformed: "bad envelope",
  stale: "outside the replay window",
  replayed: "replayed",
  forged: "does not verify",
  misdirected: "misdirected",
};

const KIND_NAMES: Readonly<Record<SealKind, string>> = {
  [SealKind.udpRequest]: "UDP request",
  [SealKind.udpReply]: "UDP reply",
  [SealKind.tcpRequest]: "TCP frame from a dialer",
  [SealKind.tcpReply]: "TCP frame from an acceptor",
};
