/**
 * Command-line parsing on `node:util` `parseArgs` (its token stream), with our own validation so
 * every mistake gets one clear line that names the option and the command, identically on
 * Deno, Bun and Node.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

/** One option of a command. */
export interface OptionSpec {
  /** `"boolean"` flags take no value; `"string"` options take one. */
  type: "boolean" | "string";
  /** One-letter alias, e.g. `"h"` for `-h`. */
  short?: string;
  /** May be given several times (values are collected into an array). */
  multiple?: boolean;
  /** Placeholder in help and errors, e.g. `"DURATION"`. */
  value?: string;
  /** One line of help. */
  help: string;
  /** An example value for the "needs a value" error, e.g. `"3s"`. */
  example?: string;
}

/** Option specs by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** What was parsed. */
export interface ParsedArgs {
  /** Option values by long name: `true` for flags, strings, or arrays for `multiple`. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments, in order (everything after `--` included). */
  positionals: string[];
}

/**
 * Marks arguments that look like negative numbers (`-1`, `-0.5`, `-Infinity`) so parseArgs does
 * not take them for short options: `peerlink call Calc add -1 2` must just work.
 */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;
const MARK = "\u0000";

/**
 * Parses a command's arguments.
 *
 * @param args The arguments after the command name.
 * @param options The command's options.
 * @param command The command name, for error messages.
 * @returns Values and positionals.
 * @throws {UsageError} For an unknown option, a missing value, or a value given to a flag.
 *
 * @example
 * ```ts
 * import { parseCommandArgs } from "./args.ts";
 * const parsed = parseCommandArgs(["NodeB", "--count", "3"], { count: { type: "string", help: "pings" } }, "ping");
 * console.log(parsed.positionals, parsed.values.count); // ["NodeB"] "3"
 * ```
 */
export function parseCommandArgs(args: readonly string[], options: OptionSpecs, command: string): ParsedArgs {
  const marked = args.map((arg) => (NEGATIVE_NUMBER.test(arg) ? MARK + arg : arg));
  const config: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(options)) {
    config[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  const { tokens } = parseArgs({
    args: marked,
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: ParsedArgs["values"] = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(unmark(token.value));
      continue;
    }
    if (token.kind === "option-terminator") continue;
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (!spec) throw new UsageError(`unknown option '${unmark(token.rawName)}' for '${command}'`, command);
    const shown = `--${token.name}`;
    if (spec.type === "boolean") {
      if (token.value !== undefined) {
        throw new UsageError(`option '${shown}' takes no value (got '${unmark(token.value)}')`, command);
      }
      values[token.name] = true;
      continue;
    }
    const value = token.value === undefined ? undefined : unmark(token.value);
    if (value === undefined || (!token.inlineValue && value.startsWith("-") && !token.value!.startsWith(MARK))) {
      const example = spec.example ? ` (e.g. ${shown} ${spec.example})` : "";
      throw new UsageError(`option '${shown}' needs a value${example}`, command);
    }
    if (spec.multiple) {
      const list = (values[token.name] as string[] | undefined) ?? [];
      list.push(value);
      values[token.name] = list;
    } else {
      values[token.name] = value; // The last one wins, as with most tools.
    }
  }
  return { values, positionals };
}

function unmark(text: string): string {
  return text.startsWith(MARK) ? text.slice(1) : text;
}

/**
 * Reads a string option.
 *
 * @param parsed Parsed arguments.
 * @param name Long option name.
 * @returns The value or `undefined`.
 */
export function stringOption(parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * Reads a repeatable string option, also splitting comma-separated lists (`--interface eth0,wlan0`).
 *
 * @param parsed Parsed arguments.
 * @param name Long option name.
 * @returns The values (empty when absent).
 */
export function listOption(parsed: ParsedArgs, name: string): string[] {
  const value = parsed.values[name];
  const list = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  return list.flatMap((item) => item.split(",")).map((item) => item.trim()).filter((item) => item !== "");
}

/**
 * Reads a flag.
 *
 * @param parsed Parsed arguments.
 * @param name Long option name.
 * @returns Whether it was given.
 */
export function flag(parsed: ParsedArgs, name: string): boolean {
  return parsed.values[name] === true;
}

/**
 * Reads a whole-number option.
 *
 * @param parsed Parsed arguments.
 * @param name Long option name.
 * @param command For the error message.
 * @param range Accepted range, inclusive.
 * @returns The number, or `undefined` when absent.
 * @throws {UsageError} When it is not a whole number in range.
 */
export function integerOption(
  parsed: ParsedArgs,
  name: string,
  command: string,
  range: { min: number; max: number },
): number | undefined {
  const text = stringOption(parsed, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || value < range.min || value > range.max) {
    throw new UsageError(`--${name} must be a whole number from ${range.min} to ${range.max} (got '${text}')`, command);
  }
  return value;
}

/**
 * Reads an option limited to some choices.
 *
 * @param parsed Parsed arguments.
 * @param name Long option name.
 * @param choices Accepted values.
 * @param command For the error message.
 * @returns The value, or `undefined` when absent.
 * @throws {UsageError} For any other value.
 */
export function choiceOption<T extends string>(
  parsed: ParsedArgs,
  name: string,
  choices: readonly T[],
  command: string,
): T | undefined {
  const text = stringOption(parsed, name);
  if (text === undefined) return undefined;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")} (got '${text}')`, command);
  }
  return text as T;
}

/**
 * Edit distance with transpositions (optimal string alignment), for "did you mean" suggestions:
 * `pnig` is one edit from `ping`.
 *
 * @param a One word.
 * @param b Another.
 * @returns The number of single-character edits (insert, delete, substitute, swap neighbours).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The closest of some words, when it is close enough to be a likely typo.
 *
 * @param word What was typed.
 * @param candidates Known words.
 * @returns The suggestion or `undefined`.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}
