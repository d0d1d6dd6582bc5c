/**
 * A PeerLink node in its own process, driven by the end-to-end tests (tests/e2e_*.test.ts)
 * on a host of a private LAN (tests/support/lan.ts), under Deno, Bun or Node.
 *
 * Usage: `E2E_NAME=<name> [E2E_SECRET=<secret>] <runtime> tests/support/e2e_node.ts` with standard
 * input open. `E2E_OPTIONS` may hold more node options as JSON (e.g. `wideArea`, `seeds`,
 * `discoveryLimits`).
 * It starts the node, prints `{"event":"started",...}`, then reads one JSON command per line
 * on standard input and answers each with one JSON line `{"reply":<id>,"ok":true,...}` (or
 * `"ok":false,"error":...`) on standard output. Commands run one after another, while the
 * node keeps serving its peers. Binary values cross the pipe as `{"$bytes":"<base64>"}`.
 *
 * Commands (`{"id":1,"cmd":"..."}` plus the fields named):
 * - `wait` `count`, `timeout`: waitForPeers(count); answers `peers` (names, sorted),
 *   `addresses` (name -> address) and `via` (name -> where it was found).
 * - `waitEvent` `type` ("peer-up" or "peer-down"), `peer`, `timeout`, `since?`: waits until this
 *   node has seen that event for that peer (since it started, or at or after `since`, a Date.now()
 *   time; among its last 10,000 events); answers
 *   `event` {type, peer, reason, address, at} with `at` from Date.now().
 * - `call` `target`, `fn`, `args`, `transport?`, `timeout?`: one call; answers `value` and
 *   `transport` (the one the call used, from this node's counters: "udp", "tcp" or "udp+tcp"
 *   when an auto call was retried over TCP).
 * - `fanout` `fn`, `args`: call("ALL", ...); answers `results` [{peer, ok, value|error}].
 * - `repeat` `target`, `fn`, `count`, `concurrency`, `transport?`, `timeout?`: calls
 *   `fn(i)` for i in 0..count-1; answers `succeeded`, `failed`, `errors` (the first few),
 *   `wrong` (replies that were not i), `elapsedMs`.
 * - `digest` `target`, `count`, `size`, `seed`: calls `target`'s `produce` and digests the
 *   stream it returns here; answers `bytes` and `sha256`.
 * - `values` `target`, `count`: reads `target`'s `values(count)` stream; answers `count` (values
 *   read) and `sum` (of their `t`).
 * - `upper` `target`, `text`: opens the `upper` stream handler of `target`, writes `text` in
 *   two pieces, closes; answers `text` (what came back).
 * - `serveFiles` `folder`, `prefix?`, `writable?`: node.serveFiles(folder, {prefix, writable}).
 * - `getFile` `target`, `path`, `dest`: node.getFile(...); answers its result. While it runs,
 *   progress is printed as `{"event":"progress","op":"get","bytes":N}` lines.
 * - `putFile` `target`, `source`, `path`: node.putFile(...); answers its result (progress lines
 *   with `"op":"put"`).
 * - `listFiles` `target`, `path`: answers `entries`.
 * - `events`: answers `events`, every peer-up and peer-down this node recorded (its last 10,000).
 * - `stats`: answers `stats` (node.stats()).
 * - `discoveryStats`: answers `stats` (the discovery's counters: peer table, mDNS cache,
 *   browser, questions, sockets, wide-area domain, seeds).
 * - `rss`: answers `rss`, `heapTotal`, `heapUsed`, `external` and `arrayBuffers` (bytes, from
 *   process.memoryUsage()).
 * - `watchStart` `peer`, `intervalMs`, `fn?`: from now on, every `intervalMs` checks that
 *   `peer` is listed and (with `fn`) calls `fn()` on it, one call at a time; answers at once.
 * - `watchStop`: ends the watch; answers `samples`, `unlisted` (samples without the peer),
 *   `calls`, `failed`, `errors` (the first few) and `peers` (the most listed at one sample).
 * - `stop`: node.stop(); answers, then the process exits 0.
 *
 * Handlers it serves: `runtime()`, `echo(x)`, `inspect(...args)` (who called, over what, also
 * after an await and a timer; and how many bytes the arguments had), `count(i)` (counts its
 * invocations; returns i), `counted()` ({count, distinct}); streams: `produce(count, size,
 * seed)` (a byte stream of `count` chunks of `size` pattern bytes), `digest(stream)` ({bytes,
 * sha256} of a byte stream), `relay(source, sink, count, size, seed)` (takes `source`'s
 * `produce` stream and hands it to `sink`'s `digest`: the bytes flow through this node),
 * `values(n)` ({i, t} objects), and the stream handler `upper` (upper-cases what it reads). The process ends by itself after
 * E2E_LIFETIME_MS (default 60 s) so a broken test never leaves it behind.
 */
