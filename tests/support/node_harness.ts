/**
 * Test helpers for the PeerLink node: an in-process directory that stands in for mDNS
 * discovery (instant, deterministic, and it records `reportUnreachable`), and helpers that
 * start nodes on a `MemoryNetwork`.
 */
import { NameConflict } from "../../src/errors.ts";
import type { DiscoveryOptions, PeerDownReason, PeerInfo } from "../../src/discovery.ts";
import type { PeerDiscovery } from "../../src/options.ts";
import { PeerLink } from "../../src/peerlink.ts";
import type { PeerLinkOptions } from "../../src/options.ts";
import type { FakeClock } from "../../src/testing/fake_clock.ts";
import { MemoryNetwork } from "../../src/testing/memory_net.ts";
import { PeerTimeoutError } from "../../src/errors.ts";

type UpListener = (peer: PeerInfo) => void;
type DownListener = (peer: PeerInfo, reason: PeerDownReason) => void;

/** One published node in a {@linkcode Directory}. */
class DirectoryEntry implements PeerDiscovery {
  readonly name: string;
  readonly options: DiscoveryOptions;
  readonly #directory: Directory;
  readonly up = new Set<UpListener>();
  readonly down = new Set<DownListener>();
  readonly waiters = new Set<() => void>();
  started = false;

  constructor(directory: Directory, options: DiscoveryOptions) {
    this.#directory = directory;
    this.options = options;
    this.name = options.name;
    this.instanceId = options.instanceId;
  }

  /** Random per run of the node; {@linkcode Directory.restart} changes it. */
  instanceId: string;

  info(address: string): PeerInfo {
    return {
      name: this.name,
      address,
      udpPort: this.options.udpPort,
      tcpPort: this.options.tcpPort,
      lastSeen: Date.now(),
      instanceId: this.instanceId,
      capabilities: [],
      txt: typeof this.options.txt === "function" ? this.options.txt(this.name) : { ...this.options.txt },
    };
  }

  start(): Promise<void> {
    return this.#directory.publish(this);
  }

  stop(): Promise<void> {
    this.#directory.withdraw(this, "goodbye");
    this.started = false;
    return Promise.resolve();
  }

  peers(): PeerInfo[] {
    return this.#directory.visibleTo(this);
  }

  resolve(name: string): PeerInfo | undefined {
    return this.peers().find((p) => p.name === name);
  }

  waitForPeers(count: number, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<PeerInfo[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.peers().length >= count) finish(() => resolve(this.peers()));
      };
      const timer = setTimeout(() => {
        const found = this.peers().map((p) => p.name);
        finish(() =>
          reject(
            new PeerTimeoutError({
              peer: `${count} peers (found ${found.length})`,
              function: "waitForPeers",
              timeoutMs: options.timeout ?? 3000,
            }),
          )
        );
      }, options.timeout ?? 3000);
      const onAbort = () => finish(() => reject(options.signal!.reason));
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        options.signal?.removeEventListener("abort", onAbort);
        settle();
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort);
      this.waiters.add(check);
      check();
    });
  }

  on(event: "peer-up", fn: UpListener): () => void;
  on(event: "peer-down", fn: DownListener): () => void;
  on(event: "peer-up" | "peer-down", fn: UpListener | DownListener): () => void {
    const set = (event === "peer-up" ? this.up : this.down) as Set<UpListener | DownListener>;
    set.add(fn);
    return () => void set.delete(fn);
  }

  reportUnreachable(name: string): void {
    this.#directory.unreachable.push({ reporter: this.name, peer: name });
  }
}

/**
 * A shared in-process stand-in for mDNS: nodes that use its {@linkcode Directory.factory}
 * see each other (within a realm) as soon as they start.
 */
export class Directory {
  readonly #entries = new Map<string, { entry: DirectoryEntry; address: string }>();
  /** Every `reportUnreachable(name)` call, in order. */
  readonly unreachable: { reporter: string; peer: string }[] = [];
  /** Names that `start()` refuses as taken, to test conflicts. */
  readonly taken = new Set<string>();

  /**
   * The `discovery` option for a node whose sockets live at `address`.
   *
   * @param address The node's address as peers should dial it.
   * @returns A discovery factory.
   */
  factory(address: string): (options: DiscoveryOptions) => PeerDiscovery {
    return (options) => {
      const entry = new DirectoryEntry(this, options);
      this.#pendingAddress.set(entry, address);
      return entry;
    };
  }

  readonly #pendingAddress = new Map<DirectoryEntry, string>();

