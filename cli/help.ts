/**
 * Help texts, rendered from the command specs so they never drift from what is parsed.
 *
 * @module
 */
import { VERSION } from "../src/version.ts";
import type { OptionSpecs } from "./args.ts";
import type { CommandSpec } from "./command.ts";
import type { Style } from "./format.ts";

/** The exit-code table shown in help. */
export const EXIT_CODE_HELP = [
  ["0", "success (serve and discover --watch: also when stopped with Ctrl-C)"],
  ["1", "failure: peer missing or silent, remote error, no peers found, cannot start"],
  ["2", "usage error: unknown command or option, bad value"],
  ["130", "interrupted by Ctrl-C (143: by SIGTERM) before finishing"],
] as const;

/**
 * The top-level help (`peerlink --help`).
 *
 * @param commands All commands.
 * @param style Colours.
 * @returns The text, ending in a newline.
 */
export function topLevelHelp(commands: readonly CommandSpec[], style: Style): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = [
    `${style.bold("peerlink")} ${VERSION}: zero-config peer-to-peer RPC on your LAN`,
    "",
    `${style.bold("Usage:")} peerlink <command> [options]`,
    "",
    style.bold("Commands:"),
    ...commands.map((c) => `  ${style.cyan(c.name.padEnd(width))}  ${c.summary}`),
    "",
    style.bold("Options:"),
    "  -h, --help     Show this help; 'peerlink <command> --help' (or 'peerlink <command> help')",
    "                 explains a command.",
    "  -V, --version  Print the version.",
    "",
    style.bold("Exit codes:"),
    ...EXIT_CODE_HELP.map(([code, text]) => `  ${code.padEnd(3)}  ${text}`),
    "",
    style.bold("Environment:"),
    "  PEERLINK_DEBUG=1  the node's debug log on stderr (like --verbose)",
    "  NO_COLOR=1        never colour the output (colours are used only on a terminal)",
    "",
    `Run 'peerlink demo' for a tour, 'peerlink discover' to see who is on the LAN.`,
  ];
  return lines.join("\n") + "\n";
}

/**
 * The help of one command (`peerlink ping --help`).
 *
 * @param command The command.
 * @param style Colours.
 * @returns The text, ending in a newline.
 */
export function commandHelp(command: CommandSpec, style: Style): string {
  const lines = [
    ...command.usage.map((usage, i) => `${i === 0 ? style.bold("Usage:") : "      "} ${usage}`),
    "",
    ...command.description.split("\n"),
    "",
    style.bold("Options:"),
    ...optionLines(command.options),
  ];
  if (command.examples.length) {
    const width = Math.max(...command.examples.map(([line]) => line.length));
    lines.push("", style.bold("Examples:"));
    for (const [line, text] of command.examples) lines.push(`  ${line.padEnd(width)}  ${style.dim(text)}`);
  }
  lines.push("", `Exit codes: ${EXIT_CODE_HELP.map(([code]) => code).join(", ")} (see 'peerlink --help').`);
  return lines.join("\n") + "\n";
}

function optionLines(options: OptionSpecs): string[] {
  const heads = Object.entries(options).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "    ";
    const value = spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : "";
    return `  ${short}--${name}${value}`;
  });
  const width = Math.max(...heads.map((head) => head.length));
  return Object.values(options).map((spec, i) => `${heads[i].padEnd(width)}  ${spec.help}`);
}
