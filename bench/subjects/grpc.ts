/**
 * What Node services use for RPC: `@grpc/grpc-js` unary calls of `Adder.Add(a, b)` over one
 * HTTP/2 channel (plaintext), the service loaded from `grpc_add.proto` with
 * `@grpc/proto-loader`, as the grpc-js documentation shows. The same packages run on Node,
 * Bun and Deno (through each runtime's `node:http2`).
 *
 * Docs: https://grpc.io/docs/languages/node/basics/ and
 * https://github.com/grpc/grpc-node/tree/master/packages/proto-loader
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { type CallClient, clientRole, promiseCalls } from "../worker/client.ts";
import { num, type RoleFactory } from "../worker/role.ts";
import { importOptional } from "./optional.ts";
import { LOOPBACK } from "./raw/sockets/types.ts";

/** The slice of `@grpc/grpc-js` used here. */
interface GrpcJs {
  Server: new () => {
    addService(service: unknown, implementation: Record<string, unknown>): void;
    bindAsync(address: string, credentials: unknown, done: (error: Error | null, port: number) => void): void;
    forceShutdown(): void;
  };
  ServerCredentials: { createInsecure(): unknown };
  credentials: { createInsecure(): unknown };
  loadPackageDefinition(definition: unknown): { bench: { Adder: AdderConstructor } };
}

interface AddReply {
  result: number;
}

type Callback<T> = (error: Error | null, value?: T) => void;

interface AdderClient {
  Add(request: { a: number; b: number }, done: Callback<AddReply>): void;
  close(): void;
}

interface AdderConstructor {
  new (address: string, credentials: unknown): AdderClient;
  service: unknown;
}

/** The slice of `@grpc/proto-loader` used here. */
interface ProtoLoader {
  loadSync(path: string, options: Record<string, unknown>): unknown;
}

async function load(): Promise<{ grpc: GrpcJs; Adder: AdderConstructor }> {
  const grpc = await importOptional<GrpcJs>("@grpc/grpc-js");
  const loader = await importOptional<ProtoLoader>("@grpc/proto-loader");
  const definition = loader.loadSync(fileURLToPath(new URL("./grpc_add.proto", import.meta.url)), {});
  return { grpc, Adder: grpc.loadPackageDefinition(definition).bench.Adder };
}

/** Roles: `grpc#server` and `grpc#client` (config `port`). */
export const roles: Record<string, RoleFactory> = {
  async server() {
    const { grpc, Adder } = await load();
    const server = new grpc.Server();
    server.addService(Adder.service, {
      Add: (call: { request: { a: number; b: number } }, done: Callback<AddReply>) =>
        done(null, { result: call.request.a + call.request.b }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${LOOPBACK}:0`,
        grpc.ServerCredentials.createInsecure(),
        (error, port) => error ? reject(error) : resolve(port),
      )
    );
    return { ready: { port, api: "@grpc/grpc-js on node:http2" }, handlers: {}, close: () => server.forceShutdown() };
  },
  async client(config) {
    const { grpc, Adder } = await load();
    const stub = new Adder(`${LOOPBACK}:${num(config, "port")}`, grpc.credentials.createInsecure());
    const add = () =>
      new Promise<void>((resolve, reject) =>
        stub.Add({ a: 1, b: 2 }, (error, reply) => {
          if (error) reject(error);
          else if (reply?.result !== 3) reject(new Error(`gRPC Add(1, 2) answered ${JSON.stringify(reply)}`));
          else resolve();
        })
      );
    const client: CallClient = { ...promiseCalls(() => add), close: () => stub.close() };
    return clientRole(client);
  },
};
