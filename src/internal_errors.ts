/**
 * Bad input or a bug? Every place that handles bytes from the network catches what decoding
 * throws, and this module is where the catch decides what it caught:
 *
 * - **bad input**: a {@linkcode PeerLinkError} (`BadMessage`, `PayloadTooLarge`, ...) that a
 *   decoder or the security gate raised on purpose. The caller drops the input and counts it
 *   as malformed (or answers `BadMessage`); nothing is wrong with the node.
 * - **an internal error**: anything else (a `TypeError`, a `RangeError` from a library, an
 *   exception from a handler of a decoded message). That is a bug in PeerLink, never the
 *   sender's fault: it is counted apart (`stats().internalErrors`, which should stay 0) and
 *   logged as an error with its stack, once per distinct error, so hostile traffic that
 *   triggers the bug again and again cannot flood the log.
 *
 * @module
 */
import { PeerLinkError } from "./errors.ts";
import type { Logger } from "./log.ts";

/** How many distinct internal errors are logged with their stack; later ones are only counted. */
const LOGGED_DISTINCT = 32;

/**
 * Whether an exception caught while handling received bytes is bad input rather than a bug.
 *
 * @param error What was caught.
 * @returns True for a {@linkcode PeerLinkError} (raised on purpose for malformed or refused input).
 *
 * @example
 * ```ts
 * import { isBadInput } from "./internal_errors.ts";
 * import { BadMessage } from "./errors.ts";
 * console.log(isBadInput(new BadMessage("message is not valid JSON"))); // true
 * console.log(isBadInput(new TypeError("x is undefined"))); // false
 * ```
 */
export function isBadInput(error: unknown): boolean {
  return error instanceof PeerLinkError;
}

/**
 * Counts internal errors of one component and logs each distinct one once, with its stack.
 *
 * @example
 * ```ts
 * import { InternalErrors } from "./internal_errors.ts";
 * const internal = new InternalErrors(console);
 * try {
 *   JSON.parse("{"); // stands for decoding received bytes
 * } catch (error) {
 *   if (!internal.badInput(error, "decoding a datagram from 10.0.0.9:5353")) {
 *     // an internal error: counted and logged; drop the input
 *   }
 * }
 * console.log(internal.count); // 1: a SyntaxError is not a PeerLinkError
 * ```
 */
export class InternalErrors {
  readonly #logger: Logger | undefined;
  readonly #logged = new Set<string>();
  #count = 0;

  /**
   * @param logger Where the first occurrence of each distinct error goes (as an error).
   */
  constructor(logger?: Logger) {
    this.#logger = logger;
  }

  /** Internal errors counted so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Counts `error` as an internal error and logs it with its stack, unless the same error was
   * logged before.
   *
   * @param error What was caught.
   * @param where What the node was doing, e.g. `"decoding a datagram from 10.0.0.9:50001"`.
   */
  record(error: unknown, where: string): void {
    this.#count++;
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const key = `${where.replace(/\d+/g, "N")}\n${text}`;
    if (this.#logged.has(key) || this.#logged.size >= LOGGED_DISTINCT) return;
    this.#logged.add(key);
    const stack = error instanceof Error && error.stack ? error.stack : text;
    this.#logger?.error(
      `internal error while ${where} (a bug in PeerLink, not bad input; please report it with this stack; ` +
        `repeats are only counted in stats().internalErrors): ${stack}`,
    );
  }

  /**
   * Sorts an exception caught while handling received bytes: bad input (see
   * {@linkcode isBadInput}) returns true, for the caller to drop and count as malformed;
   * anything else is recorded as an internal error and returns false.
   *
   * @param error What was caught.
   * @param where What the node was doing.
   * @returns Whether it was bad input.
   */
  badInput(error: unknown, where: string): boolean {
    if (isBadInput(error)) return true;
    this.record(error, where);
    return false;
  }
}
