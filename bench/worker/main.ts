/**
 * Entry point of every benchmark worker process, run by the runtime under test:
 *
 * ```sh
 * node_modules/.bin/bun bench/worker/main.ts grpc#server '<json config>'
 * ```
 *
 * The role `module#name` is `roles[name]` of `bench/subjects/<module>.ts`. The worker
 * announces itself with `{type: "ready", ...}`, then answers the driver's commands (see
 * `protocol.ts`) until `{cmd: "exit"}` or end of stdin. Every role also answers `cpu` (this
 * process's user and system CPU time so far) and `rss` (resident memory after a full GC). A
 * failure before ready is reported as `{type: "fatal", message}` and exit code 1, so the
 * driver can mark the scenario unavailable with the reason.
 *
 * @module
 */
import process from "node:process";
import { commands, currentRuntime, emit, runtimeVersion, settledRss } from "./protocol.ts";
import type { Handler, Role, RoleFactory } from "./role.ts";

/** Commands every role answers. */
const BUILT_IN: Record<string, Handler> = {
  /** CPU time of the whole process (every thread), microseconds: `getrusage` on every runtime. */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return { user, system };
  },
  rss: () => ({ ...settledRss() }),
};

async function loadRole(ref: string, config: Record<string, unknown>): Promise<Role> {
  const [module, name] = ref.split("#");
  if (!module || !name || !/^[a-z0-9_/]+$/.test(module)) {
    throw new Error(`worker: role must be "module#name" (a file under bench/subjects/), got ${JSON.stringify(ref)}`);
  }
  const roles = (await import(`../subjects/${module}.ts`)).roles as Record<string, RoleFactory> | undefined;
  const factory = roles?.[name];
  if (!factory) throw new Error(`worker: bench/subjects/${module}.ts has no role ${JSON.stringify(name)}`);
  return await factory(config);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function main(): Promise<number> {
  const [ref, json] = process.argv.slice(2);
  let current: Role;
  let stopProfile: (() => Promise<string>) | undefined;
  try {
    const config = JSON.parse(json ?? "{}") as Record<string, unknown>;
    current = await loadRole(ref ?? "", config);
    if (typeof config.cpuProfile === "string") {
      const { startCpuProfile } = await import("../tools/cpu_profile.ts");
      // The sealed pair runs the same roles: its own file, so it does not overwrite the plain one's.
      const variant = config.secret === undefined ? "" : "-sealed";
      const name = `${currentRuntime()}-${ref.replace(/[#/]/g, "-")}${variant}`;
      stopProfile = await startCpuProfile(config.cpuProfile, name);
    }
  } catch (error) {
    emit({ type: "fatal", message: describe(error) });
    return 1;
  }
  emit({ type: "ready", runtime: currentRuntime(), version: runtimeVersion(), pid: process.pid, ...current.ready });
  for await (const command of commands()) {
    if (command.cmd === "exit") break;
    const handler = current.handlers[command.cmd] ?? BUILT_IN[command.cmd];
    try {
      if (!handler) throw new Error(`role ${ref} has no command ${JSON.stringify(command.cmd)}`);
      emit({ type: "result", seq: command.seq, ...(await handler(command)) });
    } catch (error) {
      emit({ type: "error", seq: command.seq, message: describe(error) });
    }
  }
  try {
    if (stopProfile) emit({ type: "profile", path: await stopProfile() });
    await current.close();
  } catch (error) {
    emit({ type: "warning", message: `while closing: ${describe(error)}` });
  }
  return 0;
}

// Exit explicitly: a socket or timer left behind by the code under test must not keep a
// worker alive after the driver is done with it.
process.exit(await main());
