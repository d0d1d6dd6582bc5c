#!/usr/bin/env node
/**
 * The `peerlink` command line: `discover`, `ping`, `call`, `serve`, `demo`.
 *
 * ```sh
 * deno run -A jsr:@peerlink/peerlink/cli discover
 * npx peerlink ping NodeB --transport tcp
 * bunx peerlink serve --name NodeB
 * ```
 *
 * Run with `--help` for the commands, options and exit codes.
 *
 * @module
 */
import process from "node:process";
import { exitOnBrokenPipe, flushStreams } from "./cli/io.ts";
import { main } from "./cli/main.ts";
import { resolveRuntime } from "./runtimes/auto.ts";
import { useRuntimeResolver } from "./src/runtime_default.ts";

// The entry point wires the socket adapters; the core and the CLI never import them.
useRuntimeResolver(resolveRuntime);
exitOnBrokenPipe();
const code = await main(process.argv.slice(2));
// Exit explicitly (a lingering handle must not keep the command alive), but only after the
// output reached the pipe: Node and Bun drop unflushed pipe writes on exit.
await flushStreams([process.stdout, process.stderr]);
process.exit(code);
