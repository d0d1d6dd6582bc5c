/**
 * Timing loops shared by every client (raw, PeerLink, HTTP, gRPC, capnweb): sequential round trips for
 * latency, a fixed number of operations with N in flight for throughput, and one payload at a
 * time for transfer rate. Each runs a warm-up first (JIT, connection setup, caches) and
 * returns plain numbers the driver aggregates over repeats.
 *
 * @module
 */
import { median, percentile } from "../stats.ts";

/** Latency of one series of sequential round trips, in milliseconds. */
export interface LatencyResult {
  /** Median round trip. */
  median: number;
  /** 99th percentile round trip. */
  p99: number;
  /** Fastest round trip. */
  min: number;
  /** Measured round trips (warm-up excluded). */
  count: number;
}

/**
 * Times `count` sequential round trips after `warmup` untimed ones.
 *
 * @param roundTrip One complete operation (send and await the answer).
 * @param count Timed operations.
 * @param warmup Untimed operations first.
 * @returns Median, p99 and min in ms.
 */
export async function measureLatency(
  roundTrip: () => Promise<unknown>,
  count: number,
  warmup: number,
): Promise<LatencyResult> {
  for (let i = 0; i < warmup; i++) await roundTrip();
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await roundTrip();
    samples[i] = performance.now() - start;
  }
  const list = Array.from(samples);
  return { median: median(list), p99: percentile(list, 99), min: Math.min(...list), count };
}

/** Throughput of one batch of operations. */
export interface ThroughputResult {
  /** Completed operations per second. */
  rate: number;
  /** Operations completed. */
  count: number;
  /** Wall time of the batch in ms. */
  elapsedMs: number;
}

/**
 * Runs `total` operations with `concurrency` of them in flight at any time (promise-based:
 * `concurrency` loops each awaiting one operation after the other).
 *
 * @param operation One operation.
 * @param concurrency Operations in flight.
 * @param total Operations to complete (after a warm-up of `warmup`, with the same concurrency).
 * @param warmup Untimed operations first.
 * @returns Operations per second.
 */
export async function measureConcurrent(
  operation: () => Promise<unknown>,
  concurrency: number,
  total: number,
  warmup: number,
): Promise<ThroughputResult> {
  const batch = async (n: number) => {
    let started = 0;
    const worker = async () => {
      while (started < n) {
        started++;
        await operation();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  };
  await batch(warmup);
  const start = performance.now();
  await batch(total);
  const elapsedMs = performance.now() - start;
  return { rate: (total / elapsedMs) * 1000, count: total, elapsedMs };
}

/** Transfer rate of a series of uploads. */
export interface TransferResult {
  /**
   * Megabytes (10^6 bytes) per second of the median upload: one upload stalled by the machine
   * (a page-fault storm, a GC pause) moves the median little, where it dominates a total.
   */
  rate: number;
  /** Timed uploads. */
  count: number;
  /** Median time of one upload, ms. */
  medianMs: number;
}

/**
 * Times `count` uploads of `bytes` each, one after the other, after `warmup` untimed ones.
 *
 * @param upload One upload, resolving when the receiver acknowledged it.
 * @param bytes Payload size of one upload.
 * @param count Timed uploads.
 * @param warmup Untimed uploads first.
 * @returns MB/s.
 */
export async function measureTransfer(
  upload: () => Promise<unknown>,
  bytes: number,
  count: number,
  warmup: number,
): Promise<TransferResult> {
  for (let i = 0; i < warmup; i++) await upload();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await upload();
    times.push(performance.now() - start);
  }
  const medianMs = median(times);
  return { rate: bytes / 1e6 / (medianMs / 1000), count, medianMs };
}
