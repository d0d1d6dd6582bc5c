/**
 * PeerLink's side of the file row (issue 17): a node sharing a folder (`serveFiles`), whose TCP
 * port also answers curl's plain HTTP GET, and a node that fetches from it with `getFile`. Both
 * watch their resident memory during a transfer (`bench/worker/memory.ts`).
 *
 * @module
 */
import { measureGrowth, type MemoryWatch, watchMemory } from "../../worker/memory.ts";
import { num, type RoleFactory } from "../../worker/role.ts";

/** The sharing node's name. */
export const FILE_SERVER_NAME = "bench-file-server";
const FILE_CLIENT_NAME = "bench-file-client";

/**
 * Roles: `peerlink/files#server` (config `realm`, `dir`: the folder it shares at "/") and
 * `peerlink/files#client` (config `realm`; ready once it knows the server).
 */
export const roles: Record<string, RoleFactory> = {
  async server(config) {
    const { PeerLink } = await import("../../../mod.ts");
    const node = new PeerLink(FILE_SERVER_NAME, { realm: String(config.realm) }).serveFiles(String(config.dir));
    await node.start();
    let watch: MemoryWatch | undefined;
    return {
      ready: { tcpPort: node.ports!.tcpPort },
      handlers: {
        /** Starts watching memory (before the client's transfer; a watch left by a failed one ends). */
        watchMemory: () => {
          watch?.stop();
          watch = watchMemory();
          return {};
        },
        /** The growth since `watchMemory`, MiB. */
        memoryGrowth: () => {
          if (!watch) throw new Error("memoryGrowth without watchMemory first");
          const growth = watch.stop();
          watch = undefined;
          return { growth };
        },
      },
      close: () => node.stop(),
    };
  },
  async client(config) {
    const { PeerLink } = await import("../../../mod.ts");
    const node = new PeerLink(FILE_CLIENT_NAME, { realm: String(config.realm) });
    await node.start();
    try {
      await node.waitForPeers(1, { timeout: num(config, "discoveryMs") });
    } catch (error) {
      await node.stop();
      throw error;
    }
    return {
      ready: {},
      handlers: {
        /** One `getFile` of `path` into `dest`: MB/s, this process's memory growth, what arrived. */
        get: async (c) => {
          const { result, growth, seconds } = await measureGrowth(() =>
            node.getFile(FILE_SERVER_NAME, String(c.path), String(c.dest), { resume: false })
          );
          return { rate: result.bytes / 1e6 / seconds, growth, bytes: result.bytes, sha256: result.sha256 };
        },
      },
      close: () => node.stop(),
    };
  },
};
