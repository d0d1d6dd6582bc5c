/**
 * The bare runtime: a worker that loads nothing, to prove the runtime runs and to tell its
 * version and its resident memory without PeerLink.
 *
 * @module
 */
import { settledRss } from "../worker/protocol.ts";
import type { RoleFactory } from "../worker/role.ts";

/** Roles: `bare#idle`. */
export const roles: Record<string, RoleFactory> = {
  idle: () => Promise.resolve({ ready: { ...settledRss() }, handlers: {}, close: () => {} }),
};
