/**
 * {@linkcode SecureChannel}: what the RPC layer uses to seal outgoing messages and open
 * incoming ones (envelope layout in `envelope.ts`), with replay protection (`replay.ts`) and
 * a counter for every message it drops.
 *
 * Time: the envelope carries wall-clock time, but the node's {@linkcode Clock} may be a fake
 * one in tests. The channel reads `Date.now()` once and then advances it with the clock, so
 * a fake clock moves the replay window too, and nodes must keep their wall clocks within the
 * window of each other (NTP does; a device with a clock off by minutes cannot talk sealed).
 *
 * Restarts: a new channel remembers no nonces, so it refuses everything stamped more than
 * {@linkcode STARTUP_TOLERANCE} before it was created: messages captured before a restart
 * cannot be replayed to the new process (a peer whose clock is behind by more than that can
 * talk to it only once that much time has passed).
 *
 * Cost: one synchronous `node:crypto` AES-GCM operation per message (see `crypto.ts`: no
 * thread-pool round trip), with the key prepared once; the header is built in place and
 * reused as the associated data, the ciphertext is written straight after it in the same
 * buffer, and nonces come from a pooled `getRandomValues` buffer. Messages that fail the cheap
 * checks (layout, time, seen nonce) never reach the cipher.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { SecretKey } from "./crypto.ts";
import {
  decryptEnvelope,
  encryptEnvelope,
  envelopeOverhead,
  parseEnvelopeHeader,
  SEAL_MAX_SENDER_BYTES,
  SEAL_NONCE_BYTES,
  type SealKind,
  writeEnvelopeHeader,
} from "./envelope.ts";
import type { SecurityKeys } from "./keys.ts";
import { ReplayGuard } from "./replay.ts";
import type { NodeStats } from "../stats.ts";

const encoder = new TextEncoder();

/** Counters of a {@linkcode SecureChannel}: messages sealed, opened, and dropped by reason. */
export type SecurityStats = NodeStats["security"];

/** Reasons a message is dropped, as counted in {@linkcode SecurityStats}. */
export type SecurityDrop =
  | "plaintextDropped"
  | "sealedWithoutSecret"
  | "malformed"
  | "stale"
  | "replayed"
  | "forged"
  | "misdirected";

/** A message that verified. */
export interface OpenedMessage {
  /** The plaintext: a JSON datagram or a TCP frame body. */
  plaintext: Uint8Array;
  /** Its kind (authenticated). */
  kind: SealKind;
  /** The sender's name (authenticated). */
  sender: string;
}

/** What a {@linkcode SecureChannel} needs. */
export interface SecureChannelOptions {
  /** Keys from `deriveKeys(secret)`. */
  keys: SecurityKeys;
  /** This node's name, written as the sender of everything it seals. */
  name: string;
  /** Time source (the node's clock); wall time is `Date.now()` at creation advanced by it. */
  clock: Clock;
  /** Replay window in ms: messages stamped further from our clock are dropped. */
  replayWindow: number;
  /** Most nonces remembered. */
  replayCacheEntries: number;
  /** Wall-clock ms since the Unix epoch at creation (default `Date.now()`); tests move it. */
  epoch?: number;
  /** Diagnostics. */
  logger?: Logger;
}

const NONCE_POOL = 256;

/** A new channel refuses messages stamped more than this before its creation (ms). */
export const STARTUP_TOLERANCE = 2000;
/** Warn about the same kind of drop at most this often (ms of the node's clock). */
const WARN_INTERVAL = 60_000;

/**
 * Seals and opens RPC messages for one node.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { deriveKeys } from "./keys.ts";
 * import { SealKind } from "./envelope.ts";
 * import { SecureChannel } from "./channel.ts";
 *
 * const keys = await deriveKeys("a long random shared secret");
 * const a = new SecureChannel({ keys, name: "A", clock: systemClock, replayWindow: 30_000, replayCacheEntries: 1000 });
 * const b = new SecureChannel({ keys, name: "B", clock: systemClock, replayWindow: 30_000, replayCacheEntries: 1000 });
 * const sealed = a.seal(SealKind.udpRequest, new TextEncoder().encode('{"hello":1}'));
 * const opened = b.open(sealed);
 * console.log(opened?.sender, new TextDecoder().decode(opened?.plaintext)); // "A" '{"hello":1}'
 * console.log(b.open(sealed)); // undefined: a replay
 * ```
 */
