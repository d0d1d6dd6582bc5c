/**
 * Drives tests/support/e2e_node.ts processes on the hosts of a private LAN: start a PeerLink
 * node under a given runtime, send it commands, read its answers, stop it.
 *
 * ```ts
 * const node = await startE2eNode(lan, 1, "Alpha", "bun");
 * const { peers } = await node.command("wait", { count: 1, timeout: 10_000 });
 * await node.stop();
 * ```
 */
import { fileURLToPath } from "node:url";
import type { Lan, LanProcess } from "./lan.ts";
import { runtimeArgv, tail } from "./lan.ts";
import { fromWire, toWire } from "./e2e_wire.ts";

/** A runtime a node can run under. */
export type E2eRuntime = "deno" | "bun" | "node";

const FIXTURE = fileURLToPath(new URL("./e2e_node.ts", import.meta.url));

/** How long a fixture may take to start (Deno compiles the sources on its first run). */
const START_TIMEOUT_MS = 30_000;

/** One answer of the fixture: `ok` plus the command's fields (see e2e_node.ts). */
export type E2eReply = { ok: boolean; error?: { name: string; message: string } } & Record<string, unknown>;

/** A running e2e_node.ts process. */
export interface E2eNode {
  /** The node's name. */
  readonly name: string;
  /** The runtime it runs under. */
  readonly runtime: E2eRuntime;
  /** 1-based LAN host it runs on. */
  readonly host: number;
  /** The process. */
  readonly process: LanProcess;
  /** When its node had started (Date.now() in its process, after start() resolved). */
  readonly startedAt: number;
  /** Its bound RPC ports. */
  readonly ports: { udpPort: number; tcpPort: number };
  /**
   * Sends a command and waits for its answer.
   * @param cmd the command name
   * @param fields its fields (Uint8Array values are encoded for the pipe)
   * @param timeoutMs how long the answer may take
   * @returns the answer, with Uint8Array values decoded
   * @throws Error naming the node, the command and the process's stderr on timeout
   */
  command(cmd: string, fields?: Record<string, unknown>, timeoutMs?: number): Promise<E2eReply>;
  /**
   * Like {@link E2eNode.command} but rejects unless the answer is ok.
   * @param cmd the command name
   * @param fields its fields
   * @param timeoutMs how long the answer may take
   * @returns the answer
   */
  expect(cmd: string, fields?: Record<string, unknown>, timeoutMs?: number): Promise<E2eReply>;
  /**
   * Stops the node with the `stop` command and waits for the process to exit.
   * @param timeoutMs how long that may take
   * @returns the exit code
   */
  stop(timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts e2e_node.ts as node `name` on LAN host `host` under `runtime`, and waits until it
 * has started (bound its ports and published itself).
 * @param lan the LAN
 * @param host 1-based host number
 * @param name the node's name
 * @param runtime which runtime runs it
 * @param env extra environment (e.g. PEERLINK_DEBUG)
 * @returns the running node
 * @throws Error with the process's stderr when it does not start in time
 */
export async function startE2eNode(
  lan: Lan,
  host: number,
  name: string,
  runtime: E2eRuntime,
  env: Record<string, string> = {},
): Promise<E2eNode> {
  const proc = lan.spawn(host, runtimeArgv(FIXTURE, [], runtime), { stdin: true, env: { E2E_NAME: name, ...env } });
  const label = `${name} (${runtime} on host ${host})`;
  let started: Record<string, unknown>;
  try {
    started = JSON.parse(await proc.waitForLine(/^\{"event":"started"/, START_TIMEOUT_MS));
  } catch (error) {
    await proc.stop(500).catch(() => {});
    throw new Error(`${label} did not start: ${(error as Error).message}`);
  }
  if (started.runtime !== runtime) {
    await proc.stop(500).catch(() => {});
    throw new Error(`${label} reports runtime ${String(started.runtime)}`);
  }
  let nextId = 1;
  const node: E2eNode = {
    name,
    runtime,
    host,
    process: proc,
    startedAt: Number(started.at),
    ports: started.ports as { udpPort: number; tcpPort: number },
    async command(cmd, fields = {}, timeoutMs = 15_000) {
      const id = nextId++;
      proc.write(JSON.stringify({ id, cmd, ...(toWire(fields) as Record<string, unknown>) }) + "\n");
      let line: string;
      try {
        line = await proc.waitForLine(new RegExp(`^\\{"reply":${id},`), timeoutMs);
      } catch (error) {
        throw new Error(`${label}: no answer to ${cmd} #${id} within ${timeoutMs} ms: ${(error as Error).message}`);
      }
      return fromWire(JSON.parse(line)) as E2eReply;
    },
    async expect(cmd, fields = {}, timeoutMs = 15_000) {
      const reply = await node.command(cmd, fields, timeoutMs);
      if (!reply.ok) {
        throw new Error(
          `${label}: ${cmd} ${
            JSON.stringify(toWire(fields)).slice(0, 300)
          } failed: ${reply.error?.name}: ${reply.error?.message}; stderr: ${tail(proc.stderr())}`,
        );
      }
      return reply;
    },
    async stop(timeoutMs = 10_000) {
      await node.expect("stop", {}, timeoutMs);
      return (await proc.wait(timeoutMs)).code;
    },
  };
  return node;
}
