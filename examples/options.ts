// options.ts: the options of a node; every one is optional (src/options.ts documents each)
import { PeerLink, type PeerLinkOptions } from "peerlink";

const options: PeerLinkOptions = {
  realm: "lab-3", //          namespace on the LAN: nodes of different realms never see each other
  // secret: "long random", // instead of realm: Python-compatible realm + authenticated encryption (Security)
  allowInsecurePeers: false, // with a secret: also talk plaintext to peers without one (Python 1.2)
  port: 50000, //             UDP port; default derivePort(name[, realm]); busy default -> OS port + warning
  tcpPort: 50001, //          TCP port; default derivePort(name, realm, "tcp")
  interfaces: ["eth0"], //    names or addresses to announce on; default every multicast-capable one
  timeout: 5000, //           default per-call timeout, ms (RPC_TIMEOUT)
  announce: true, //          false: a client only (browses and calls, never announced, serves nothing)
  stopGrace: 5000, //         stop(): how long running handlers may finish before the goodbye, ms
  allowRename: false, //      name taken on the LAN: reject start() (false) or become "Worker (2)" (true)
  verbose: false, //          debug log, prefixed "[peerlink Worker]"; or PEERLINK_DEBUG=1
  logger: console, //         any { debug, info, warn, error }
  runtime: "auto", //         socket adapter: "auto" | "deno" | "bun" | "node" | a SocketRuntime
  limits: { maxFrameBytes: 4 << 20, maxConnections: 256 }, // limits and timings (RpcLimits), each with a default
};
const node = new PeerLink("Worker", options); // checks the options; nothing touches the network before start()
console.log(node.name, node.realm, node.started); // Worker lab-3 false