  publish(entry: DirectoryEntry): Promise<void> {
    if (entry.options.announce === false) {
      // A client only: it sees the others and is seen by no one.
      this.#browsers.add(entry);
      entry.started = true;
      for (const check of entry.waiters) check();
      return Promise.resolve();
    }
    if (this.taken.has(entry.name) || this.#entries.has(entry.name)) {
      return Promise.reject(new NameConflict(`${entry.name}._peerlink._tcp.local`, "10.0.0.99"));
    }
    const address = this.#pendingAddress.get(entry)!;
    this.#entries.set(entry.name, { entry, address });
    entry.started = true;
    for (const other of this.#visible(entry)) {
      for (const fn of other.entry.up) fn(entry.info(address));
      for (const fn of entry.up) fn(other.entry.info(other.address));
      for (const check of other.entry.waiters) check();
    }
    for (const browser of this.#browsersOf(entry)) {
      for (const fn of browser.up) fn(entry.info(address));
      for (const check of browser.waiters) check();
    }
    for (const check of entry.waiters) check();
    return Promise.resolve();
  }

  readonly #browsers = new Set<DirectoryEntry>();

  /** The clients only (`announce: false`) of `entry`'s realm. */
  #browsersOf(entry: DirectoryEntry): DirectoryEntry[] {
    return [...this.#browsers].filter((b) => (b.options.realm ?? "") === (entry.options.realm ?? ""));
  }

  withdraw(entry: DirectoryEntry, reason: PeerDownReason): void {
    this.#browsers.delete(entry);
    const mine = this.#entries.get(entry.name);
    if (!mine || mine.entry !== entry) return;
    this.#entries.delete(entry.name);
    entry.started = false;
    for (const other of this.#visible(entry)) {
      for (const fn of other.entry.down) fn(entry.info(mine.address), reason);
    }
    for (const browser of this.#browsersOf(entry)) {
      for (const fn of browser.down) fn(entry.info(mine.address), reason);
    }
  }

  /**
   * Reports `name` gone as after a crash: its records expired (`"expired"`). The node itself
   * goes on running, unseen.
   *
   * @param name A published node.
   */
  vanish(name: string): void {
    const mine = this.#entries.get(name);
    if (mine) this.withdraw(mine.entry, "expired");
  }

  /**
   * Reports `name` restarted: a new instance id replaces the old one (`"replaced"`, then up).
   *
   * @param name A published node.
   */
  restart(name: string): void {
    const mine = this.#entries.get(name);
    if (!mine) return;
    const before = mine.entry.info(mine.address);
    mine.entry.instanceId = crypto.randomUUID();
    this.#announceChange(mine, before);
  }

  /**
   * Reports `name` re-announced by the same process (as after an address change): down
   * `"replaced"` and up again, with the same instance id.
   *
   * @param name A published node.
   */
  reannounce(name: string): void {
    const mine = this.#entries.get(name);
    if (mine) this.#announceChange(mine, mine.entry.info(mine.address));
  }

  /** As Discovery reports a changed peer: down (`"replaced"`) with the old view, once the table holds the new one. */
  #announceChange(mine: { entry: DirectoryEntry; address: string }, before: PeerInfo): void {
    const watchers = [...this.#visible(mine.entry).map((e) => e.entry), ...this.#browsersOf(mine.entry)];
    for (const other of watchers) for (const fn of other.down) fn(before, "replaced");
    for (const other of watchers) for (const fn of other.up) fn(mine.entry.info(mine.address));
  }

  /** The peers `entry` sees: every other published node of its realm. */
  visibleTo(entry: DirectoryEntry): PeerInfo[] {
    return this.#visible(entry).map((e) => e.entry.info(e.address));
  }

  #visible(entry: DirectoryEntry) {
    return [...this.#entries.values()].filter((e) =>
      e.entry !== entry && (e.entry.options.realm ?? "") === (entry.options.realm ?? "")
    );
  }
}

/** A started-node fixture on a `MemoryNetwork` with directory discovery. */
export interface Lan {
  network: MemoryNetwork;
  directory: Directory;
  /** Creates (not starts) a node at `10.0.0.<n>`. */
  node(name: string, options?: PeerLinkOptions): PeerLink;
  /** Stops every node made here, then the network. */
  close(): Promise<void>;
}

/**
 * An in-memory LAN whose nodes discover each other through a {@linkcode Directory}.
 *
 * @param seed Network seed.
 * @param clock A fake clock for the network and every node (default: real time).
 * @returns The fixture.
 */
export function memoryLan(seed = 1, clock?: FakeClock): Lan {
  const network = new MemoryNetwork({ seed, clock });
  const directory = new Directory();
  const nodes: PeerLink[] = [];
  let next = 1;
  return {
    network,
    directory,
    node(name, options = {}) {
      const address = `10.0.0.${next++}`;
      const node = new PeerLink(name, {
        runtime: network.host(address),
        discovery: directory.factory(address),
        clock,
        ...options,
      });
      nodes.push(node);
      return node;
    },
    async close() {
      // No grace: a handler a test left hanging must not hold the close (on a fake clock, forever).
      await Promise.allSettled(nodes.map((n) => n.stop({ grace: 0 })));
      await network.close();
    },
  };
}
