/**
 * The subjects as pairs of processes: the raw echo, PeerLink plain and sealed, and the
 * alternatives a user would pick instead (HTTP+fetch, gRPC, capnweb). The call and stream
 * scenarios start the ones they measure.
 *
 * @module
 */
import { CLIENT_NAME, SERVER_NAME } from "../subjects/peerlink/rpc.ts";
import type { RunContext } from "./context.ts";
import type { PairSpec } from "./context.ts";

/**
 * The sizes of PeerLink's `add(1, 2)` request and reply between the benchmark's two nodes, as
 * the codec writes them (checked against the wire counters in `--profile` runs), so that the
 * raw echo moves exactly as many bytes.
 *
 * @returns Request and reply sizes in bytes.
 */
export function peerLinkMessageSizes(): { requestBytes: number; replyBytes: number } {
  const id = crypto.randomUUID();
  const request = {
    type: "request",
    id,
    src: CLIENT_NAME,
    dst: SERVER_NAME,
    rpc: "add",
    args: [1, 2],
    kwargs: {},
    plx: 1,
  };
  const reply = { type: "response", id, result: 3 };
  const size = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;
  return { requestBytes: size(request), replyBytes: size(reply) };
}

/**
 * The raw echo pair.
 *
 * @param ctx The run.
 * @returns Its spec (variants `raw` and `raw_coalesced`).
 */
export function rawPair(ctx: RunContext): PairSpec {
  const sizes = peerLinkMessageSizes();
  const cpu = cpuProfile(ctx);
  return {
    label: "raw baseline",
    apiKey: "raw",
    variants: ["raw", "raw_coalesced"],
    server: ["raw/echo#server", { replyBytes: sizes.replyBytes, ...cpu }],
    client: (ready) => ["raw/echo#client", { ...ready, requestBytes: sizes.requestBytes, ...cpu }],
  };
}

/**
 * The PeerLink pairs, plain and sealed (the same nodes with a secret unique to this run).
 *
 * @param ctx The run.
 * @param realm Realm of these nodes.
 * @returns Their specs (variants `peerlink` and `peerlink_sealed`).
 */
export function peerLinkPairs(ctx: RunContext, realm: string): PairSpec[] {
  const plain = { layer: ctx.layer, realm, countWire: ctx.profile, ...cpuProfile(ctx) };
  const sealed = { ...plain, secret: `${realm}-sealed-${crypto.randomUUID()}` };
  return [
    { label: "PeerLink", variants: ["peerlink"], config: plain },
    { label: "PeerLink sealed", variants: ["peerlink_sealed"], config: sealed },
  ].map(({ label, variants, config }): PairSpec => ({
    label,
    variants: variants as PairSpec["variants"],
    server: ["peerlink/rpc#server", config],
    client: (ready) => ["peerlink/rpc#client", { ...config, udpPort: ready.udpPort, tcpPort: ready.tcpPort }],
  }));
}

/** The alternatives, by variant: what a user would pick instead of PeerLink. */
export const ALTERNATIVES = {
  http: "HTTP+fetch",
  grpc: "gRPC",
  capnweb: "capnweb",
} as const;

/**
 * The pairs of the alternatives: a server of the runtime and a client that reaches it by port.
 *
 * @param ctx The run.
 * @returns Their specs.
 */
export function alternativePairs(ctx: RunContext): PairSpec[] {
  const cpu = cpuProfile(ctx);
  return (Object.entries(ALTERNATIVES) as [keyof typeof ALTERNATIVES, string][]).map(([variant, label]) => ({
    label,
    apiKey: variant,
    variants: [variant],
    server: [`${variant}#server`, { ...cpu }],
    client: (ready) => [`${variant}#client`, { port: ready.port, ...cpu }],
  }));
}

function cpuProfile(ctx: RunContext): Record<string, unknown> {
  return ctx.cpuProfileDir === undefined ? {} : { cpuProfile: ctx.cpuProfileDir };
}
