/**
 * Test doubles for code built on PeerLink, published as `peerlink/testing` (npm) and
 * `@peerlink/peerlink/testing` (JSR): an in-memory LAN ({@linkcode MemoryNetwork}) whose
 * virtual hosts stand in for a runtime's sockets, and a manual clock ({@linkcode FakeClock}),
 * so discovery and calls can be tested deterministically, without real sockets or waiting.
 *
 * @example
 * ```ts
 * import { FakeClock, MemoryNetwork } from "@peerlink/peerlink/testing";
 *
 * const clock = new FakeClock();
 * const network = new MemoryNetwork({ seed: 1, loss: 0.1, delayMs: [1, 5], clock });
 * const alice = network.host("10.0.0.1"); // a SocketRuntime: pass it where a runtime is expected
 * console.log(alice.networkInterfaces().length > 0);
 * await network.close();
 * ```
 *
 * @module
 */
export { FakeClock } from "./fake_clock.ts";
export type { Clock, TimerId } from "../clock.ts";
export { MemoryNetwork } from "./memory_net.ts";
export type {
  Impairments,
  LinkEnd,
  MemoryHost,
  MemoryHostOptions,
  MemoryNetworkOptions,
  NetworkStats,
} from "./memory_net.ts";
