/**
 * A tiny seeded pseudo-random number generator for the in-memory network, so that a test
 * with a given seed sees the same losses, delays and duplicates on every run and runtime.
 *
 * @module
 */

/**
 * Mulberry32: a 32-bit-state generator, fast and good enough for simulating packet loss
 * (not for cryptography).
 *
 * @param seed Any number; only its low 32 bits matter.
 * @returns A function returning uniformly distributed numbers in [0, 1).
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./prng.ts";
 * const random = mulberry32(42);
 * const a = random();
 * console.log(a === mulberry32(42)()); // true
 * ```
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
