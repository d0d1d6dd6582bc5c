/**
 * In-process CPU profiling of a worker through `node:inspector` (works on Node and Deno; on Bun
 * use `--runtime-flags=--cpu-prof` instead, which Bun supports natively). The profile is the
 * Chrome DevTools `.cpuprofile` format: open it in DevTools, or summarise it with
 * `node bench/tools/profile_summary.ts FILE`.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

interface InspectorSession {
  connect(): void;
  post(method: string, params?: Record<string, unknown>): Promise<unknown>;
  disconnect(): void;
}

/**
 * Starts the sampling profiler of this process.
 *
 * @param dir Where to write the profile.
 * @param name File name without extension.
 * @param intervalUs Sampling interval in microseconds.
 * @returns A function that stops profiling and writes `<dir>/<name>.cpuprofile` (its path).
 */
export async function startCpuProfile(dir: string, name: string, intervalUs = 200): Promise<() => Promise<string>> {
  const { Session } = await import("node:inspector/promises");
  const session = new Session() as unknown as InspectorSession;
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = (await session.post("Profiler.stop")) as { profile: unknown };
    session.disconnect();
    const path = join(dir, `${name}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    return path;
  };
}
