// typed_proxy.ts: Host's functions as typed methods
import { PeerLink } from "peerlink";

interface HostApi {
  add(a: number, b: number): number;
  upload(blob: Uint8Array): number;
  now(): Date;
}

await using node = await new PeerLink("Typed", { announce: false }).start(); // a client only: never announced
await node.waitForPeers(1, { timeout: 3000 });
const host = node.peer<HostApi>("Host"); // throws PeerNotFound at once if unknown
const sum: number = await host.add(1, 2); // Promise<number>; host.add("1", 2) does not compile
const now: string = await host.now(); // a Date travels as its ISO string, and the type says so
const viaTcp = node.peer<HostApi>("Host", { transport: "tcp", timeout: 2000 }); // options per proxy
console.log(sum, await viaTcp.add(3, 4), now.endsWith("Z")); // 3 7 true
