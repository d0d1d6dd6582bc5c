/**
 * The serving side shared by UDP and TCP: at-most-once execution through the reply cache,
 * dispatch, and rendering of the reply for the transport it goes back on.
 *
 * UDP: the reply is remembered for `replyCacheTtl`, and a duplicate request gets it again (or
 * nothing while the handler still runs: the reply goes out when it is ready). Each request
 * comes with the largest reply it may get: a datagram (minus the envelope, when sealed) for an
 * authenticated caller, else at most `maxUdpAmplification` times the request, so a spoofed
 * request cannot reflect a large datagram at a victim. A reply over that size is kept too,
 * and the caller is told instead: a PeerLink-TS caller (request with `"plx"`) receives
 * `{"type":"error",...,"retry":"tcp"}` and sends the same request (same id) over TCP, which
 * is answered from the cache without running the handler again; a Python caller receives a
 * `PayloadTooLarge` error that says to use TCP. When even that notice would be too large, the
 * request is dropped (counted).
 *
 * TCP: a request whose id is remembered (the TCP fetch above, or a duplicate still running)
 * is answered from the cache; otherwise the handler runs and nothing is remembered afterwards,
 * because TCP delivers the reply reliably.
 *
 * @module
 */
import { PayloadTooLarge, PeerLinkError } from "../errors.ts";
import { cancelSources } from "../streams/outgoing.ts";
import type { Logger } from "../log.ts";
import { OutgoingMessage } from "../wire/codec.ts";
import type { RequestMessage } from "../wire/messages.ts";
import type { RequestSource } from "./context.ts";
import type { Dispatcher } from "./dispatch.ts";
import type { RpcLimits } from "./limits.ts";
import { type CachedCall, type ReplyCache, replyCacheKey } from "./reply_cache.ts";
import type { NodeStats } from "../stats.ts";

/**
 * Reply cache key of a request. Sealed and plaintext requests never share an entry, so a
 * plaintext request (allowed with `allowInsecurePeers`) can never fetch a sealed call's reply.
 */
function cacheKey(request: RequestMessage, caller: RequestSource): string {
  return replyCacheKey(caller.authenticated ? `\u0001${request.src}` : request.src, request.id);
}

/** A reply to a TCP request, ready to write. */
export interface ReplyFrame {
  /** The frame (`writeFrame` parts). */
  parts: Uint8Array[];
  /** Streams of the result: their frames follow the reply on the same connection. */
  streams: OutgoingMessage["streams"];
  /** Whether the reply is an error (the request's own streams are then of no more use). */
  failed: boolean;
}

function isError(reply: OutgoingMessage): boolean {
  return reply.message.type === "error";
}

/** Remote error type telling a caller that its reply did not fit a datagram. */
export const REPLY_TOO_LARGE = "PayloadTooLarge";

/** Remote error type of a second fetch of a reply whose streams were sent already. */
export const STREAMS_TAKEN = "StreamsAlreadyFetched";

/** Counters of a {@linkcode RequestProcessor}. */
export type ServeStats = NodeStats["serve"];

/**
 * Serves validated requests.
 *
 * @example
 * ```ts ignore
 * const processor = new RequestProcessor({ dispatcher, cache, limits });
 * const datagram = await processor.serveDatagram(request, caller); // bytes to send back, or undefined
 * ```
 */
