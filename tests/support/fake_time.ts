/**
 * Driving a fake clock while real-time work runs: Web Crypto (key derivation, discovery proofs)
 * and other promises that do not follow the fake clock finish in real time, so each 50 ms step
 * of fake time also yields a real millisecond.
 */
import type { FakeClock } from "../../src/testing/fake_clock.ts";

const STEP_MS = 50;

function realTick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1));
}

/**
 * Runs `promise` while the fake clock advances in 50 ms steps, up to `ms` of fake time.
 * @param clock the fake clock
 * @param promise what to wait for
 * @param ms most fake time to advance
 * @returns what `promise` settles with (its rejection is rethrown)
 * @throws Error when it is still pending after `ms` of fake time
 */
export async function during<T>(clock: FakeClock, promise: Promise<T>, ms: number): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => (settled = true));
  watched.catch(() => {});
  for (let t = 0; t < ms && !settled; t += STEP_MS) {
    await realTick();
    await clock.advance(STEP_MS);
  }
  if (!settled) throw new Error(`still pending after ${ms} ms of fake time`);
  return await watched;
}

/**
 * Advances the fake clock in 50 ms steps until `predicate` holds, at most `ms` of fake time.
 * @param clock the fake clock
 * @param predicate the condition
 * @param ms most fake time to advance
 */
export async function until(clock: FakeClock, predicate: () => boolean, ms: number): Promise<void> {
  for (let t = 0; t < ms && !predicate(); t += STEP_MS) {
    await realTick();
    await clock.advance(STEP_MS);
  }
}
