/**
 * The Deno adapter's edges: on the wrong runtime, and under Deno without the unstable net
 * API (no `Deno.listenDatagram`), where `denoRuntime()` must say which flag to add and
 * `autoRuntime()` must fall back to the Node adapter, saying so once at debug level. Also
 * its stand-in for IP_MULTICAST_IF, which the shared conformance suite does not reach.
 *
 * The test runner's Deno has the API on (deno.json: `"unstable": ["net"]`), so the
 * no-unstable cases run in a child `deno run --no-config` (no deno.json, no flag).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { denoRuntime } from "../../runtimes/deno/mod.ts";
import { type Datagram, NetError } from "../../src/net.ts";
import { runtimeName, socketSkip } from "../support/env.ts";

const DENO_ONLY = runtimeName === "deno" ? false : "needs Deno: it starts a child Deno without --unstable-net";
const MARKER = "PEERLINK_DENO_FALLBACK_RESULT";
const CHILD_TIMEOUT_MS = 60_000;

const moduleUrl = (path: string) => new URL(path, import.meta.url).href;

/** What the child reports on one line after the marker. */
interface ChildResult {
  hasListenDatagram: boolean;
  denoRuntimeError?: { name: string; code?: string; message: string };
  autoName?: string;
  roundTrip?: { text: string; fromPort: number; senderPort: number; address: string };
}

/** The child program: imports the adapters by absolute URL so it runs from a temporary directory. */
function childSource(withSockets: boolean): string {
  return `
import { denoRuntime } from ${JSON.stringify(moduleUrl("../../runtimes/deno/mod.ts"))};
import { autoRuntime } from ${JSON.stringify(moduleUrl("../../runtimes/auto.ts"))};
const result = { hasListenDatagram: typeof Deno.listenDatagram === "function" };
try {
  denoRuntime();
} catch (error) {
  result.denoRuntimeError = { name: error.name, code: error.code, message: error.message };
}
if (${withSockets}) {
  const runtime = autoRuntime();
  autoRuntime(); // a second call must not repeat the debug line
  result.autoName = runtime.name;
  let resolveMessage;
  const arrived = new Promise((resolve) => (resolveMessage = resolve));
  const receiver = await runtime.bindDatagram({ address: "127.0.0.1", port: 0 }, resolveMessage);
  const sender = await runtime.bindDatagram({ address: "127.0.0.1", port: 0 }, () => {});
  try {
    await sender.send(new TextEncoder().encode("fallback-ping"), "127.0.0.1", receiver.localAddress.port);
    let timer;
    const message = await Promise.race([
      arrived,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("no datagram within 5 s")), 5000))),
    ]).finally(() => clearTimeout(timer));
    result.roundTrip = {
      text: new TextDecoder().decode(message.data),
      fromPort: message.port,
      senderPort: sender.localAddress.port,
      address: message.address,
    };
  } finally {
    await sender.close();
    await receiver.close();
  }
}
console.log(${JSON.stringify(MARKER)} + " " + JSON.stringify(result));
`;
}

