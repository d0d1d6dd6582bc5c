/**
 * What every scenario of one runtime shares (`RunContext`), and the pairs of worker processes
 * most of them measure with: a server and a client per subject (raw sockets, PeerLink plain
 * and sealed, HTTP, gRPC, capnweb), started together, pinned together, closed together.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { type Runtime, Worker, type WorkerMessage } from "../driver/proc.ts";
import type { MetricSpec, MetricTable, Variant } from "../report/table.ts";
import type { Settings } from "../settings.ts";

/** What the scenarios of one runtime in one run share. */
export interface RunContext {
  runtime: Runtime;
  settings: Settings;
  /** PeerLink layer: `"node"` or `"engine"`. */
  layer: "node" | "engine";
  /** Realm prefix unique to this run and runtime. */
  realm: string;
  /** Echo worker output. */
  verbose: boolean;
  /** Extra flags for the runtime of every worker (e.g. `--cpu-prof`). */
  runtimeFlags: string[];
  /** Measurements to run (all when undefined), e.g. `["throughput_udp"]`. */
  only?: readonly string[];
  /** Pin small-call servers to CPU 0 and their clients to CPU 1 (stable numbers on a 2-CPU machine). */
  pin: boolean;
  /** Count wire traffic and collect engine counters. */
  profile: boolean;
  /** Directory for CPU profiles of the call workers (Node and Deno), or undefined. */
  cpuProfileDir?: string;
  /** Where results go. */
  table: MetricTable;
  /** Problems met. */
  errors: string[];
  /** APIs used, for the report. */
  apis: Record<string, string>;
  /** Set when PeerLink could not run, with the reason. */
  peerlinkUnavailable?: string;
  /** Resident memory of a bare runtime process (no PeerLink loaded), bytes. */
  bareRss?: number;
  /** Diagnostics of `--profile`. */
  profileData: Record<string, unknown>;
  /** Progress lines. */
  log(line: string): void;
}

/**
 * An error's message.
 *
 * @param error Anything thrown.
 * @returns Its message.
 */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Whether a measurement is selected by `--only`.
 *
 * @param ctx The run.
 * @param measurement Its name.
 * @returns True when it should run.
 */
export function selected(ctx: RunContext, measurement: string): boolean {
  return !ctx.only || ctx.only.includes(measurement);
}

/**
 * Starts a worker, or says why it could not.
 *
 * @param ctx The run.
 * @param role `module#name` (see `bench/worker/main.ts`).
 * @param config The role's config.
 * @param readyTimeoutMs How long it may take to be ready.
 * @param via A command that runs it elsewhere (see `SpawnOptions.via`), e.g. on a LAN host.
 * @returns The worker, or the reason as a string.
 */
export async function spawnOrNote(
  ctx: RunContext,
  role: string,
  config: Record<string, unknown>,
  readyTimeoutMs = 30_000,
  via?: readonly string[],
): Promise<Worker | string> {
  try {
    return await Worker.spawn(ctx.runtime, role, config, {
      verbose: ctx.verbose,
      readyTimeoutMs,
      runtimeFlags: ctx.runtimeFlags,
      via,
    });
  } catch (error) {
    return describe(error);
  }
}

/**
 * Records a worker's result: each metric's field, or an error when it is missing or not a
 * finite number of at least 0.
 *
 * @param table Where results go.
 * @param metrics The metrics the result carries, each under its `metric` name.
 * @param result The worker's result.
 */
export function recordResult(
  table: MetricTable,
  metrics: readonly MetricSpec[],
  result: Record<string, unknown>,
): void {
  for (const m of metrics) {
    const value = result[m.metric];
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) table.add(m, value);
    else table.mark(m, "error", `the worker reported ${m.metric} = ${JSON.stringify(value)}`);
  }
}

/** A subject measured with a server process and a client process. */
export interface PairSpec {
  /** For messages and `apis`, e.g. `"gRPC"`. */
  label: string;
  /** Key in the report's `apis`, or none. */
  apiKey?: string;
  /** The variants this client measures (the raw client measures `raw` and `raw_coalesced`). */
  variants: Variant[];
  /** The server's role and config. */
  server: [role: string, config: Record<string, unknown>];
  /** The client's role and config, from the server's ready message. */
  client(ready: WorkerMessage): [role: string, config: Record<string, unknown>];
  /** Commands that run the server and the client elsewhere (on LAN hosts); here when absent. */
  via?: { server: readonly string[]; client: readonly string[] };
  /** How long the client may take to be ready (default 30 s). */
  clientReadyMs?: number;
}

/** Running pairs: per variant its client and server, or why it is unavailable. */
export class Pairs {
  readonly clients: Partial<Record<Variant, Worker>> = {};
  readonly servers: Partial<Record<Variant, Worker>> = {};
  readonly unavailable: Partial<Record<Variant, string>> = {};
  readonly #workers: { worker: Worker; side: "server" | "client" }[] = [];
  #pinned = false;

  /**
   * Starts every pair at once (servers first, then clients).
   *
   * @param ctx The run.
   * @param specs The subjects.
   * @returns The pairs; a pair that failed to start has its variants in `unavailable`.
   */
  static async start(ctx: RunContext, specs: readonly PairSpec[]): Promise<Pairs> {
    const pairs = new Pairs();
    await Promise.all(specs.map(async (spec) => {
      const server = await spawnOrNote(ctx, ...spec.server, undefined, spec.via?.server);
      const client = typeof server === "string"
        ? server
        : await spawnOrNote(ctx, ...spec.client(server.ready), spec.clientReadyMs, spec.via?.client);
      for (const [worker, side] of [[server, "server"], [client, "client"]] as const) {
        if (typeof worker !== "string") pairs.#workers.push({ worker, side });
      }
      for (const variant of spec.variants) {
        if (typeof client === "string") pairs.unavailable[variant] = `${spec.label}: ${client}`;
        else {
          pairs.clients[variant] = client;
          pairs.servers[variant] = server as Worker;
        }
      }
      if (spec.apiKey && typeof server !== "string") {
        const clientApi = typeof client === "string" ? undefined : client.ready.api;
        ctx.apis[spec.apiKey] = [server.ready.api, clientApi].filter(Boolean).join(", client: ");
      }
    }));
    return pairs;
  }

  /**
   * A variant failed midway: it is not measured again.
   *
   * @param variant Which.
   * @param why The failure.
   */
  fail(variant: Variant, why: string): void {
    delete this.clients[variant];
    this.unavailable[variant] = `failed earlier: ${why}`;
  }

  /**
   * Pins servers to CPU 0 and clients to CPU 1, or lets them use every CPU again.
   *
   * @param pin Pin (true) or unpin.
   */
  pin(pin: boolean): void {
    if (pin === this.#pinned) return;
    this.#pinned = pin;
    const all = `0-${availableParallelism() - 1}`;
    for (const { worker, side } of this.#workers) worker.setCpus(pin ? (side === "server" ? "0" : "1") : all);
  }

  /**
   * Marks the metrics of the variants that could not start (or failed) as unavailable.
   *
   * @param table Where results go.
   * @param variants The variants of one measurement.
   * @param metrics The metrics of a variant in that measurement.
   */
  markUnavailable(table: MetricTable, variants: readonly Variant[], metrics: (variant: Variant) => MetricSpec[]): void {
    for (const variant of variants) {
      const why = this.unavailable[variant];
      if (why) { for (const m of metrics(variant)) table.mark(m, "unavailable", why); }
    }
  }

  /** Ends every worker. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map(({ worker }) => worker.close()));
  }
}
