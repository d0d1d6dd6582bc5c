/**
 * PeerLink nodes with the real mDNS discovery on an in-memory LAN, driven by a fake clock
 * (for tests/unit/node_mdns_memory.test.ts and tests/unit/mdns_flood.test.ts).
 */
import { PeerLink } from "../../src/peerlink.ts";
import type { PeerLinkOptions } from "../../src/options.ts";
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import type { Logger } from "../../src/log.ts";
import { during, until } from "./fake_time.ts";

/** A logger that says nothing. */
export const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** PeerLink nodes on one in-memory LAN with one fake clock. */
export class NodeWorld {
  readonly clock = new FakeClock();
  readonly network = new MemoryNetwork({ seed: 5, clock: this.clock });
  readonly nodes: PeerLink[] = [];

  /** A node (not started) on host `address`. */
  node(address: string, name: string, options: PeerLinkOptions = {}): PeerLink {
    const node = new PeerLink(name, {
      runtime: this.network.host(address),
      clock: this.clock,
      logger: quiet,
      ...options,
    });
    this.nodes.push(node);
    return node;
  }

  /** Starts nodes together, letting mDNS probe (about 1 s) and announce. */
  async start(...nodes: PeerLink[]): Promise<void> {
    const started = Promise.allSettled(nodes.map((n) => n.start()));
    for (const outcome of await this.during(started, 5000)) if (outcome.status === "rejected") throw outcome.reason;
    await this.clock.advance(2000);
  }

  /**
   * Runs `promise` while the fake clock advances in 50 ms steps, up to `ms`; rejects when it is
   * still pending then. Each step also yields a real millisecond to the sockets' I/O callbacks.
   */
  during<T>(promise: Promise<T>, ms: number): Promise<T> {
    return during(this.clock, promise, ms);
  }

  /** Advances like {@linkcode NodeWorld.during} until `predicate` holds, or `ms` passed. */
  until(predicate: () => boolean, ms = 5000): Promise<void> {
    return until(this.clock, predicate, ms);
  }

  /** Stops every node (no grace for running handlers) and closes the network. */
  async close(): Promise<void> {
    const stopping = Promise.allSettled(this.nodes.map((n) => n.stop({ grace: 0 })));
    await this.clock.advance(1000);
    await stopping;
    await this.network.close();
  }
}
