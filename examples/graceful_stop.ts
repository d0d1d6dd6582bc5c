// graceful_stop.ts: stop() lets running calls finish, then says goodbye
import { currentPeer, PeerLink } from "peerlink";

const realm = "render-farm"; // a realm of their own: they see only each other
const renderer = new PeerLink("Renderer", { realm, stopGrace: 2000 });
renderer.register("render", async (frames: number) => {
  // Who calls, and a signal that aborts when the grace period is over.
  const { signal, name } = currentPeer()!;
  for (let frame = 0; frame < frames; frame++) {
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 10)); // one frame
  }
  return `${frames} frames for ${name}`;
});
await renderer.start();

const options = { realm, announce: false }; // a client only
await using viewer = await new PeerLink("Viewer", options).start();
await viewer.waitForPeers(1, { timeout: 3000 });
const rendering = viewer.call("Renderer", "render", [50]);
await new Promise((resolve) => setTimeout(resolve, 200)); // it runs now
// No new calls; "render" finishes (about 0.5 s) and its reply leaves;
// then the goodbye.
await renderer.stop();
console.log(await rendering); // 50 frames for Viewer
