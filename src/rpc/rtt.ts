/**
 * Round-trip time estimation per peer (RFC 6298's smoothed RTT and variance), so UDP
 * retransmissions wait longer for a peer that answers slowly (a busy handler queue) instead
 * of flooding it with copies it is already working on. Karn's rule applies: only calls
 * answered without a retransmission give samples.
 *
 * @module
 */

interface Estimate {
  srtt: number;
  rttvar: number;
}

/** Peers remembered at most; the least recently updated are forgotten first. */
const MAX_PEERS = 1024;

/**
 * Per-peer retransmission timeouts.
 *
 * @example
 * ```ts
 * import { RttEstimator } from "./rtt.ts";
 * const rtt = new RttEstimator(100, 500);
 * console.log(rtt.timeout("10.0.0.2:50000")); // 100 (no sample yet)
 * rtt.sample("10.0.0.2:50000", 300);
 * console.log(rtt.timeout("10.0.0.2:50000")); // 500 (300 + 4 * 150, capped)
 * ```
 */
export class RttEstimator {
  readonly #estimates = new Map<string, Estimate>();
  readonly #min: number;
  readonly #max: number;

  /**
   * Creates a {@linkcode RttEstimator}.
   *
   * @param minTimeout Lowest timeout, also used before the first sample.
   * @param maxTimeout Highest timeout.
   */
  constructor(minTimeout: number, maxTimeout: number) {
    this.#min = minTimeout;
    this.#max = Math.max(minTimeout, maxTimeout);
  }

  /**
   * The retransmission timeout for a peer: `srtt + 4 * rttvar`, clamped to the bounds.
   *
   * @param peer Peer key, e.g. `"10.0.0.2:50000"`.
   * @returns Milliseconds.
   */
  timeout(peer: string): number {
    const estimate = this.#estimates.get(peer);
    if (!estimate) return this.#min;
    return Math.min(this.#max, Math.max(this.#min, estimate.srtt + 4 * estimate.rttvar));
  }

  /**
   * Adds a measured round trip.
   *
   * @param peer Peer key.
   * @param rttMs Time from the (only) send to the reply.
   */
  sample(peer: string, rttMs: number): void {
    const sample = Math.max(0, rttMs);
    const estimate = this.#estimates.get(peer);
    if (estimate) {
      this.#estimates.delete(peer); // re-insert: Map order becomes recency order
      estimate.rttvar = 0.75 * estimate.rttvar + 0.25 * Math.abs(estimate.srtt - sample);
      estimate.srtt = 0.875 * estimate.srtt + 0.125 * sample;
      this.#estimates.set(peer, estimate);
      return;
    }
    if (this.#estimates.size >= MAX_PEERS) this.#estimates.delete(this.#estimates.keys().next().value!);
    this.#estimates.set(peer, { srtt: sample, rttvar: sample / 2 });
  }
}
