/**
 * One side of a file-transfer measurement (bench/subjects/peerlink/file_transfer.ts), in its own process:
 *
 * - `share DIR NAME REALM`: shares DIR (writable at /inbox too), prints `{"ready":true}`, serves
 *   until standard input closes, then prints `{"peakRss":BYTES}` and exits.
 * - `get NAME PATH DEST REALM` / `put NAME SOURCE PATH REALM`: waits for NAME, transfers once,
 *   prints `{"bytes":N,"ms":T,"sha256":"...","peakRss":BYTES}` and exits.
 *
 * Peak RSS is the kernel's high-water mark (VmHWM in /proc/self/status). `BENCH_WINDOW=<bytes>`
 * sets the `streamWindow` limit of both nodes (to see whether flow control is what limits).
 */
import process from "node:process";
import { PeerLink } from "../../../mod.ts";
import { peakResidentBytes as peakRss } from "../../worker/memory.ts";

const [role, ...rest] = process.argv.slice(2).filter((a) => !a.endsWith("file_peer.ts"));
if (role === "share") {
  const [dir, name, realm] = rest;
  const limits = process.env.BENCH_WINDOW ? { streamWindow: Number(process.env.BENCH_WINDOW) } : undefined;
  const node = new PeerLink(name, { realm, limits })
    .serveFiles(dir)
    .serveFiles(dir, { prefix: "/inbox", writable: true });
  await node.start();
  console.log(JSON.stringify({ ready: true, tcpPort: node.ports!.tcpPort }));
  await new Promise<void>((resolve) => {
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    process.stdin.resume();
  });
  await node.stop();
  console.log(JSON.stringify({ peakRss: peakRss() }));
  process.exit(0);
} else if (role === "get" || role === "put") {
  const [peer, from, to, realm] = rest;
  const limits = process.env.BENCH_WINDOW ? { streamWindow: Number(process.env.BENCH_WINDOW) } : undefined;
  const node = new PeerLink(`bench-${role}-${process.pid}`, { realm, limits });
  await node.start();
  await node.waitForPeers(1, { timeout: 15_000 });
  const started = performance.now();
  const result = role === "get"
    ? await node.getFile(peer, from, to, { overwrite: true, resume: false })
    : await node.putFile(peer, from, to, { overwrite: true });
  const ms = performance.now() - started;
  await node.stop();
  console.log(JSON.stringify({ bytes: result.bytes, ms, sha256: result.sha256, peakRss: peakRss() }));
  process.exit(0);
} else {
  console.error("usage: file_peer.ts share DIR NAME REALM | get NAME PATH DEST REALM | put NAME SOURCE PATH REALM");
  process.exit(2);
}
