/**
 * TSIG against BIND's own `nsupdate`, both ways, with no DNS server: a tiny UDP listener (the
 * project's socket runtime, in the test's private network namespace) receives nsupdate's signed
 * UPDATE, verifies it with our verifier and answers with a reply signed by our signer, which
 * nsupdate verifies in turn (it exits 0 only then). A reply signed with the wrong key makes
 * nsupdate fail, and nsupdate with a wrong key is refused by our verifier, so neither side
 * passes by accident. (BIND verifying our requests and we its replies: tests/widearea_bind.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { autoRuntime } from "../runtimes/auto.ts";
import type { DatagramSocket } from "../src/net.ts";
import { parseBindKeyFile } from "../src/dnssd/key_file.ts";
import { signMessage, tsigSecret, type TsigVerdict, verifyMessage } from "../src/dnssd/tsig.ts";
import { OPCODE_UPDATE, readHeader } from "../src/dnssd/wire.ts";
import { decodeSections } from "../src/mdns/packet.ts";
import { socketSkip } from "./support/env.ts";
import { updateReply } from "./support/memory_dns.ts";

const tools = spawnSync("sh", ["-c", "command -v nsupdate && command -v tsig-keygen"], { encoding: "utf8" });
const skip = socketSkip ||
  (tools.status !== 0 && process.env.PEERLINK_REQUIRE_BIND !== "1"
    ? "nsupdate/tsig-keygen not installed (Debian package bind9-dnsutils)"
    : false);

/** Runs nsupdate against a listener that answers with `respond`; returns nsupdate's exit and what we verified. */
async function exchange(
  keyFile: string,
  respondWith: (request: Uint8Array) => Uint8Array | undefined,
): Promise<{ code: number | null; output: string; requests: Uint8Array[] }> {
  const requests: Uint8Array[] = [];
  // nsupdate starts only once the socket is bound, so the callback never runs before `socket` is set.
  const socket: DatagramSocket = await autoRuntime().bindDatagram({ address: "127.0.0.1", port: 0 }, (d) => {
    requests.push(d.data);
    const reply = respondWith(d.data);
    if (reply) void socket.send(reply, d.address, d.port);
  });
  const script = [
    `server 127.0.0.1 ${socket.localAddress.port}`,
    "zone lab.example.",
    "update add box.lab.example. 60 A 10.77.0.9",
    "update delete old.lab.example. A",
    "send",
    "",
  ].join("\n");
  try {
    const child = spawn("nsupdate", ["-t", "3", "-u", "1", "-r", "0", "-k", keyFile], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.stdin.end(script);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      child.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return { code, output, requests };
  } finally {
    await socket.close();
  }
}

test(
  "TSIG with nsupdate both ways: we verify its signed UPDATE; it verifies our signed reply (and refuses a wrongly signed one)",
  {
    skip,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "pl-nsupdate-"));
    try {
      const keyFile = join(dir, "pl-key.conf");
      writeFileSync(keyFile, spawnSync("tsig-keygen", ["-a", "hmac-sha256", "pl-key"], { encoding: "utf8" }).stdout);
      const key = tsigSecret(parseBindKeyFile(readFileSync(keyFile, "utf8")));
      const now = () => Math.floor(Date.now() / 1000);
      const verdicts: TsigVerdict[] = [];
      const answer = (signWith: typeof key) => (request: Uint8Array) => {
        const verdict = verifyMessage(request, key, { now: now() });
        verdicts.push(verdict);
        if (!verdict.ok) return undefined;
        const id = readHeader(request)!.id;
        return signMessage(updateReply(id, "lab.example"), signWith, { now: now(), requestMac: verdict.tsig.mac })
          .bytes;
      };

      const good = await exchange(keyFile, answer(key));
      assert.equal(good.code, 0, `nsupdate accepted our signed reply: ${good.output}`);
      assert.equal(good.requests.length, 1);
      const v = verdicts[0];
      assert.ok(v.ok, JSON.stringify(v));
      assert.equal(v.tsig.keyName, "pl-key");
      // What it signed is what it asked: the zone, the added A record, the deletion (class ANY, no rdata).
      const decoded = decodeSections(good.requests[0]);
      assert.ok(decoded.ok);
      assert.equal(readHeader(good.requests[0])!.opcode, OPCODE_UPDATE);
      assert.deepEqual(decoded.message.questions.map((q) => q.name), ["lab.example"]);
      assert.deepEqual(decoded.message.authorities.map((r) => [r.name, r.type, r.data]), [[
        "box.lab.example",
        "A",
        "10.77.0.9",
      ]]);

      const other = tsigSecret({ name: "pl-key", secret: Buffer.alloc(32, 7).toString("base64") });
      const forged = await exchange(keyFile, answer(other));
      assert.notEqual(forged.code, 0, "nsupdate refuses a reply signed with another secret");
      assert.match(forged.output, /tsig|signature|BADSIG|verify/i);

      const wrongFile = join(dir, "wrong.conf");
      writeFileSync(
        wrongFile,
        `key "pl-key" { algorithm hmac-sha256; secret "${Buffer.alloc(32, 9).toString("base64")}"; };\n`,
      );
      verdicts.length = 0;
      const refused = await exchange(wrongFile, answer(key));
      assert.notEqual(refused.code, 0);
      assert.ok(
        verdicts.length >= 1 && verdicts.every((x) => !x.ok && x.reason === "bad MAC"),
        JSON.stringify(verdicts),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
