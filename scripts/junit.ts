/**
 * Reads a JUnit XML report (as written by `deno test --junit-path`, `bun test --reporter=junit`
 * and `node --test --test-reporter=junit`) into its test cases (name, file, outcome) and
 * pass/fail/skip counts.
 *
 * @module
 */

/** Test counts of one report. */
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** One leaf `<testcase>` of a report. */
export interface TestCase {
  /** The test's name, as given to `test()`. */
  name: string;
  /** Its file relative to the repository (`tests/x.test.ts`), or `""` when the report does not say. */
  file: string;
  outcome: "passed" | "failed" | "skipped";
  /** Why it skipped, when the runner reports it (only Node does). */
  reason?: string;
  /** What failed: the failure's message (all three runners write one). */
  failure?: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Resolves the XML entities of an attribute value. */
function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, entity: string) => {
    if (entity[0] !== "#") return ENTITIES[entity] ?? whole;
    const code = entity[1] === "x" || entity[1] === "X" ? parseInt(entity.slice(2), 16) : Number(entity.slice(1));
    return String.fromCodePoint(code);
  });
}

function attribute(attributes: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}="([^"]*)"`).exec(attributes);
  return m ? unescapeXml(m[1]) : undefined;
}

/** A report's file path as a repository path: Deno writes `./tests/x`, Bun `tests/x`, Node an absolute path. */
function repositoryPath(path: string | undefined, root: string): string {
  if (!path) return "";
  if (path.startsWith(root + "/")) return path.slice(root.length + 1);
  return path.replace(/^\.\//, "");
}

/**
 * The leaf `<testcase>` elements of a JUnit report (tests are flat: no describe()).
 *
 * @param xml The report.
 * @param root The repository's absolute path, to make Node's absolute file paths relative.
 * @returns The test cases in report order.
 */
export function readJunit(xml: string, root = ""): TestCase[] {
  const cases: TestCase[] = [];
  // Attributes are matched as quoted strings: a test name may contain an unescaped ">".
  const re = /<testcase\b((?:[^>"]|"[^"]*")*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const attributes = m[1];
    const body = m[3] ?? "";
    const name = attribute(attributes, "name") ?? "";
    const file = repositoryPath(attribute(attributes, "file") ?? attribute(attributes, "classname"), root);
    if (/<failure|<error/.test(body) || /\bfailure="/.test(attributes)) {
      const failed = /<(?:failure|error)\b((?:[^>"]|"[^"]*")*?)\/?>/.exec(body);
      // Node escapes the message twice (`&amp;quot;`); it is only shown, so resolving twice is safe.
      const message = failed ? attribute(failed[1], "message") : undefined;
      const failure = message === undefined ? undefined : unescapeXml(message);
      cases.push({ name, file, outcome: "failed", ...(failure === undefined ? {} : { failure }) });
    } else if (/<skipped/.test(body)) {
      const skipped = /<skipped\b((?:[^>"]|"[^"]*")*?)\/?>/.exec(body);
      const reason = skipped ? attribute(skipped[1], "message") : undefined;
      cases.push({ name, file, outcome: "skipped", ...(reason === undefined ? {} : { reason }) });
    } else cases.push({ name, file, outcome: "passed" });
  }
  return cases;
}

/**
 * Counts passed, failed and skipped test cases.
 *
 * @param cases Test cases (from {@linkcode readJunit}), or a report's XML.
 * @returns The counts.
 */
export function countJunit(cases: readonly TestCase[] | string): Counts {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const c of typeof cases === "string" ? readJunit(cases) : cases) counts[c.outcome]++;
  return counts;
}

/**
 * The line `npm test` ends with: counts summed over the runtimes, and how many distinct tests
 * passed in at least one of them. Tests are told apart by name (runners disagree on the file of
 * a test registered by a helper module); a test named after its runtime counts once per runtime.
 *
 * @param runs The test cases of each runtime's report.
 * @param runnerFailures Failures outside any report (a runner that crashed or hung).
 * @returns `N passed (M distinct), N failed, N skipped`.
 */
export function summaryLine(runs: readonly (readonly TestCase[])[], runnerFailures = 0): string {
  const total: Counts = { passed: 0, failed: runnerFailures, skipped: 0 };
  const distinct = new Set<string>();
  for (const cases of runs) {
    for (const c of cases) {
      total[c.outcome]++;
      if (c.outcome === "passed") distinct.add(c.name);
    }
  }
  return `${total.passed} passed (${distinct.size} distinct), ${total.failed} failed, ${total.skipped} skipped`;
}
