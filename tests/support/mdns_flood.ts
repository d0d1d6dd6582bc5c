/**
 * A flood of fake DNS-SD services, as a hostile host on the LAN would send it: one mDNS
 * response per service (PTR, SRV and TXT in the answers, the host's A record as additional),
 * from port 5353, spread over one or many source addresses. Written against the socket
 * interface, so the same code floods the in-memory network (a `MemoryNetwork` host per source
 * address) and a real LAN (one process binding each source address it was given; see
 * `mdns_flood_host.ts`).
 *
 * ```ts
 * const sources = await openFloodSources([1, 2].map((i) => ({ runtime: lan.host(`10.0.0.${100 + i}`) })));
 * const result = await flood(sources, { services: 20_000, pause: () => lan.advance(1) });
 * await closeFloodSources(sources);
 * ```
 */
import type { DatagramSocket, SocketRuntime } from "../../src/net.ts";
import { encodeMessage } from "../../src/mdns/packet.ts";
import { encodeTxt } from "../../src/mdns/txt.ts";
import { HOST_TTL, type MdnsRecord, PTR_TTL } from "../../src/mdns/records.ts";

/** What to flood with. */
export interface FloodOptions {
  /** Fake services to announce, one packet each. */
  services: number;
  /** Service type (default `"_peerlink._tcp"`, what a plain PeerLink node browses). */
  type?: string;
  /** Instance names are `<prefix>-<n>` (default `"flood"`). */
  prefix?: string;
  /** Number of the first service (default 0), so successive floods announce new names. */
  first?: number;
  /** Add a TXT `auth` that looks like a proof and is not one (default false). */
  fakeProof?: boolean;
  /** TTL of every record, s (default: what PeerLink publishes, 4500 for the PTR and 120 for the others). */
  ttl?: number;
  /** Packets sent before each `pause()` (default 100). */
  batch?: number;
  /** Called between batches: lets timers run (`() => clock.advance(1)`) or paces a real sender. */
  pause?: () => Promise<void>;
}

/** One source address of a flood, with its bound socket. */
export interface FloodSource {
  /** The address the packets come from. */
  readonly address: string;
  /** The socket, bound to port 5353. */
  readonly socket: DatagramSocket;
}

/** What a flood sent. */
export interface FloodResult {
  /** Packets handed to the sockets. */
  sent: number;
  /** Sends that failed (e.g. a full socket buffer). */
  failed: number;
  /** Wall time, ms. */
  elapsedMs: number;
}

const MDNS_GROUP = "224.0.0.251";
const MDNS_PORT = 5353;

/**
 * The records of fake service number `n`, as its own host would announce it: a complete,
 * well-formed PeerLink announcement (ports, instance id), which a node without a secret
 * cannot tell from a real one.
 *
 * @param n Service number.
 * @param address The address its A record gives (the source's).
 * @param options Type, prefix, fake proof, TTL.
 * @returns The answers and additionals of its packet.
 */
export function floodRecords(
  n: number,
  address: string,
  options: Pick<FloodOptions, "type" | "prefix" | "fakeProof" | "ttl"> = {},
): { answers: MdnsRecord[]; additionals: MdnsRecord[] } {
  const type = `${options.type ?? "_peerlink._tcp"}.local`;
  const label = `${options.prefix ?? "flood"}-${n}`;
  const instance = `${label}.${type}`;
  const host = `${label}.local`;
  const port = 1024 + (n % 60_000);
  const txt: Record<string, string> = {
    node: label,
    udp_port: String(port),
    tcp_port: String(port),
    instance_id: `flood-${n.toString(16).padStart(8, "0")}`,
  };
  // 43 base64url characters, the shape of a real proof; it verifies under no secret.
  if (options.fakeProof) txt.auth = `${"A".repeat(35)}${n.toString(16).padStart(8, "0")}`;
  const ttl = options.ttl ?? HOST_TTL;
  return {
    answers: [
      { name: type, type: "PTR", ttl: options.ttl ?? PTR_TTL, flush: false, data: instance },
      { name: instance, type: "SRV", ttl, flush: true, data: { priority: 0, weight: 0, port, target: host } },
      { name: instance, type: "TXT", ttl, flush: true, data: encodeTxt(txt) },
    ],
    additionals: [{ name: host, type: "A", ttl, flush: true, data: address }],
  };
}

/**
 * The packet of fake service number `n`.
 *
 * @param n Service number.
 * @param address Its A record's address.
 * @param options Type, prefix, fake proof.
 * @returns The encoded mDNS response.
 */
export function floodPacket(n: number, address: string, options: FloodOptions): Uint8Array {
  const { answers, additionals } = floodRecords(n, address, options);
  return encodeMessage({ id: 0, response: true, questions: [], answers, authorities: [], additionals });
}

/**
 * Binds the flood's sockets: one per source, on port 5353 (receivers accept responses only
 * from there), multicasting from that source's address.
 *
 * @param sources Each source's runtime (a `MemoryNetwork` host, or a real adapter) and, on a
 *   real host with several addresses, the address to send from (default: the runtime's
 *   interface address, binding all addresses).
 * @returns The bound sources.
 */
export async function openFloodSources(
  sources: ReadonlyArray<{ runtime: SocketRuntime; address?: string }>,
): Promise<FloodSource[]> {
  const opened: FloodSource[] = [];
  try {
    for (const { runtime, address } of sources) {
      const socket = await runtime.bindDatagram(
        { address: address ?? "0.0.0.0", port: MDNS_PORT, reuseAddress: true },
        () => {},
      );
      const from = address ?? lanAddressOf(runtime);
      opened.push({ address: from, socket });
      await socket.setMulticastTTL(255);
      await socket.setMulticastInterface(from);
    }
  } catch (error) {
    await closeFloodSources(opened);
    throw error;
  }
  return opened;
}

/** The first non-internal IPv4 address of a runtime's interfaces. */
function lanAddressOf(runtime: SocketRuntime): string {
  for (const iface of runtime.networkInterfaces()) {
    if (iface.internal) continue;
    const v4 = iface.addresses.find((a) => a.family === "IPv4");
    if (v4) return v4.address;
  }
  throw new Error("mdns_flood: the runtime has no non-internal IPv4 address to flood from");
}

/**
 * Sends the flood: service `first + i` from source `i mod sources.length`, in batches.
 *
 * @param sources Bound sources (see {@linkcode openFloodSources}).
 * @param options How many services, which type, pacing.
 * @returns What was sent.
 */
export async function flood(sources: readonly FloodSource[], options: FloodOptions): Promise<FloodResult> {
  if (sources.length === 0) throw new RangeError("mdns_flood: no source to flood from");
  const batch = options.batch ?? 100;
  const first = options.first ?? 0;
  const started = performance.now();
  let sent = 0;
  let failed = 0;
  for (let i = 0; i < options.services; i += batch) {
    // A batch goes out at once (each send still completes on its own), then the pause.
    const sends: Promise<void>[] = [];
    for (let k = i; k < Math.min(i + batch, options.services); k++) {
      const source = sources[k % sources.length];
      sends.push(source.socket.send(floodPacket(first + k, source.address, options), MDNS_GROUP, MDNS_PORT));
    }
    for (const outcome of await Promise.allSettled(sends)) outcome.status === "fulfilled" ? sent++ : failed++;
    await options.pause?.();
  }
  return { sent, failed, elapsedMs: performance.now() - started };
}

/**
 * Closes the flood's sockets.
 *
 * @param sources The sources.
 */
export async function closeFloodSources(sources: readonly FloodSource[]): Promise<void> {
  await Promise.allSettled(sources.map((s) => s.socket.close()));
}