import process from "node:process";
import { createHash } from "node:crypto";
import { PeerLink } from "../../mod.ts";
import { Discovery, type DiscoveryOptions } from "../../src/discovery.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import type { CallOptions, Transport } from "../../src/options.ts";
import { fromWire, toWire } from "./e2e_wire.ts";

const name = process.env.E2E_NAME;
if (!name) {
  console.error("e2e_node.ts: set E2E_NAME to the node's name");
  process.exit(2);
}
const lifetimeMs = Number(process.env.E2E_LIFETIME_MS ?? 60_000);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: String(error) };
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(toWire(line)) + "\n");
}

/** A peer-up or peer-down this node saw. */
interface SeenEvent {
  type: "peer-up" | "peer-down";
  peer: string;
  address: string;
  reason?: string;
  via?: string;
  at: number;
}

const events: SeenEvent[] = [];
/** Events kept: a flood of fake peers (tests/lan/mdns_flood_lan.test.ts) must not grow this process by itself. */
const MAX_EVENTS = 10_000;
function record(event: SeenEvent): void {
  if (events.length >= MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS + 1);
  events.push(event);
}
let invocations = 0;
const seen = new Set<number>();

// E2E_SECRET: a node with a secret (every call and stream sealed); E2E_OPTIONS: more node options.
let discovery: Discovery | undefined;
const node = new PeerLink(name, {
  ...(process.env.E2E_SECRET ? { secret: process.env.E2E_SECRET } : {}),
  ...JSON.parse(process.env.E2E_OPTIONS ?? "{}"),
  // The real discovery, kept for the discoveryStats command.
  discovery: (options: DiscoveryOptions) => (discovery = new Discovery(options)),
})
  .register("runtime", () => runtime)
  .register("echo", (value: unknown) => value)
  .register("inspect", async (...args: unknown[]) => {
    const first = currentPeer();
    await new Promise((r) => setTimeout(r, 1));
    const later = await new Promise<ReturnType<typeof currentPeer>>((r) => setTimeout(() => r(currentPeer()), 1));
    return {
      callee: name,
      runtime,
      caller: first?.name,
      address: first?.address,
      transport: first?.transport,
      later: later?.name,
      argChars: JSON.stringify(args).length,
    };
  })
  .register("count", (i: number) => {
    invocations++;
    seen.add(i);
    return i;
  })
  .register("counted", () => ({ count: invocations, distinct: seen.size }))
  .register("produce", (count: number, size: number, seed: number) => produce(count, size, seed))
  .register("digest", (stream: ReadableStream<Uint8Array>) => digest(stream))
  .register("relay", async (source: string, sink: string, count: number, size: number, seed: number) => {
    const stream = await node.call(source, "produce", [count, size, seed], { transport: "tcp" });
    return await node.call(sink, "digest", [stream], { transport: "tcp", timeout: 30_000 });
  })
  .register("values", async function* (n: number) {
    for (let i = 0; i < n; i++) yield { i, t: i * 2 };
  })
  .registerStream("upper", async (stream) => {
    await stream.readable
      .pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform: (chunk, c) => c.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())),
        }),
      )
      .pipeTo(stream.writable);
  });

/** A byte stream of `count` chunks of `size` bytes, each byte a function of its position and `seed`. */
function produce(count: number, size: number, seed: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === count) return controller.close();
      const chunk = new Uint8Array(size);
      const base = sent * size;
      for (let i = 0; i < size; i++) chunk[i] = ((base + i) * 31 + seed) & 0xff;
      sent++;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

async function digest(stream: ReadableStream<Uint8Array>): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest("hex") };
}
node.on("peer-up", (p) => {
  record({ type: "peer-up", peer: p.name, address: p.address, via: p.via?.join("+"), at: Date.now() });
});
node.on("peer-down", (p, reason) => {
  record({ type: "peer-down", peer: p.name, address: p.address, reason, at: Date.now() });
});

