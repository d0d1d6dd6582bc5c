/**
 * Test helpers for the mDNS tests: an in-memory LAN with a fake clock, `Mdns` nodes on it,
 * and a raw "sniffer" socket that sends crafted packets and records what it receives.
 * (Not a test file itself: the runner only picks `*.test.ts`.)
 */
import { FakeClock } from "../../src/testing/fake_clock.ts";
import { type MemoryHost, MemoryNetwork } from "../../src/testing/memory_net.ts";
import { mulberry32 } from "../../src/testing/prng.ts";
import { Mdns, type MdnsOptions } from "../../src/mdns/mod.ts";
import { decodeMessage, encodeMessage, type MdnsMessage } from "../../src/mdns/packet.ts";
import type { Logger } from "../../src/log.ts";
import type { DatagramSocket } from "../../src/net.ts";

/** A logger that keeps lines (and prints them when MDNS_TEST_DEBUG is set). */
export function memoryLogger(lines: string[] = []): Logger & { lines: string[] } {
  const debug = typeof process !== "undefined" && process.env?.MDNS_TEST_DEBUG === "1";
  const push = (level: string) => (m: string) => {
    lines.push(`${level}: ${m}`);
    if (debug) console.error(`${level}: ${m}`);
  };
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

/** An in-memory LAN with a fake clock. */
export class Lan {
  readonly clock = new FakeClock(1_000_000);
  readonly net: MemoryNetwork;
  readonly nodes: Mdns[] = [];
  readonly sniffers: Sniffer[] = [];
  #seed: number;

  constructor(options: { seed?: number; loss?: number; delayMs?: [number, number] } = {}) {
    this.#seed = options.seed ?? 1;
    this.net = new MemoryNetwork({
      seed: this.#seed,
      loss: options.loss ?? 0,
      delayMs: options.delayMs ?? [0, 0],
      clock: this.clock,
    });
  }

  host(i: number): MemoryHost {
    return this.net.host(`10.0.0.${i}`);
  }

  /** A started Mdns on host 10.0.0.i. */
  async node(i: number, options: Partial<MdnsOptions> = {}): Promise<Mdns> {
    const mdns = new Mdns({
      runtime: this.host(i),
      clock: this.clock,
      random: mulberry32(this.#seed * 1000 + i * 7 + this.nodes.length),
      logger: memoryLogger(),
      pollIntervalMs: 0,
      ...options,
    });
    await mdns.start();
    this.nodes.push(mdns);
    return mdns;
  }

  async sniffer(i: number, port = 5353): Promise<Sniffer> {
    const s = await Sniffer.open(this.host(i), port, () => this.clock.now());
    this.sniffers.push(s);
    return s;
  }

  /** Advances the fake clock. */
  advance(ms: number): Promise<void> {
    return this.clock.advance(ms);
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.stop();
    for (const s of this.sniffers) await s.close();
    await this.net.close();
  }
}

/** One captured message. */
export interface Captured {
  message: MdnsMessage;
  address: string;
  port: number;
  at: number;
}

/** A raw socket on a host: sends crafted packets, records decoded ones it receives. */
export class Sniffer {
  readonly received: Captured[] = [];
  #socket!: DatagramSocket;
  readonly host: MemoryHost;

  private constructor(host: MemoryHost) {
    this.host = host;
  }

  static async open(host: MemoryHost, port: number, clockNow: () => number): Promise<Sniffer> {
    const s = new Sniffer(host);
    s.#socket = await host.bindDatagram({ address: "0.0.0.0", port, reuseAddress: true }, (d) => {
      const r = decodeMessage(d.data);
      if (r.ok) s.received.push({ message: r.message, address: d.address, port: d.port, at: clockNow() });
    });
    if (port === 5353) await s.#socket.joinMulticast("224.0.0.251", host.address);
    return s;
  }

  get port(): number {
    return this.#socket.localAddress.port;
  }

  /** Sends a message (multicast by default). */
  send(message: MdnsMessage, address = "224.0.0.251", port = 5353): Promise<void> {
    return this.#socket.send(encodeMessage(message), address, port);
  }

  sendRaw(bytes: Uint8Array, address = "224.0.0.251", port = 5353): Promise<void> {
    return this.#socket.send(bytes, address, port);
  }

  responses(): Captured[] {
    return this.received.filter((c) => c.message.response);
  }

  queries(): Captured[] {
    return this.received.filter((c) => !c.message.response);
  }

  clear(): void {
    this.received.length = 0;
  }

  close(): Promise<void> {
    return this.#socket.close();
  }
}

/** A query message. */
export function query(
  questions: Array<{ name: string; type: string; qu?: boolean }>,
  extra: Partial<MdnsMessage> = {},
): MdnsMessage {
  return {
    id: 0,
    response: false,
    questions: questions.map((q) => ({ name: q.name, type: q.type, qu: q.qu ?? false })),
    answers: [],
    authorities: [],
    additionals: [],
    ...extra,
  };
}
