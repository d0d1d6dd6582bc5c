/**
 * How the CLI shows discovered peers: a bullet line per peer (as the Python tool), a JSON
 * object per peer, and waiting for a peer by name.
 *
 * @module
 */
import type { PeerInfo } from "../src/discovery.ts";
import type { PeerLink } from "../src/peerlink.ts";
import { formatAge } from "./duration.ts";
import { alignColumns, type Style } from "./format.ts";
import { peerRuntime, VERSION_TXT_KEY } from "./node.ts";

/**
 * Bullet lines, one per peer, with aligned columns, the last but one saying where it was found
 * (`mdns`, `seed`, `dns`, joined with `+` when several see it):
 * `  • NodeA  10.0.0.5  udp 50123  tcp 50124  deno  mdns  3s ago`.
 *
 * @param peers Peers to show.
 * @param now Current time, epoch ms.
 * @param style Colours.
 * @returns The lines.
 *
 * @example
 * ```ts
 * import { peerLines } from "./peers.ts";
 * import { createStyle } from "./format.ts";
 * // peerLines(node.peers(), Date.now(), createStyle(false)).forEach((line) => console.log(line));
 * ```
 */
export function peerLines(peers: readonly PeerInfo[], now: number, style: Style): string[] {
  const rows = peers.map((peer) => [
    `  • ${style.cyan(style.bold(peer.name))}`,
    peer.address,
    `udp ${peer.udpPort}`,
    `tcp ${peer.tcpPort}`,
    peerRuntime(peer) ?? "?",
    peerVia(peer),
    style.dim(formatAge(peer.lastSeen, now)),
  ]);
  return alignColumns(rows);
}

/**
 * Where a peer was found, for display: `"mdns"`, `"dns"`, `"seed"`, or several joined with `+`.
 *
 * @param peer The peer.
 * @returns The sources, best first.
 */
export function peerVia(peer: PeerInfo): string {
  return (peer.via ?? ["mdns"]).join("+");
}

/**
 * A peer as a plain JSON-ready object (what `discover --json` prints, one per line).
 *
 * @param peer The peer.
 * @param now Current time, epoch ms.
 * @returns The object.
 */
export function peerJson(peer: PeerInfo, now: number): Record<string, unknown> {
  return {
    name: peer.name,
    address: peer.address,
    udpPort: peer.udpPort,
    tcpPort: peer.tcpPort,
    runtime: peerRuntime(peer) ?? null,
    via: peer.via ?? ["mdns"],
    version: peer.version ?? peer.txt?.[VERSION_TXT_KEY] ?? null,
    lastSeen: new Date(peer.lastSeen).toISOString(),
    ageMs: Math.max(0, Math.round(now - peer.lastSeen)),
    instanceId: peer.instanceId ?? null,
    capabilities: peer.capabilities ?? [],
    txt: peer.txt ?? {},
  };
}

/**
 * Waits until a peer with exactly this name is known, the time is up, or the signal aborts.
 *
 * @param node A started node.
 * @param name Peer name.
 * @param waitMs Longest wait.
 * @param signal Interrupt.
 * @returns The peer, or `undefined` when it did not appear in time.
 */
export function waitForPeer(
  node: PeerLink,
  name: string,
  waitMs: number,
  signal: AbortSignal,
): Promise<PeerInfo | undefined> {
  const known = node.peers().find((p) => p.name === name);
  if (known || signal.aborted) return Promise.resolve(known);
  return new Promise((resolve) => {
    const finish = (peer: PeerInfo | undefined) => {
      clearTimeout(timer);
      off();
      signal.removeEventListener("abort", onAbort);
      resolve(peer);
    };
    const off = node.on("peer-up", (peer) => peer.name === name && finish(peer));
    const timer = setTimeout(() => finish(node.peers().find((p) => p.name === name)), waitMs);
    const onAbort = () => finish(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits a fixed time (collecting peers meanwhile), ending early on abort.
 *
 * @param ms How long (`Infinity`: until the signal aborts).
 * @param signal Interrupt.
 * @returns Resolves when the time is up or on abort.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    // Infinity: only the abort ends it (setTimeout would overflow to 1 ms beyond 2^31-1).
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(ms, 2 ** 31 - 1)) : undefined;
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * "Known peers: A, B" or "No peers known" — for messages about a missing peer.
 *
 * @param node A started node.
 * @returns The phrase.
 */
export function knownPeersPhrase(node: PeerLink): string {
  const names = node.peers().map((p) => p.name);
  return names.length ? `Known peers: ${names.join(", ")}` : "No peers found at all (is a node running in this realm?)";
}