/** Runs the child under `deno run -A --no-config` (no deno.json: the unstable net API stays off). */
async function runChild(withSockets: boolean): Promise<{ result: ChildResult; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "peerlink-deno-fallback-"));
  try {
    const script = join(dir, "child.ts");
    writeFileSync(script, childSource(withSockets));
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ["run", "-A", "--no-config", "--quiet", pathToFileURL(script).href],
        { timeout: CHILD_TIMEOUT_MS, env: { ...process.env, PEERLINK_DEBUG: "1", NO_COLOR: "1" } },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`child deno failed: ${error.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
          else resolve({ stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
    const line = stdout.split("\n").find((l) => l.startsWith(`${MARKER} `));
    assert.ok(line, `the child printed no ${MARKER} line.\nstdout: ${stdout}\nstderr: ${stderr}`);
    return { result: JSON.parse(line.slice(MARKER.length + 1)) as ChildResult, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("denoRuntime() outside Deno throws UNSUPPORTED pointing to nodeRuntime()", {
  skip: runtimeName === "deno" ? "runs under Bun and Node: this is Deno" : false,
}, () => {
  assert.throws(() => denoRuntime(), (error: unknown) => {
    assert.ok(error instanceof NetError, `expected a NetError, got ${error}`);
    assert.equal(error.code, "UNSUPPORTED");
    assert.match(
      error.message,
      /runtimes\/deno\/mod\.ts: the Deno adapter needs Deno; use nodeRuntime\(\) or autoRuntime\(\)/,
    );
    return true;
  });
});

test("denoRuntime() under Deno with the unstable net API returns the native adapter", { skip: DENO_ONLY }, () => {
  const runtime = denoRuntime();
  assert.equal(runtime.name, "deno");
  assert.equal(typeof runtime.bindDatagram, "function");
});

test("denoRuntime() under Deno without --unstable-net throws UNSUPPORTED naming the flag", {
  skip: DENO_ONLY,
}, async () => {
  const { result } = await runChild(false);
  assert.equal(result.hasListenDatagram, false, "the child must run without the unstable net API");
  const error = result.denoRuntimeError;
  assert.ok(error, "denoRuntime() did not throw without the unstable net API");
  assert.equal(error.name, "NetError");
  assert.equal(error.code, "UNSUPPORTED");
  assert.match(error.message, /--unstable-net/);
  assert.match(error.message, /"unstable": \["net"\]/);
  assert.doesNotMatch(error.message, /is not a function/);
});

test("autoRuntime() under Deno without --unstable-net falls back to the Node adapter and says so once", {
  skip: DENO_ONLY || socketSkip,
}, async () => {
  const { result, stderr } = await runChild(true);
  assert.equal(result.hasListenDatagram, false, "the child must run without the unstable net API");
  assert.equal(result.autoName, "node", "autoRuntime() picked the wrong adapter");
  assert.deepEqual(result.roundTrip && { text: result.roundTrip.text, address: result.roundTrip.address }, {
    text: "fallback-ping",
    address: "127.0.0.1",
  });
  assert.equal(result.roundTrip?.fromPort, result.roundTrip?.senderPort, "sender port reported");
  const notices = stderr.split("\n").filter((l) => /debug: .*unstable net API.*node:dgram/.test(l));
  assert.equal(notices.length, 1, `expected exactly one fallback debug line, stderr was:\n${stderr}`);
});

/** Resolves with the first datagram `inbox` receives that matches, or rejects after `ms`. */
function nextDatagram(inbox: Datagram[], match: (m: Datagram) => boolean, ms = 5_000): Promise<Datagram> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const found = inbox.find(match);
      if (found) resolve(found);
      else if (Date.now() > deadline) reject(new Error(`no matching datagram within ${ms} ms`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

test("denoRuntime() setMulticastInterface() on a shared port sends from that port and keeps unicast", {
  skip: DENO_ONLY || socketSkip,
}, async () => {
  const runtime = denoRuntime();
  const atReceiver: Datagram[] = [];
  const atSender: Datagram[] = [];
  const receiver = await runtime.bindDatagram({ address: "0.0.0.0", port: 0, reuseAddress: true }, (m) => {
    atReceiver.push(m);
  });
  const sender = await runtime.bindDatagram({ address: "0.0.0.0", port: 0, reuseAddress: true }, (m) => {
    atSender.push(m);
  });
  try {
    await receiver.joinMulticast("224.0.0.251", "127.0.0.1");
    await sender.setMulticastTTL(255);
    // Deno has no IP_MULTICAST_IF: this opens a companion socket bound to 127.0.0.2 (lo owns 127/8)
    // and the same port; its datagrams carry that source address, the main socket's would not.
    await sender.setMulticastInterface("127.0.0.2");
    const text = (m: Datagram) => new TextDecoder().decode(m.data);
    await sender.send(new TextEncoder().encode("via-interface"), "224.0.0.251", receiver.localAddress.port);
    const group = await nextDatagram(atReceiver, (m) => text(m) === "via-interface");
    assert.equal(group.port, sender.localAddress.port, "multicast must leave from the socket's own port");
    assert.equal(group.address, "127.0.0.2", "multicast must leave from the chosen interface address");
    // Unicast to the interface address now reaches the companion; it must still arrive here.
    await receiver.send(new TextEncoder().encode("unicast-back"), "127.0.0.2", sender.localAddress.port);
    const back = await nextDatagram(atSender, (m) => text(m) === "unicast-back");
    assert.equal(back.port, receiver.localAddress.port);
  } finally {
    await sender.close();
    await receiver.close();
  }
  await assert.rejects(sender.send(new Uint8Array(1), "224.0.0.251", 9), (e: unknown) => {
    return e instanceof NetError && e.code === "CLOSED";
  });
});
