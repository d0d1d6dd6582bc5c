/**
 * BIND 9 on a host of the private LAN (tests/support/lan.ts), for the wide-area DNS-SD tests:
 * `named -g` authoritative for `lab.example`, configured with exactly the snippets of the
 * README's "Beyond one LAN" section (the `named.conf.local` lines and the zone file, only
 * their paths moved into a temporary directory and the example address replaced by the
 * server's), with a key made by BIND's own `tsig-keygen`. `dig` and `nsupdate` are the
 * independent reader and writer.
 *
 * ```ts
 * const bind = await startBind(lan, lan.router!);
 * const r = await bind.dig(["PTR", "_peerlink._tcp.lab.example"]);
 * await bind.stop();
 * ```
 *
 * Runs `named` without `-u`: inside the unprivileged user namespace of the tests, `-u root`
 * fails (initgroups is not permitted) and named already runs as that namespace's root.
 * `PEERLINK_REQUIRE_BIND=1` (for CI) turns "BIND is not installed" from a skip into a failure.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBindKeyFile } from "../../src/dnssd/key_file.ts";
import type { TsigKey } from "../../src/dnssd/tsig.ts";
import { socketSkip } from "./env.ts";
import { type Lan, type LanExit, type LanProcess, lanSkip, tail } from "./lan.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const START_TIMEOUT_MS = 20_000;
const TOOL_TIMEOUT_MS = 15_000;

/** The zone the README configures. */
export const ZONE = "lab.example";

/** BIND running on one LAN host. */
export interface BindServer {
  /** The host it runs on. */
  readonly host: number;
  /** Its addresses (the router's: one per LAN). */
  readonly addresses: readonly string[];
  /** The key it accepts for updates, as a node option. */
  readonly key: TsigKey;
  /** The key file (`tsig-keygen` output) for `nsupdate -k` and `peerlink --tsig-file`. */
  readonly keyFile: string;
  /** The temporary directory (config, zone, journal). */
  readonly dir: string;
  /** The named process (its stdout has named's log). */
  readonly daemon: LanProcess;
  /**
   * Runs `dig @server +noall +answer ARGS` on a host.
   * @param args e.g. ["PTR", "_peerlink._tcp.lab.example"]
   * @param host where dig runs (default: the server's host)
   * @returns the answer lines (trimmed, empty ones dropped)
   */
  dig(args: readonly string[], host?: number): Promise<string[]>;
  /**
   * Runs `nsupdate -k keyFile` with a script on a host.
   * @param script nsupdate commands (a `server` line is added)
   * @param host where nsupdate runs (default: the server's host)
   * @returns how it ended
   */
  nsupdate(script: string, host?: number): Promise<LanExit>;
  /** Stops named and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The README's BIND snippets: the `named.conf.local` lines and the zone file.
 * @returns both texts, exactly as the README shows them
 */
export function readmeBindSnippets(): { conf: string; zone: string } {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```text\n([\s\S]*?)```/g)].map((m) => m[1]);
  const conf = blocks.find((b) => b.startsWith("// named.conf.local"));
  const zone = blocks.find((b) => b.startsWith("; /var/lib/bind/lab.example.zone"));
  if (!conf || !zone) throw new Error("README.md: the BIND snippets of 'Beyond one LAN' were not found");
  return { conf, zone };
}

class RunningBind implements BindServer {
  readonly host: number;
  readonly addresses: readonly string[];
  readonly key: TsigKey;
  readonly keyFile: string;
  readonly dir: string;
  readonly daemon: LanProcess;
  #lan: Lan;
  #stopping: Promise<void> | undefined;

  constructor(lan: Lan, host: number, dir: string, keyFile: string, daemon: LanProcess) {
    this.#lan = lan;
    this.host = host;
    this.addresses = lan.host(host).addresses;
    this.dir = dir;
    this.keyFile = keyFile;
    this.key = parseBindKeyFile(readFileSync(keyFile, "utf8"), keyFile);
    this.daemon = daemon;
  }

