/**
 * The driver's handle on one worker process: spawns `bench/worker/main.ts` with the runtime
 * under test, waits for it to be ready, sends commands and waits for their results or events,
 * and makes sure it ends (politely, then by its pid).
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { LINE_TAG } from "../worker/protocol.ts";

/** Repository root. */
export const ROOT = resolve(import.meta.dirname ?? ".", "..", "..");
const WORKER = join(ROOT, "bench", "worker", "main.ts");

/** A runtime the benchmark runs on. */
export type Runtime = "deno" | "bun" | "node";

/** A message from a worker. */
export type WorkerMessage = Record<string, unknown> & { type: string };

/**
 * The command line that runs a worker on a runtime (the binaries from node_modules/.bin).
 *
 * @param runtime Runtime under test.
 * @param args Worker arguments.
 * @param runtimeFlags Extra flags for the runtime itself (e.g. `--cpu-prof` for Node).
 * @returns Program and arguments.
 */
export function workerCommand(runtime: Runtime, args: string[], runtimeFlags: string[] = []): [string, string[]] {
  const bin = join(ROOT, "node_modules", ".bin", runtime);
  // --expose-gc: memory is read after a full collection (see collectGarbage in protocol.ts).
  if (runtime === "deno") {
    return [bin, ["run", "-A", "--unstable-net", "--v8-flags=--expose-gc", ...runtimeFlags, WORKER, ...args]];
  }
  if (runtime === "node") return [bin, ["--expose-gc", ...runtimeFlags, WORKER, ...args]];
  return [bin, [...runtimeFlags, WORKER, ...args]];
}

/** Raised when a worker fails to start or to answer. */
export class WorkerError extends Error {
  /** @param message What happened, with the worker's last stderr lines. */
  constructor(message: string) {
    super(message);
    this.name = "WorkerError";
  }
}

/** Options of {@linkcode Worker.spawn}. */
export interface SpawnOptions {
  /** Give up waiting for ready after this many ms. */
  readyTimeoutMs?: number;
  /** Echo the worker's stderr (and untagged stdout) to ours. */
  verbose?: boolean;
  /** Extra flags for the runtime (before the worker script). */
  runtimeFlags?: string[];
  /**
   * A command that runs the worker elsewhere, put before the worker's command line: `nsenter`
   * into a LAN host's namespaces (it execs the worker, so the pid stays the worker's).
   */
  via?: readonly string[];
}

/** A running worker process. */
export class Worker {
  /** Role name, for messages. */
  readonly label: string;
  /** The worker's ready message. */
  ready: WorkerMessage = { type: "ready" };
  readonly #child: ChildProcess;
  readonly #listeners = new Set<(message: WorkerMessage) => void>();
  #stderr: string[] = [];
  #exited: Promise<number | null>;
  #exitCode: number | null | undefined;
  #seq = 0;

