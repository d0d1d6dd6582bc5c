/**
 * Duplex byte streams, shaped like WebTransport's and WebSocketStream's: a `readable` and a
 * `writable`, the peer's name, a `closed` promise and `close()`. Built on two stream values:
 * `openStream(peer, name)` calls the peer's stream handler with a stream of what the caller
 * writes, and the handler's answer is the stream of what it writes back, so duplex streams
 * get the flow control, multiplexing, sealing and failure handling of every stream.
 *
 * @module
 */
import { type CallerInfo, currentPeer } from "../rpc/context.ts";

/** A duplex byte stream between two nodes. */
export interface DuplexStream {
  /** What the other side writes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** What this side sends; close it to end this direction. */
  readonly writable: WritableStream<Uint8Array>;
  /** The other node's name. */
  readonly peer: string;
  /**
   * Resolves once both directions have ended: this side closed its writable and all of it was
   * taken for sending (or the other side cancelled it), and the other side's end arrived after
   * everything this side read (or this side cancelled its readable); this side need not read
   * for it when the other side sends nothing. Rejects when either direction failed: at once when
   * the connection broke, the peer left or the node stopped; when the other side aborted, once
   * what it sent before is read (at once when nothing is waiting).
   */
  readonly closed: Promise<void>;
  /**
   * Ends both directions: this side's writable closes (what was written before is still
   * delivered, unless a writer still holds the writable: then it is cut off) and what the other
   * side sends is no longer read. Resolves once both have ended.
   */
  close(): Promise<void>;
}

/** A readable that tells when it ended, and can be ended from outside. */
interface Tracked<T> {
  readable: ReadableStream<T>;
  done: Promise<void>;
  end(reason?: unknown): void;
  fail(error: unknown): void;
}

/**
 * Wraps `source` so its end (or failure) is known, and so it can be ended by this side. `done`
 * settles as soon as the source closes (everything read) or errors, whether or not the wrapper
 * is being read.
 */
function track<T>(source: ReadableStream<T>): Tracked<T> {
  const reader = source.getReader();
  let settle!: (error?: unknown) => void;
  let settled = false;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => {
      if (settled) return;
      settled = true;
      if (error === undefined) resolve();
      else reject(error);
    };
  });
  done.catch(() => {});
  let controller!: ReadableStreamDefaultController<T>;
  let finished = false;
  /** The wrapper is over: settles `done` and ends the wrapper the same way (once). */
  const finish = (error?: unknown) => {
    if (finished) return;
    finished = true;
    settle(error);
    try {
      if (error === undefined) controller.close();
      else controller.error(error);
    } catch {
      // already closed or cancelled
    }
  };
  const readable = new ReadableStream<T>({
    start: (c) => void (controller = c),
    async pull(c) {
      try {
        const next = await reader.read();
        if (finished) return; // ended by this side meanwhile
        if (next.done) finish();
        else c.enqueue(next.value);
      } catch (error) {
        finish(error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  // Only `done`: the wrapper itself ends through its reads, so a chunk read just before the
  // source closed is still delivered.
  reader.closed.then(() => settle(), (error) => settle(error));
  return {
    readable,
    done,
    end(reason) {
      if (finished) return;
      finish();
      reader.cancel(reason).catch(() => {});
    },
    fail(error) {
      if (finished) return;
      finish(error);
      reader.cancel(error).catch(() => {});
    },
  };
}

/** The two halves of a duplex stream before it is handed out. */
export interface DuplexParts {
  /** The stream to send as the call's argument (or the handler's result). */
  outgoing: ReadableStream<Uint8Array>;
  /** Builds the duplex stream once the other side's stream is known. */
  connect(incoming: ReadableStream<Uint8Array>, peer: string): DuplexStream;
  /** Fails this side's direction: the other side's readable errors with `error`. */
  abort(error: unknown): void;
}

/**
 * Starts a duplex stream: what this side writes becomes `outgoing`; `connect` pairs it with
 * what the other side sends.
 *
 * @returns The parts.
 *
 * @example
 * ```ts
 * import { duplexParts } from "./duplex.ts";
 * const parts = duplexParts();
 * const echo = parts.connect(parts.outgoing, "Self"); // a loop: what is written is read back
 * const writer = echo.writable.getWriter();
 * await writer.write(new Uint8Array([1]));
 * console.log((await echo.readable.getReader().read()).value); // Uint8Array [1]
 * ```
 */
export function duplexParts(): DuplexParts {
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const out = track(pipe.readable);
  return {
    outgoing: out.readable,
    abort: (error) => out.fail(error),
    connect(incoming, peer) {
      const input = track(incoming);
      const closed = Promise.all([input.done, out.done]).then(() => undefined);
      closed.catch(() => {});
      return {
        readable: input.readable,
        writable: pipe.writable,
        peer,
        closed,
        async close() {
          // Unlocked, the writable closes after what was written; a held writer is cut off.
          if (pipe.writable.locked) out.end();
          else await pipe.writable.close().catch(() => out.end());
          input.end();
          await closed.catch(() => undefined);
        },
      };
    },
  };
}

/** A stream handler: runs for one duplex stream; the stream closes when it settles. */
export type StreamHandler = (stream: DuplexStream, caller: CallerInfo) => unknown;

/**
 * The call handler behind `registerStream(name, handler)`: it takes the caller's stream as its
 * argument, answers at once with the stream of what `handler` writes, and runs `handler` until
 * it settles: then the stream closes (or, when it threw, the caller's readable errors with a
 * `RemoteError` carrying the error).
 *
 * @param name The stream handler's name (for errors).
 * @param handler The handler.
 * @returns A call handler.
 *
 * @example
 * ```ts ignore
 * registry.register("shell", streamHandler("shell", async (stream) => {
 *   await stream.readable.pipeTo(stream.writable); // an echo
 * }));
 * ```
 */
export function streamHandler(name: string, handler: StreamHandler): (input: unknown) => ReadableStream<Uint8Array> {
  return (input) => {
    if (!(input instanceof ReadableStream)) {
      throw new TypeError(`'${name}' is a stream handler: open it with openStream(peer, "${name}"), not call()`);
    }
    const caller = currentPeer() ??
      { name: "?", address: "", port: 0, transport: "tcp", authenticated: false, signal: new AbortController().signal };
    const parts = duplexParts();
    const stream = parts.connect(input as ReadableStream<Uint8Array>, caller.name);
    // Started here, so the handler keeps the caller's context (currentPeer()).
    (async () => await handler(stream, caller))().then(
      () => stream.close(),
      (error) => {
        parts.abort(error);
        return stream.close();
      },
    );
    return parts.outgoing;
  };
}
