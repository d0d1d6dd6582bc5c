/**
 * The CLI beyond one LAN: `--domain`, `--dns-server`, `--tsig-file` (BIND's key file format)
 * and `--seed` parsed and checked, and `peerlink discover --domain` in-process against the
 * in-memory DNS server, listing where each peer was found. (The same against BIND:
 * tests/widearea_bind.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT, UsageError } from "../cli/errors.ts";
import { createStyle } from "../cli/format.ts";
import { peerLines } from "../cli/peers.ts";
import { wideAreaOptions } from "../cli/wide_area.ts";
import type { PeerInfo } from "../src/discovery.ts";
import { epochMs, systemClock } from "../src/clock.ts";
import { MemoryNetwork } from "../src/testing/memory_net.ts";
import { runMain } from "./support/cli_harness.ts";
import { MemoryDnsServer } from "./support/memory_dns.ts";

const KEY_FILE = `key "pl-key" {
\talgorithm hmac-sha256;
\tsecret "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=";
};
`;

function parse(values: Record<string, string | string[]>) {
  return wideAreaOptions({ values, positionals: [] }, "discover");
}

function usage(values: Record<string, string | string[]>): string {
  try {
    parse(values);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.command, "discover");
    return error.message;
  }
  assert.fail("no usage error");
}

test("cli: --domain, --dns-server, --tsig-file and --seed become wideArea and seeds; mistakes are usage errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "pl-cli-key-"));
  try {
    const keyFile = join(dir, "key.conf");
    writeFileSync(keyFile, KEY_FILE);
    assert.deepEqual(parse({}), {});
    assert.deepEqual(parse({ domain: "lab.example.", "dns-server": "10.0.0.53:5300", "tsig-file": keyFile }), {
      wideArea: {
        domain: "lab.example.",
        server: "10.0.0.53:5300",
        tsig: { name: "pl-key", algorithm: "hmac-sha256", secret: "uey5nCP0qld3mTj8XpRDMXsAYQDkcEtCavJftXuIrnU=" },
      },
    });
    assert.deepEqual(parse({ seed: ["10.9.0.5,fd7a::5", "10.9.0.6"] }), { seeds: ["10.9.0.5", "fd7a::5", "10.9.0.6"] });
    assert.match(usage({ "dns-server": "10.0.0.53" }), /--dns-server needs --domain/);
    assert.match(usage({ "tsig-file": keyFile }), /--tsig-file needs --domain/);
    assert.match(
      usage({ domain: "lab.example.", "tsig-file": join(dir, "missing.conf") }),
      /cannot read --tsig-file .*missing\.conf/,
    );
    writeFileSync(join(dir, "empty.conf"), "# nothing\n");
    assert.match(
      usage({ domain: "lab.example.", "tsig-file": join(dir, "empty.conf") }),
      /empty\.conf holds no key statement/,
    );
    assert.match(usage({ domain: "lab.example.", "dns-server": "ns.lab.example" }), /numeric address.*not resolved/);
    assert.match(usage({ seed: ["host.lab.example"] }), /seeds: "host\.lab\.example" is not a numeric/);
    assert.match(usage({ domain: "bad..domain" }), /wideArea\.domain "bad\.\.domain" is not a domain name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cli: a usage error exits 2; discover lists where each peer was found", async () => {
  const r = await runMain(["discover", "--seed", "10.0.0.1", "--dns-server", "10.0.0.53"]);
  assert.equal(r.code, EXIT.USAGE);
  assert.match(r.stderr, /--dns-server needs --domain\. See 'peerlink discover --help'/);
  const help = await runMain(["discover", "--help"]);
  for (const option of ["--domain", "--dns-server", "--tsig-file", "--seed"]) {
    assert.match(help.stdout, new RegExp(option));
  }
  const peer: PeerInfo = {
    name: "P",
    address: "10.0.0.9",
    udpPort: 1,
    tcpPort: 2,
    lastSeen: 0,
    instanceId: "i",
    txt: {},
    capabilities: [],
  };
  const lines = peerLines(
    [{ ...peer, via: ["mdns", "dns"] }, { ...peer, name: "Q" }],
    0,
    createStyle(false),
  );
  assert.match(lines[0], /udp 1 {2}tcp 2 {2}\? {2}mdns\+dns {2}0s ago$/);
  assert.match(lines[1], / mdns {6}0s ago$/, "no via: found by mDNS");
});

test("cli discover --domain (memory): lists a service registered in the zone, via dns", async () => {
  const network = new MemoryNetwork({ seed: 2 });
  const server = await MemoryDnsServer.start(
    network.host("10.0.9.53"),
    "lab.example",
    () => Math.floor(epochMs(systemClock) / 1000),
  );
  try {
    server.addService({
      instance: "Static",
      type: "_peerlink._tcp",
      port: 45000,
      txt: { node: "Static", tcp_port: "45001" },
      address: "10.0.8.8",
    });
    const r = await runMain([
      "discover",
      "--domain",
      "lab.example.",
      "--dns-server",
      "10.0.9.53",
      "--wait",
      "500ms",
      "--json",
    ], {
      node: { runtime: network.host("10.0.1.1") },
    });
    assert.equal(r.code, EXIT.OK, r.stderr);
    const listed = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(
      listed.map((p) => [p.name, p.address, p.udpPort, p.tcpPort, p.via]),
      [["Static", "10.0.8.8", 45000, 45001, ["dns"]]],
    );
  } finally {
    await server.close();
    await network.close();
  }
});
