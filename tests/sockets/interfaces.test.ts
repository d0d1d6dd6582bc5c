import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  IFF_MULTICAST,
  isMulticastCapable,
  listInterfaces,
  readInterfaceFlags,
} from "../../runtimes/_shared/interfaces.ts";
import { runtimeName, socketSkip } from "../support/env.ts";

test("isMulticastCapable() follows IFF_MULTICAST when the flags are known", () => {
  assert.equal(isMulticastCapable("eth0", 0x1003), true);
  assert.equal(isMulticastCapable("eth0", 0x1003 & ~IFF_MULTICAST), false);
  // Known flags win over the name guess in both directions.
  assert.equal(isMulticastCapable("lo", 0x0009), false);
  assert.equal(isMulticastCapable("utun3", 0x1009), true);
});

test("isMulticastCapable() guesses by name when the flags are unreadable", () => {
  for (const tunnel of ["utun0", "tun1", "ppp0", "wg0", "ipsec0"]) {
    assert.equal(isMulticastCapable(tunnel, undefined), false, tunnel);
  }
  for (const lan of ["en0", "eth0", "wlan0", "lo0", "br-lan"]) {
    assert.equal(isMulticastCapable(lan, undefined), true, lan);
  }
});

test("readInterfaceFlags() never reads outside /sys/class/net for odd names", () => {
  assert.equal(readInterfaceFlags("../../../etc/passwd"), undefined);
  assert.equal(readInterfaceFlags("no such interface"), undefined);
  assert.equal(readInterfaceFlags("peerlink-missing0"), undefined);
});

test("listInterfaces() reports loopback with its address and multicast flag", { skip: socketSkip }, () => {
  // Inside the test namespace, scripts/netns.sh turned multicast on for lo.
  const nics = listInterfaces();
  const lo = nics.find((nic) => nic.name === "lo");
  assert.ok(lo, `no lo in ${JSON.stringify(nics)}`);
  assert.equal(lo.internal, true);
  assert.equal(lo.multicast, true);
  const v4 = lo.addresses.find((a) => a.family === "IPv4");
  assert.ok(v4, "lo has an IPv4 address");
  assert.equal(v4.address, "127.0.0.1");
  assert.equal(v4.netmask, "255.0.0.0");
  for (const nic of nics) {
    for (const a of nic.addresses) {
      assert.ok(a.family === "IPv4" || a.family === "IPv6", `${nic.name}: family ${a.family}`);
      if (a.family === "IPv4") assert.equal(a.scopeId, undefined);
    }
  }
});

/** The part of Deno's subprocess API used here (no Deno lib needed to type-check). */
interface DenoSpawn {
  execPath(): string;
  Command: new (command: string, options: { args: string[]; stdout: "piped"; stderr: "piped" }) => {
    outputSync(): { code: number; stdout: Uint8Array; stderr: Uint8Array };
  };
}

const denoOnly = runtimeName === "deno" ? false : "Deno permissions exist only under Deno";

test("listInterfaces() under Deno without permissions returns what it may see, never throws or prompts", {
  skip: denoOnly,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "peerlink-interfaces-"));
  try {
    const script = join(dir, "list.ts");
    const module = pathToFileURL(resolve(import.meta.dirname ?? ".", "../../runtimes/_shared/interfaces.ts")).href;
    writeFileSync(
      script,
      `import { listInterfaces } from ${JSON.stringify(module)};\nconsole.log(JSON.stringify(listInterfaces()));\n`,
    );
    // Deno.Command, not node:child_process: Deno's child_process rewrites a spawn of its own
    // binary and passes on the parent's permissions, which would defeat the point.
    const deno = (globalThis as unknown as { Deno: DenoSpawn }).Deno;
    const run = (permissions: string[]) => {
      const args = ["run", "--no-prompt", "--no-config", ...permissions, script];
      const child = new deno.Command(deno.execPath(), { args, stdout: "piped", stderr: "piped" }).outputSync();
      const decode = (b: Uint8Array) => new TextDecoder().decode(b);
      assert.equal(child.code, 0, `deno ${args.join(" ")} failed: ${decode(child.stderr)}`);
      return JSON.parse(decode(child.stdout)) as Array<{ name: string; multicast: boolean }>;
    };
    assert.deepEqual(run([]), [], "no --allow-sys: nothing may be listed");
    const withSys = run(["--allow-sys=networkInterfaces"]);
    assert.ok(withSys.some((nic) => nic.name === "lo"), `--allow-sys only: ${JSON.stringify(withSys)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
