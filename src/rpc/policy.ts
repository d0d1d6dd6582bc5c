/**
 * {@linkcode SecurityPolicy}: what the UDP and TCP sides of an endpoint need to know about the
 * shared secret: the channel that seals and opens messages (none without a secret), and
 * whether plaintext peers are allowed.
 *
 * | secret | allowInsecurePeers | plaintext in                      | sealed in           |
 * |--------|--------------------|-----------------------------------|---------------------|
 * | no     | (ignored)          | served, answered in plaintext     | dropped, counted    |
 * | yes    | false (default)    | dropped, counted, never answered  | verified, answered sealed |
 * | yes    | true               | served, answered in plaintext     | verified, answered sealed |
 *
 * @module
 */
import { disabledSecurityStats, type SecureChannel, type SecurityStats } from "../security/channel.ts";

/**
 * The security mode of one endpoint.
 *
 * @example
 * ```ts
 * import { SecurityPolicy } from "./policy.ts";
 * const open = new SecurityPolicy(undefined, false);
 * console.log(open.requireSealed, open.stats().enabled); // false false
 * ```
 */
export class SecurityPolicy {
  /** Seals and opens messages; `undefined` without a secret. */
  readonly channel: SecureChannel | undefined;
  /** Whether plaintext peers are served and may be called (always true without a secret). */
  readonly allowPlaintext: boolean;
  #sealedWithoutSecret = 0;

  /**
   * Creates a {@linkcode SecurityPolicy}.
   *
   * @param channel The channel, when the endpoint has a secret.
   * @param allowInsecurePeers Whether a node with a secret also talks plaintext.
   */
  constructor(channel: SecureChannel | undefined, allowInsecurePeers: boolean) {
    this.channel = channel;
    this.allowPlaintext = channel === undefined || allowInsecurePeers;
  }

  /** True when plaintext messages must be dropped. */
  get requireSealed(): boolean {
    return !this.allowPlaintext;
  }

  /** Counts a sealed message received without a secret to open it. */
  sealedWithoutSecret(): void {
    this.#sealedWithoutSecret++;
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters.
   */
  stats(): SecurityStats {
    const stats = this.channel?.stats() ?? disabledSecurityStats(0);
    stats.sealedWithoutSecret += this.#sealedWithoutSecret;
    return stats;
  }
}
