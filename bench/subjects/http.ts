/**
 * What a user would pick instead of PeerLink: the same `add(a, b)` as JSON over HTTP/1.1
 * with keep-alive, served by the runtime's own HTTP server (`Deno.serve`, `Bun.serve`,
 * `node:http`) and called with the runtime's `fetch`.
 *
 * Docs: https://docs.deno.com/api/deno/~/Deno.serve, https://bun.sh/docs/api/http,
 * https://nodejs.org/api/http.html, https://developer.mozilla.org/docs/Web/API/Fetch_API
 *
 * @module
 */
import { createServer } from "node:http";
import { type CallClient, clientRole, promiseCalls } from "../worker/client.ts";
import { currentRuntime } from "../worker/protocol.ts";
import { num, type RoleFactory } from "../worker/role.ts";
import { LOOPBACK } from "./raw/sockets/types.ts";

/** A running HTTP server. */
export interface HttpServer {
  /** Bound port. */
  port: number;
  /** Which server API. */
  api: string;
  /** Stops it. */
  close(): Promise<void>;
}

interface AddRequest {
  fn: string;
  args: [number, number];
}

async function answer(request: Request): Promise<Response> {
  const body = (await request.json()) as AddRequest;
  return Response.json({ result: body.args[0] + body.args[1] });
}

interface DenoServe {
  serve(
    options: { hostname: string; port: number; onListen?: () => void },
    handler: (request: Request) => Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (request: Request) => Promise<Response>;
  }): { port: number; stop(closeActive?: boolean): Promise<void> | void };
}

/**
 * Starts the runtime's native HTTP server answering `POST /add` with `{"result": a + b}`.
 *
 * @returns The server.
 */
export function startHttpServer(): Promise<HttpServer> {
  const runtime = currentRuntime();
  if (runtime === "deno") {
    const Deno = (globalThis as unknown as { Deno: DenoServe }).Deno;
    const server = Deno.serve({ hostname: LOOPBACK, port: 0, onListen: () => {} }, answer);
    return Promise.resolve({ port: server.addr.port, api: "Deno.serve", close: () => server.shutdown() });
  }
  if (runtime === "bun") {
    const Bun = (globalThis as unknown as { Bun: BunServe }).Bun;
    const server = Bun.serve({ hostname: LOOPBACK, port: 0, fetch: answer });
    return Promise.resolve({ port: server.port, api: "Bun.serve", close: async () => await server.stop(true) });
  }
  const decoder = new TextDecoder();
  const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    const chunks: Uint8Array[] = [];
    request.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    request.on("end", () => {
      const text = chunks.length === 1 ? decoder.decode(chunks[0]) : chunks.map((c) => decoder.decode(c)).join("");
      const body = JSON.parse(text) as AddRequest;
      const out = JSON.stringify({ result: body.args[0] + body.args[1] });
      response.writeHead(200, { "content-type": "application/json", "content-length": String(out.length) });
      response.end(out);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address ? address.port : 0,
        api: "node:http",
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * A `fetch` client for {@linkcode startHttpServer} (its only transport is `"http"`).
 *
 * @param port Server port.
 * @returns The client.
 */
export function httpClient(port: number): CallClient {
  const url = `http://${LOOPBACK}:${port}/add`;
  const body = JSON.stringify({ fn: "add", args: [1, 2] });
  const call = async () => {
    const response = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
    const out = (await response.json()) as { result: number };
    if (out.result !== 3) throw new Error(`HTTP add(1, 2) answered ${JSON.stringify(out)}`);
  };
  return { ...promiseCalls(() => call), close: () => {} };
}

/** Roles: `http#server` and `http#client` (config `port`). */
export const roles: Record<string, RoleFactory> = {
  async server() {
    const server = await startHttpServer();
    return { ready: { api: server.api, port: server.port }, handlers: {}, close: () => server.close() };
  },
  client: (config) => Promise.resolve(clientRole(httpClient(num(config, "port")))),
};
