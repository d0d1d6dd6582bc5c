/**
 * Avahi on a host of the private LAN (tests/support/lan.ts), for mDNS interoperability tests:
 * starts avahi-daemon with its own D-Bus system bus there (`scripts/avahi-host.sh daemon`)
 * and drives it with the standard clients, `avahi-browse`, `avahi-publish` and
 * `avahi-resolve`, parsing their output.
 *
 * ```ts
 * test("Avahi sees us", { skip: socketSkip || lanSkip || avahiSkip }, async () => {
 *   await withLan(2, async (lan) => {
 *     const avahi = await startAvahi(lan, 1);
 *     try {
 *       const entry = await avahi.waitForService("_peerlink._tcp", "Worker", 15_000);
 *       assert.equal(entry.address, lan.address(2));
 *     } finally {
 *       await avahi.stop();
 *     }
 *   });
 * });
 * ```
 *
 * `PEERLINK_REQUIRE_AVAHI=1` (for CI) turns "Avahi cannot run here" from a skip into a failure.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { socketSkip } from "./env.ts";
import { type Lan, type LanProcess, lanSkip, tail } from "./lan.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const AVAHI_SH = join(ROOT, "scripts", "avahi-host.sh");
const DAEMON_START_TIMEOUT_MS = 20_000;
const CLIENT_TIMEOUT_S = 10;

/** One line of `avahi-browse -p` output, with names unescaped. */
export interface AvahiBrowseEntry {
  /** `+` new, `-` removed, `=` resolved. */
  kind: "+" | "-" | "=";
  /** Interface name, e.g. `"pleth0"`. */
  iface: string;
  /** `"IPv4"` or `"IPv6"` (the protocol it was seen on). */
  protocol: string;
  /** Instance name (unescaped). */
  name: string;
  /** Service type, e.g. `"_peerlink._tcp"`. */
  type: string;
  /** Domain, `"local"`. */
  domain: string;
  /** Resolved entries: SRV target host name. */
  host?: string;
  /** Resolved entries: the address Avahi picked. */
  address?: string;
  /** Resolved entries: SRV port. */
  port?: number;
  /** Resolved entries: TXT strings (unescaped, in Avahi's order, which is not the wire order). */
  txt?: string[];
}

/**
 * Undoes Avahi's label escaping (`avahi_escape_label`): `\DDD` (decimal byte) and `\c`.
 * @param text an escaped label from `avahi-browse -p`
 * @returns the label as UTF-8 text
 */
