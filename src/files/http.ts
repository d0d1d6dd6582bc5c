/**
 * The plain HTTP path: a node's TCP port also answers minimal HTTP/1.1, so `curl`, a browser
 * or Python PeerLink's file client (`GET path HTTP/1.1`) fetch shared files with no PeerLink
 * installed. The TCP server hands a connection here when its first byte is an ASCII capital
 * letter (a method name); an RPC frame starts with a length whose first byte is 0.
 *
 * - `GET` and `HEAD` of files in read-only shares, with `Content-Length`, `Accept-Ranges`,
 *   one `Range` (`bytes=a-b`, `a-`, `-n`; so `curl -C -` resumes), `ETag` / `If-None-Match`
 *   (304), `If-Range`, `Last-Modified`; a folder answers a small HTML listing.
 * - `PUT` of a file into a writable share, only on a node without a secret, with a
 *   `Content-Length`; it never replaces an existing file (409). 201 on success.
 * - Every answer says `Connection: close` and the connection closes after it.
 * - Refusals: 400 malformed request or range, 403 a confinement rule (named in the body), a
 *   writable share over `GET`, or a node with a secret without `allowInsecurePeers`; 404; 405
 *   another method; 408 the request head took longer than `readTimeout` (slowloris); 411 `PUT`
 *   without a length; 413 over the share's `maxFileBytes`; 416 a range outside the file;
 *   431 a request head over {@linkcode MAX_HEAD_BYTES}; 500 a file-system failure.
 *
 * @module
 */
import { open } from "node:fs/promises";
import type { Clock } from "../clock.ts";
import { FileError } from "../errors.ts";
import type { StreamConnection } from "../net.ts";
import { runWithCurrentPeer } from "../rpc/context.ts";
import { readRange, sha256 } from "./io.ts";
import { etagOf } from "./protocol.ts";
import type { FileServer, ReadableFile } from "./server.ts";

/** Largest request head (request line and headers) accepted; more is answered with 431. */
export const MAX_HEAD_BYTES = 8192;

/** What the HTTP path needs from its node. */
export interface HttpContext {
  /** The node's shares; `undefined` when it shares nothing. */
  files: FileServer | undefined;
  /** The node has a secret. */
  secured: boolean;
  /** With a secret: plaintext peers are allowed, and so is plain HTTP `GET`. */
  allowInsecurePeers: boolean;
  /** Time source of the timeouts. */
  clock: Clock;
  /** The request head must arrive within this (ms), and so must every chunk of a `PUT` body. */
  readTimeout: number;
  /** Every write of the answer must finish within this (ms). */
  writeTimeout: number;
  /** The node's name, for the `Server` header. */
  name: string;
}

/** A parsed request head. */
export interface HttpRequest {
  /** `GET`, `HEAD`, ... */
  method: string;
  /** The path, percent-decoded, without the query. */
  path: string;
  /** Header values by lower-case name. */
  headers: Map<string, string>;
}

/** An answer that ends the request: a status and a text body. */
class HttpRefusal extends Error {
  readonly status: number;
  readonly extra: Record<string, string>;
  constructor(status: number, message: string, extra: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  206: "Partial Content",
  304: "Not Modified",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  411: "Length Required",
  413: "Content Too Large",
  416: "Range Not Satisfiable",
  422: "Unprocessable Content",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
};

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/**
 * Serves one HTTP request on a connection, then closes it. Never rejects.
 *
 * @param connection The accepted connection.
 * @param first The bytes read so far.
 * @param context The node's shares, policy and limits.
 *
 * @example
 * ```ts ignore
 * await serveHttp(connection, firstChunk, { files, secured: false, allowInsecurePeers: false, clock, readTimeout: 10_000, writeTimeout: 30_000, name: "Host" });
 * ```
 */
export async function serveHttp(connection: StreamConnection, first: Uint8Array, context: HttpContext): Promise<void> {
  const io = new Deadlined(connection, context);
  try {
    const { request, rest } = await readHead(io, first);
    await answer(io, request, rest, context);
  } catch (error) {
    if (!io.timedOut && !io.broken) await refuse(io, error).catch(() => {});
  } finally {
    io.dispose();
    await connection.closeWrite().catch(() => {});
    await connection.close().catch(() => {});
  }
}

/** Reads and writes with deadlines; a missed deadline closes the connection. */
class Deadlined {
  readonly connection: StreamConnection;
  readonly #context: HttpContext;
  timedOut = false;
  broken = false;
  #timer: unknown;