export class RequestProcessor {
  readonly #dispatcher: Dispatcher;
  readonly #cache: ReplyCache;
  readonly #limits: RpcLimits;
  readonly #logger?: Logger;
  readonly #stats: ServeStats = {
    duplicates: 0,
    repliesTooLargeForUdp: 0,
    amplificationLimited: 0,
    amplificationDropped: 0,
    fetchedOverTcp: 0,
    repliesTooLargeForTcp: 0,
  };
  /**
   * Replies whose streams were handed out (to one TCP fetch) or cancelled: a stream's source
   * can be read once, so a second fetch of such a reply gets an error instead.
   */
  readonly #streamsTaken = new WeakSet<OutgoingMessage>();

  /**
   * Creates a {@linkcode RequestProcessor}.
   *
   * @param options Dispatcher, reply cache, limits and logger.
   */
  constructor(options: { dispatcher: Dispatcher; cache: ReplyCache; limits: RpcLimits; logger?: Logger }) {
    this.#dispatcher = options.dispatcher;
    this.#cache = options.cache;
    this.#limits = options.limits;
    this.#logger = options.logger;
  }

  /**
   * A snapshot of the counters.
   *
   * @returns Counters.
   */
  stats(): ServeStats {
    return { ...this.#stats };
  }

  /**
   * Serves a request that arrived in a datagram.
   *
   * @param request The request.
   * @param caller Who sent it.
   * @param maxReply Largest reply datagram this request may get (see the module notes);
   *   default `maxDatagramBytes`.
   * @returns The datagram to send back, or `undefined` to stay silent (duplicate of a call
   *   still running, or no reply small enough); at once when the handler answered
   *   synchronously, else a promise of it. Failures reject (never throw).
   */
  serveDatagram(
    request: RequestMessage,
    caller: RequestSource,
    maxReply: number = this.#limits.maxDatagramBytes,
  ): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    try {
      const key = cacheKey(request, caller);
      const known = this.#cache.get(key);
      if (known) {
        this.#stats.duplicates++;
        return known.state === "done" ? this.#datagramFor(known, request, maxReply) : undefined;
      }
      const entry = this.#cache.begin(key);
      const reply = this.#dispatcher.dispatch(request, caller);
      if (reply instanceof Promise) return reply.then((done) => this.#completeDatagram(entry, done, request, maxReply));
      return this.#completeDatagram(entry, reply, request, maxReply);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Remembers a datagram request's reply, and gives what to send back. */
  #completeDatagram(
    entry: CachedCall,
    reply: OutgoingMessage,
    request: RequestMessage,
    maxReply: number,
  ): Uint8Array | undefined {
    const max = this.#limits.maxDatagramBytes;
    let datagram: Uint8Array | undefined;
    let bytes: number;
    if (reply.streams.length === 0 && reply.minDatagramBytes <= max) {
      // A reply with streams is fetched over TCP, where its stream frames follow it.
      datagram = reply.datagram();
      bytes = datagram.length;
      if (datagram.length > max) datagram = undefined;
    } else {
      bytes = reply.minDatagramBytes + 1024;
    }
    this.#cache.complete(entry, reply, true, datagram, bytes);
    return this.#datagramFor(entry, request, maxReply);
  }

  /** The reply datagram when it fits `maxReply`, else a "fetch it over TCP" notice when that fits. */
  #datagramFor(entry: CachedCall, request: RequestMessage, maxReply: number): Uint8Array | undefined {
    const datagram = entry.datagram;
    if (datagram && datagram.length <= maxReply) return datagram;
    const max = this.#limits.maxDatagramBytes;
    let hint: OutgoingMessage;
    if (datagram) {
      this.#stats.amplificationLimited++;
      hint = request.plx !== undefined
        ? OutgoingMessage.error(request.id, {
          type: REPLY_TOO_LARGE,
          message: `reply of ${datagram.length} bytes > ${maxReply} for this request; fetch it over TCP`,
        }, "tcp")
        : OutgoingMessage.error(request.id, {
          type: REPLY_TOO_LARGE,
          message:
            `the reply to '${request.rpc}' (${datagram.length} bytes) is too large for UDP to an unauthenticated caller. Call it over TCP (transport="tcp").`,
        });
    } else {
      this.#stats.repliesTooLargeForUdp++;
      const size = Math.max(entry.reply?.minDatagramBytes ?? 0, max + 1);
      hint = request.plx !== undefined
        ? OutgoingMessage.error(request.id, {
          type: REPLY_TOO_LARGE,
          message:
            `the reply is too large for UDP (at least ${size} bytes > ${max}); fetch it over TCP with the same id`,
        }, "tcp")
        : OutgoingMessage.error(request.id, {
          type: REPLY_TOO_LARGE,
          message:
            `the reply to '${request.rpc}' is too large for a UDP datagram (at least ${size} bytes > MAX_SAFE_UDP_PAYLOAD (${max})). Call it over TCP (transport="tcp").`,
        });
    }
    const notice = hint.datagram();
    if (notice.length <= maxReply) return notice;
    this.#stats.amplificationDropped++;
    return undefined;
  }

  /**
   * A remembered reply leaves the reply cache: streams of its result that were never fetched
   * are cancelled (their sources would otherwise never learn that nobody reads them).
   *
   * @param reply The forgotten reply.
   */
  forget(reply: OutgoingMessage): void {
    if (reply.streams.length === 0 || this.#streamsTaken.has(reply)) return;
    this.#streamsTaken.add(reply);
    cancelSources(
      reply.streams,
      new PeerLinkError("the reply carrying this stream was never fetched over TCP; it is cancelled", "OTHER"),
    );
  }

  /**
   * Serves a request that arrived in a TCP frame.
   *
   * @param request The request.
   * @param caller Who sent it.
   * @returns The reply frame (`writeFrame` parts) and the streams to send after it; at once
   *   when the reply is ready (a synchronous handler, or one remembered), else a promise of it.
   *   Failures reject (never throw).
   */
  serveFrame(request: RequestMessage, caller: RequestSource): ReplyFrame | Promise<ReplyFrame> {
    try {
      const key = cacheKey(request, caller);
      const known = this.#cache.get(key);
      if (known) {
        this.#stats.fetchedOverTcp++;
        if (known.state === "done" && known.reply) return this.#frameOf(known.reply, request, caller);
        return this.#cache.wait(known).then((reply) => this.#frameOf(reply, request, caller));
      }
      const entry = this.#cache.begin(key);
      const reply = this.#dispatcher.dispatch(request, caller);
      if (reply instanceof Promise) {
        return reply.then((done) => {
          this.#cache.complete(entry, done, false);
          return this.#frameOf(done, request, caller);
        });
      }
      this.#cache.complete(entry, reply, false);
      return this.#frameOf(reply, request, caller);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The frame of a TCP reply, or of an error saying it is too large or its streams were taken. */
  #frameOf(reply: OutgoingMessage, request: RequestMessage, caller: RequestSource): ReplyFrame {
    if (reply.streams.length > 0) {
      if (this.#streamsTaken.has(reply)) {
        const message =
          `the reply to '${request.rpc}' carries streams, which were already fetched (a stream is sent once); call '${request.rpc}' again for new ones`;
        return this.#errorFrame(request, STREAMS_TAKEN, message);
      }
      this.#streamsTaken.add(reply);
    }
    const binary = request.plx !== undefined;
    try {
      return { parts: reply.frame(binary, this.#limits.maxFrameBytes), streams: reply.streams, failed: isError(reply) };
    } catch (error) {
      if (!(error instanceof PayloadTooLarge)) throw error;
      this.#stats.repliesTooLargeForTcp++;
      const message = `the reply to '${request.rpc}' is too large: ${error.message}`;
      this.#logger?.warn(`${message} (caller ${caller.name})`);
      cancelSources(reply.streams, new PeerLinkError(message, "PAYLOAD_TOO_LARGE"));
      return this.#errorFrame(request, REPLY_TOO_LARGE, message);
    }
  }

  /** An error reply frame (plain JSON). */
  #errorFrame(request: RequestMessage, type: string, message: string): ReplyFrame {
    const parts = OutgoingMessage.error(request.id, { type, message }).frame(false, this.#limits.maxFrameBytes);
    return { parts, streams: [], failed: true };
  }
}
