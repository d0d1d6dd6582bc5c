/**
 * mDNS/DNS-SD interoperability with Avahi, the standard Linux implementation, on the private
 * multi-host LAN (scripts/lan.sh): avahi-daemon with its own D-Bus system bus runs on host 1
 * (scripts/avahi-host.sh), our mDNS layer (src/mdns, real sockets of the runtime running this
 * file) on host 2 (tests/support/avahi_peer.ts). Each side must read the other's packets:
 * browse, resolve (SRV, TXT, A) and probe conflicts, both ways.
 *
 * Skips where Avahi cannot run (reason given); PEERLINK_REQUIRE_AVAHI=1 makes that a failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { runtimeName, socketSkip } from "../support/env.ts";
import { type Lan, type LanProcess, lanSkip, runtimeArgv, tail, withLan } from "../support/lan.ts";
import { type AvahiHost, avahiSkip, startAvahi } from "../support/avahi.ts";
import type { PeerTask, PrintedInstance } from "../support/avahi_peer.ts";

const PEER = fileURLToPath(new URL("../support/avahi_peer.ts", import.meta.url));
const AVAHI_HOST = 1;
const PEER_HOST = 2;
/** Generous: Avahi probes (about 1 s), browses answer after up to a second or two, CI is slow. */
const STEP_MS = 15_000;
const LAN_OPTIONS = { timeoutMs: 90_000 };
const skip = socketSkip || lanSkip || avahiSkip;

/** A suffix that keeps names of concurrent or repeated runs apart. */
function unique(): string {
  return randomBytes(3).toString("hex");
}

/** A port number for SRV records (nothing listens on it; only the number travels). */
function somePort(): number {
  return 20_000 + randomBytes(2).readUInt16BE(0) % 40_000;
}

interface PeerEvent {
  event: string;
  [field: string]: unknown;
}

/** Our mDNS peer on a LAN host, printing JSON events. */
class Peer {
  readonly process: LanProcess;
  readonly label: string;

  constructor(lan: Lan, host: number, task: PeerTask) {
    this.label = `our ${task.command} peer on host ${host}`;
    this.process = lan.spawn(host, runtimeArgv(PEER), {
      // Debug output (stderr) is the timeline a failure message quotes: see tails().
      env: { AVAHI_PEER: JSON.stringify({ maxMs: 80_000, ...task }), PEERLINK_DEBUG: "1" },
      stdin: true,
    });
  }

  /** Every event printed so far, in order. */
  readonly events: PeerEvent[] = [];

  /**
   * The first event (since it started, not only unread ones) that `accept` matches, waiting
   * for more output as needed; fails naming `what` was not seen. One caller at a time.
   */
  async waitFor(what: string, accept: (e: PeerEvent) => boolean, timeoutMs = STEP_MS): Promise<PeerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0;; i++) {
      while (i >= this.events.length) {
        let line: string;
        try {
          line = await this.process.nextLine(Math.max(1, deadline - Date.now()));
        } catch (err) {
          const log = tail(this.process.stderr(), 3000);
          throw new Error(
            `${this.label}: did not see ${what} within ${timeoutMs} ms: ${
              (err as Error).message
            }\n--- its stderr:\n${log}`,
          );
        }
        try {
          this.events.push(JSON.parse(line) as PeerEvent);
        } catch {
          continue; // not ours (a runtime warning on stdout)
        }
        const last = this.events[this.events.length - 1];
        if (last.event === "error" && last.fatal) {
          throw new Error(`${this.label}: failed while waiting for ${what}: ${line}`);
        }
      }
      if (accept(this.events[i])) return this.events[i];
    }
  }

  /** Ends it gently (stdin closes: goodbyes sent) and checks it exited cleanly. */
  async stop(): Promise<void> {
    this.process.closeStdin();
    const exit = await this.process.wait(10_000);
    assert.equal(exit.code, 0, `${this.label} exited with ${exit.code}: ${exit.stderr}`);
  }
}

/** Runs `body` with Avahi on host 1 of a fresh two-host LAN; everything is torn down after. */
async function withAvahi(body: (lan: Lan, avahi: AvahiHost) => Promise<void>): Promise<void> {
  await withLan(2, async (lan) => {
    const avahi = await startAvahi(lan, AVAHI_HOST);
    try {
      await body(lan, avahi);
    } finally {
      await avahi.stop();
    }
  }, LAN_OPTIONS);
}

/** The end of our peer's debug log and of avahi-daemon's log, for a failure message. */
function tails(peer: Peer, avahi: AvahiHost): string {
  return `\n--- ${peer.label}, stderr:\n${tail(peer.process.stderr(), 4000)}\n--- avahi-daemon:\n${
    tail(avahi.daemon.stderr(), 4000)
  }`;
}