/** Which transport(s) one call used, from the node's call counters before and after it. */
async function tracked<T>(run: () => Promise<T>): Promise<{ value: T; transport: string }> {
  const before = node.stats()!.calls;
  const value = await run();
  const after = node.stats()!.calls;
  const used = [after.udp > before.udp ? "udp" : "", after.tcp > before.tcp ? "tcp" : ""].filter(Boolean);
  return { value, transport: used.join("+") || "none" };
}

interface Command {
  id: number;
  cmd: string;
  count?: number;
  timeout?: number;
  target?: string;
  fn?: string;
  args?: unknown[];
  transport?: Transport;
  concurrency?: number;
  type?: string;
  peer?: string;
  size?: number;
  seed?: number;
  text?: string;
  folder?: string;
  prefix?: string;
  writable?: boolean;
  path?: string;
  dest?: string;
  source?: string;
  intervalMs?: number;
  since?: number;
}

/** A running `watchStart`: samples a peer's presence (and calls it) until `watchStop`. */
interface Watch {
  samples: number;
  unlisted: number;
  calls: number;
  failed: number;
  errors: string[];
  peers: number;
  stop: () => Promise<void>;
}

let watch: Watch | undefined;

function watchStart(command: Command): Record<string, unknown> {
  if (watch) throw new Error("a watch is already running; send watchStop first");
  const peer = command.peer!;
  const w: Watch = { samples: 0, unlisted: 0, calls: 0, failed: 0, errors: [], peers: 0, stop: async () => {} };
  let running = true;
  const loop = (async () => {
    while (running) {
      const listed = node.peers();
      w.samples++;
      w.peers = Math.max(w.peers, listed.length);
      if (!listed.some((p) => p.name === peer)) w.unlisted++;
      if (command.fn) {
        w.calls++;
        try {
          await node.call(peer, command.fn, [], { timeout: 2000 });
        } catch (error) {
          w.failed++;
          if (w.errors.length < 5) w.errors.push(`${describe(error).name}: ${describe(error).message}`);
        }
      }
      await new Promise((r) => setTimeout(r, command.intervalMs ?? 20));
    }
  })();
  w.stop = async () => {
    running = false;
    await loop;
  };
  watch = w;
  return {};
}

async function watchStop(): Promise<Record<string, unknown>> {
  const w = watch;
  if (!w) throw new Error("no watch is running; send watchStart first");
  watch = undefined;
  await w.stop();
  const { stop: _stop, ...result } = w;
  return result;
}

async function waitEvent(command: Command): Promise<Record<string, unknown>> {
  const timeout = command.timeout ?? 5000;
  const deadline = Date.now() + timeout;
  for (;;) {
    const event = events.find((e) =>
      e.type === command.type && e.peer === command.peer &&
      (command.since === undefined || Number(e.at) >= command.since)
    );
    if (event) return { event };
    if (Date.now() >= deadline) {
      throw new Error(
        `no ${command.type} of '${command.peer}' within ${timeout} ms; saw ${JSON.stringify(events.slice(-50))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function repeat(command: Command): Promise<Record<string, unknown>> {
  const count = command.count ?? 0;
  const options: CallOptions = { transport: command.transport, timeout: command.timeout };
  let next = 0;
  let succeeded = 0;
  const errors: string[] = [];
  const wrong: unknown[] = [];
  const started = Date.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        const value = await node.call(command.target!, command.fn!, [i], options);
        if (value === i) succeeded++;
        else wrong.push(value);
      } catch (error) {
        const { name: kind, message } = describe(error);
        errors.push(`${i}: ${kind}: ${message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, command.concurrency ?? 1) }, worker));
  return { succeeded, failed: errors.length, errors: errors.slice(0, 5), wrong, elapsedMs: Date.now() - started };
}

