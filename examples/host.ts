// host.ts: serves three functions until Ctrl-C
import { PeerLink } from "peerlink";

const host = new PeerLink("Host")
  .register("add", (a: number, b: number) => a + b)
  .register("upload", (blob: Uint8Array) => blob.length)
  .register("now", () => new Date());
await host.start();
// Ctrl-C: running calls finish, a goodbye tells the LAN, then exit
host.stopOnSignals();
const { udpPort, tcpPort } = host.ports!;
console.log(`Host is up (UDP ${udpPort}, TCP ${tcpPort}); Ctrl-C to stop`);