export class SecureChannel {
  readonly #key: SecretKey;
  readonly #clock: Clock;
  readonly #wallOffset: number;
  readonly #guard: ReplayGuard;
  readonly #logger?: Logger;
  readonly #stats: SecurityCounters = zeroCounters();
  readonly #lastWarned = new Map<string, number>();
  #name = "";
  #sender = new Uint8Array(0);
  #overhead = 0;
  #nonces = new Uint8Array(0);
  #nonceAt = 0;

  /**
   * Creates a {@linkcode SecureChannel}.
   *
   * @param options Keys, own name, clock, replay window and cache size, logger.
   * @throws {TypeError} When the name is empty or longer than 255 UTF-8 bytes.
   */
  constructor(options: SecureChannelOptions) {
    this.rename(options.name);
    this.#key = options.keys.rpc;
    this.#clock = options.clock;
    this.#wallOffset = (options.epoch ?? Date.now()) - options.clock.now();
    this.#guard = new ReplayGuard({ window: options.replayWindow, maxEntries: options.replayCacheEntries });
    this.#guard.raiseFloor(this.wallNow() - STARTUP_TOLERANCE);
    this.#logger = options.logger;
  }

  /** This node's name, written as the sender of everything it seals. */
  get name(): string {
    return this.#name;
  }

  /** Bytes sealing adds to a message (depends on the name's length). */
  get overhead(): number {
    return this.#overhead;
  }

  /**
   * Seals everything from now on as sent by `name` (the node was renamed after a conflict).
   *
   * @param name The new name.
   * @throws {TypeError} When the name is empty or longer than 255 UTF-8 bytes.
   */
  rename(name: string): void {
    const sender = encoder.encode(name);
    if (sender.length === 0 || sender.length > SEAL_MAX_SENDER_BYTES) {
      throw new TypeError(
        `a node with a secret needs a name of 1-${SEAL_MAX_SENDER_BYTES} UTF-8 bytes, got ${sender.length}`,
      );
    }
    this.#name = name;
    this.#sender = sender;
    this.#overhead = envelopeOverhead(sender.length);
  }

