/**
 * Child process for tests/sockets/discovery_sockets.test.ts: publishes a Discovery named argv[2] over
 * real sockets, prints one JSON line `{"ready":true,...}` once started, then waits to be killed.
 */
import { Discovery } from "../../src/discovery.ts";
import { autoRuntime } from "../../runtimes/auto.ts";

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const name = args[0] ?? "Child";
const discovery = new Discovery({
  runtime: autoRuntime(),
  name,
  udpPort: 40_123,
  tcpPort: 40_124,
  instanceId: crypto.randomUUID(),
});
await discovery.start();
console.log(JSON.stringify({ ready: true, name: discovery.name }));
// Stay alive until killed (bounded, in case the parent dies without killing us).
setTimeout(() => {
  discovery.stop().finally(() => process.exit(0));
}, 60_000);
