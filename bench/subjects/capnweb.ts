/**
 * The newest JS RPC library: `capnweb` calls of `add(a, b)` over one WebSocket, the server and
 * the client in separate processes. The server is each runtime's own WebSocket server where it
 * has one (`Deno.serve` + `Deno.upgradeWebSocket`; `Bun.serve` with capnweb's Bun handler) and
 * the `ws` package on Node. The client is the runtime's global `WebSocket`, except on Deno,
 * whose WebSocket client leaves Nagle's algorithm on (TCP_NODELAY unset): with capnweb's small
 * messages every call then waits ~40 ms for a delayed ACK, so on Deno the client is `ws` too.
 *
 * Docs: https://github.com/cloudflare/capnweb, https://docs.deno.com/api/deno/~/Deno.upgradeWebSocket,
 * https://bun.sh/docs/api/websockets, https://github.com/websockets/ws
 *
 * @module
 */
import { type CallClient, clientRole, promiseCalls } from "../worker/client.ts";
import { currentRuntime } from "../worker/protocol.ts";
import { num, type RoleFactory } from "../worker/role.ts";
import { importOptional } from "./optional.ts";
import { LOOPBACK } from "./raw/sockets/types.ts";

/** The slice of `capnweb` used here. */
interface Capnweb {
  RpcTarget: new () => object;
  newWebSocketRpcSession(socket: unknown, main?: object): RemoteApi;
  /** Only in the package's Bun build (the `bun` export condition). */
  newBunWebSocketRpcHandler?(createMain: () => object): unknown;
}

/** The client's stub of the server's API. */
interface RemoteApi {
  add(a: number, b: number): Promise<number>;
  [Symbol.dispose](): void;
}

/** The slice of `ws` used here. */
interface Ws {
  WebSocket: new (url: string) => unknown;
  WebSocketServer: new (options: { host: string; port: number }) => {
    on(event: "listening", fn: () => void): void;
    on(event: "connection", fn: (socket: unknown) => void): void;
    address(): { port: number };
    close(): void;
  };
}

interface DenoWebSockets {
  serve(
    options: { hostname: string; port: number; onListen(): void },
    handler: (request: Request) => Response,
  ): { addr: { port: number }; shutdown(): Promise<void> };
  upgradeWebSocket(request: Request): { socket: unknown; response: Response };
}

interface BunWebSockets {
  serve(options: {
    hostname: string;
    port: number;
    fetch(request: Request, server: { upgrade(request: Request): boolean }): Response | undefined;
    websocket: unknown;
  }): { port: number; stop(closeActive: boolean): void };
}

/** A listening server: its port, its API's name, how to stop it. */
interface Listening {
  port: number;
  api: string;
  close(): Promise<void> | void;
}

async function listen(capnweb: Capnweb, api: () => object): Promise<Listening> {
  const runtime = currentRuntime();
  if (runtime === "deno") {
    const Deno = (globalThis as unknown as { Deno: DenoWebSockets }).Deno;
    const server = Deno.serve({ hostname: LOOPBACK, port: 0, onListen() {} }, (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      capnweb.newWebSocketRpcSession(socket, api());
      return response;
    });
    return { port: server.addr.port, api: "Deno.upgradeWebSocket", close: () => server.shutdown() };
  }
  if (runtime === "bun") {
    const Bun = (globalThis as unknown as { Bun: BunWebSockets }).Bun;
    if (!capnweb.newBunWebSocketRpcHandler) throw new Error("capnweb: the Bun build was not picked");
    const server = Bun.serve({
      hostname: LOOPBACK,
      port: 0,
      fetch: (request, s) => s.upgrade(request) ? undefined : new Response("WebSocket only", { status: 400 }),
      websocket: capnweb.newBunWebSocketRpcHandler(api),
    });
    return { port: server.port, api: "Bun.serve websocket", close: () => server.stop(true) };
  }
  const { WebSocketServer } = await importOptional<Ws>("ws");
  const server = new WebSocketServer({ host: LOOPBACK, port: 0 });
  await new Promise<void>((resolve) => server.on("listening", resolve));
  server.on("connection", (socket) => capnweb.newWebSocketRpcSession(socket, api()));
  return { port: server.address().port, api: "ws WebSocketServer", close: () => server.close() };
}

/** Roles: `capnweb#server` and `capnweb#client` (config `port`). */
export const roles: Record<string, RoleFactory> = {
  async server() {
    const capnweb = await importOptional<Capnweb>("capnweb");
    class Adder extends capnweb.RpcTarget {
      add(a: number, b: number): number {
        return a + b;
      }
    }
    const server = await listen(capnweb, () => new Adder());
    return { ready: { port: server.port, api: server.api }, handlers: {}, close: () => server.close() };
  },
  async client(config) {
    const capnweb = await importOptional<Capnweb>("capnweb");
    const url = `ws://${LOOPBACK}:${num(config, "port")}/`;
    const socket = currentRuntime() === "deno" ? new (await importOptional<Ws>("ws")).WebSocket(url) : url;
    const remote = capnweb.newWebSocketRpcSession(socket);
    const add = async () => {
      const sum = await remote.add(1, 2);
      if (sum !== 3) throw new Error(`capnweb add(1, 2) answered ${JSON.stringify(sum)}`);
    };
    const client: CallClient = { ...promiseCalls(() => add), close: () => remote[Symbol.dispose]() };
    return clientRole(client, { api: currentRuntime() === "deno" ? "ws client" : "global WebSocket" });
  },
};
