/**
 * What the Deno adapter's receive and accept loops share: the logger, the bound on errors
 * in a row, and the call of a user handler that must never end a loop.
 *
 * @module
 */
import { createLogger, type Logger } from "../../src/log.ts";

/** Receive or accept errors in a row after which a loop gives up (a broken socket, not a blip). */
export const MAX_CONSECUTIVE_ERRORS = 100;

let sharedLogger: Logger | undefined;

/**
 * The adapter's logger, created on first use: reading PEERLINK_DEBUG at import time could
 * prompt for env access.
 *
 * @returns The logger.
 */
export function logger(): Logger {
  return sharedLogger ??= createLogger("peerlink deno");
}

/**
 * Calls a user callback; an exception is reported (the first per socket as a warning, later
 * ones at debug level), never thrown, so it cannot end a receive or accept loop.
 *
 * @param handler The user's callback.
 * @param value What to hand it.
 * @param what Names the callback in the report, e.g. `"onMessage"`.
 * @param reported Per socket: whether a warning was logged already.
 * @returns False when the handler threw synchronously.
 */
export function deliver<T>(
  handler: (value: T) => void,
  value: T,
  what: string,
  reported: { done: boolean },
): boolean {
  const report = (error: unknown) => {
    const text = `${what} handler threw: ${(error as Error)?.stack ?? error}`;
    if (reported.done) logger().debug(text);
    else logger().warn(`${text} (further errors from this socket are logged at debug level)`);
    reported.done = true;
  };
  try {
    const result = handler(value) as unknown;
    if (result && typeof (result as Promise<unknown>).then === "function") {
      (result as Promise<unknown>).then(undefined, report);
    }
    return true;
  } catch (error) {
    report(error);
    return false;
  }
}
