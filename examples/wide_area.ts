// wide_area.ts: a node that also registers in, and browses, a DNS domain
import { PeerLink } from "peerlink";

const node = new PeerLink("Worker", {
  wideArea: {
    domain: "lab.example.",
    server: "10.0.0.53",
    tsig: {
      name: "pl-key",
      algorithm: "hmac-sha256",
      secret: "<the secret tsig-keygen printed>",
    },
  },
});
console.log(`${node.name}: start() registers it in lab.example.`);
