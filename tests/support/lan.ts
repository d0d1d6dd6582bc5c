/**
 * Multi-host tests on a private LAN made by `scripts/lan.sh`, for Deno, Bun and Node alike
 * (everything goes through node:child_process).
 *
 * Each host is a network namespace with its own address (host N = 10.77.0.N on `pleth0`,
 * IPv6 fe80::N and fd77::N), joined to the others by a bridge; there is no route off the
 * LAN. A test spawns processes on hosts and reads their output lines:
 *
 * ```ts
 * test("two hosts talk", { skip: socketSkip || lanSkip }, async () => {
 *   await withLan(2, async (lan) => {
 *     const server = lan.spawn(1, evalArgv(SERVER_JS));
 *     const port = await server.nextLine(5000);
 *     const client = lan.spawn(2, evalArgv(CLIENT_JS), { env: { TARGET: `${lan.address(1)}:${port}` } });
 *     assert.equal((await client.wait(5000)).code, 0);
 *   });
 * });
 * ```
 *
 * `withLan(hosts, body, { lan2: M })` adds a second LAN (10.88.0.0/24) of M hosts and a router
 * joining the two (the last host: 10.77.0.254 and 10.88.0.254) that forwards unicast and no
 * multicast, for tests of what crosses subnets.
 *
 * Cleanup is guaranteed: when the body returns, throws or runs out of time, every process
 * spawned on the LAN is stopped, and `scripts/lan.sh` then kills whatever else still runs on
 * a host and removes the namespaces (it also does so by itself if this process dies, since
 * it holds the LAN only while its standard input is open). Every wait here is bounded.
 *
 * `PEERLINK_REQUIRE_LAN=1` (for CI) turns "cannot make a LAN here" from a skip into a failure.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeName, socketSkip } from "./env.ts";
import { signalChild } from "../../cli/launch.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LAN_SH = join(ROOT, "scripts", "lan.sh");
const LAN_START_TIMEOUT_MS = 15_000;
/** lan.sh's teardown: SIGTERM's grace, then up to 10 s for killed processes to finish exiting. */
const LAN_CLOSE_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 2_000;
const OUTPUT_LIMIT = 1 << 20;

/** One host of a LAN, as described by `scripts/lan.sh up`. */
export interface LanHost {
  /** 1-based host number. */
  index: number;
  /** IPv4 address: `10.77.0.<index>` on LAN A, `10.88.0.<k>` on LAN B, the router's LAN A one. */
  address: string;
  /** Which LAN the host is on (`"a"`, `"b"`), or `"router"` (on both). */
  lan: "a" | "b" | "router";
  /** Its IPv4 addresses (the router has one per LAN). */
  addresses: string[];
  /** IPv6 unique-local address `fd77::<index>`, or null where the kernel has IPv6 off. */
  ipv6: string | null;
  /** IPv6 link-local address `fe80::<index>` (scope: `iface`), or null without IPv6. */
  linkLocal: string | null;
  /** The host's LAN interface name (`pleth0`). */
  iface: string;
  /** PID of the process holding the host's namespaces. */
  pid: number;
  /** The host's network namespace id, e.g. `net:[4026532180]`. */
  netns: string;
}

/** How a process ended, with everything it printed (each stream capped at 1 MiB). */
export interface LanExit {
  /** Exit status, or null when ended by a signal or never started. */
  code: number | null;
  /** Signal that ended it, if any. */
  signal: string | null;
  /** Everything it wrote to standard output. */
  stdout: string;
  /** Everything it wrote to standard error. */
  stderr: string;
}

/** Options for {@link Lan.spawn}. */
export interface LanSpawnOptions {
  /** Extra environment variables (added to this process's and the LAN_* ones). */
  env?: Record<string, string>;
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Keep standard input open as a pipe for {@link LanProcess.write} (default: closed). */
  stdin?: boolean;
}