  /** Wall-clock time in ms since the Unix epoch, advanced by the node's clock. */
  wallNow(): number {
    return Math.round(this.#wallOffset + this.#clock.now());
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters.
   */
  stats(): SecurityStats {
    return { enabled: true, ...this.#stats, replayCache: this.#guard.size };
  }

  /**
   * Counts a message the RPC layer dropped for a security reason.
   *
   * @param reason Why.
   * @param detail What to log (debug level; a warning at most once a minute per reason for
   *   the reasons that point at a misconfiguration).
   */
  drop(reason: SecurityDrop, detail?: string): void {
    this.#stats[reason]++;
    if (!detail || !this.#logger) return;
    const loud = reason === "forged" || reason === "stale" || reason === "plaintextDropped";
    const now = this.#clock.now();
    const last = this.#lastWarned.get(reason);
    if (loud && (last === undefined || now - last >= WARN_INTERVAL)) {
      this.#lastWarned.set(reason, now);
      this.#logger.warn(`${detail} (further drops of this kind are counted in stats().security.${reason})`);
    } else {
      this.#logger.debug(detail);
    }
  }

  /**
   * Seals a message into one buffer (a UDP datagram).
   *
   * @param kind What it is.
   * @param plaintext The message.
   * @returns The sealed bytes.
   */
  seal(kind: SealKind, plaintext: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.#overhead + plaintext.length);
    encryptEnvelope(this.#key, out, this.#header(out, 0, kind), [plaintext]);
    this.#stats.sealed++;
    return out;
  }

  /**
   * Seals a TCP frame given as `writeFrame` parts (`parts[0]` starts with 4 reserved header
   * bytes) and returns the sealed frame in the same format: one buffer, header bytes
   * reserved, the envelope after them.
   *
   * @param kind What it is.
   * @param parts The plaintext frame.
   * @returns The sealed frame.
   */
  sealFrame(kind: SealKind, parts: readonly Uint8Array[]): Uint8Array[] {
    let size = -4;
    for (const part of parts) size += part.length;
    const out = new Uint8Array(4 + this.#overhead + size);
    const body = out.subarray(4);
    const plaintext = parts.length === 1 ? [parts[0].subarray(4)] : [parts[0].subarray(4), ...parts.slice(1)];
    encryptEnvelope(this.#key, body, this.#header(body, 0, kind), plaintext);
    this.#stats.sealed++;
    return [out];
  }

  /**
   * Verifies and opens a sealed message. Failures are counted and return `undefined`; the
   * caller drops the message without answering.
   *
   * @param bytes The sealed message (datagram or frame body).
   * @returns The verified message, or `undefined`.
   */
  open(bytes: Uint8Array): OpenedMessage | undefined {
    const header = parseEnvelopeHeader(bytes);
    if (typeof header === "string") {
      this.drop("malformed", `dropped a sealed message: ${header}`);
      return undefined;
    }
    const verdict = this.#guard.check(header.nonceKey, header.timestamp, this.wallNow());
    if (verdict !== "ok") {
      this.#refused(verdict, header.sender, header.timestamp);
      return undefined;
    }
    const plaintext = decryptEnvelope(this.#key, bytes, header);
    if (!plaintext) {
      this.drop(
        "forged",
        `dropped a message claiming to be from '${header.sender}' that does not verify: a node with another secret, or tampering`,
      );
      return undefined;
    }
    // Remembered only once verified, so forged messages never fill the cache.
    this.#guard.remember(header.nonceKey, header.timestamp, this.wallNow());
    this.#stats.opened++;
    return { plaintext, kind: header.kind, sender: header.sender };
  }

  /** Forgets remembered nonces (on stop); nothing forgotten becomes replayable. */
  reset(): void {
    this.#guard.clear();
  }

  #refused(verdict: "stale" | "replayed", sender: string, timestamp: number): void {
    if (verdict === "replayed") {
      this.drop("replayed", `dropped a replayed message from '${sender}'`);
      return;
    }
    const skew = Math.round((timestamp - this.wallNow()) / 1000);
    this.drop(
      "stale",
      `dropped a message from '${sender}' stamped ${Math.abs(skew)} s ${skew < 0 ? "ago" : "ahead"} (replay window ${
        this.#guard.window / 1000
      } s): a replay, or its clock is off; sync the clocks (NTP)`,
    );
  }

  #header(target: Uint8Array, offset: number, kind: SealKind): number {
    if (this.#nonceAt + SEAL_NONCE_BYTES > this.#nonces.length) {
      this.#nonces = crypto.getRandomValues(new Uint8Array(SEAL_NONCE_BYTES * NONCE_POOL));
      this.#nonceAt = 0;
    }
    const nonce = this.#nonces.subarray(this.#nonceAt, this.#nonceAt + SEAL_NONCE_BYTES);
    this.#nonceAt += SEAL_NONCE_BYTES;
    return writeEnvelopeHeader(target, offset, kind, this.#sender, this.wallNow(), nonce);
  }
}

/**
 * Counters of a node without a secret.
 *
 * @param sealedWithoutSecret Sealed messages it received and dropped.
 * @returns Counters with `enabled: false`.
 *
 * @example
 * ```ts
 * import { disabledSecurityStats } from "./channel.ts";
 * console.log(disabledSecurityStats(0).enabled); // false
 * ```
 */
export function disabledSecurityStats(sealedWithoutSecret: number): SecurityStats {
  return { enabled: false, ...zeroCounters(), sealedWithoutSecret, replayCache: 0 };
}

/** The event counters of {@linkcode SecurityStats}. */
type SecurityCounters = Omit<SecurityStats, "enabled" | "replayCache">;

/** Every counter at zero: one list for the secured channel and the disabled one. */
function zeroCounters(): SecurityCounters {
  return {
    sealed: 0,
    opened: 0,
    plaintextDropped: 0,
    sealedWithoutSecret: 0,
    malformed: 0,
    stale: 0,
    replayed: 0,
    forged: 0,
    misdirected: 0,
  };
}
