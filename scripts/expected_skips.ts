/**
 * The by-design skips of the test suite (`tests/support/expected_skips.txt`) and the check
 * `npm test` makes against them: every skip must be listed for its runtime, with its reason,
 * and every listed skip must happen. So a test that silently stops running (a broken setup, a
 * new skip condition) fails the run instead of passing unnoticed.
 *
 * The list has one skip per line, `<runtimes> | <test name> | <reason>`, where `<runtimes>` is
 * a comma-separated subset of `deno,bun,node` or `*` for all three; `#` starts a comment line.
 * Tests are matched by name, so moving a test to another file does not touch the list.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { TestCase } from "./junit.ts";

/** Runtimes of the test matrix. */
export const RUNTIMES = ["deno", "bun", "node"] as const;

/** One line of the list. */
export interface ExpectedSkip {
  runtimes: readonly string[];
  name: string;
  reason: string;
  /** 1-based line number in the list, for messages. */
  line: number;
}

/**
 * Parses the list.
 *
 * @param text The file's text.
 * @returns Its entries.
 * @throws {Error} Naming the line of a malformed entry.
 */
export function parseExpectedSkips(text: string): ExpectedSkip[] {
  const entries: ExpectedSkip[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const first = line.indexOf(" | ");
    const last = line.lastIndexOf(" | ");
    if (first < 0 || last === first) {
      throw new Error(`expected skips, line ${index + 1}: write "<runtimes> | <test name> | <reason>"`);
    }
    const field = line.slice(0, first).trim();
    const runtimes = field === "*" ? [...RUNTIMES] : field.split(",").map((r) => r.trim());
    const unknown = runtimes.filter((r) => !(RUNTIMES as readonly string[]).includes(r));
    if (unknown.length > 0 || runtimes.length === 0) {
      throw new Error(`expected skips, line ${index + 1}: runtimes must be "*" or some of ${RUNTIMES.join(",")}`);
    }
    const name = line.slice(first + 3, last).trim();
    const reason = line.slice(last + 3).trim();
    if (name === "" || reason === "") {
      throw new Error(`expected skips, line ${index + 1}: name and reason are required`);
    }
    entries.push({ runtimes, name, reason, line: index + 1 });
  });
  return entries;
}

/**
 * Reads the list from a file.
 *
 * @param path The list's path.
 * @returns Its entries.
 */
export function readExpectedSkips(path: string): ExpectedSkip[] {
  return parseExpectedSkips(readFileSync(path, "utf8"));
}

/** Where a run's skips differ from the list. */
export interface SkipProblems {
  /** `runtime: name (reason)` of skips the list does not have. */
  unexpected: string[];
  /** `runtime: name` of listed skips that ran instead. */
  missing: string[];
  /** Entries naming no test of the run (renamed or removed tests); only checked for a full run. */
  stale: string[];
}

/**
 * Compares the skips of each runtime's run with the list.
 *
 * @param runs Test cases by runtime (only the runtimes that ran).
 * @param expected The list.
 * @param fullRun Whether every test file ran (then an entry that names no test is stale).
 * @returns The differences (all empty when the run matches the list).
 */
export function compareSkips(
  runs: ReadonlyMap<string, readonly TestCase[]>,
  expected: readonly ExpectedSkip[],
  fullRun: boolean,
): SkipProblems {
  const problems: SkipProblems = { unexpected: [], missing: [], stale: [] };
  for (const [runtime, cases] of runs) {
    const listed = new Map<string, ExpectedSkip>();
    for (const entry of expected) if (entry.runtimes.includes(runtime)) listed.set(entry.name, entry);
    for (const c of cases) {
      const entry = listed.get(c.name);
      if (c.outcome === "skipped" && !entry) {
        problems.unexpected.push(`${runtime}: ${c.name}${c.reason ? ` (${c.reason})` : ""} [${c.file}]`);
      } else if (c.outcome !== "skipped" && entry) {
        problems.missing.push(`${runtime}: ${c.name} (listed on line ${entry.line}, but it ${c.outcome})`);
      }
    }
  }
  if (fullRun) {
    const names = new Set<string>();
    for (const cases of runs.values()) for (const c of cases) names.add(c.name);
    for (const entry of expected) {
      const ran = entry.runtimes.some((r) => runs.has(r));
      if (ran && !names.has(entry.name)) problems.stale.push(`line ${entry.line}: ${entry.name}`);
    }
  }
  return problems;
}
