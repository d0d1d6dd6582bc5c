/**
 * Issue 18 acceptance on a real DNS server: two LANs (10.77.0.0/24 and 10.88.0.0/24) joined by
 * a router that forwards unicast and no multicast (scripts/lan.sh --lan2), BIND 9 on the
 * router configured with the README's snippets (tests/support/bind.ts). PeerLink nodes of two
 * runtimes, one per LAN (this file's runtime on LAN A, the next one on LAN B, so the three
 * passes of `npm test` cover every pair), find and call each other through BIND; `dig` reads
 * what they registered and `nsupdate` registers what they must find. One LAN and one named
 * serve the whole file.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeName, socketSkip } from "./support/env.ts";
import { type Lan, lanSkip, openLan, runtimeArgv } from "./support/lan.ts";
import { type BindServer, bindSkip, startBind, ZONE } from "./support/bind.ts";
import { type E2eNode, type E2eRuntime, startE2eNode } from "./support/e2e_driver.ts";

const skip = socketSkip || lanSkip || bindSkip;
const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const NEXT: Record<E2eRuntime, E2eRuntime> = { deno: "bun", bun: "node", node: "deno" };
const OTHER = NEXT[runtimeName];
const LAN_A = 1;
const LAN_B = 2;
const STEP_MS = 20_000;

let lan: Lan | undefined;
let bind: BindServer | undefined;

before(async () => {
  if (skip) return;
  lan = await openLan(1, { lan2: 1, timeoutMs: 240_000 });
  bind = await startBind(lan, lan.router!);
});

after(async () => {
  await bind?.stop();
  await lan?.close();
});

/** The DNS server as each LAN reaches it (the router's address on that LAN). */
function server(host: number): string {
  return lan!.host(host).lan === "b" ? "10.88.0.254" : "10.77.0.254";
}

function wideArea(host: number, extra: Record<string, unknown> = {}): Record<string, string> {
  return {
    E2E_OPTIONS: JSON.stringify({
      wideArea: { domain: `${ZONE}.`, server: server(host), tsig: bind!.key, pollInterval: 1000, ...extra },
    }),
  };
}

/** A name no other run or pass uses. */
function unique(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

async function stopAll(nodes: (E2eNode | undefined)[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n?.process.stop(3000)));
}

