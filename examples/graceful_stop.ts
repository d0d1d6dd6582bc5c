// graceful_stop.ts: stop() lets the calls that are running finish before it says goodbye
import { currentPeer, PeerLink } from "peerlink";

const realm = "render-farm"; // its own realm: these two nodes see only each other
const renderer = new PeerLink("Renderer", { realm, stopGrace: 2000 }).register(
  "render",
  async (frames: number) => {
    const { signal, name } = currentPeer()!; // who calls, and a signal that aborts when the grace period is over
    for (let frame = 0; frame < frames; frame++) {
      signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 10)); // render one frame
    }
    return `${frames} frames for ${name}`;
  },
);
await renderer.start();

await using viewer = await new PeerLink("Viewer", { realm, announce: false })
  .start(); // a client only
await viewer.waitForPeers(1, { timeout: 3000 });
const rendering = viewer.call("Renderer", "render", [50]);
await new Promise((resolve) => setTimeout(resolve, 200)); // the call is running now
await renderer.stop(); // no new calls; "render" finishes (about 0.5 s) and its reply leaves; then goodbye
console.log(await rendering); // 50 frames for Viewer
