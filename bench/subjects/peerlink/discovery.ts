/**
 * The discovery benchmark's two processes. The observer runs one node and reports every
 * `peer-up` and `peer-down` with a wall-clock timestamp; the subject starts and stops nodes
 * on command, reporting when it called `start()` and `stop()`. The driver subtracts the
 * timestamps: "started until the observer saw it" and "stop() until the observer saw it go".
 *
 * @module
 */
import { emit, wallNow } from "../../worker/protocol.ts";
import type { RoleFactory } from "../../worker/role.ts";

/** A node as far as these roles use it. */
interface BenchNode {
  start(): Promise<unknown>;
  stop(): Promise<void>;
  on(event: "peer-up", fn: (peer: { name: string }) => void): () => void;
  on(event: "peer-down", fn: (peer: { name: string }, reason: string) => void): () => void;
}

async function createNode(name: string, realm: string): Promise<BenchNode> {
  const { PeerLink } = await import("../../../mod.ts");
  return new PeerLink(name, { realm }) as unknown as BenchNode;
}

/**
 * Starts the observer node; it emits `{type: "event", event: "up" | "down", name, t}` lines.
 *
 * @param realm Realm of this benchmark.
 * @returns Stops the node.
 */
export async function startObserver(realm: string): Promise<() => Promise<void>> {
  const node = await createNode("bench-observer", realm);
  node.on("peer-up", (peer) => emit({ type: "event", event: "up", name: peer.name, t: wallNow() }));
  node.on("peer-down", (peer, reason) => emit({ type: "event", event: "down", name: peer.name, reason, t: wallNow() }));
  await node.start();
  return () => node.stop();
}

/** The subject: starts and stops one node at a time, reporting the times. */
export class Subject {
  readonly #realm: string;
  #node: BenchNode | undefined;

  /** @param realm Realm of this benchmark. */
  constructor(realm: string) {
    this.#realm = realm;
  }

  /**
   * Creates and starts a node.
   *
   * @param name Its name.
   * @returns When `start()` was called and when it resolved (wall clock, ms).
   */
  async start(name: string): Promise<{ calledAt: number; startedAt: number }> {
    await this.stop();
    const node = await createNode(name, this.#realm);
    const calledAt = wallNow();
    await node.start();
    this.#node = node;
    return { calledAt, startedAt: wallNow() };
  }

  /**
   * Stops the current node.
   *
   * @returns When `stop()` was called and when it resolved (wall clock, ms).
   */
  async stop(): Promise<{ calledAt: number; stoppedAt: number }> {
    const calledAt = wallNow();
    await this.#node?.stop();
    this.#node = undefined;
    return { calledAt, stoppedAt: wallNow() };
  }
}

/** Roles: `peerlink/discovery#observer` and `peerlink/discovery#subject` (config `realm`). */
export const roles: Record<string, RoleFactory> = {
  async observer(config) {
    const stop = await startObserver(String(config.realm));
    return { ready: {}, handlers: {}, close: stop };
  },
  subject(config) {
    const subject = new Subject(String(config.realm));
    return Promise.resolve({
      ready: {},
      handlers: {
        start: async (c) => ({ ...(await subject.start(String(c.name))) }),
        stop: async () => ({ ...(await subject.stop()) }),
      },
      close: async () => void (await subject.stop()),
    });
  },
};