test(
  `BIND: a ${runtimeName} node on LAN A and a ${OTHER} node on LAN B find and call each other (UDP, TCP); mDNS alone does not; dig sees the records until stop()`,
  {
    skip,
  },
  async () => {
    let a: E2eNode | undefined;
    let b: E2eNode | undefined;
    let local: E2eNode | undefined;
    try {
      const [nameA, nameB, nameLocal] = [unique("WideA"), unique("WideB"), unique("LocalA")];
      a = await startE2eNode(lan!, LAN_A, nameA, runtimeName, wideArea(LAN_A));
      local = await startE2eNode(lan!, LAN_A, nameLocal, runtimeName); // mDNS only, on LAN A
      b = await startE2eNode(lan!, LAN_B, nameB, OTHER, wideArea(LAN_B));

      const seenByA = await a.expect("wait", { count: 2, timeout: STEP_MS }, STEP_MS + 5000);
      assert.deepEqual(seenByA.peers, [nameLocal, nameB].sort());
      assert.deepEqual(seenByA.via, { [nameB]: ["dns"], [nameLocal]: ["mdns"] });
      assert.equal((seenByA.addresses as Record<string, string>)[nameB], "10.88.0.1");
      const seenByB = await b.expect("wait", { count: 1, timeout: STEP_MS }, STEP_MS + 5000);
      assert.deepEqual(seenByB.via, { [nameA]: ["dns"] });
      assert.equal((seenByB.addresses as Record<string, string>)[nameA], "10.77.0.1");
      // The control: mDNS alone, on A's LAN, sees A but never B behind the router.
      const seenByLocal = await local.expect("wait", { count: 1, timeout: STEP_MS }, STEP_MS + 5000);
      assert.deepEqual(seenByLocal.peers, [nameA]);
      await new Promise((r) => setTimeout(r, 1500));
      const still = await local.expect("wait", { count: 1, timeout: 100 });
      assert.deepEqual(still.peers, [nameA], "B never shows up by mDNS");

      const upB = await a.expect("waitEvent", { type: "peer-up", peer: nameB, timeout: 1000 });
      const foundMs = (upB.event as { at: number }).at - b.startedAt;
      console.log(
        `measure: ${OTHER} node on LAN B found by the ${runtimeName} node on LAN A ${foundMs} ms after its start()`,
      );

      for (const [from, to, fromHost] of [[a, b, LAN_A], [b, a, LAN_B]] as const) {
        for (const transport of ["udp", "tcp"] as const) {
          const reply = await from.expect("call", { target: to.name, fn: "inspect", args: ["x"], transport });
          const seen = reply.value as {
            callee: string;
            runtime: string;
            caller: string;
            address: string;
            transport: string;
          };
          assert.equal(reply.transport, transport);
          assert.deepEqual(
            [seen.callee, seen.runtime, seen.caller, seen.address, seen.transport],
            [to.name, to.runtime, from.name, lan!.address(fromHost), transport],
            `${from.name} -> ${to.name} over ${transport}`,
          );
        }
      }

      // dig, an independent reader, shows B's PTR, SRV, TXT and A.
      const instance = `${nameB}._peerlink._tcp.${ZONE}`;
      const ptrs = await bind!.dig(["PTR", `_peerlink._tcp.${ZONE}`]);
      assert.ok(ptrs.some((l) => l.endsWith(`PTR\t${instance}.`)), ptrs.join("\n"));
      const srv = await bind!.dig(["SRV", instance]);
      assert.equal(srv.length, 1, srv.join("\n"));
      const [, , , , , , port, target] = srv[0].split(/\s+/);
      assert.equal(Number(port), b.ports.udpPort, "SRV port = B's UDP port");
      const txt = await bind!.dig(["TXT", instance]);
      assert.match(txt.join("\n"), new RegExp(`"node=${nameB}".*"rt=${OTHER}".*"expires=\\d+"`));
      assert.deepEqual(await bind!.dig(["+short", "A", target]), ["10.88.0.1"]);

      await b.stop();
      b = undefined;
      const down = await a.expect("waitEvent", { type: "peer-down", peer: nameB, timeout: STEP_MS }, STEP_MS + 5000);
      assert.equal((down.event as { reason: string }).reason, "goodbye");
      assert.deepEqual(await bind!.dig(["SRV", instance]), [], "no SRV after stop()");
      assert.deepEqual(await bind!.dig(["TXT", instance]), [], "no TXT after stop()");
      assert.deepEqual(await bind!.dig(["+short", "A", target]), [], "no A after stop()");
      assert.ok(!(await bind!.dig(["PTR", `_peerlink._tcp.${ZONE}`])).some((l) => l.includes(instance)), "no PTR");
    } finally {
      await stopAll([a, b, local]);
    }
  },
);

