/**
 * A PeerLink node in its own process, for the two-process tests in `node_sockets.test.ts`.
 *
 * Usage: `<runtime> tests/node_child_fixture.ts <childName> <parentName>` (inside the test's
 * network namespace). It starts, finds the parent by mDNS, calls the parent's `hello` over UDP
 * and TCP, prints one JSON line `{"ready":true,...}` on stdout, then serves until SIGTERM
 * (goodbye, exit 143). Its `relay` function makes it call a third node, for child-to-child calls. It exits by itself after 60 s so a broken test never leaves it behind.
 */
import { PeerLink } from "../../mod.ts";
import { currentPeer } from "../../src/rpc/context.ts";
import process from "node:process";

const [childName, parentName] = process.argv.slice(2).filter((a) => !a.endsWith(".ts"));
if (!childName || !parentName) {
  console.error("usage: node_child_fixture.ts <childName> <parentName>");
  process.exit(2);
}

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const node = new PeerLink(childName)
  .register("add", (a: number, b: number) => a + b)
  .register("runtime", () => runtime)
  .register("echo", (value: unknown) => value)
  .register("whoami", async () => {
    const first = currentPeer();
    await new Promise((r) => setTimeout(r, 2));
    const later = await new Promise<ReturnType<typeof currentPeer>>((r) => setTimeout(() => r(currentPeer()), 1));
    return { name: first?.name, transport: first?.transport, later: later?.name };
  })
  // Lets the test make this node call another one (child to child), once discovery has found it.
  .register("relay", async (target: string, fn: string, args: unknown[], transport: "udp" | "tcp") => {
    for (let i = 0; i < 100 && !node.peers().some((p) => p.name === target); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return await node.call(target, fn, args, { transport });
  });

const deadline = setTimeout(() => {
  console.error(`${childName}: giving up after 60 s`);
  process.exit(3);
}, 60_000);

try {
  await node.start();
  node.stopOnSignals();
  for (let i = 0; i < 150 && !node.peers().some((p) => p.name === parentName); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!node.peers().some((p) => p.name === parentName)) throw new Error(`parent ${parentName} not found`);
} catch (error) {
  console.error(`${childName}: ${(error as Error).stack ?? error}`);
  clearTimeout(deadline);
  await node.stop();
  process.exit(1);
}

const parent = node.peer(parentName);
const viaUdp = await parent.hello(childName);
const viaTcp = await node.call(parentName, "hello", [childName], { transport: "tcp" });
console.log(JSON.stringify({ ready: true, name: node.name, runtime, ports: node.ports, viaUdp, viaTcp }));
// Keep the deadline timer: it bounds the child's life; SIGTERM ends it earlier via stopOnSignals().