  async dig(args: readonly string[], host = this.host): Promise<string[]> {
    const argv = ["dig", `@${this.addresses[0]}`, "+noall", "+answer", "+time=2", "+tries=2", ...args];
    const r = await this.#lan.run(host, argv, TOOL_TIMEOUT_MS);
    if (r.code !== 0) throw new Error(`dig ${args.join(" ")} exited ${r.code}: ${tail(r.stderr || r.stdout)}`);
    return r.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  }

  async nsupdate(script: string, host = this.host): Promise<LanExit> {
    const file = join(this.dir, `nsupdate-${Date.now()}-${Math.random().toString(16).slice(2)}.txt`);
    writeFileSync(file, `server ${this.addresses[0]}\n${script.trim()}\nsend\n`);
    return await this.#lan.run(
      host,
      ["sh", "-c", 'exec nsupdate -t 5 -k "$0" "$1"', this.keyFile, file],
      TOOL_TIMEOUT_MS,
    );
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await this.daemon.stop(5000);
      } finally {
        rmSync(this.dir, { recursive: true, force: true });
      }
    })();
    return this.#stopping;
  }
}

/**
 * Starts named on a LAN host (the router of a `lan2` LAN reaches both subnets), configured
 * from the README's snippets, and waits until it answers. Stop it with {@link BindServer.stop}
 * (the LAN's teardown also kills it).
 * @param lan the LAN
 * @param host host number
 * @returns the running server
 * @throws Error with named's log when it does not start
 */
export async function startBind(lan: Lan, host: number): Promise<BindServer> {
  const dir = mkdtempSync(join(tmpdir(), "pl-bind-"));
  const address = lan.host(host).address;
  let daemon: LanProcess | undefined;
  try {
    const keyFile = join(dir, "pl-key.conf");
    const keygen = spawnSync("tsig-keygen", ["-a", "hmac-sha256", "pl-key"], { encoding: "utf8" });
    if (keygen.status !== 0) throw new Error(`tsig-keygen failed: ${keygen.stderr}`);
    writeFileSync(keyFile, keygen.stdout);
    const { conf, zone } = readmeBindSnippets();
    const here = (text: string) => text.replaceAll("/etc/bind/", `${dir}/`).replaceAll("/var/lib/bind/", `${dir}/`);
    writeFileSync(join(dir, "lab.example.zone"), zone.replaceAll("10.0.0.53", address));
    writeFileSync(
      join(dir, "named.conf"),
      `// The test's own options: everything in the temporary directory, nothing but DNS on the LAN.
options {
    directory "${dir}";
    pid-file "${dir}/named.pid";
    session-keyfile "${dir}/session.key";
    managed-keys-directory "${dir}";
    listen-on { any; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
};
controls { };
${here(conf)}`,
    );
    const check = spawnSync("named-checkconf", [join(dir, "named.conf")], { encoding: "utf8" });
    if (check.status !== 0) throw new Error(`named-checkconf: ${check.stdout}${check.stderr}`);
    // -g: foreground, log to stderr (merged into stdout for waitForLine).
    daemon = lan.spawn(host, ["sh", "-c", 'exec named -g -c "$0" 2>&1', join(dir, "named.conf")]);
    await daemon.waitForLine(/ running$/, START_TIMEOUT_MS);
    return new RunningBind(lan, host, dir, keyFile, daemon);
  } catch (err) {
    await daemon?.stop(1000).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `startBind(host ${host}): ${(err as Error).message}${daemon ? `; named: ${tail(daemon.stdout())}` : ""}`,
    );
  }
}

function probeBind(): string | false {
  const unavailable = socketSkip || lanSkip;
  if (unavailable) return unavailable;
  for (const tool of ["named", "named-checkconf", "dig", "nsupdate", "tsig-keygen"]) {
    const r = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
    if (r.status !== 0) return `BIND test: '${tool}' is not installed (Debian packages bind9 and bind9-dnsutils)`;
  }
  return false;
}

/**
 * `false` when BIND can run on the private LAN here, else why not (pass as `{ skip }` after
 * `socketSkip || lanSkip`). With PEERLINK_REQUIRE_BIND=1 it is always false.
 */
export const bindSkip: string | false = process.env.PEERLINK_REQUIRE_BIND === "1" ? false : probeBind();
