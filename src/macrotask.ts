/**
 * Waiting for the event loop's next turn: a promise that resolves as a macrotask, after every
 * queued microtask has run and I/O and timers had their chance. For loops that would otherwise
 * run on microtasks alone (a stream whose socket writes resolve at once) and keep everything
 * else of the process waiting.
 *
 * @module
 */

type Scheduler = (callback: () => void) => void;

/**
 * Runs `callback` as a macrotask. `setImmediate` exists on Deno, Bun and Node and is far
 * faster than `setTimeout(fn, 0)`, which runtimes clamp to 1-4 ms.
 */
const macrotask: Scheduler = (() => {
  const immediate = (globalThis as { setImmediate?: Scheduler }).setImmediate;
  return typeof immediate === "function" ? immediate : (callback: () => void) => setTimeout(callback, 0);
})();

/**
 * Resolves on the event loop's next turn.
 *
 * @returns A promise that resolves as a macrotask.
 *
 * @example
 * ```ts
 * import { nextMacrotask } from "./macrotask.ts";
 * let ran = false;
 * setTimeout(() => (ran = true), 0);
 * await nextMacrotask();
 * await nextMacrotask();
 * console.log(typeof ran); // "boolean"
 * ```
 */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => macrotask(resolve));
}
