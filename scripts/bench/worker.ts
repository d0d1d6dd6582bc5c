/**
 * Entry point of every benchmark worker process, run by the runtime under test:
 *
 * ```sh
 * node_modules/.bin/bun scripts/bench/worker.ts <role> '<json config>'
 * ```
 *
 * The worker announces itself with `{type: "ready", ...}`, then answers the driver's commands
 * (see `protocol.ts`) until `{cmd: "exit"}` or end of stdin. A failure before ready is
 * reported as `{type: "fatal", message}` and exit code 1, so the driver can mark the scenario
 * unavailable with the reason.
 *
 * @module
 */
import process from "node:process";
import type { PeerLinkBenchOptions } from "./peerlink_rpc.ts";
import {
  collectGarbage,
  type Command,
  commands,
  currentRuntime,
  emit,
  residentBytes,
  runtimeVersion,
} from "./protocol.ts";

/** Resident memory after a full garbage collection, where the runtime allows one. */
function settledRss(): Record<string, unknown> {
  const collected = collectGarbage();
  return { rss: residentBytes(), collected };
}

type Handler = (command: Command) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** What a role sets up: its ready message, its commands, and how to shut down. */
interface Role {
  ready: Record<string, unknown>;
  handlers: Record<string, Handler>;
  close(): Promise<void> | void;
}

function num(command: Command, key: string): number {
  const value = command[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`command ${command.cmd}: ${key} must be a number`);
  }
  return value;
}

function transportOf(command: Command): "udp" | "tcp" {
  const value = command.transport;
  if (value !== "udp" && value !== "tcp") throw new Error(`command ${command.cmd}: transport must be "udp" or "tcp"`);
  return value;
}

