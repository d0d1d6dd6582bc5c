/**
 * The `peerlink` command: `discover`, `ping`, `call`, `serve`, `share`, `ls`, `get`, `send`,
 * `demo`. Run `peerlink --help`.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["discover", "--wait", "2s"]);
 * ```
 *
 * @module
 */
import { systemClock } from "../src/clock.ts";
import { VERSION } from "../src/version.ts";
import { closest, parseCommandArgs } from "./args.ts";
import { callCommand } from "./commands/call.ts";
import { demoCommand } from "./commands/demo.ts";
import { discoverCommand } from "./commands/discover.ts";
import { pingCommand } from "./commands/ping.ts";
import { serveCommand } from "./commands/serve.ts";
import { getCommand } from "./commands/get.ts";
import { lsCommand } from "./commands/ls.ts";
import { sendCommand } from "./commands/send.ts";
import { shareCommand } from "./commands/share.ts";
import type { CommandContext, CommandSpec } from "./command.ts";
import { CliFailure, describeError, EXIT, interruptedExitCode, UsageError } from "./errors.ts";
import { colorEnabled, createStyle, type Style } from "./format.ts";
import { commandHelp, topLevelHelp } from "./help.ts";
import { type CliIO, hookProcessSignals, type Printer, printer, processIO } from "./io.ts";

/** All commands, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  discoverCommand,
  pingCommand,
  callCommand,
  serveCommand,
  shareCommand,
  lsCommand,
  getCommand,
  sendCommand,
  demoCommand,
];

/**
 * Runs the `peerlink` command line.
 *
 * @param argv The arguments after the program, e.g. `["ping", "NodeB", "--transport", "tcp"]`
 *   (`process.argv.slice(2)`).
 * @param io Streams, environment and interrupt signal; default the process's own.
 * @returns The exit code: 0 ok, 1 failure, 2 usage error, 130/143 interrupted (see `errors.ts`).
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { main } from "./main.ts";
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const out = printer(io.stdout);
  const err = printer(io.stderr);
  const style = createStyle(colorEnabled(io.stdout.isTTY, io.env));
  const errStyle = createStyle(colorEnabled(io.stderr.isTTY, io.env));
  let verbose = false;
  let commandName: string | undefined;
  try {
    // Before the command only the global flags are allowed: `peerlink -v ping X`, `peerlink --version`.
    let index = 0;
    for (; index < argv.length && argv[index].startsWith("-"); index++) {
      const arg = argv[index];
      if (arg === "--version" || arg === "-V") {
        out.line(`peerlink ${VERSION}`);
        return EXIT.OK;
      }
      if (arg === "--help" || arg === "-h") {
        out.write(topLevelHelp(COMMANDS, style));
        return EXIT.OK;
      }
      if (arg === "--verbose" || arg === "-v") verbose = true;
      else if (arg === "--") break;
      else throw new UsageError(`unknown option '${arg}' (before the command)`);
    }
    if (argv[index] === "--") index++;
    const word = argv[index];
    if (word === undefined) {
      err.write(topLevelHelp(COMMANDS, errStyle));
      err.line();
      throw new UsageError("no command given");
    }
    if (word === "help") return help(argv[index + 1], out, style);
    const command = COMMANDS.find((c) => c.name === word);
    if (!command) {
      const guess = closest(word, COMMANDS.map((c) => c.name));
      throw new UsageError(`unknown command '${word}'.${guess ? ` Did you mean '${guess}'?` : ""}`);
    }
    commandName = command.name;
    const args = parseCommandArgs(argv.slice(index + 1), command.options, command.name);
    // `peerlink call help` reads as a request for help, as `peerlink help call` does.
    const asksHelp = args.positionals.length === 1 && args.positionals[0] === "help";
    if (args.values.help === true || asksHelp) {
      out.write(commandHelp(command, style));
      return EXIT.OK;
    }
    verbose ||= args.values.verbose === true;
    const interrupts = io.signal ? undefined : hookProcessSignals(err);
    const context: CommandContext = {
      io,
      out,
      err,
      style,
      errStyle,
      verbose,
      signal: io.signal ?? interrupts!.signal,
      clock: io.node?.clock ?? systemClock,
    };
    try {
      return await command.run(context, args);
    } catch (error) {
      // An abort caused by the user's interrupt is not an error worth a message.
      if (context.signal.aborted && isAbort(error)) return interruptedExitCode(context.signal);
      throw error;
    } finally {
      interrupts?.dispose();
    }
  } catch (error) {
    return report(error, { err, errStyle, verbose, commandName });
  }
}

function help(topic: string | undefined, out: Printer, style: Style): number {
  const command = topic === undefined ? undefined : COMMANDS.find((c) => c.name === topic);
  if (topic !== undefined && !command) throw new UsageError(`no help for '${topic}': not a command`);
  out.write(command ? commandHelp(command, style) : topLevelHelp(COMMANDS, style));
  return EXIT.OK;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "NodeStopped");
}

function report(
  error: unknown,
  where: {
    err: Printer;
    errStyle: Style;
    verbose: boolean;
    commandName: string | undefined;
  },
): number {
  const { err, errStyle, verbose, commandName } = where;
  const prefix = errStyle.red("peerlink:");
  if (error instanceof UsageError) {
    const topic = error.command ?? commandName;
    const see = topic ? `peerlink ${topic} --help` : "peerlink --help";
    const message = /[.?!]$/.test(error.message) ? error.message : `${error.message}.`;
    err.line(`${prefix} ${message} See '${see}'.`);
    return EXIT.USAGE;
  }
  err.line(`${prefix} ${describeError(error)}`);
  // --verbose: the stack of what really failed (a CliFailure only wraps it).
  const underlying = error instanceof CliFailure ? error.cause : error;
  if (verbose && underlying instanceof Error && underlying.stack) err.line(errStyle.dim(underlying.stack));
  return error instanceof CliFailure ? error.exitCode : EXIT.FAILURE;
}
