/**
 * Files for a PeerLink node: what `node.serveFiles`, `listFiles`, `getFile`, `putFile` and the
 * plain HTTP path delegate to. {@linkcode NodeFiles} holds the node's shares (made on the first
 * `serveFiles`) and binds the client functions to the node's calls.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { StreamConnection } from "../net.ts";
import {
  type FileCall,
  getFile,
  type GetFileOptions,
  type GetFileResult,
  listFiles,
  putFile,
  type PutFileOptions,
} from "./client.ts";
import { type HttpContext, serveHttp } from "./http.ts";
import type { FileEntry, PutAnswer } from "./protocol.ts";
import { FileServer, type FunctionRegistry } from "./server.ts";
import type { ShareOptions } from "./share.ts";

export type { FileEntry, PutAnswer } from "./protocol.ts";
export type { GetFileOptions, GetFileResult, PutFileOptions } from "./client.ts";
export type { ShareOptions } from "./share.ts";
export type { Progress } from "./progress.ts";
export { FILES_PREFIX } from "./protocol.ts";

/** The files side of one node. */
export class NodeFiles {
  readonly #registry: FunctionRegistry;
  readonly #clock: Clock;
  #server: FileServer | undefined;

  /**
   * Creates it; nothing is shared until {@linkcode NodeFiles.serve}.
   *
   * @param registry The node's handlers (the `__files_*` functions go there on the first share).
   * @param clock The node's clock.
   */
  constructor(registry: FunctionRegistry, clock: Clock) {
    this.#registry = registry;
    this.#clock = clock;
  }

  /**
   * Shares a folder.
   *
   * @param folder The folder.
   * @param options Prefix, writable, hidden, size limit.
   */
  serve(folder: string, options?: ShareOptions): void {
    if (!this.#server) {
      const server = new FileServer();
      server.share(folder, options);
      server.register(this.#registry);
      this.#server = server;
      return;
    }
    this.#server.share(folder, options);
  }

  /**
   * Stops sharing the folder at a prefix.
   *
   * @param prefix The prefix it was shared at.
   * @returns Whether a share was there.
   */
  unserve(prefix: string): boolean {
    return this.#server?.table.remove(prefix) ?? false;
  }

  /**
   * The plain HTTP handler for the node's TCP server.
   *
   * @param context Policy and limits (without the shares, which are read at each request).
   * @returns The hook.
   */
  httpHook(context: Omit<HttpContext, "files">): (connection: StreamConnection, first: Uint8Array) => Promise<void> {
    return (connection, first) => serveHttp(connection, first, { ...context, files: this.#server });
  }

  /**
   * Lists a folder of a peer's shares.
   *
   * @param call Calls the peer.
   * @param path The folder.
   * @param options Timeout and signal.
   * @returns The entries.
   */
  list(call: FileCall, path: string, options?: { timeout?: number; signal?: AbortSignal }): Promise<FileEntry[]> {
    return listFiles(call, path, options);
  }

  /**
   * Gets a file from a peer.
   *
   * @param call Calls the peer.
   * @param peer The peer's name.
   * @param path Its path in the peer's shares.
   * @param dest A local path or a writable stream.
   * @param options Resume, overwrite, progress, signal, timeout.
   * @returns Size, SHA-256, where it resumed.
   */
  get(
    call: FileCall,
    peer: string,
    path: string,
    dest: string | WritableStream<Uint8Array>,
    options?: GetFileOptions,
  ): Promise<GetFileResult> {
    return getFile(call, peer, path, dest, options, this.#clock);
  }

  /**
   * Puts a file into a peer's writable share.
   *
   * @param call Calls the peer.
   * @param source A local path or a readable stream (with `options.size`).
   * @param path Where in the peer's shares.
   * @param options Overwrite, progress, signal, timeout, size.
   * @param defaultTimeout The node's call timeout.
   * @returns Size, SHA-256, where it resumed.
   */
  put(
    call: FileCall,
    source: string | ReadableStream<Uint8Array>,
    path: string,
    options: PutFileOptions | undefined,
    defaultTimeout: number,
  ): Promise<PutAnswer> {
    return putFile(call, source, path, options, this.#clock, defaultTimeout);
  }
}