/** TXT strings as a sorted list: Avahi reverses the order of TXT strings it receives and sends. */
function sorted(strings: readonly string[]): string[] {
  return [...strings].sort();
}

test("avahi interop: Avahi on one LAN host resolves a service avahi-publish announces on another", {
  // The harness on its own (two Avahi daemons, none of our code), so a failure elsewhere can
  // be told apart from a broken setup. It does not depend on the runtime: Node runs it.
  skip: skip || (runtimeName !== "node" && "runs under Node only: it checks the Avahi setup, not our runtime code"),
}, async () => {
  await withLan(2, async (lan) => {
    const one = await startAvahi(lan, 1);
    const two = await startAvahi(lan, 2);
    try {
      const name = `Avahi Sanity ${unique()}`;
      const port = somePort();
      const publication = one.publish(name, "_plsanity._tcp", port, ["k=v", "flag"]);
      assert.equal(await publication.established(STEP_MS), name);
      const entry = await two.waitForService("_plsanity._tcp", name, STEP_MS);
      assert.equal(entry.host, one.hostName);
      assert.equal(entry.address, lan.address(1));
      assert.equal(entry.port, port);
      assert.deepEqual(sorted(entry.txt ?? []), ["flag", "k=v"]);
    } finally {
      await Promise.allSettled([one.stop(), two.stop()]);
    }
  }, LAN_OPTIONS);
});

test("avahi interop: avahi-browse lists our published node with its address, port and TXT", { skip }, async () => {
  await withAvahi(async (lan, avahi) => {
    // A space and UTF-8 in the name, and TXT characters avahi-browse must escape.
    const instance = `PeerLink N\u00f6de ${unique()}`;
    const port = somePort();
    const txt = {
      node: instance,
      udp_port: String(port),
      tcp_port: String(port + 1),
      instance_id: unique() + unique(),
      note: 'caf\u00e9 "quoted" back\\slash; semi',
      secure: true as const,
    };
    const peer = new Peer(lan, PEER_HOST, { command: "publish", instance, type: "_peerlink._tcp", port, txt });
    const started = await peer.waitFor("the started event", (e) => e.event === "started");
    const published = await peer.waitFor("its publication", (e) => e.event === "published" || e.event === "error");
    assert.equal(published.event, "published", `publish failed: ${JSON.stringify(published)}`);
    assert.equal(published.instance, instance);

    const entry = await avahi.waitForService("_peerlink._tcp", instance, STEP_MS);
    assert.equal(entry.iface, "pleth0");
    assert.equal(entry.host, started.hostName, "SRV target is our host name");
    assert.equal(entry.port, port);
    // Avahi may pick our A or AAAA record; either way it must be host 2's.
    const host2 = lan.host(PEER_HOST);
    assert.ok(
      [host2.address, host2.ipv6, host2.linkLocal].includes(entry.address ?? ""),
      `avahi-browse resolved ${entry.address}, not an address of host ${PEER_HOST}`,
    );
    const expectedTxt = Object.entries(txt).map(([k, v]) => v === true ? k : `${k}=${v}`);
    assert.deepEqual(sorted(entry.txt ?? []), sorted(expectedTxt));
    // Our A record, asked for on its own.
    assert.equal(await avahi.resolveHostName(String(started.hostName), 4), host2.address);
    await peer.stop();
  });
});

