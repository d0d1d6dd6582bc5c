// files.ts: share folders; list, fetch and send files (resumable, SHA-256 checked)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PeerLink } from "peerlink";

const dir = (name: string) => mkdtempSync(join(tmpdir(), `${name}-`));
const [pub, inbox, local] = [dir("public"), dir("inbox"), dir("local")];
writeFileSync(join(pub, "notes.txt"), "shared with the LAN\n");

const realm = "files-demo"; // a realm of their own: they see only each other
const nas = new PeerLink("NAS", { realm })
  .serveFiles(pub) // read-only, at "/"
  .serveFiles(inbox, { prefix: "/inbox", writable: true }); // peers may put here
await nas.start();

const options = { realm, announce: false }; // a client only
await using laptop = await new PeerLink("Laptop", options).start();
await laptop.waitForPeers(1, { timeout: 3000 });
const entries = await laptop.listFiles("NAS", "/"); // { name, size, mtime, type }[]
console.log(entries.map((e) => `${e.type} ${e.name}`).join(", ")); // file notes.txt, dir inbox

let progress = "";
const copy = join(local, "notes.txt");
const got = await laptop.getFile("NAS", "/notes.txt", copy, {
  resume: true, // the default: continue a partial notes.txt.part
  // At most every 100 ms, and at the end:
  onProgress: (p) => progress = `${p.bytes} of ${p.total} bytes`,
}); // -> { bytes, sha256, resumedFrom, restarted }
console.log(progress, got.sha256.length); // 20 of 20 bytes 64
console.log(readFileSync(copy, "utf8").trim()); // shared with the LAN

writeFileSync(join(local, "report.txt"), "made on the laptop\n");
const report = join(local, "report.txt");
await laptop.putFile("NAS", report, "/inbox/report.txt", { overwrite: false });
console.log(readFileSync(join(inbox, "report.txt"), "utf8").trim()); // made on the laptop
await nas.stop();
for (const folder of [pub, inbox, local]) rmSync(folder, { recursive: true });
