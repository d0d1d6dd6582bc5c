/**
 * Where the `peerlink` command reads its environment and writes its output. `main()` takes
 * a {@linkcode CliIO} so tests can run commands in-process with captured output, a fake
 * environment and their own interrupt signal.
 *
 * @module
 */
import process from "node:process";
import type { PeerLinkOptions } from "../src/options.ts";

/** A writable text stream (e.g. `process.stdout`). */
export interface OutputStream {
  /** Writes text; `done` (when supported) runs once it is flushed. */
  write(text: string, done?: () => void): unknown;
  /** Whether it is a terminal (colours and progress lines only then). */
  isTTY?: boolean;
}

/** The command's surroundings. */
export interface CliIO {
  /** Results. */
  stdout: OutputStream;
  /** Errors, diagnostics and progress. */
  stderr: OutputStream;
  /** Environment variables (`NO_COLOR`, `FORCE_COLOR`, `PEERLINK_DEBUG`). */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborts when the user interrupts (its `reason` is `"SIGINT"` or `"SIGTERM"`). Default: the
   * process's own SIGINT/SIGTERM, hooked for the duration of `main()`.
   */
  signal?: AbortSignal;
  /** Extra options for every node the command starts (tests pass e.g. a `runtime`). */
  node?: Partial<PeerLinkOptions>;
}

/** Writes whole lines to a stream. */
export interface Printer {
  /** Writes `text` and a newline. */
  line(text?: string): void;
  /** Writes text as is. */
  write(text: string): void;
  /** Whether the stream is a terminal. */
  readonly isTTY: boolean;
}

/**
 * A {@linkcode Printer} over a stream.
 *
 * @param stream Where to write.
 * @returns The printer.
 */
export function printer(stream: OutputStream): Printer {
  return {
    line: (text = "") => void stream.write(`${text}\n`),
    write: (text) => void stream.write(text),
    isTTY: stream.isTTY === true,
  };
}

/**
 * The real process's streams and environment.
 *
 * @returns A {@linkcode CliIO} without `signal` (main hooks the process signals itself).
 */
export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: readEnv() };
}

/** `process.env`, or an empty environment where reading it is not allowed (Deno without --allow-env). */
function readEnv(): Record<string, string | undefined> {
  try {
    return { ...process.env };
  } catch {
    return {};
  }
}

/** An interrupt source hooked to the process's SIGINT and SIGTERM. */
export interface ProcessInterrupts {
  /** Aborts on the first SIGINT/SIGTERM with reason `"SIGINT"`/`"SIGTERM"`. */
  signal: AbortSignal;
  /** Removes the handlers. */
  dispose(): void;
}

/**
 * Hooks SIGINT and SIGTERM: the first one aborts the returned signal so the command stops
 * cleanly (goodbye sent); a second one exits at once with 130/143 in case the clean stop hangs.
 * `process.on` signal handlers work the same on Deno, Bun and Node.
 *
 * @param stderr Where to say that a second signal forces the exit.
 * @returns The signal and a dispose function.
 */
export function hookProcessSignals(stderr: Printer): ProcessInterrupts {
  const controller = new AbortController();
  const handlers: ["SIGINT" | "SIGTERM", () => void][] = [];
  for (const [name, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    const handler = () => {
      if (!controller.signal.aborted) {
        controller.abort(name);
        return;
      }
      stderr.line(`peerlink: ${name} again: exiting without a clean stop`);
      process.exit(code);
    };
    try {
      process.on(name, handler);
      handlers.push([name, handler]);
    } catch {
      // A runtime without this signal (Windows SIGTERM): Ctrl-C still works.
    }
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}

/**
 * Waits until both streams have flushed what was written (a process that exits right after a
 * write to a pipe would otherwise lose the tail on Node and Bun). Gives up after `limitMs`.
 *
 * @param streams Streams to flush.
 * @param limitMs Longest wait.
 * @returns Resolves when flushed or after the limit.
 */
export function flushStreams(streams: readonly OutputStream[], limitMs = 2000): Promise<void> {
  return new Promise<void>((resolve) => {
    let left = streams.length;
    const timer = setTimeout(resolve, limitMs);
    const one = () => {
      if (--left <= 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    if (left === 0) one();
    for (const stream of streams) {
      try {
        stream.write("", one);
      } catch {
        one();
      }
    }
  });
}

/**
 * Ends the process quietly when stdout's reader goes away (`peerlink discover --watch | head -1`):
 * a write to a closed pipe fails with EPIPE, which would otherwise surface as a crash.
 *
 * @param exitCode Exit code to use (default 0: the reader had what it wanted).
 */
export function exitOnBrokenPipe(exitCode = 0): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(exitCode);
      throw error;
    });
  }
}
