// worker.ts: finds Host on the LAN and calls it
import { PeerLink } from "peerlink";

// Stops (with a goodbye) at the end of the scope.
await using worker = await new PeerLink("Worker").start();
worker.on("peer-down", (peer, reason) => {
  console.log(peer.name, "left:", reason); // goodbye | expired | replaced
});
await worker.waitForPeers(1, { timeout: 3000 });

console.log(await worker.call("Host", "add", [1, 2])); // 3, over UDP
const big = new Uint8Array(3_000_000);
console.log(await worker.call("Host", "upload", [big])); // 3000000, over TCP

// Fan-out: one CallResult per peer.
const results = await worker.call("ALL", "add", [2, 2]);
for (const r of results) {
  console.log(r.peer, r.ok ? r.value : r.error.message); // Host 4
}
