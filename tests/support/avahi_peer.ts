/**
 * Our side of the Avahi interoperability test (tests/lan/interop_avahi.test.ts): a small program
 * that runs PeerLink's mDNS layer (`src/mdns/mod.ts`, real sockets from `runtimes/auto.ts`) on
 * one LAN host and reports what happens as JSON lines on standard output.
 *
 * Run with the runtime under test (see `runtimeArgv` in tests/support/lan.ts), with the task
 * in the environment variable `AVAHI_PEER` as JSON ({@link PeerTask}):
 *
 * - `{"command":"publish","instance":"Node","type":"_peerlink._tcp","port":4000,"txt":{...}}`
 *   prints `started`, then `published` (or `renamed` first, with `allowRename`) or `error`.
 * - `{"command":"browse","type":"_peerlink._tcp"}` prints `started`, then `up`/`update`/`down`.
 * - `{"command":"resolve","instance":"Svc","type":"_peerlink._tcp"}` prints `started`, then
 *   `resolved` or `error`.
 * - `{"command":"discovery","instance":"Node","port":4000,"tcpPort":4001,"instanceId":"..."}`
 *   runs a PeerLink node's discovery (`src/discovery.ts`; `secret` for a realm): prints
 *   `published` (its name, service type) or `error`, then `peer-up`/`peer-down`.
 *
 * It then runs until standard input closes (spawn it with `stdin: true`), SIGTERM/SIGINT, or
 * `maxMs` (default 60 s); it stops mDNS (goodbyes for what it published), prints `stats` and
 * `stopped`, and exits 0. Every line is one JSON object with an `event` field.
 *
 * @module
 */
import process from "node:process";
import { autoRuntime } from "../../runtimes/auto.ts";
import { Mdns, NameConflictError, type ServiceInstance, type TxtAttributes } from "../../src/mdns/mod.ts";
import { Discovery, type PeerInfo, serviceTypeFor } from "../../src/discovery.ts";
import { deriveRealm } from "../../src/derive.ts";

/** What the peer is asked to do (the `AVAHI_PEER` environment variable, as JSON). */
export interface PeerTask {
  /** `publish` a service, `browse` a type, `resolve` one instance, or run PeerLink `discovery`. */
  command: "publish" | "browse" | "resolve" | "discovery";
  /** Service type, e.g. `"_peerlink._tcp"` (not for discovery, which derives it). */
  type?: string;
  /** Instance label (publish, resolve); the node name (discovery). */
  instance?: string;
  /** SRV port (publish); the UDP port (discovery). */
  port?: number;
  /** TCP port (discovery). */
  tcpPort?: number;
  /** Instance id (discovery). */
  instanceId?: string;
  /** Shared secret: the node's realm is `deriveRealm(secret)` (discovery). */
  secret?: string;
  /** TXT attributes (publish); extra TXT attributes, strings only (discovery). */
  txt?: Record<string, string | true>;
  /** Rename on conflict instead of failing (publish, discovery). */
  allowRename?: boolean;
  /** How long resolve() may take, ms (default 5000). */
  timeoutMs?: number;
  /** Interfaces to restrict mDNS to (default: `["pleth0"]`, the LAN's interface). */
  interfaces?: string[];
  /** Lifetime cap, ms (default 60000). */
  maxMs?: number;
}

/** A service instance as printed (bytes as text, so it survives JSON). */
export interface PrintedInstance {
  /** Instance label. */
  name: string;
  /** Full name. */
  fullName: string;
  /** Service type. */
  type: string;
  /** SRV target host. */
  host: string;
  /** SRV port. */
  port: number;
  /** Addresses, best first. */
  addresses: string[];
  /** Decoded TXT attributes. */
  txt: Record<string, string | true>;
  /** TXT strings as received, decoded as UTF-8. */
  txtRaw: string[];
  /** Address the SRV came from. */
  source: string;
}

function emit(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ event, ...fields }));
}

function printable(i: ServiceInstance): PrintedInstance {
  const text = new TextDecoder();
  return {
    name: i.name,
    fullName: i.fullName,
    type: i.type,
    host: i.host,
    port: i.port,
    addresses: i.addresses,
    txt: { ...i.txt },
    txtRaw: i.txtRaw.map((s) => text.decode(s)),
    source: i.source,
  };
}

function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof NameConflictError) {
    return { name: err.name, message: err.message, fullName: err.fullName, holder: err.holder ?? null };
  }
  return err instanceof Error ? { name: err.name, message: err.message } : { name: "Error", message: String(err) };
}

