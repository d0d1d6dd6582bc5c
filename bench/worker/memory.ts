/**
 * How much a worker's resident memory grows while something runs: its resident memory after
 * a full GC before, against the highest it reached meanwhile. The kernel keeps that high-water
 * mark (`VmHWM` in /proc/self/status) and resets it to the current size when 5 is written to
 * /proc/self/clear_refs, so no short peak is missed; where that cannot be done, samples every
 * 20 ms stand in (a peak between two samples is then missed).
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { collectGarbage, residentBytes } from "./protocol.ts";

const MiB = 2 ** 20;
const SAMPLE_MS = 20;

/**
 * The kernel's high-water mark of this process's resident memory (since it started, or since
 * the last reset).
 *
 * @returns Bytes, or the current resident size where /proc is not there.
 */
export function peakResidentBytes(): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // No /proc: fall through.
  }
  return residentBytes();
}

function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** A watch started by {@linkcode watchMemory}. */
export interface MemoryWatch {
  /**
   * Ends the watch.
   *
   * @returns The growth: highest resident memory since the start minus the settled start, MiB.
   */
  stop(): number;
}

/**
 * Starts watching this process's resident memory.
 *
 * @returns The watch; call `stop()` when the operation is over.
 *
 * @example
 * ```ts ignore
 * const watch = watchMemory();
 * await transfer();
 * console.log(`grew by ${watch.stop()} MiB`);
 * ```
 */
export function watchMemory(): MemoryWatch {
  collectGarbage();
  const before = residentBytes();
  const exact = resetPeak();
  let peak = before;
  const sampler = exact ? undefined : setInterval(() => peak = Math.max(peak, residentBytes()), SAMPLE_MS);
  return {
    stop() {
      clearInterval(sampler);
      peak = Math.max(peak, residentBytes(), exact ? peakResidentBytes() : 0);
      return (peak - before) / MiB;
    },
  };
}

/**
 * Runs an operation while watching memory, and times it.
 *
 * @param operation The operation.
 * @returns What it returned, this process's memory growth meanwhile (MiB) and its duration (s).
 *
 * @example
 * ```ts ignore
 * const { growth, seconds } = await measureGrowth(() => transfer());
 * ```
 */
export async function measureGrowth<T>(operation: () => Promise<T>): Promise<
  { result: T; growth: number; seconds: number }
> {
  const watch = watchMemory();
  const started = performance.now();
  let result: T;
  try {
    result = await operation();
  } catch (error) {
    watch.stop();
    throw error;
  }
  const seconds = (performance.now() - started) / 1000;
  return { result, growth: watch.stop(), seconds };
}
