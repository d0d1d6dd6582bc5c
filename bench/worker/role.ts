/**
 * What a worker process runs: a role, set up from the driver's config, answering commands.
 * Every subject module (`bench/subjects/...`) exports its roles as `roles`, so a new scenario
 * brings its own roles without touching the worker's entry point.
 *
 * @module
 */
import type { Command } from "./protocol.ts";

/** Answers one command with the fields of its result. */
export type Handler = (command: Command) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** A running role: its ready message, its commands, and how it shuts down. */
export interface Role {
  /** Extra fields of the ready message (ports, API names). */
  ready: Record<string, unknown>;
  /** Commands by name. */
  handlers: Record<string, Handler>;
  /** Closes sockets and nodes. */
  close(): Promise<void> | void;
}

/** Sets a role up from the driver's config (one JSON object). */
export type RoleFactory = (config: Record<string, unknown>) => Promise<Role>;

/**
 * A numeric parameter of a command or config.
 *
 * @param source The command or config.
 * @param key The field.
 * @returns Its value.
 * @throws {Error} When it is not a finite number.
 */
export function num(source: Record<string, unknown>, key: string): number {
  const value = source[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${String(source.cmd ?? "config")}: ${key} must be a number, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The `transport` parameter of a command.
 *
 * @param command The command.
 * @param allowed Accepted values.
 * @returns The transport.
 * @throws {Error} When it is not one of `allowed`.
 */
export function transportOf<T extends string>(command: Command, allowed: readonly T[]): T {
  const value = command.transport as T;
  if (!allowed.includes(value)) {
    throw new Error(`${command.cmd}: transport must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value;
}