function parseTask(): PeerTask {
  const raw = process.env.AVAHI_PEER;
  if (!raw) {
    throw new Error("avahi_peer: set AVAHI_PEER to a JSON task (see the header of tests/support/avahi_peer.ts)");
  }
  const task = JSON.parse(raw) as PeerTask;
  if (!["publish", "browse", "resolve", "discovery"].includes(task.command)) {
    throw new Error(
      `avahi_peer: unknown command ${JSON.stringify(task.command)} (publish, browse, resolve or discovery)`,
    );
  }
  return task;
}

/** Resolves when stdin closes, a stop signal arrives, or `maxMs` passes; cleans up its listeners. */
function untilStopped(maxMs: number): Promise<string> {
  return new Promise((resolve) => {
    const finish = (why: string) => {
      clearTimeout(timer);
      process.stdin.off("end", onEnd);
      process.stdin.off("close", onEnd);
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onTerm);
      process.stdin.pause();
      resolve(why);
    };
    const onEnd = () => finish("stdin closed");
    const onTerm = () => finish("signal");
    const timer = setTimeout(() => finish(`lifetime of ${maxMs} ms reached`), maxMs);
    process.stdin.on("end", onEnd);
    process.stdin.on("close", onEnd);
    process.stdin.on("data", () => {/* only its end matters */});
    process.stdin.resume();
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onTerm);
  });
}

/** Waits for `work` at most `ms` (a publish still probing when stopped). */
async function settle(work: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}

function printablePeer(p: PeerInfo): Record<string, unknown> {
  return { ...p, txt: { ...p.txt } };
}

/** publish, browse, resolve: the general mDNS layer. */
async function runMdns(task: PeerTask, stopped: Promise<string>): Promise<string> {
  const type = task.type ?? "";
  const mdns = new Mdns({ runtime: autoRuntime(), interfaces: task.interfaces ?? ["pleth0"] });
  await mdns.start();
  emit("started", { hostName: mdns.hostName, interfaces: mdns.interfaces.map((i) => `${i.name}=${i.address}`) });
  const work = (async () => {
    try {
      if (task.command === "publish") {
        const published = await mdns.publish({
          instance: task.instance ?? "",
          type,
          port: task.port ?? 0,
          txt: (task.txt ?? {}) as TxtAttributes,
          allowRename: task.allowRename === true,
          onNameChange: (instance) => emit("renamed", { instance }),
          onConflict: (error) => emit("conflict", describeError(error)),
        });
        emit("published", { instance: published.instance, fullName: published.fullName, hostName: mdns.hostName });
      } else if (task.command === "browse") {
        mdns.browse(type, {
          onUp: (i) => emit("up", { instance: printable(i) }),
          onUpdate: (i) => emit("update", { instance: printable(i) }),
          onDown: (i, reason) => emit("down", { instance: printable(i), reason }),
        });
      } else {
        const found = await mdns.resolve(task.instance ?? "", type, { timeout: task.timeoutMs ?? 5000 });
        emit("resolved", { instance: printable(found) });
      }
    } catch (err) {
      emit("error", describeError(err));
    }
  })();
  const why = await stopped;
  // stop() settles a pending resolve(); a publish still probing gets a moment to finish.
  await mdns.stop();
  await settle(work, 2000);
  emit("stats", { stats: mdns.stats });
  return why;
}

/** discovery: a PeerLink node's publication and peer list (src/discovery.ts). */
async function runDiscovery(task: PeerTask, stopped: Promise<string>): Promise<string> {
  const realm = deriveRealm(task.secret);
  const txt: Record<string, string> = {};
  for (const [k, v] of Object.entries(task.txt ?? {})) txt[k] = v === true ? "" : v;
  const discovery = new Discovery({
    runtime: autoRuntime(),
    name: task.instance ?? "",
    udpPort: task.port ?? 0,
    tcpPort: task.tcpPort ?? task.port ?? 0,
    instanceId: task.instanceId ?? "",
    realm: realm || undefined,
    txt,
    interfaces: task.interfaces ?? ["pleth0"],
    allowRename: task.allowRename === true,
  });
  discovery.on("peer-up", (peer) => emit("peer-up", { peer: printablePeer(peer) }));
  discovery.on("peer-down", (peer, reason) => emit("peer-down", { peer: printablePeer(peer), reason }));
  emit("started", { realm });
  const work = discovery.start().then(
    () => emit("published", { instance: discovery.name, type: serviceTypeFor(realm || undefined) }),
    (err) => emit("error", describeError(err)),
  );
  const why = await stopped;
  await discovery.stop();
  await settle(work, 2000);
  return why;
}

async function main(): Promise<void> {
  const task = parseTask();
  const stopped = untilStopped(task.maxMs ?? 60_000);
  const why = task.command === "discovery" ? await runDiscovery(task, stopped) : await runMdns(task, stopped);
  emit("stopped", { why });
}

main().then(
  () => process.exit(0),
  (err) => {
    emit("error", { ...describeError(err), fatal: true });
    process.exit(1);
  },
);