test(
  "BIND: a service registered with nsupdate is found by our browser and listed by `peerlink discover --domain` (also --domain auto)",
  {
    skip,
  },
  async () => {
    const name = unique("Manual");
    const instance = `${name}._peerlink._tcp.${ZONE}.`;
    const added = await bind!.nsupdate(`
update add _peerlink._tcp.${ZONE}. 60 PTR ${instance}
update add ${instance} 60 SRV 0 0 45000 ${name.toLowerCase()}.${ZONE}.
update add ${instance} 60 TXT "node=${name}" "udp_port=45000" "tcp_port=45001"
update add ${name.toLowerCase()}.${ZONE}. 60 A 10.88.0.99
`);
    assert.equal(added.code, 0, added.stderr);
    try {
      const discover = async (...extra: string[]) => {
        const r = await lan!.run(
          LAN_A,
          runtimeArgv(CLI, ["discover", "--wait", "2s", "--json", ...extra]),
          STEP_MS,
        );
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      };
      const listed = await discover("--domain", `${ZONE}.`, "--dns-server", server(LAN_A));
      const manual = listed.find((p) => p.name === name);
      assert.ok(manual, JSON.stringify(listed));
      assert.deepEqual([manual.address, manual.udpPort, manual.tcpPort, manual.via], ["10.88.0.99", 45000, 45001, [
        "dns",
      ]]);

      // "auto": the host's resolv.conf names the server and the search domain; the zone's
      // b._dns-sd._udp PTR (README snippet) names the browse domain.
      const resolv = join(bind!.dir, "resolv.conf");
      writeFileSync(resolv, `nameserver ${server(LAN_A)}\nsearch ${ZONE}\n`);
      const mounted = await lan!.run(LAN_A, ["mount", "--bind", resolv, "/etc/resolv.conf"], STEP_MS);
      assert.equal(mounted.code, 0, mounted.stderr);
      try {
        const auto = await discover("--domain", "auto");
        assert.ok(auto.some((p) => p.name === name && (p.via as string[]).includes("dns")), JSON.stringify(auto));
      } finally {
        await lan!.run(LAN_A, ["umount", "/etc/resolv.conf"], STEP_MS);
      }
    } finally {
      await bind!.nsupdate(`
update delete _peerlink._tcp.${ZONE}. PTR ${instance}
update delete ${instance}
update delete ${name.toLowerCase()}.${ZONE}.
`);
    }
  },
);

test("BIND: a wrong TSIG key fails start() with the server, zone and rcode, and leaves nothing registered", {
  skip,
}, async () => {
  const name = unique("WrongKey");
  const wrong = join(bind!.dir, "wrong-key.conf");
  writeFileSync(
    wrong,
    `key "pl-key" {\n\talgorithm hmac-sha256;\n\tsecret "${randomBytes(32).toString("base64")}";\n};\n`,
  );
  const r = await lan!.run(
    LAN_B,
    runtimeArgv(CLI, [
      "serve",
      "--name",
      name,
      "--domain",
      `${ZONE}.`,
      "--dns-server",
      server(LAN_B),
      "--tsig-file",
      wrong,
    ]),
    STEP_MS,
  );
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(
    r.stderr,
    /cannot start node '.*': WideAreaError: DNS server 10\.88\.0\.254:53 answered the UPDATE of zone lab\.example\. with NOTAUTH \(TSIG error BADSIG\), without a valid signature .*secret for "pl-key" differs/,
    `peerlink serve printed: ${r.stdout}\n${r.stderr}`,
  );
  assert.deepEqual(await bind!.dig(["ANY", `${name}._peerlink._tcp.${ZONE}`]), []);
});

test(`BIND: a killed ${OTHER} node's records lapse and the ${runtimeName} node reports it down (expired)`, {
  skip,
}, async () => {
  let a: E2eNode | undefined;
  let b: E2eNode | undefined;
  try {
    const [nameA, nameB] = [unique("Watcher"), unique("Doomed")];
    a = await startE2eNode(lan!, LAN_A, nameA, runtimeName, wideArea(LAN_A));
    b = await startE2eNode(lan!, LAN_B, nameB, OTHER, wideArea(LAN_B, { ttl: 10 }));
    await a.expect("waitEvent", { type: "peer-up", peer: nameB, timeout: STEP_MS }, STEP_MS + 5000);
    b.process.kill("SIGKILL");
    await b.process.wait(5000);
    const instance = `${nameB}._peerlink._tcp.${ZONE}`;
    assert.equal((await bind!.dig(["SRV", instance])).length, 1, "its records linger in the zone");
    const down = await a.expect("waitEvent", { type: "peer-down", peer: nameB, timeout: 30_000 }, 35_000);
    assert.equal((down.event as { reason: string }).reason, "expired");
  } finally {
    await stopAll([a, b]);
  }
});