  private constructor(child: ChildProcess, label: string, verbose: boolean) {
    this.#child = child;
    this.label = label;
    this.#exited = new Promise((done) => {
      child.on("exit", (code, signal) => {
        this.#exitCode = code ?? (signal ? 128 : null);
        done(this.#exitCode);
        this.#dispatch({ type: "exit", code: this.#exitCode });
      });
      child.on("error", (error) => {
        this.#stderr.push(`spawn failed: ${error.message}`);
        this.#exitCode = -1;
        done(-1);
        this.#dispatch({ type: "exit", code: -1 });
      });
    });
    // Writing to a worker that already exited fails with EPIPE: its exit is reported anyway.
    child.stdin!.on("error", () => {});
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith(LINE_TAG)) {
        try {
          this.#dispatch(JSON.parse(line.slice(LINE_TAG.length)) as WorkerMessage);
          return;
        } catch {
          // Not ours after all: treat as output.
        }
      }
      this.#keep(line, verbose);
    });
    createInterface({ input: child.stderr! }).on("line", (line) => this.#keep(line, verbose));
  }

  /**
   * Starts a worker and waits until it reports ready.
   *
   * @param runtime Runtime under test.
   * @param role Worker role, `module#name`: `roles[name]` of `bench/subjects/<module>.ts`.
   * @param config Role configuration.
   * @param options Timeout and verbosity.
   * @returns The ready worker.
   * @throws {WorkerError} When it reports a fatal error, exits, or times out first.
   */
  static async spawn(
    runtime: Runtime,
    role: string,
    config: Record<string, unknown> = {},
    options: SpawnOptions = {},
  ): Promise<Worker> {
    const [runtimeBin, runtimeArgs] = workerCommand(runtime, [role, JSON.stringify(config)], options.runtimeFlags);
    const [program, ...args] = [...(options.via ?? []), runtimeBin, ...runtimeArgs];
    const child = spawn(program, args, {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    const worker = new Worker(child, `${runtime} ${role}`, options.verbose ?? false);
    try {
      worker.ready = await worker.waitFor((m) => m.type === "ready", options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await worker.close();
      throw error;
    }
    return worker;
  }

  /**
   * Moves the worker and all its threads (GC, I/O) onto the given CPUs with taskset.
   *
   * @param cpuList CPUs in taskset's list syntax, e.g. `"0"` or `"0-1"`.
   */
  setCpus(cpuList: string): void {
    if (this.#child.pid === undefined || this.#exitCode !== undefined) return;
    execFileSync("taskset", ["--all-tasks", "--pid", "--cpu-list", cpuList, String(this.#child.pid)], {
      stdio: "ignore",
    });
  }

  /**
   * Sends a command and waits for its result.
   *
   * @param cmd Command name.
   * @param params Its parameters.
   * @param timeoutMs Give up after this long.
   * @returns The result message.
   * @throws {WorkerError} When the worker answers with an error, exits, or times out.
   */
  async request(cmd: string, params: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<WorkerMessage> {
    const seq = ++this.#seq;
    const answer = this.waitFor((m) => (m.type === "result" || m.type === "error") && m.seq === seq, timeoutMs);
    this.#child.stdin!.write(`${JSON.stringify({ ...params, cmd, seq })}\n`);
    const message = await answer;
    if (message.type === "error") throw new WorkerError(`${this.label}: ${cmd} failed: ${message.message}`);
    return message;
  }

  /**
   * CPU time the worker process used so far (user + system, every thread).
   *
   * @returns Microseconds.
   */
  async cpuMicros(): Promise<number> {
    const usage = await this.request("cpu");
    return Number(usage.user) + Number(usage.system);
  }

  /**
   * Waits for a message matching `match`.
   *
   * @param match Predicate.
   * @param timeoutMs Give up after this long.
   * @returns The message.
   * @throws {WorkerError} On timeout, on a fatal message, or when the worker exits first.
   */
  waitFor(match: (message: WorkerMessage) => boolean, timeoutMs: number): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new WorkerError(`${this.label}: no answer within ${timeoutMs} ms${this.#tail()}`));
      }, timeoutMs);
      const listener = (message: WorkerMessage) => {
        if (match(message)) {
          done();
          resolve(message);
        } else if (message.type === "fatal" || message.type === "exit") {
          done();
          const why = message.type === "fatal" ? String(message.message) : `exited with code ${message.code}`;
          reject(new WorkerError(`${this.label}: ${why}${this.#tail()}`));
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      if (this.#exitCode !== undefined) {
        done();
        reject(new WorkerError(`${this.label}: exited with code ${this.#exitCode}${this.#tail()}`));
        return;
      }
      this.#listeners.add(listener);
    });
  }

  /**
   * Calls `fn` with every message from now on.
   *
   * @param fn Listener.
   * @returns Removes the listener.
   */
  onMessage(fn: (message: WorkerMessage) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Asks the worker to exit, and kills it (by its pid) when it has not within `graceMs`.
   *
   * @param graceMs How long it may take to close its nodes.
   */
  async close(graceMs = 5_000): Promise<void> {
    if (this.#exitCode === undefined) {
      try {
        this.#child.stdin!.end(`${JSON.stringify({ cmd: "exit", seq: 0 })}\n`);
      } catch {
        // stdin already closed.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((done) => timer = setTimeout(() => done("late"), graceMs));
      const outcome = await Promise.race([this.#exited, late]);
      clearTimeout(timer);
      if (outcome === "late" && this.#exitCode === undefined) {
        this.#child.kill("SIGKILL");
        await this.#exited;
      }
    }
  }

  /** The worker's last stderr / untagged output lines. */
  get output(): string {
    return this.#stderr.join("\n");
  }

  #dispatch(message: WorkerMessage): void {
    for (const listener of [...this.#listeners]) listener(message);
  }

  #keep(line: string, verbose: boolean): void {
    if (verbose) process.stderr.write(`[${this.label}] ${line}\n`);
    this.#stderr.push(line);
    if (this.#stderr.length > 20) this.#stderr.shift();
  }

  #tail(): string {
    const tail = this.#stderr.slice(-6).join("\n  ");
    return tail ? `\n  ${tail}` : "";
  }
}
