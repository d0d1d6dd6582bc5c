/**
 * IPv6 mDNS interoperability with Avahi on the private LAN: avahi-daemon on host 1 runs with
 * IPv6 only (`use-ipv4=no`, scripts/avahi-host.sh --family 6), so everything between it and
 * our mDNS layer on host 2 (tests/support/avahi_peer.ts, real sockets of the runtime running
 * this file) must travel over ff02::fb.
 *
 * Skips where Avahi cannot run (reason given); PEERLINK_REQUIRE_AVAHI=1 makes that a failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { socketSkip } from "../support/env.ts";
import { type Lan, type LanProcess, lanSkip, runtimeArgv, withLan } from "../support/lan.ts";
import { type AvahiBrowseEntry, type AvahiHost, avahiSkip, startAvahi } from "../support/avahi.ts";
import type { PeerTask, PrintedInstance } from "../support/avahi_peer.ts";

const PEER = fileURLToPath(new URL("../support/avahi_peer.ts", import.meta.url));
const AVAHI_HOST = 1;
const PEER_HOST = 2;
const STEP_MS = 20_000;
const LAN_OPTIONS = { timeoutMs: 90_000 };
const skip = socketSkip || lanSkip || avahiSkip;

function unique(): string {
  return randomBytes(3).toString("hex");
}

/** Starts our peer and returns it with a reader of its JSON events. */
function startPeer(lan: Lan, task: PeerTask): { process: LanProcess; next: (event: string) => Promise<PeerEvent> } {
  const process = lan.spawn(PEER_HOST, runtimeArgv(PEER), {
    env: { AVAHI_PEER: JSON.stringify({ maxMs: 80_000, ...task }) },
    stdin: true,
  });
  const next = async (event: string): Promise<PeerEvent> => {
    const line = await process.waitForLine(new RegExp(`^\\{"event":"(${event}|error)"`), STEP_MS);
    const parsed = JSON.parse(line) as PeerEvent;
    if (parsed.event === "error") throw new Error(`our ${task.command} peer failed: ${line}`);
    return parsed;
  };
  return { process, next };
}

interface PeerEvent {
  event: string;
  [field: string]: unknown;
}

/** Repeats avahi-browse until it lists `instance` resolved over IPv6. */
async function waitForIpv6Service(avahi: AvahiHost, type: string, instance: string): Promise<AvahiBrowseEntry> {
  const deadline = Date.now() + STEP_MS;
  let last = "";
  while (Date.now() < deadline) {
    const result = await avahi.browse(type, Math.max(1, Math.min(10, Math.ceil((deadline - Date.now()) / 1000))));
    const found = result.entries.find((e) => e.kind === "=" && e.name === instance && e.protocol === "IPv6");
    if (found) return found;
    last = result.stdout;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(
    `Avahi (IPv6 only) did not resolve "${instance}" over IPv6; last avahi-browse output: ${last || "(empty)"}; ` +
      `avahi-daemon log: ${avahi.daemon.stderr().slice(-1500)}`,
  );
}

test("Avahi over IPv6 only finds and resolves our service and host name", { skip }, async () => {
  await withLan(2, async (lan) => {
    const avahi = await startAvahi(lan, AVAHI_HOST, { family: "6" });
    const type = `_pl6${unique()}._tcp`;
    const peer = startPeer(lan, { command: "publish", instance: "Ours Six", type, port: 4661, txt: { k: "v" } });
    try {
      const published = await peer.next("published");
      const entry = await waitForIpv6Service(avahi, type, "Ours Six");
      const ours = lan.host(PEER_HOST);
      assert.equal(entry.port, 4661);
      assert.equal(entry.host, published.hostName);
      // Found over IPv6 (Avahi has no IPv4 here); we publish A records on the IPv6 link too,
      // so the address Avahi picks may be any of ours.
      assert.ok(
        [ours.address, ours.ipv6, ours.linkLocal].includes(entry.address ?? ""),
        `Avahi picked ${entry.address}`,
      );
      assert.deepEqual(entry.txt, ["k=v"]);
      const address = await avahi.resolveHostName(String(published.hostName), 6);
      assert.ok([ours.ipv6, ours.linkLocal].includes(address ?? ""), `avahi-resolve -6 gave ${address}`);
    } finally {
      await peer.process.stop();
      await avahi.stop();
    }
  }, LAN_OPTIONS);
});

test("we find and resolve a service Avahi publishes over IPv6 only", { skip }, async () => {
  await withLan(2, async (lan) => {
    const avahi = await startAvahi(lan, AVAHI_HOST, { family: "6" });
    const type = `_av6${unique()}._tcp`;
    const publication = avahi.publish("Avahi Six", type, 4662, ["via=ipv6"]);
    const browser = startPeer(lan, { command: "browse", type });
    try {
      await publication.established(STEP_MS);
      const up = (await browser.next("up")).instance as PrintedInstance;
      const theirs = lan.host(AVAHI_HOST);
      assert.equal(up.name, "Avahi Six");
      assert.equal(up.port, 4662);
      assert.equal(up.host, avahi.hostName);
      assert.deepEqual(up.txt, { via: "ipv6" });
      const sources = [theirs.ipv6, `${theirs.linkLocal}%${theirs.iface}`];
      assert.ok(sources.includes(up.source), `heard over IPv6 from host 1, not from ${up.source}`);
      assert.ok(up.addresses.includes(theirs.ipv6!), `AAAA ${theirs.ipv6} in ${up.addresses.join(", ")}`);
      assert.ok(up.addresses.every((a) => a.includes(":")), "Avahi without IPv4 publishes no A record");
    } finally {
      await browser.process.stop();
      await avahi.stop();
    }
  }, LAN_OPTIONS);
});
