/**
 * Errors of the mDNS layer that callers may want to catch by type.
 *
 * @module
 */

/**
 * A name we wanted to publish is already in use on the network (RFC 6762 sections 8 and 9).
 *
 * @example
 * ```ts
 * import { NameConflictError } from "./errors.ts";
 * try {
 *   throw new NameConflictError("Worker._peerlink._tcp.local", "10.0.0.2");
 * } catch (err) {
 *   if (err instanceof NameConflictError) console.log(err.fullName);
 * }
 * ```
 */
export class NameConflictError extends Error {
  /** The contested name. */
  readonly fullName: string;
  /** Address of the host that holds it, when known. */
  readonly holder?: string;

  /**
   * Creates the error.
   *
   * @param fullName The contested name.
   * @param holder Address of the other host.
   */
  constructor(fullName: string, holder?: string) {
    super(
      `NameConflict: the mDNS name "${fullName}" is already in use on this network${
        holder ? ` (by ${holder})` : ""
      }. Choose another name, or allow automatic renaming (allowRename: true).`,
    );
    this.name = "NameConflict";
    this.fullName = fullName;
    this.holder = holder;
  }
}

/** An mDNS operation was used after `stop()`, or before `start()`. */
export class MdnsStateError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was attempted and what to do.
   */
  constructor(message: string) {
    super(message);
    this.name = "MdnsStateError";
  }
}