export function unescapeAvahi(text: string): string {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && /^\d{3}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(Number(text.slice(i + 1, i + 4)));
      i += 3;
    } else if (c === "\\" && i + 1 < text.length) {
      bytes.push(...encoder.encode(text[++i]));
    } else {
      bytes.push(...encoder.encode(c));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * Splits Avahi's TXT rendering (`"a=1" "flag"`, from `avahi_string_list_to_string`) into strings.
 * @param text the TXT field of a resolved `avahi-browse -p` line
 * @returns the strings, unescaped
 */
export function parseAvahiTxt(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"/g;
  for (const m of text.matchAll(re)) out.push(unescapeAvahi(m[1]));
  return out;
}

/**
 * Parses one line of `avahi-browse -p` (`-r` adds the resolved `=` lines).
 * @param line the line
 * @returns the entry, or undefined for anything else (blank lines, messages)
 */
export function parseBrowseLine(line: string): AvahiBrowseEntry | undefined {
  // Fields are separated by ";", which names escape as \059, so a plain split is safe.
  const f = line.split(";");
  if (!["+", "-", "="].includes(f[0]) || f.length < 6) return undefined;
  const entry: AvahiBrowseEntry = {
    kind: f[0] as "+" | "-" | "=",
    iface: f[1],
    protocol: f[2],
    name: unescapeAvahi(f[3]),
    type: f[4],
    domain: f[5],
  };
  if (entry.kind === "=" && f.length >= 10) {
    entry.host = f[6];
    entry.address = f[7];
    entry.port = Number(f[8]);
    entry.txt = parseAvahiTxt(f.slice(9).join(";"));
  }
  return entry;
}

/** A service published with `avahi-publish -s`. */
export interface AvahiPublication {
  /** The avahi-publish process (its stderr is merged into stdout). */
  readonly process: LanProcess;
  /**
   * Waits for "Established under name '...'".
   * @param timeoutMs how long to wait
   * @returns the name Avahi settled on (it renames on conflict: "Name #2")
   */
  established(timeoutMs: number): Promise<string>;
  /** Withdraws it (avahi-publish sends goodbyes on SIGTERM) and waits for the process to end. */
  stop(): Promise<void>;
}

/** Options of {@link AvahiHost.publish}. */
export interface AvahiPublishOptions {
  /** Full subtype names, e.g. `"_realm._sub._peerlink._tcp"` (avahi-publish --subtype). */
  subtypes?: string[];
  /** Lifetime cap of the process, seconds (default 60). */
  maxSeconds?: number;
}

/** Avahi running on one LAN host. */
export interface AvahiHost {
  /** Host number on the LAN. */
  readonly host: number;
  /** Avahi's host name, e.g. `"avahi-host1.local"`. */
  readonly hostName: string;
  /** D-Bus address clients use (DBUS_SYSTEM_BUS_ADDRESS). */
  readonly bus: string;
  /** The daemon supervisor (`scripts/avahi-host.sh daemon`); its stderr has avahi-daemon's log. */
  readonly daemon: LanProcess;
  /**
   * Runs `avahi-browse -rtp TYPE` once on the host.
   * @param type service type, e.g. `"_peerlink._tcp"`
   * @param timeoutS how long it may run, seconds (default 10)
   * @returns the parsed lines and the raw output
   */
  browse(type: string, timeoutS?: number): Promise<{ entries: AvahiBrowseEntry[]; stdout: string; stderr: string }>;
  /**
   * Repeats {@link browse} until a resolved (`=`) IPv4 entry for `instance` appears.
   * @param type service type
   * @param instance instance name (unescaped)
   * @param timeoutMs overall limit
   * @returns the resolved entry
   * @throws Error saying what avahi-browse printed instead
   */
  waitForService(type: string, instance: string, timeoutMs: number): Promise<AvahiBrowseEntry>;
  /**
   * Resolves a host name to an address with `avahi-resolve -n`.
   * @param name host name, e.g. `"pl-1a2b3c4d.local"`
   * @param family 4 or 6
   * @returns the address, or undefined when Avahi found none
   */
  resolveHostName(name: string, family: 4 | 6): Promise<string | undefined>;
  /**
   * Starts `avahi-publish -s NAME TYPE PORT TXT...` on the host.
   * @param name instance name
   * @param type service type
   * @param port SRV port
   * @param txt TXT strings
   * @param options subtypes, lifetime
   * @returns the publication (wait for {@link AvahiPublication.established})
   */
  publish(name: string, type: string, port: number, txt?: string[], options?: AvahiPublishOptions): AvahiPublication;
  /** Stops the daemon and the bus, and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class RunningAvahi implements AvahiHost {
  readonly host: number;
  readonly hostName: string;
  readonly bus: string;
  readonly daemon: LanProcess;
  #lan: Lan;
  #dir: string;
  #publications = new Set<AvahiPublication>();
  #stopping: Promise<void> | undefined;

  constructor(lan: Lan, host: number, daemon: LanProcess, ready: { bus: string; hostName: string }, dir: string) {
    this.#lan = lan;
    this.host = host;
    this.daemon = daemon;
    this.bus = ready.bus;
    this.hostName = ready.hostName;
    this.#dir = dir;
  }

  #env(): Record<string, string> {
    return { DBUS_SYSTEM_BUS_ADDRESS: this.bus };
  }

  async browse(type: string, timeoutS = CLIENT_TIMEOUT_S): Promise<{
    entries: AvahiBrowseEntry[];
    stdout: string;
    stderr: string;
  }> {
    // -k: raw type names (no service type database lookup); timeout bounds a stuck client.
    const argv = ["timeout", "-k", "2", String(timeoutS), "avahi-browse", "-r", "-t", "-p", "-k", type];
    const r = await this.#lan.run(this.host, argv, (timeoutS + 5) * 1000, { env: this.#env() });
    const entries = r.stdout.split("\n").map(parseBrowseLine).filter((e): e is AvahiBrowseEntry => e !== undefined);
    return { entries, stdout: r.stdout, stderr: r.stderr };
  }

  async waitForService(type: string, instance: string, timeoutMs: number): Promise<AvahiBrowseEntry> {
    const deadline = Date.now() + timeoutMs;
    let last = { stdout: "", stderr: "" };
    let runs = 0;
    while (Date.now() < deadline) {
      const result = await this.browse(
        type,
        Math.max(1, Math.min(CLIENT_TIMEOUT_S, Math.ceil((deadline - Date.now()) / 1000))),
      );
      runs++;
      last = result;
      const found = result.entries.find((e) => e.kind === "=" && e.name === instance && e.protocol === "IPv4");
      if (found) return found;
      await sleep(300);
    }
    throw new Error(
      `avahi-browse -rtp ${type} on host ${this.host} did not list a resolved "${instance}" within ${timeoutMs} ms (${runs} runs); last stdout: ${
        tail(last.stdout) || "(empty)"
      }; last stderr: ${tail(last.stderr) || "(empty)"}; avahi-daemon log: ${tail(this.daemon.stderr())}`,
    );
  }

  async resolveHostName(name: string, family: 4 | 6): Promise<string | undefined> {
    const argv = ["timeout", "-k", "2", String(CLIENT_TIMEOUT_S), "avahi-resolve", `-${family}`, "-n", name];
    const r = await this.#lan.run(this.host, argv, (CLIENT_TIMEOUT_S + 5) * 1000, { env: this.#env() });
    // Output: "<name>\t<address>"; failures go to stderr.
    const line = r.stdout.split("\n").find((l) => l.includes("\t"));
    return line?.split("\t")[1]?.trim() || undefined;
  }

  publish(name: string, type: string, port: number, txt: string[] = [], options: AvahiPublishOptions = {}) {
    const maxSeconds = options.maxSeconds ?? 60;
    const subtypes = (options.subtypes ?? []).map((s) => `--subtype=${s}`);
    // avahi-publish reports "Established under name" on stderr: merge it into stdout for waitForLine.
    const argv = [
      "sh",
      "-c",
      'exec timeout -k 2 "$0" avahi-publish "$@" 2>&1',
      String(maxSeconds),
      "-s",
      ...subtypes,
      name,
      type,
      String(port),
      ...txt,
    ];
    const proc = this.#lan.spawn(this.host, argv, { env: this.#env() });
    const publication: AvahiPublication = {
      process: proc,
      established: async (timeoutMs: number) => {
        let line: string;
        try {
          line = await proc.waitForLine(/^Established under name '/, timeoutMs);
        } catch (err) {
          throw new Error(
            `avahi-publish -s "${name}" ${type} on host ${this.host} was not established: ${
              (err as Error).message
            }; avahi-daemon log: ${tail(this.daemon.stderr())}`,
          );
        }
        return /^Established under name '(.*)'$/.exec(line)?.[1] ?? line;
      },
      stop: async () => {
        this.#publications.delete(publication);
        await proc.stop();
      },
    };
    this.#publications.add(publication);
    return publication;
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await Promise.allSettled([...this.#publications].map((p) => p.stop()));
        // Closing stdin lets the script stop avahi-daemon gently (goodbyes), then the bus.
        this.daemon.closeStdin();
        await this.daemon.wait(10_000).catch(() => this.daemon.stop(500));
      } finally {
        rmSync(this.#dir, { recursive: true, force: true });
      }
    })();
    return this.#stopping;
  }
}

/**
 * Starts avahi-daemon (and its private D-Bus system bus) on a LAN host and waits until it
 * is up. Stop it with {@link AvahiHost.stop} (the LAN's teardown also kills it).
 * @param lan the LAN
 * @param host host number
 * @param options host name (default `avahi-host<N>`), lifetime cap in seconds (default 120),
 *   and the families Avahi uses: `"4"` (default), `"6"` (IPv6 only) or `"46"`
 * @returns the running Avahi
 * @throws Error with the daemon's messages when it does not start
 */
export async function startAvahi(
  lan: Lan,
  host: number,
  options: { hostName?: string; maxSeconds?: number; family?: "4" | "6" | "46" } = {},
): Promise<AvahiHost> {
  const dir = mkdtempSync(join(tmpdir(), "pl-avahi-"));
  const argv = [
    "bash",
    AVAHI_SH,
    "daemon",
    "--dir",
    dir,
    "--max-seconds",
    String(options.maxSeconds ?? 120),
    ...(options.hostName ? ["--host-name", options.hostName] : []),
    ...(options.family ? ["--family", options.family] : []),
  ];
  let daemon: LanProcess | undefined;
  try {
    daemon = lan.spawn(host, argv, { stdin: true });
    const line = await daemon.waitForLine(/^\{"ready":true/, DAEMON_START_TIMEOUT_MS);
    const ready = JSON.parse(line) as { bus: string; hostName: string };
    return new RunningAvahi(lan, host, daemon, ready, dir);
  } catch (err) {
    await daemon?.stop(1000).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`startAvahi(host ${host}): ${(err as Error).message}`);
  }
}

function probeAvahi(): string | false {
  const unavailable = socketSkip || lanSkip;
  if (unavailable) return unavailable;
  const r = spawnSync("bash", [AVAHI_SH, "check"], { cwd: ROOT, encoding: "utf8", timeout: 40_000 });
  if (r.error) return `Avahi interop test: scripts/avahi-host.sh check failed: ${r.error.message}`;
  if (r.status === 0) return false;
  return `Avahi interop test: ${tail(String(r.stderr ?? ""), 600) || `scripts/avahi-host.sh check exited ${r.status}`}`;
}

/**
 * `false` when Avahi can run on the private LAN here, else why not (pass as `{ skip }` after
 * `socketSkip || lanSkip`). With PEERLINK_REQUIRE_AVAHI=1 it is always false, so the tests
 * fail with the reason instead of skipping.
 */
export const avahiSkip: string | false = process.env.PEERLINK_REQUIRE_AVAHI === "1" ? false : probeAvahi();
