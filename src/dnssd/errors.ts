/**
 * The error of the wide-area layer: a {@linkcode PeerLinkError} that names the DNS server, the
 * zone and the response code involved, so a message like "refused" always says by whom, for
 * what, and what to change.
 *
 * @module
 */
import { PeerLinkError } from "../errors.ts";

/** Codes of {@linkcode WideAreaError} (a subset of `PeerLinkErrorCode`). */
export type WideAreaErrorCode = "DNS_CONFIG" | "DNS_NO_ANSWER" | "DNS_REFUSED" | "DNS_NAME_IN_USE";

/** Where a wide-area failure happened, as far as it is known. */
export interface WideAreaErrorDetails {
  /** The DNS server, `address:port`. */
  server?: string;
  /** The zone (or domain) involved, with a trailing dot. */
  zone?: string;
  /** The response code by name (`"NOTAUTH"`, `"REFUSED"`, `"YXDOMAIN"`...), possibly with the TSIG error. */
  rcode?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A wide-area DNS-SD failure: bad settings (`DNS_CONFIG`), no answer from the server
 * (`DNS_NO_ANSWER`), a refused update (`DNS_REFUSED`: bad key, NOTAUTH, REFUSED...), or a node
 * name already registered in the zone (`DNS_NAME_IN_USE`).
 *
 * @example
 * ```ts
 * import { WideAreaError } from "./errors.ts";
 * const err = new WideAreaError(
 *   "DNS_REFUSED",
 *   "DNS server 10.0.0.53:53 refused the UPDATE of zone lab.example.: NOTAUTH. Check the key.",
 *   { server: "10.0.0.53:53", zone: "lab.example.", rcode: "NOTAUTH" },
 * );
 * console.log(err.code, err.rcode); // DNS_REFUSED NOTAUTH
 * ```
 */
export class WideAreaError extends PeerLinkError {
  /** The DNS server, `address:port`, when one was involved. */
  readonly server?: string;
  /** The zone or domain, when known. */
  readonly zone?: string;
  /** The response code by name, when the server answered. */
  readonly rcode?: string;

  /**
   * Creates the error.
   *
   * @param code Stable reason code.
   * @param message What happened (naming server, zone and rcode) and what to do.
   * @param details Server, zone, rcode and cause.
   */
  constructor(code: WideAreaErrorCode, message: string, details: WideAreaErrorDetails = {}) {
    super(message, code, { cause: details.cause });
    this.name = "WideAreaError";
    this.server = details.server;
    this.zone = details.zone;
    this.rcode = details.rcode;
  }
}