/** A process started on a LAN host (or the LAN's own supervisor). */
export interface LanProcess {
  /** Host number it runs on (0 for the outer namespace). */
  readonly host: number;
  /** The program and its arguments as spawned. */
  readonly argv: readonly string[];
  /** Its PID, or undefined when it could not be started. */
  readonly pid: number | undefined;
  /** Settles (never rejects) once the process has ended and its output is read. */
  readonly exited: Promise<LanExit>;
  /**
   * Next unread line of standard output.
   * @param timeoutMs how long to wait for it
   * @returns the line, without its newline
   * @throws Error naming the process and its stderr when it ends first or time runs out
   */
  nextLine(timeoutMs: number): Promise<string>;
  /**
   * Reads lines until one matches.
   * @param match a substring or pattern the line must contain / match
   * @param timeoutMs how long to wait
   * @returns the matching line (earlier unread lines are consumed)
   */
  waitForLine(match: string | RegExp, timeoutMs: number): Promise<string>;
  /**
   * Waits for the process to end by itself.
   * @param timeoutMs how long to wait; then it is killed and this rejects
   * @returns how it ended
   */
  wait(timeoutMs: number): Promise<LanExit>;
  /**
   * Ends the process: SIGTERM, then SIGKILL after `graceMs`.
   * @param graceMs how long SIGTERM gets (default 2000)
   * @returns how it ended
   */
  stop(graceMs?: number): Promise<LanExit>;
  /**
   * Sends a signal (no wait).
   * @param signal e.g. "SIGKILL"
   */
  kill(signal?: "SIGTERM" | "SIGINT" | "SIGKILL"): void;
  /**
   * Writes to standard input (spawn with `stdin: true`).
   * @param text what to write
   */
  write(text: string): void;
  /** Closes standard input. */
  closeStdin(): void;
  /** @returns standard output so far */
  stdout(): string;
  /** @returns standard error so far */
  stderr(): string;
}

/** Options for {@link Lan.setLoss}. */
export interface LossOptions {
  /** Drop only UDP (TCP, ARP and the rest pass). Default: every IP packet. */
  udpOnly?: boolean;
}

/** A running LAN, handed to the body of {@link withLan}. */
export interface Lan {
  /** The hosts, in order (host N is `hosts[N - 1]`). */
  readonly hosts: readonly LanHost[];
  /** The LAN_* variables describing it (what `scripts/lan.sh exec`/`loss` need). */
  readonly env: Readonly<Record<string, string>>;
  /** PIDs of the LAN's own processes (supervisor, switch and host holders). */
  readonly internalPids: readonly number[];
  /** The router's host number, with `lan2` (undefined without a second LAN). */
  readonly router: number | undefined;
  /**
   * @param host 1-based host number
   * @returns its IPv4 address
   */
  address(host: number): string;
  /**
   * @param host 1-based host number
   * @returns its description
   */
  host(host: number): LanHost;
  /**
   * Starts a process on a host (in its network and mount namespace).
   * @param host 1-based host number
   * @param argv the program and its arguments (see {@link evalArgv}, {@link runtimeArgv})
   * @param options environment, working directory, stdin
   * @returns a handle; the process also gets LAN_HOST and LAN_ADDRESS
   */
  spawn(host: number, argv: readonly string[], options?: LanSpawnOptions): LanProcess;
  /**
   * The command prefix that runs a program on a host (`nsenter` into its network and mount
   * namespaces), for code that starts and watches its processes itself (the benchmark's workers).
   * @param host 1-based host number
   * @param cwd working directory there (default: the repository root)
   * @returns argv to put before the program and its arguments
   * @throws Error when the LAN is closed or the host's namespace is gone
   */
  enterArgv(host: number, cwd?: string): string[];
  /**
   * Runs a process on a host to completion.
   * @param host 1-based host number
   * @param argv the program and its arguments
   * @param timeoutMs how long it may take (then it is killed and this rejects)
   * @param options environment, working directory, stdin
   * @returns how it ended
   */
  run(host: number, argv: readonly string[], timeoutMs: number, options?: LanSpawnOptions): Promise<LanExit>;
  /**
   * Drops a share of the packets entering and leaving a host (nftables, else tc netem).
   * @param host 1-based host number
   * @param percent 0-100; 0 removes the loss
   * @param options `udpOnly` to spare TCP
   * @throws Error with the reason when loss is unavailable here (see {@link lossSkip})
   */
  setLoss(host: number, percent: number, options?: LossOptions): Promise<void>;
  /** Stops every process on the LAN and removes it. Idempotent; bounded in time. */
  close(): Promise<void>;
}