test("avahi interop: our querier finds and resolves a service published with avahi-publish", { skip }, async () => {
  await withAvahi(async (lan, avahi) => {
    const instance = `Avahi S\u00e9rvice ${unique()}`;
    const port = somePort();
    const txt = ["node=avahi-side", `udp_port=${port}`, "flag", "empty=", "text=two words"];
    const publication = avahi.publish(instance, "_peerlink._tcp", port, txt, {
      subtypes: ["_plrealm._sub._peerlink._tcp"],
    });
    assert.equal(await publication.established(STEP_MS), instance);
    // DNS-SD instance names may contain dots (RFC 6763 4.3); Avahi allows them.
    const dotted = `Avahi v1.2 ${unique()}`;
    const dottedPublication = avahi.publish(dotted, "_peerlink._tcp", port + 1, ["dotted=yes"]);
    assert.equal(await dottedPublication.established(STEP_MS), dotted);

    const browser = new Peer(lan, PEER_HOST, { command: "browse", type: "_peerlink._tcp" });
    const subBrowser = new Peer(lan, PEER_HOST, { command: "browse", type: "_plrealm._sub._peerlink._tcp" });
    const resolver = new Peer(lan, PEER_HOST, {
      command: "resolve",
      instance,
      type: "_peerlink._tcp",
      timeoutMs: STEP_MS - 2000,
    });
    const isOurs = (e: PeerEvent) => e.event === "up" && (e.instance as PrintedInstance).name === instance;
    const up = (await browser.waitFor(`an "up" event for "${instance}"`, isOurs)).instance as PrintedInstance;
    assert.equal(up.fullName, `${instance}._peerlink._tcp.local`);
    assert.equal(up.host, avahi.hostName);
    assert.equal(up.port, port);
    assert.equal(up.addresses[0], lan.address(AVAHI_HOST), `addresses: ${up.addresses.join(", ")}`);
    assert.equal(up.source, lan.address(AVAHI_HOST));
    assert.deepEqual({ ...up.txt }, {
      node: "avahi-side",
      udp_port: String(port),
      flag: true,
      empty: "",
      text: "two words",
    });
    assert.deepEqual(sorted(up.txtRaw), sorted(txt));

    const dottedUp = await browser.waitFor(
      `an "up" event for the dotted name "${dotted}"`,
      (e) => e.event === "up" && (e.instance as PrintedInstance).name === dotted,
    );
    assert.equal((dottedUp.instance as PrintedInstance).port, port + 1);
    assert.deepEqual({ ...(dottedUp.instance as PrintedInstance).txt }, { dotted: "yes" });

    const viaSubtype = await subBrowser.waitFor(`an "up" event for "${instance}" by subtype`, isOurs);
    assert.equal((viaSubtype.instance as PrintedInstance).port, port);

    const resolved = await resolver.waitFor(
      `resolve() of "${instance}"`,
      (e) => e.event === "resolved" || e.event === "error",
    );
    assert.equal(resolved.event, "resolved", `resolve failed: ${JSON.stringify(resolved)}`);
    const r = resolved.instance as PrintedInstance;
    assert.deepEqual([r.host, r.port, r.addresses[0]], [avahi.hostName, port, lan.address(AVAHI_HOST)]);

    // avahi-publish withdrawing (goodbye records) is seen as "down" at once.
    await publication.stop();
    const down = await browser.waitFor(
      `a "down" event for "${instance}" after avahi-publish stopped`,
      (e) => e.event === "down" && (e.instance as PrintedInstance).name === instance,
      5000,
    );
    assert.equal(down.reason, "goodbye");
    await Promise.all([browser.stop(), subBrowser.stop(), resolver.stop()]);
  });
});

test("avahi interop: our prober rejects a name Avahi holds with NameConflict, and renames when allowed", {
  skip,
}, async () => {
  await withAvahi(async (lan, avahi) => {
    const instance = `Taken ${unique()}`;
    const fullName = `${instance}._peerlink._tcp.local`;
    const avahiPort = somePort();
    const publication = avahi.publish(instance, "_peerlink._tcp", avahiPort, ["owner=avahi"]);
    assert.equal(await publication.established(STEP_MS), instance);

    const task: PeerTask = { command: "publish", instance, type: "_peerlink._tcp", port: somePort(), txt: {} };
    const strict = new Peer(lan, PEER_HOST, task);
    const rejected = await strict.waitFor(
      "the outcome of publishing a taken name",
      (e) => e.event === "published" || e.event === "error",
    );
    assert.equal(rejected.event, "error", `publishing "${instance}" should fail: ${JSON.stringify(rejected)}`);
    assert.equal(rejected.name, "NameConflict");
    assert.equal(rejected.fullName, fullName);
    assert.match(String(rejected.message), /already in use/);
    await strict.stop();

    const renaming = new Peer(lan, PEER_HOST, { ...task, allowRename: true });
    const published = await renaming.waitFor(
      "the renamed publication",
      (e) => e.event === "published" || e.event === "error",
    );
    assert.equal(published.event, "published", `publish with allowRename failed: ${JSON.stringify(published)}`);
    assert.equal(published.instance, `${instance} (2)`);
    // Avahi sees both: its own instance untouched, ours under the new name at host 2.
    const ours = await avahi.waitForService("_peerlink._tcp", `${instance} (2)`, STEP_MS);
    assert.equal(ours.port, task.port);
    const theirs = await avahi.waitForService("_peerlink._tcp", instance, STEP_MS);
    assert.equal(theirs.port, avahiPort);
    assert.doesNotMatch(publication.process.stdout(), /collision/i, "Avahi must not have had to rename");
    await renaming.stop();
  });
});

