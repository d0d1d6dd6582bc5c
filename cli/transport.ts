/**
 * Which transport a call really took, read from the node's counters around the call (so
 * `via tcp` is observed, never assumed from the flag), and `--transport` / `--timeout` parsing.
 *
 * @module
 */
import type { Transport } from "../src/options.ts";
import type { PeerLink } from "../src/peerlink.ts";
import { choiceOption, type ParsedArgs, stringOption } from "./args.ts";
import { parseDuration } from "./duration.ts";

/** The transports `--transport` accepts. */
export const TRANSPORTS: readonly Transport[] = ["auto", "udp", "tcp"];

/**
 * `--transport` (default `"auto"`) and `--timeout` (default the node's).
 *
 * @param args Parsed arguments.
 * @param command For error messages.
 * @returns The call options.
 */
export function callOptions(args: ParsedArgs, command: string): { transport: Transport; timeout?: number } {
  const transport = choiceOption(args, "transport", TRANSPORTS, command) ?? "auto";
  const timeoutText = stringOption(args, "timeout");
  return {
    transport,
    ...(timeoutText !== undefined ? { timeout: parseDuration(timeoutText, "--timeout") } : {}),
  };
}

/** A snapshot of how many calls the node sent over each transport. */
export interface TransportCounters {
  /** Calls sent over UDP. */
  udp: number;
  /** Calls sent over TCP. */
  tcp: number;
  /** UDP calls retried over TCP because the reply did not fit a datagram. */
  retried: number;
}

/**
 * Reads the node's per-transport call counters.
 *
 * @param node A started node.
 * @returns The counters (zeros when the node exposes none).
 */
export function transportCounters(node: PeerLink): TransportCounters {
  const calls = node.stats()?.calls;
  return { udp: calls?.udp ?? 0, tcp: calls?.tcp ?? 0, retried: calls?.retriedOverTcp ?? 0 };
}

/**
 * What the counters say a single call used: `"tcp"`, `"udp"`, or `"udp→tcp"` for an auto call
 * whose reply was too large for a datagram and came over TCP; else `fallback`.
 *
 * @param before Counters before the call.
 * @param after Counters after it.
 * @param fallback What to say when the counters did not move (e.g. the requested transport).
 * @returns The transport.
 */
export function usedTransport(before: TransportCounters, after: TransportCounters, fallback: string): string {
  if (after.retried > before.retried) return "udp→tcp";
  if (after.tcp > before.tcp) return "tcp";
  if (after.udp > before.udp) return "udp";
  return fallback;
}
