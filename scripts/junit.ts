/**
 * Reads a JUnit XML report (as written by `deno test --junit-path`, `bun test --reporter=junit`
 * and `node --test --test-reporter=junit`) into pass/fail/skip counts.
 *
 * @module
 */

/** Test counts of one report. */
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Counts leaf `<testcase>` elements of a JUnit report (tests are flat: no describe()).
 *
 * @param xml The report.
 * @returns Passed, failed and skipped counts.
 */
export function countJunit(xml: string): Counts {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  // Attributes are matched as quoted strings: a test name may contain an unescaped ">".
  const re = /<testcase\b((?:[^>"]|"[^"]*")*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const body = m[3] ?? "";
    if (/<failure|<error/.test(body) || /\bfailure="/.test(m[1])) counts.failed++;
    else if (/<skipped/.test(body)) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}