  constructor(connection: StreamConnection, context: HttpContext) {
    this.connection = connection;
    this.#context = context;
  }

  get readTimeout(): number {
    return this.#context.readTimeout;
  }

  /** Arms a deadline of `ms`; on expiry `onExpiry` runs (it answers, then the connection closes). */
  arm(ms: number, onExpiry: () => void): void {
    this.disarm();
    if (!Number.isFinite(ms)) return;
    this.#timer = this.#context.clock.setTimeout(() => {
      this.timedOut = true;
      onExpiry();
    }, Math.min(ms, 0x3fff_ffff));
  }

  disarm(): void {
    if (this.#timer !== undefined) this.#context.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async read(): Promise<Uint8Array | null> {
    try {
      return await this.connection.read();
    } catch (error) {
      this.broken = true;
      throw error;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.arm(this.#context.writeTimeout, () => void this.connection.close().catch(() => {}));
    try {
      await this.connection.write(bytes);
    } catch (error) {
      this.broken = true;
      throw error;
    } finally {
      this.disarm();
    }
  }

  dispose(): void {
    this.disarm();
  }
}

/** Reads the request head (within `readTimeout` and {@linkcode MAX_HEAD_BYTES}) and parses it. */
async function readHead(io: Deadlined, first: Uint8Array): Promise<{ request: HttpRequest; rest: Uint8Array }> {
  let buffer = first;
  io.arm(io.readTimeout, () => {
    void (async () => {
      await sendHead(io.connection, 408, { "Content-Type": "text/plain" }, "the request head took too long\n")
        .catch(() => {});
      await io.connection.close().catch(() => {});
    })();
  });
  try {
    for (;;) {
      const end = headEnd(buffer);
      if (end >= 0) {
        if (end > MAX_HEAD_BYTES) throw new HttpRefusal(431, `the request head is over ${MAX_HEAD_BYTES} bytes`);
        return { request: parseHead(latin1.decode(buffer.subarray(0, end))), rest: buffer.subarray(end) };
      }
      if (buffer.length > MAX_HEAD_BYTES) {
        throw new HttpRefusal(431, `the request head is over ${MAX_HEAD_BYTES} bytes`);
      }
      const chunk = await io.read();
      if (chunk === null) throw new HttpRefusal(400, "the connection ended inside the request head");
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
    }
  } finally {
    io.disarm();
  }
}

/** Index just past the blank line ending the head, or -1. */
function headEnd(buffer: Uint8Array): number {
  for (let i = 0; i + 1 < buffer.length; i++) {
    if (buffer[i] !== 0x0a) continue;
    if (buffer[i + 1] === 0x0a) return i + 2;
    if (buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/**
 * Parses a request head (request line and header lines).
 *
 * @param text The head, up to and including the blank line.
 * @returns The request.
 * @throws {HttpRefusal} 400 for anything malformed.
 */
export function parseHead(text: string): HttpRequest {
  const lines = text.split(/\r?\n/);
  const match = /^([A-Z]{1,16}) (\S+) HTTP\/1\.[01]$/.exec(lines[0]);
  if (!match) throw new HttpRefusal(400, "the request line is not 'METHOD /path HTTP/1.1'");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) throw new HttpRefusal(400, "a header line is malformed");
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (headers.has(name) && (name === "content-length" || name === "range" || name === "host")) {
      throw new HttpRefusal(400, `the header ${name} is given twice`);
    }
    headers.set(name, value);
  }
  let target = match[2];
  const absolute = /^https?:\/\/[^/]*(\/.*)?$/i.exec(target);
  if (absolute) target = absolute[1] ?? "/";
  target = target.replace(/[?#].*$/, "");
  let path: string;
  try {
    path = decodeURIComponent(target);
  } catch {
    throw new HttpRefusal(400, "the path is not valid percent-encoded UTF-8");
  }
  return { method: match[1], path, headers };
}

async function answer(io: Deadlined, request: HttpRequest, rest: Uint8Array, context: HttpContext): Promise<void> {
  if (context.secured && !context.allowInsecurePeers) {
    throw new HttpRefusal(
      403,
      `'${context.name}' has a secret: its files are only served sealed, to peers with the secret (plain HTTP needs allowInsecurePeers)`,
    );
  }
  const files = context.files;
  const writable = files?.table.shares.some((s) => s.writable) ?? false;
  const allow = writable && !context.secured ? "GET, HEAD, PUT" : "GET, HEAD";
  if (request.method === "PUT" && allow.includes("PUT")) return await put(io, request, rest, context, files!);
  if (request.method !== "GET" && request.method !== "HEAD") {
    throw new HttpRefusal(405, `${request.method} is not served here (${allow})`, { Allow: allow });
  }
  if (!files) throw new HttpRefusal(404, `'${context.name}' shares no files`);
  let file: ReadableFile;
  try {
    file = await files.readable(request.path);
  } catch (error) {
    if (error instanceof FileError && error.code === "FILE_NOT_FOUND" && /is a folder/.test(error.message)) {
      return await listing(io, request, files);
    }
    throw error;
  }
  if (file.share.writable) {
    throw new HttpRefusal(403, `'${file.shown}' is in a writable share; plain HTTP serves read-only shares only`);
  }
  await sendFile(io, request, file);
}

async function sendFile(io: Deadlined, request: HttpRequest, file: ReadableFile): Promise<void> {
  const size = file.stats.size;
  const etag = etagOf(file.stats);
  const common: Record<string, string> = {
    "Accept-Ranges": "bytes",
    ETag: etag,
    "Last-Modified": new Date(file.stats.mtimeMs).toUTCString(),
    "Content-Type": "application/octet-stream",
  };
  const noneMatch = request.headers.get("if-none-match");
  if (noneMatch !== undefined && (noneMatch === "*" || noneMatch.split(/\s*,\s*/).includes(etag))) {
    await sendHead(io.connection, 304, common);
    return;
  }
  const ifRange = request.headers.get("if-range");
  const rangeHeader = ifRange === undefined || ifRange === etag ? request.headers.get("range") : undefined;
  const range = rangeHeader === undefined ? undefined : parseRange(rangeHeader, size);
  const [start, end] = range ?? [0, size];
  const status = range ? 206 : 200;
  const headers: Record<string, string> = { ...common, "Content-Length": String(end - start) };
  if (range) headers["Content-Range"] = `bytes ${start}-${end - 1}/${size}`;
  if (request.method === "HEAD") {
    await sendHead(io.connection, status, headers, undefined, io);
    return;
  }
  const handle = await open(file.real, "r").catch((cause) => {
    throw new FileError("FILE_IO", `'${file.shown}' cannot be opened`, { cause });
  });
  try {
    await sendHead(io.connection, status, headers, undefined, io);
    for await (const chunk of readRange(handle, start, end, undefined, file.shown)) await io.write(chunk);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * Parses a `Range` header for a file of `size` bytes (one range; several are refused).
 *
 * @param header E.g. `bytes=0-99`, `bytes=100-`, `bytes=-50`.
 * @param size The file's size.
 * @returns `[start, end)`.
 * @throws {HttpRefusal} 400 when malformed, 416 when outside the file.
 */
export function parseRange(header: string, size: number): [number, number] {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) {
    throw new HttpRefusal(400, `the range '${header.slice(0, 100)}' is not 'bytes=START-END' (one range)`);
  }
  const unsatisfiable = () =>
    new HttpRefusal(416, `the range '${header.slice(0, 100)}' is outside the file's ${size} bytes`, {
      "Content-Range": `bytes */${size}`,
    });
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return [Math.max(0, size - suffix), size];
  }
  const start = Number(match[1]);
  const last = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) throw unsatisfiable();
  if (last < start) throw new HttpRefusal(400, `the range '${header.slice(0, 100)}' ends before it starts`);
  return [start, last + 1];
}

async function listing(io: Deadlined, request: HttpRequest, files: FileServer): Promise<void> {
  const base = request.path.endsWith("/") ? request.path : `${request.path}/`;
  const items: string[] = [];
  for await (const entry of await files.list(request.path)) {
    const name = entry.type === "dir" ? `${entry.name}/` : entry.name;
    const href = encodeURI(base + name).replace(/#/g, "%23").replace(/\?/g, "%3F");
    items.push(
      `<li><a href="${escapeHtml(href)}">${escapeHtml(name)}</a>${entry.type === "file" ? ` ${entry.size}` : ""}</li>`,
    );
  }
  const html = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(base)}</title><h1>${
    escapeHtml(base)
  }</h1><ul>${items.join("")}</ul>\n`;
  const body = encoder.encode(html);
  await sendHead(
    io.connection,
    200,
    {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Length": String(body.length),
    },
    undefined,
    io,
  );
  if (request.method !== "HEAD") await io.write(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function put(
  io: Deadlined,
  request: HttpRequest,
  rest: Uint8Array,
  context: HttpContext,
  files: FileServer,
): Promise<void> {
  if (request.headers.has("transfer-encoding")) {
    throw new HttpRefusal(411, "PUT needs a Content-Length (chunked bodies are not taken)");
  }
  const lengthText = request.headers.get("content-length");
  if (lengthText === undefined) throw new HttpRefusal(411, "PUT needs a Content-Length");
  if (!/^\d{1,16}$/.test(lengthText)) throw new HttpRefusal(400, "the Content-Length is not a number");
  const size = Number(lengthText);
  const caller = {
    name: `http ${io.connection.remoteAddress.address}`,
    address: io.connection.remoteAddress.address,
    port: io.connection.remoteAddress.port,
    transport: "tcp" as const,
  };
  if (/100-continue/i.test(request.headers.get("expect") ?? "") && rest.length === 0) {
    await io.write(encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  const body = bodyOf(io, rest, size, context.readTimeout);
  const data = new ReadableStream<unknown>({
    pull: async (controller) => {
      const next = await body.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: async () => void (await body.return(undefined)),
  }, { highWaterMark: 0 });
  const stored = await runWithCurrentPeer(caller, () => files.put(request.path, { size, offset: 0 }, data));
  const text = encoder.encode(JSON.stringify({ bytes: stored.bytes, sha256: stored.sha256 }) + "\n");
  await sendHead(
    io.connection,
    201,
    {
      "Content-Type": "application/json",
      "Content-Length": String(text.length),
    },
    undefined,
    io,
  );
  await io.write(text);
}

/** A PUT body as a data stream: `size` bytes (each read within `readTimeout`), then their hash as the trailer. */
async function* bodyOf(io: Deadlined, rest: Uint8Array, size: number, readTimeout: number): AsyncGenerator<unknown> {
  const hash = sha256();
  let received = 0;
  let chunk: Uint8Array = rest;
  for (;;) {
    const take = chunk.subarray(0, size - received);
    if (take.length > 0) {
      hash.update(take);
      received += take.length;
      yield take;
    }
    if (received >= size) break;
    io.arm(readTimeout, () => void io.connection.close().catch(() => {}));
    const next = await io.read().finally(() => io.disarm());
    if (next === null) throw new HttpRefusal(400, `the body ended after ${received} of ${size} bytes`);
    chunk = next;
  }
  yield { sha256: hash.digest("hex") };
}

/** Answers an error: a FileError's status, a refusal's status, else 500. */
async function refuse(io: Deadlined, error: unknown): Promise<void> {
  const status = error instanceof HttpRefusal ? error.status : error instanceof FileError ? error.status : 500;
  const extra = error instanceof HttpRefusal ? error.extra : {};
  const message = error instanceof Error ? error.message : String(error);
  await sendHead(io.connection, status, { "Content-Type": "text/plain; charset=utf-8", ...extra }, `${message}\n`, io);
}

/** Writes a status line, headers (plus `Connection: close`) and an optional small text body. */
async function sendHead(
  connection: StreamConnection,
  status: number,
  headers: Record<string, string>,
  text?: string,
  io?: Deadlined,
): Promise<void> {
  const body = text === undefined ? undefined : encoder.encode(text);
  const all: Record<string, string> = { ...headers, Connection: "close" };
  if (body) all["Content-Length"] = String(body.length);
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\n`;
  for (const [name, value] of Object.entries(all)) head += `${name}: ${value}\r\n`;
  const bytes = encoder.encode(head + "\r\n");
  const whole = body ? concat(bytes, body) : bytes;
  if (io) await io.write(whole);
  else await connection.write(whole);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
