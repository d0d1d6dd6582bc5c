/**
 * Errors of the mDNS layer that callers may want to catch by type.
 *
 * @module
 */

import { PeerLinkError } from "../errors.ts";

export { NameConflict, NameConflictError } from "../errors.ts";

/** An mDNS operation was used after `stop()`, or before `start()` (code `NOT_STARTED`). */
export class MdnsStateError extends PeerLinkError {
  /**
   * Creates the error.
   *
   * @param message What was attempted and what to do.
   */
  constructor(message: string) {
    super(message, "NOT_STARTED");
    this.name = "MdnsStateError";
  }
}