/**
 * The end of a process's output for an error message: trailing blank space dropped, at most
 * `max` characters, marked with "..." when cut.
 * @param text the output
 * @param max most characters kept
 * @returns the end of it
 */
export function tail(text: string, max = 1500): string {
  const trimmed = text.trimEnd();
  return trimmed.length > max ? `...${trimmed.slice(-max)}` : trimmed;
}

function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** A child process with line-wise stdout, bounded waits and output capture. */
class ManagedProcess implements LanProcess {
  readonly host: number;
  readonly argv: readonly string[];
  readonly pid: number | undefined;
  readonly exited: Promise<LanExit>;
  #child: ChildProcess;
  #label: string;
  #stdout = "";
  #stderr = "";
  #partial = "";
  #lines: string[] = [];
  #cursor = 0;
  #exit: LanExit | undefined;
  #wakers = new Set<() => void>();

  constructor(host: number, label: string, file: string, args: readonly string[], opts: {
    env: Record<string, string | undefined>;
    cwd: string;
    stdin: boolean;
  }) {
    this.host = host;
    this.argv = [file, ...args];
    this.#label = label;
    this.#child = spawn(file, [...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    this.pid = this.#child.pid;
    this.exited = new Promise<LanExit>((resolve) => {
      const finish = (code: number | null, signal: string | null) => {
        if (this.#exit) return;
        if (this.#partial) this.#lines.push(this.#partial);
        this.#partial = "";
        this.#exit = { code, signal, stdout: this.#stdout, stderr: this.#stderr };
        this.#wake();
        resolve(this.#exit);
      };
      this.#child.on("error", (err: Error) => {
        // Spawn failures (ENOENT...) end here; later errors (EPIPE on stdin) are noise.
        if (this.#child.pid === undefined) {
          this.#stderr += `${this.#label}: could not start: ${err.message}\n`;
          finish(null, null);
        }
      });
      // "exit" and not "close": a grandchild holding the pipes open must not hide the exit.
      // Output still in flight gets a moment, then the pipes are let go.
      this.#child.on("exit", (code: number | null, signal: string | null) => {
        const grace = delay(300);
        const closed = new Promise<void>((done) => this.#child.once("close", () => done()));
        void Promise.race([closed, grace.promise]).then(() => {
          grace.cancel();
          this.#child.stdout?.destroy();
          this.#child.stderr?.destroy();
          this.#child.stdin?.destroy();
          finish(code, signal);
        });
      });
    });
    this.#child.stdin?.on("error", () => {/* the process may exit before reading */});
    this.#child.stdout?.setEncoding("utf8");
    this.#child.stderr?.setEncoding("utf8");
    this.#child.stdout?.on("data", (chunk: string) => this.#onStdout(chunk));
    this.#child.stderr?.on("data", (chunk: string) => {
      if (this.#stderr.length < OUTPUT_LIMIT) this.#stderr += chunk;
    });
  }

  #onStdout(chunk: string): void {
    if (this.#stdout.length < OUTPUT_LIMIT) this.#stdout += chunk;
    const parts = (this.#partial + chunk).split("\n");
    this.#partial = parts.pop() ?? "";
    if (this.#lines.length < 100_000) this.#lines.push(...parts);
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
  }

  #describe(): string {
    const status = this.#exit ? `ended (code ${this.#exit.code}, signal ${this.#exit.signal})` : "still running";
    return `${this.#label} [${this.argv.join(" ").slice(0, 200)}] ${status}; stdout: ${
      tail(this.#stdout, 500) || "(empty)"
    }; stderr: ${tail(this.#stderr, 2000) || "(empty)"}`;
  }

  /** Waits until `take()` returns a value, the process ends, or time runs out. */
  async #waitFor<T>(take: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      if (this.#exit) throw new Error(`${what}: the process ended first: ${this.#describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: nothing after ${timeoutMs} ms: ${this.#describe()}`);
      const timer = delay(left);
      let wake: () => void = () => {};
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
        this.#wakers.add(resolve);
      });
      await Promise.race([woken, timer.promise]);
      timer.cancel();
      this.#wakers.delete(wake);
    }
  }

  nextLine(timeoutMs: number): Promise<string> {
    return this.#waitFor(
      () => this.#cursor < this.#lines.length ? this.#lines[this.#cursor++] : undefined,
      timeoutMs,
      "nextLine()",
    );
  }

  waitForLine(match: string | RegExp, timeoutMs: number): Promise<string> {
    const hit = (line: string) => typeof match === "string" ? line.includes(match) : match.test(line);
    return this.#waitFor(
      () => {
        while (this.#cursor < this.#lines.length) {
          const line = this.#lines[this.#cursor++];
          if (hit(line)) return line;
        }
        return undefined;
      },
      timeoutMs,
      `waitForLine(${String(match)})`,
    );
  }

  async wait(timeoutMs: number): Promise<LanExit> {
    if (this.#exit) return this.#exit;
    const timer = delay(timeoutMs);
    const result = await Promise.race([this.exited, timer.promise.then(() => undefined)]);
    timer.cancel();
    if (result) return result;
    const message = `wait(): still running after ${timeoutMs} ms, killed: ${this.#describe()}`;
    await this.stop(500);
    throw new Error(message);
  }

  async stop(graceMs = STOP_GRACE_MS): Promise<LanExit> {
    if (this.#exit) return this.#exit;
    this.kill("SIGTERM");
    const grace = delay(graceMs);
    const gentle = await Promise.race([this.exited, grace.promise.then(() => undefined)]);
    grace.cancel();
    if (gentle) return gentle;
    this.kill("SIGKILL");
    const hard = delay(5_000);
    const killed = await Promise.race([this.exited, hard.promise.then(() => undefined)]);
    hard.cancel();
    if (killed) return killed;
    throw new Error(`stop(): SIGKILL did not end it within 5 s: ${this.#describe()}`);
  }

  kill(signal: "SIGTERM" | "SIGINT" | "SIGKILL" = "SIGTERM"): void {
    // Not child.kill(): under Deno it closes the child's stdin first, and e2e_node.ts leaves the
    // LAN with a goodbye on EOF, which on a loaded machine it did before a SIGKILL landed.
    signalChild(this.#child, signal);
  }

  write(text: string): void {
    if (!this.#child.stdin) throw new Error(`write(): ${this.#label} was spawned without { stdin: true }`);
    this.#child.stdin.write(text);
  }

  closeStdin(): void {
    this.#child.stdin?.end();
  }

  stdout(): string {
    return this.#stdout;
  }

  stderr(): string {
    return this.#stderr;
  }
}

interface LanDescription {
  hosts: LanHost[];
  switchPid: number;
  env: Record<string, string>;
}

function ownNetns(): string {
  return readlinkSync("/proc/self/ns/net");
}

class RunningLan implements Lan {
  readonly hosts: readonly LanHost[];
  readonly env: Readonly<Record<string, string>>;
  readonly internalPids: readonly number[];
  readonly router: number | undefined;
  #supervisor: ManagedProcess;
  #processes = new Set<ManagedProcess>();
  #closing: Promise<void> | undefined;

  constructor(description: LanDescription, supervisor: ManagedProcess) {
    this.hosts = description.hosts;
    this.env = description.env;
    this.router = description.hosts.find((h) => h.lan === "router")?.index;
    this.#supervisor = supervisor;
    this.internalPids = [
      ...(supervisor.pid === undefined ? [] : [supervisor.pid]),
      description.switchPid,
      ...description.hosts.map((h) => h.pid),
    ];
  }

  host(host: number): LanHost {
    const found = Number.isInteger(host) ? this.hosts[host - 1] : undefined;
    if (!found) throw new RangeError(`LAN host ${host} does not exist: hosts are numbered 1..${this.hosts.length}`);
    return found;
  }

  address(host: number): string {
    return this.host(host).address;
  }

  enterArgv(host: number, cwd = ROOT): string[] {
    const h = this.host(host);
    if (this.#closing) throw new Error(`LAN host ${host}: the LAN is already closed`);
    // Never enter a namespace that is not the one lan.sh made (e.g. a reused PID).
    let actual = "";
    try {
      actual = readlinkSync(`/proc/${h.pid}/ns/net`);
    } catch { /* gone */ }
    if (actual !== h.netns || actual === ownNetns()) {
      throw new Error(`LAN host ${host}: its namespace is gone (holder ${h.pid} exited: LAN timed out?)`);
    }
    return ["nsenter", `--net=/proc/${h.pid}/ns/net`, `--mount=/proc/${h.pid}/ns/mnt`, `--wd=${cwd}`, "--"];
  }

  spawn(host: number, argv: readonly string[], options: LanSpawnOptions = {}): LanProcess {
    const h = this.host(host);
    if (argv.length === 0) throw new TypeError("spawn(): argv is empty");
    const cwd = options.cwd ?? ROOT;
    const [program, ...args] = this.enterArgv(host, cwd);
    const child = new ManagedProcess(
      host,
      `host ${host} (${h.address})`,
      program,
      [...args, ...argv],
      {
        cwd,
        env: { ...process.env, ...this.env, LAN_HOST: String(host), LAN_ADDRESS: h.address, ...options.env },
        stdin: options.stdin ?? false,
      },
    );
    this.#processes.add(child);
    void child.exited.then(() => this.#processes.delete(child));
    return child;
  }

  async run(host: number, argv: readonly string[], timeoutMs: number, options?: LanSpawnOptions): Promise<LanExit> {
    return await this.spawn(host, argv, options).wait(timeoutMs);
  }

  async setLoss(host: number, percent: number, options: LossOptions = {}): Promise<void> {
    this.host(host);
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new RangeError(`setLoss(): percent must be an integer 0..100, got ${percent}`);
    }
    const args = [LAN_SH, "loss", String(host), String(percent), ...(options.udpOnly ? ["--udp"] : [])];
    const proc = new ManagedProcess(0, "lan.sh loss", "bash", args, {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdin: false,
    });
    const result = await proc.wait(10_000);
    if (result.code !== 0) {
      throw new Error(`setLoss(${host}, ${percent}): ${tail(result.stderr, 2000) || `lan.sh exited ${result.code}`}`);
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const failures: string[] = [];
    const stops = await Promise.allSettled([...this.#processes].map((p) => p.stop()));
    for (const s of stops) if (s.status === "rejected") failures.push(String(s.reason));
    // lan.sh tears down when its stdin closes, killing anything left on the hosts.
    this.#supervisor.closeStdin();
    const timer = delay(LAN_CLOSE_TIMEOUT_MS);
    const ended = await Promise.race([this.#supervisor.exited, timer.promise.then(() => undefined)]);
    timer.cancel();
    if (!ended) {
      failures.push(`lan.sh did not tear down within ${LAN_CLOSE_TIMEOUT_MS} ms; killed it`);
      await this.#supervisor.stop(500).catch((err) => failures.push(String(err)));
    } else if (ended.code !== 0 || /warning/.test(ended.stderr)) {
      failures.push(`lan.sh teardown: exit ${ended.code}: ${tail(ended.stderr, 2000)}`);
    }
    if (failures.length > 0) throw new Error(`closing the LAN: ${failures.join("; ")}`);
  }
}

/** Options for {@link openLan} and {@link withLan}. */
export interface LanOptions {
  /** For withLan: how long the body may run before the LAN is torn down (default 60 s). */
  timeoutMs?: number;
  /** Hard lifetime of the LAN in seconds; lan.sh ends it then (default: timeoutMs + 30 s). */
  maxSeconds?: number;
  /** Hosts of a second LAN (10.88.0.0/24), joined to the first by a router (the last host). */
  lan2?: number;
}

/**
 * Builds a LAN and returns it; the caller must `close()` it (prefer {@link withLan}).
 * @param hosts number of hosts on LAN A (1..253)
 * @param options lifetime, and `lan2` for a second LAN behind a router
 * @returns the running LAN
 * @throws Error with the reason when no LAN can be made here
 */
export async function openLan(hosts: number, options: LanOptions = {}): Promise<Lan> {
  if (lanSkip) throw new Error(`openLan(): ${lanSkip}`);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 253) {
    throw new RangeError(`openLan(): hosts must be an integer 1..253, got ${hosts}`);
  }
  const lan2 = options.lan2 ?? 0;
  if (!Number.isInteger(lan2) || lan2 < 0 || hosts + lan2 + (lan2 > 0 ? 1 : 0) > 253) {
    throw new RangeError(`openLan(): lan2 must be an integer >= 0 with hosts + lan2 + 1 <= 253, got ${lan2}`);
  }
  const maxSeconds = options.maxSeconds ?? Math.ceil((options.timeoutMs ?? 60_000) / 1000) + 30;
  const supervisor = new ManagedProcess(
    0,
    "lan.sh up",
    "bash",
    [LAN_SH, "up", "--hosts", String(hosts), "--lan2", String(options.lan2 ?? 0), "--max-seconds", String(maxSeconds)],
    { cwd: ROOT, env: { ...process.env }, stdin: true },
  );
  let line: string;
  try {
    line = await supervisor.nextLine(LAN_START_TIMEOUT_MS);
  } catch (err) {
    await supervisor.stop(1000).catch(() => {});
    throw new Error(`openLan(${hosts}): scripts/lan.sh up failed: ${(err as Error).message}`);
  }
  let description: LanDescription;
  try {
    description = JSON.parse(line) as LanDescription;
  } catch {
    await supervisor.stop(1000).catch(() => {});
    throw new Error(`openLan(${hosts}): scripts/lan.sh up printed something that is not JSON: ${line.slice(0, 300)}`);
  }
  return new RunningLan(description, supervisor);
}

/**
 * Runs `body` with a fresh LAN of `hosts` hosts, then tears it down whatever happens.
 * @param hosts number of hosts (1..253)
 * @param body the test; gets the {@link Lan}
 * @param options `timeoutMs` for the body (default 60 s), `lan2` for a second LAN behind a router
 * @returns what `body` returned
 * @throws the body's error (teardown errors are added to its message), a timeout, or why no LAN can be made
 * @example
 * await withLan(2, async (lan) => {
 *   const r = await lan.run(2, ["ip", "-o", "-4", "addr"], 5000);
 *   assert.match(r.stdout, /10\.77\.0\.2/);
 * });
 */
export async function withLan<T>(
  hosts: number,
  body: (lan: Lan) => Promise<T> | T,
  options: LanOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const lan = await openLan(hosts, { ...options, timeoutMs });
  const timer = delay(timeoutMs);
  let result: T;
  try {
    const outcome = await Promise.race([
      Promise.resolve().then(() => body(lan)).then((value) => ({ value })),
      timer.promise.then(() => undefined),
    ]);
    if (!outcome) throw new Error(`withLan(${hosts}): the body did not finish within ${timeoutMs} ms`);
    result = outcome.value;
  } catch (err) {
    timer.cancel();
    try {
      await lan.close();
    } catch (closeErr) {
      if (err instanceof Error) err.message += ` (and ${(closeErr as Error).message})`;
    }
    throw err;
  }
  timer.cancel();
  await lan.close();
  return result;
}

function binaryFor(runtime: "deno" | "bun" | "node"): string {
  return runtime === runtimeName ? process.execPath : join(ROOT, "node_modules", ".bin", runtime);
}

/**
 * The argv that evaluates inline JavaScript (ES module: `import`, top-level await) with a
 * runtime. Pass inputs through `env`, not arguments: the runtimes place them differently.
 * @param code the module source
 * @param runtime which runtime (default: the one running this test)
 * @returns argv for {@link Lan.spawn}
 */
export function evalArgv(code: string, runtime: "deno" | "bun" | "node" = runtimeName): string[] {
  const bin = binaryFor(runtime);
  switch (runtime) {
    case "deno":
      return [bin, "eval", code];
    case "bun":
      return [bin, "-e", code];
    case "node":
      return [bin, "--input-type=module", "-e", code];
  }
}

/**
 * The argv that runs a script file with a runtime (Deno with all permissions and the
 * unstable net API). Use it for the cross-runtime tests: any runtime from node_modules/.bin.
 * @param script path of the .ts/.js file
 * @param args its arguments
 * @param runtime which runtime (default: the one running this test)
 * @returns argv for {@link Lan.spawn}
 */
export function runtimeArgv(
  script: string,
  args: readonly string[] = [],
  runtime: "deno" | "bun" | "node" = runtimeName,
): string[] {
  const bin = binaryFor(runtime);
  return runtime === "deno" ? [bin, "run", "-A", "--unstable-net", script, ...args] : [bin, script, ...args];
}

/**
 * Whether a process is still running (not a zombie).
 * @param pid the process id
 * @returns true while it runs
 */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

interface Probe {
  lan: string | false;
  loss: string | false;
  udpLoss: string | false;
}

/** Asks `scripts/lan.sh check` (a real one-host LAN) what works here. */
function probe(): Probe {
  if (socketSkip) return { lan: socketSkip, loss: socketSkip, udpLoss: socketSkip };
  const r = spawnSync("bash", [LAN_SH, "check"], { cwd: ROOT, encoding: "utf8", timeout: 20_000 });
  const stderr = tail(String(r.stderr ?? ""), 500);
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : stderr || `exit ${r.status}`;
    const lan = `multi-host LAN unavailable here: ${why}`;
    return { lan, loss: lan, udpLoss: lan };
  }
  const answer = String(r.stdout).split("\n").find((l) => l.startsWith("loss: "))?.slice("loss: ".length) ?? "";
  if (answer === "nft") return { lan: false, loss: false, udpLoss: false };
  if (answer.startsWith("netem")) {
    return { lan: false, loss: false, udpLoss: "UDP-only packet loss needs nftables (only tc netem works here)" };
  }
  const why = /^unavailable \((.*)\)$/.exec(answer)?.[1] ?? `packet loss unavailable here (lan.sh check: ${answer})`;
  return { lan: false, loss: why, udpLoss: why };
}

const required = process.env.PEERLINK_REQUIRE_LAN === "1";
const probed = probe();

/**
 * `false` when multi-host LAN tests can run here, else why not (pass as `{ skip }`, after
 * `socketSkip`). With PEERLINK_REQUIRE_LAN=1 it is always false, so tests fail loudly instead.
 */
export const lanSkip: string | false = required ? false : probed.lan;

/** `false` when {@link Lan.setLoss} works here (nftables or netem), else why not. */
export const lossSkip: string | false = required ? false : probed.loss;

/** `false` when {@link Lan.setLoss} with `udpOnly` works here (nftables), else why not. */
export const udpLossSkip: string | false = required ? false : probed.udpLoss;

/** Why the LAN probe failed (even when PEERLINK_REQUIRE_LAN=1 hides it from lanSkip), or false. */
export const lanProblem: string | false = probed.lan;