async function run(command: Command): Promise<Record<string, unknown>> {
  switch (command.cmd) {
    case "wait": {
      const peers = await node.waitForPeers(command.count ?? 1, { timeout: command.timeout });
      return {
        peers: peers.map((p) => p.name).sort(),
        addresses: Object.fromEntries(peers.map((p) => [p.name, p.address])),
        via: Object.fromEntries(peers.map((p) => [p.name, p.via ?? []])),
      };
    }
    case "waitEvent":
      return await waitEvent(command);
    case "call": {
      const args = fromWire(command.args ?? []) as unknown[];
      const options: CallOptions = { transport: command.transport, timeout: command.timeout };
      return await tracked(() => node.call(command.target!, command.fn!, args, options));
    }
    case "fanout": {
      const results = await node.call("ALL", command.fn!, fromWire(command.args ?? []) as unknown[]);
      return {
        results: results.map((r) =>
          r.ok ? { peer: r.peer, ok: true, value: r.value } : { peer: r.peer, ok: false, error: describe(r.error) }
        ),
      };
    }
    case "repeat":
      return await repeat(command);
    case "digest": {
      const stream = await node.call(command.target!, "produce", [command.count, command.size, command.seed], {
        transport: "tcp",
      });
      return await digest(stream as ReadableStream<Uint8Array>);
    }
    case "values": {
      const stream = await node.call(command.target!, "values", [command.count], { transport: "tcp" });
      let count = 0;
      let sum = 0;
      for await (const value of stream as ReadableStream<{ i: number; t: number }>) {
        if (value.i !== count) throw new Error(`value ${count} arrived as ${JSON.stringify(value)}`);
        count++;
        sum += value.t;
      }
      return { count, sum };
    }
    case "upper": {
      const stream = await node.openStream(command.target!, "upper", { timeout: command.timeout });
      const writer = stream.writable.getWriter();
      const text = command.text ?? "";
      await writer.write(new TextEncoder().encode(text.slice(0, text.length >> 1)));
      await writer.write(new TextEncoder().encode(text.slice(text.length >> 1)));
      await writer.close();
      let back = "";
      for await (const chunk of stream.readable) back += new TextDecoder().decode(chunk);
      await stream.closed;
      return { text: back };
    }
    case "serveFiles":
      node.serveFiles(command.folder!, { prefix: command.prefix, writable: command.writable });
      return {};
    case "getFile": {
      const onProgress = (p: { bytes: number }) => print({ event: "progress", op: "get", bytes: p.bytes });
      return { ...(await node.getFile(command.target!, command.path!, command.dest!, { onProgress })) };
    }
    case "putFile": {
      const onProgress = (p: { bytes: number }) => print({ event: "progress", op: "put", bytes: p.bytes });
      return { ...(await node.putFile(command.target!, command.source!, command.path!, { onProgress })) };
    }
    case "listFiles":
      return { entries: await node.listFiles(command.target!, command.path) };
    case "events":
      return { events };
    case "stats":
      return { stats: node.stats() };
    case "discoveryStats":
      return { stats: discovery?.stats() };
    case "rss": {
      const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
      return { rss, heapTotal, heapUsed, external, arrayBuffers };
    }
    case "watchStart":
      return watchStart(command);
    case "watchStop":
      return await watchStop();
    case "stop":
      await node.stop();
      return { stopped: true };
    default:
      throw new Error(`unknown command ${JSON.stringify(command.cmd)}`);
  }
}

const deadline = setTimeout(() => {
  console.error(`${name}: still running after ${lifetimeMs} ms; exiting`);
  process.exit(3);
}, lifetimeMs);

try {
  await node.start();
} catch (error) {
  console.error(`${name}: start() failed: ${error instanceof Error ? error.stack : error}`);
  process.exit(1);
}
print({ event: "started", name: node.name, runtime, ports: node.ports, at: Date.now() });

// Commands run in order; a failing one answers ok:false and the next still runs.
let queue = Promise.resolve();
let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split("\n");
  buffered = lines.pop() ?? "";
  for (const line of lines) {
    if (!line.trim()) continue;
    queue = queue.then(async () => {
      let command: Command;
      try {
        command = JSON.parse(line) as Command;
      } catch {
        print({ reply: null, ok: false, error: { name: "SyntaxError", message: `not JSON: ${line.slice(0, 200)}` } });
        return;
      }
      try {
        print({ reply: command.id, ok: true, ...(await run(command)) });
      } catch (error) {
        print({ reply: command.id, ok: false, error: describe(error) });
      }
      if (command.cmd === "stop") {
        clearTimeout(deadline);
        process.exit(0);
      }
    });
  }
});
// The test went away without "stop": leave the LAN politely anyway.
process.stdin.on("end", () => {
  queue = queue.then(async () => {
    await node.stop();
    clearTimeout(deadline);
    process.exit(0);
  });
});
