// options.ts: the options of a node; every one is optional (src/options.ts documents each)
import { PeerLink, type PeerLinkOptions } from "peerlink";

const options: PeerLinkOptions = {
  realm: "lab-3", //          namespace on the LAN: nodes of different realms never see each other
  // secret: "long random", // instead of realm: a realm of its own + authenticated encryption (Security); ports as Python's
  allowInsecurePeers: false, // with a secret: also meet peers without one (Python 1.2) on _peerlink._tcp, in plaintext
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
  discoveryLimits: { maxCacheEntries: 2048, maxPeers: 256 }, // mDNS bounds (see Security), defaults shown
  wideArea: { //             beyond one LAN: a DNS domain on a real DNS server (see Beyond one LAN)
    domain: "lab.example.", //  browse and register here, beside mDNS; "auto": the network's (RFC 6763 11)
    server: "10.0.0.53", //     DNS server, host[:port]; default the first nameserver of /etc/resolv.conf
    tsig: { name: "pl-key", algorithm: "hmac-sha256", secret: "base64..." }, // without it: browse only
    ttl: 120, //                registration TTL, s; refreshed every half TTL
    pollInterval: 10_000, //    how often the domain is browsed, ms
    addresses: ["10.0.0.7"], // A/AAAA registered; default every non-loopback, non-link-local address
  },
  seeds: ["10.9.0.5", "fd7a::5"], // no multicast, no DNS: ask these hosts directly (unicast DNS-SD, 5353)
};
const node = new PeerLink("Worker", options); // checks the options; nothing touches the network before start()
console.log(node.name, node.realm, node.started); // Worker lab-3 false