async function role(name: string, config: Record<string, unknown>): Promise<Role> {
  const realm = String(config.realm ?? "bench");
  switch (name) {
    case "bare":
      return { ready: settledRss(), handlers: {}, close: () => {} };
    case "raw-server": {
      const { startRawServer } = await import("./raw_echo.ts");
      const server = await startRawServer(Number(config.replyBytes));
      const { api, udpPort, tcpPort, tcpCoalescedPort, uploadPort } = server;
      return {
        ready: { api, udpPort, tcpPort, tcpCoalescedPort, uploadPort },
        handlers: {},
        close: () => server.close(),
      };
    }
    case "raw-client": {
      const { startRawClient } = await import("./raw_echo.ts");
      const client = await startRawClient({
        udpPort: Number(config.udpPort),
        tcpPort: Number(config.tcpPort),
        tcpCoalescedPort: Number(config.tcpCoalescedPort),
        uploadPort: Number(config.uploadPort),
        requestBytes: Number(config.requestBytes),
      });
      return {
        ready: {},
        handlers: {
          latency: async (c) => ({ ...(await client.latency(transportOf(c), num(c, "count"), num(c, "warmup"))) }),
          throughput: async (c) => ({
            ...(await client.throughput(
              c.transport === "tcp-coalesced" ? "tcp-coalesced" : transportOf(c),
              num(c, "concurrency"),
              num(c, "total"),
              num(c, "warmup"),
            )),
          }),
          upload: async (c) => ({ ...(await client.upload(num(c, "bytes"), num(c, "count"), num(c, "warmup"))) }),
          stats: () => ({ resent: client.resent() }),
        },
        close: () => client.close(),
      };
    }
    case "http-server": {
      const { startHttpServer } = await import("./http.ts");
      const server = await startHttpServer();
      return { ready: { api: server.api, port: server.port }, handlers: {}, close: () => server.close() };
    }
    case "http-client": {
      const { httpClient } = await import("./http.ts");
      const client = httpClient(Number(config.port));
      return {
        ready: {},
        handlers: {
          latency: async (c) => ({ ...(await client.latency(num(c, "count"), num(c, "warmup"))) }),
          throughput: async (c) => ({
            ...(await client.throughput(num(c, "concurrency"), num(c, "total"), num(c, "warmup"))),
          }),
        },
        close: () => {},
      };
    }
    case "peerlink-server": {
      const { startPeerLinkServer } = await import("./peerlink_rpc.ts");
      const server = await startPeerLinkServer(peerLinkOptions(config, realm));
      return {
        ready: { ...server.ports, adapter: server.adapter },
        handlers: { stats: () => ({ counts: server.counts, stats: server.stats() }) },
        close: () => server.close(),
      };
    }
    case "peerlink-client": {
      const { startPeerLinkClient } = await import("./peerlink_rpc.ts");
      const client = await startPeerLinkClient(
        peerLinkOptions(config, realm),
        { udpPort: Number(config.udpPort), tcpPort: Number(config.tcpPort) },
      );
      return {
        ready: { adapter: client.adapter },
        handlers: {
          latency: async (c) => ({ ...(await client.latency(transportOf(c), num(c, "count"), num(c, "warmup"))) }),
          throughput: async (c) => ({
            ...(await client.throughput(transportOf(c), num(c, "concurrency"), num(c, "total"), num(c, "warmup"))),
          }),
          upload: async (c) => ({ ...(await client.upload(num(c, "bytes"), num(c, "count"), num(c, "warmup"))) }),
          stats: () => ({ counts: { ...client.counts }, stats: client.stats() }),
        },
        close: () => client.close(),
      };
    }
    case "discovery-observer": {
      const { startObserver } = await import("./discovery_roles.ts");
      const stop = await startObserver(realm);
      return { ready: {}, handlers: {}, close: stop };
    }
    case "discovery-subject": {
      const { Subject } = await import("./discovery_roles.ts");
      const subject = new Subject(realm);
      return {
        ready: {},
        handlers: {
          start: async (c) => ({ ...(await subject.start(String(c.name))) }),
          stop: async () => ({ ...(await subject.stop()) }),
        },
        close: async () => void (await subject.stop()),
      };
    }
    case "fanout-peers": {
      const { startPeers } = await import("./fanout_roles.ts");
      const stop = await startPeers(realm, String(config.prefix), Number(config.count));
      return { ready: settledRss(), handlers: { rss: settledRss }, close: stop };
    }
    case "fanout-caller": {
      const { startCaller } = await import("./fanout_roles.ts");
      const caller = await startCaller(realm);
      return {
        ready: settledRss(),
        handlers: {
          rss: settledRss,
          wait: async (c) => ({ peers: await caller.waitFor(num(c, "expect")) }),
          fanout: async (c) => ({ ...(await caller.fanOut(num(c, "expect"), num(c, "count"), num(c, "warmup"))) }),
        },
        close: () => caller.close(),
      };
    }
  }
  throw new Error(`unknown worker role ${JSON.stringify(name)}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function main(): Promise<number> {
  const [name, json] = process.argv.slice(2);
  let current: Role;
  let stopProfile: (() => Promise<string>) | undefined;
  try {
    const config = JSON.parse(json ?? "{}") as Record<string, unknown>;
    current = await role(name ?? "", config);
    if (typeof config.cpuProfile === "string") {
      const { startCpuProfile } = await import("./cpu_profile.ts");
      stopProfile = await startCpuProfile(config.cpuProfile, `${currentRuntime()}-${name}`);
    }
  } catch (error) {
    emit({ type: "fatal", message: describe(error) });
    return 1;
  }
  emit({ type: "ready", runtime: currentRuntime(), version: runtimeVersion(), ...current.ready });
  for await (const command of commands()) {
    if (command.cmd === "exit") break;
    const handler = current.handlers[command.cmd];
    try {
      if (!handler) throw new Error(`role ${name} has no command ${JSON.stringify(command.cmd)}`);
      emit({ type: "result", seq: command.seq, ...(await handler(command)) });
    } catch (error) {
      emit({ type: "error", seq: command.seq, message: describe(error) });
    }
  }
  try {
    if (stopProfile) emit({ type: "profile", path: await stopProfile() });
    await current.close();
  } catch (error) {
    emit({ type: "warning", message: `while closing: ${describe(error)}` });
  }
  return 0;
}

// Exit explicitly: a socket or timer left behind by the code under test must not keep a
// worker alive after the driver is done with it.
process.exit(await main());

/** The PeerLink end's settings from a worker's config: layer, realm, and `secret` for the sealed variant. */
function peerLinkOptions(config: Record<string, unknown>, realm: string): PeerLinkBenchOptions {
  return {
    layer: config.layer === "engine" ? "engine" : "node",
    realm,
    countWire: config.countWire === true,
    secret: typeof config.secret === "string" ? config.secret : undefined,
  };
}