test("avahi interop: Avahi renames when it probes a name our node holds", { skip }, async () => {
  await withAvahi(async (lan, avahi) => {
    const instance = `Ours ${unique()}`;
    const port = somePort();
    const peer = new Peer(lan, PEER_HOST, {
      command: "publish",
      instance,
      type: "_peerlink._tcp",
      port,
      txt: { owner: "peerlink" },
    });
    const published = await peer.waitFor("its publication", (e) => e.event === "published" || e.event === "error");
    assert.equal(published.event, "published", `publish failed: ${JSON.stringify(published)}`);

    // Our responder must defend the name against Avahi's probes (RFC 6762 8.1).
    const publication = avahi.publish(instance, "_peerlink._tcp", somePort(), ["owner=avahi"]);
    const established = await publication.established(STEP_MS);
    assert.notEqual(established, instance, `Avahi took a name our node holds${tails(peer, avahi)}`);
    assert.match(publication.process.stdout(), /collision/i);
    const ours = await avahi.waitForService("_peerlink._tcp", instance, STEP_MS);
    assert.equal(ours.port, port);
    assert.equal(ours.address, lan.address(PEER_HOST));
    await publication.stop();
    await peer.stop();
  });
});

test("avahi interop: a PeerLink node and a peer published by Avahi with Python 1.2's TXT keys see each other", {
  skip,
}, async () => {
  await withAvahi(async (lan, avahi) => {
    // What a Python PeerLink 1.2 node announces, published by Avahi instead of python-zeroconf.
    const pyName = `py-node-${unique()}`;
    const py = { udp: somePort(), tcp: somePort(), id: unique() + unique() };
    const publication = avahi.publish(pyName, "_peerlink._tcp", py.udp, [
      `node=${pyName}`,
      `udp_port=${py.udp}`,
      `tcp_port=${py.tcp}`,
      `instance_id=${py.id}`,
    ]);
    assert.equal(await publication.established(STEP_MS), pyName);

    const name = `ts-node-${unique()}`;
    const ours = { udp: somePort(), tcp: somePort(), id: unique() + unique() };
    const node = new Peer(lan, PEER_HOST, {
      command: "discovery",
      instance: name,
      port: ours.udp,
      tcpPort: ours.tcp,
      instanceId: ours.id,
      txt: { rt: runtimeName },
    });
    const published = await node.waitFor(
      "the node's publication",
      (e) => e.event === "published" || e.event === "error",
    );
    assert.equal(published.event, "published", `discovery start failed: ${JSON.stringify(published)}`);

    const up = await node.waitFor(
      `peer-up for "${pyName}"`,
      (e) => e.event === "peer-up" && (e.peer as { name: string }).name === pyName,
    );
    const peer = up.peer as { address: string; udpPort: number; tcpPort: number; instanceId: string };
    assert.deepEqual(
      [peer.address, peer.udpPort, peer.tcpPort, peer.instanceId],
      [lan.address(AVAHI_HOST), py.udp, py.tcp, py.id],
    );

    const entry = await avahi.waitForService("_peerlink._tcp", name, STEP_MS);
    assert.equal(entry.port, ours.udp, "SRV port is the UDP port");
    const txt = new Map((entry.txt ?? []).map((s) => [s.split("=")[0], s.slice(s.indexOf("=") + 1)]));
    assert.equal(txt.get("node"), name);
    assert.equal(txt.get("udp_port"), String(ours.udp));
    assert.equal(txt.get("tcp_port"), String(ours.tcp));
    assert.equal(txt.get("instance_id"), ours.id);
    assert.equal(txt.get("rt"), runtimeName);

    // Avahi's goodbye is a peer-down at once.
    await publication.stop();
    const down = await node.waitFor(
      `peer-down for "${pyName}" after avahi-publish stopped`,
      (e) => e.event === "peer-down" && (e.peer as { name: string }).name === pyName,
      5000,
    );
    assert.equal(down.reason, "goodbye");
    await node.stop();
  });
});

test("avahi interop: Avahi lists a realm node under its realm's service type only", { skip }, async () => {
  await withAvahi(async (lan, avahi) => {
    const name = `realm-node-${unique()}`;
    const port = somePort();
    const node = new Peer(lan, PEER_HOST, {
      command: "discovery",
      instance: name,
      port,
      tcpPort: port,
      instanceId: unique(),
      secret: `secret-${unique()}`,
    });
    const published = await node.waitFor(
      "the node's publication",
      (e) => e.event === "published" || e.event === "error",
    );
    assert.equal(published.event, "published", `discovery start failed: ${JSON.stringify(published)}`);
    const realm = String((await node.waitFor("the started event", (e) => e.event === "started")).realm);
    assert.match(realm, /^[0-9a-f]{16}$/);
    assert.equal(published.type, `_peerlink-${realm}._tcp`);

    const entry = await avahi.waitForService(`_peerlink-${realm}._tcp`, name, STEP_MS);
    assert.equal(entry.port, port);
    assert.ok(entry.txt?.includes(`realm=${realm}`), `TXT: ${entry.txt?.join(" ")}`);
    const plain = await avahi.browse("_peerlink._tcp");
    assert.deepEqual(plain.entries.filter((e) => e.name === name), [], "the realm node leaked into _peerlink._tcp");
    await node.stop();
  });
});
