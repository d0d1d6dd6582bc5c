// typed_proxy.ts: Host's functions as typed methods
import { PeerLink } from "peerlink";

interface HostApi {
  add(a: number, b: number): number;
  upload(blob: Uint8Array): number;
  now(): Date;
}

// A client only (announce: false): it calls, and is never announced.
const options = { announce: false };
await using node = await new PeerLink("Typed", options).start();
await node.waitForPeers(1, { timeout: 3000 });
const host = node.peer<HostApi>("Host"); // throws PeerNotFound if unknown
const sum: number = await host.add(1, 2); // host.add("1", 2) does not compile
const now: string = await host.now(); // a Date arrives as its ISO string
// Options per proxy:
const viaTcp = node.peer<HostApi>("Host", { transport: "tcp", timeout: 2000 });
console.log(sum, await viaTcp.add(3, 4), now.endsWith("Z")); // 3 7 true
