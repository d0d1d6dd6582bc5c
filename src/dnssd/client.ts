/**
 * A unicast DNS client on the {@linkcode SocketRuntime} interface: queries and TSIG-signed
 * UPDATEs to one server (a DNS server on port 53, or a seed's mDNS responder on port 5353).
 *
 * - UDP first, from one socket per client on an OS-chosen port (to port 5353 that makes it a
 *   "legacy" one-shot query, RFC 6762 section 6.7, which responders answer by unicast); resent
 *   after `retryMs` without a valid reply; given up after `timeoutMs`.
 * - A reply with the TC bit is asked again over TCP (2-byte length prefix, RFC 1035 4.2.2).
 * - Ids are random (`crypto.getRandomValues`). A datagram counts as the reply only when it
 *   comes from the server's address and port, is a response with the id, opcode and question
 *   of a pending request, is at most {@linkcode MAX_UDP_REPLY} bytes, decodes within bounds,
 *   and, for a signed request, carries the server's valid TSIG over our request's MAC.
 *   Anything else is dropped and counted by reason in {@linkcode DnsClient.stats}; a
 *   request keeps waiting for its real reply.
 * - An unsigned error reply to a signed request (what servers send for a bad key: NOTAUTH
 *   with TSIG BADSIG or BADKEY) cannot be trusted, so it is dropped too (RFC 8945 5.3.2);
 *   when no valid reply comes, the failure names what it said.
 *
 * @module
 */
import { type Clock, epochMs, systemClock, type TimerId } from "../clock.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Datagram, DatagramSocket, SocketRuntime, StreamConnection } from "../net.ts";
import { nameKey } from "../mdns/names.ts";
import { type Endpoint, endpointText } from "./endpoint.ts";
import { WideAreaError } from "./errors.ts";
import { decodeReply, type DnsReply } from "./message.ts";
import { signMessage, type TsigRecord, type TsigSecret, verifyMessage } from "./tsig.ts";
import { ednsOpt, encodeDnsMessage, OPCODE_QUERY, OPCODE_UPDATE, rcodeName, readHeader, typeName } from "./wire.ts";
import { encodeUpdate } from "./update.ts";
import type { WireRecord } from "./wire.ts";

/** Largest UDP reply accepted: above our EDNS size (1232) and an mDNS packet (1440), far below what a broken or hostile sender might try. */
export const MAX_UDP_REPLY = 4096;
/** Default time one exchange may take, ms. */
export const DNS_TIMEOUT_MS = 3000;
/** Default delay before a UDP request is sent again, ms. */
export const DNS_RETRY_MS = 1000;

/** Options of {@linkcode DnsClient}. */
export interface DnsClientOptions {
  /** Sockets. */
  runtime: SocketRuntime;
  /** The server. */
  server: Endpoint;
  /** Time source (default: the system clock). */
  clock?: Clock;
  /** Diagnostics. */
  logger?: Logger;
  /** Time one exchange may take, ms (default {@linkcode DNS_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Resend a UDP request after this many ms (default {@linkcode DNS_RETRY_MS}). */
  retryMs?: number;
  /** Seconds since the Unix epoch, for TSIG (default: from the clock, see `epochMs`). */
  epochSeconds?: () => number;
}

/** Counters of a {@linkcode DnsClient}. */
export interface DnsClientStats {
  /** Requests sent (UDP datagrams and TCP requests, resends included). */
  sent: number;
  /** Valid replies. */
  replies: number;
  /** Exchanges that went over TCP after a truncated UDP reply. */
  tcp: number;
  /** Exchanges that got no valid reply in time. */
  timeouts: number;
  /** Datagrams or TCP replies dropped, by reason (`"wrong id"`, `"unsigned"`, `"oversized"`...). */
  dropped: Record<string, number>;
}

/** The record types PeerLink asks for. */
export type QueryType = "A" | "AAAA" | "PTR" | "SRV" | "TXT" | "SOA";

/** A verified reply to a signed request. */
export interface SignedReply {
  /** The reply. */
  reply: DnsReply;
  /** The server's TSIG (its `error` is non-zero for BADTIME). */
  tsig: TsigRecord;
}

interface Exchange {
  readonly id: number;
  readonly opcode: number;
  /** Question name key and type name the reply must repeat. */
  readonly question: { key: string; type: string };
  readonly bytes: Uint8Array;
  readonly what: string;
  readonly key?: TsigSecret;
  readonly mac?: Uint8Array;
  readonly started: number;
  sends: number;
  overTcp: boolean;
  /** What the last dropped-but-answering reply said (for the failure message). */
  refused?: { rcode: number; tsigError?: number; reason: string };
  /** The TCP connection of the exchange, closed when it ends (a silent server cannot keep it). */
  conn?: StreamConnection;
  resolve(value: { reply: DnsReply; tsig?: TsigRecord }): void;
  reject(error: unknown): void;
  timers: TimerId[];
}

/** The address without IPv6 scope or IPv4-mapped prefix, lower case: what "same server" compares. */
function bareAddress(address: string): string {
  const plain = address.split("%")[0].toLowerCase();
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(plain) ? plain.slice(7) : plain;
}

/**
 * A DNS client for one server. See the module documentation.
 *
 * @example
 * ```ts
 * import { DnsClient } from "./client.ts";
 * import { autoRuntime } from "@peerlink/peerlink/runtimes";
 *
 * const client = new DnsClient({ runtime: autoRuntime(), server: { address: "10.0.0.53", port: 53 } });
 * const reply = await client.query("_peerlink._tcp.lab.example", "PTR");
 * console.log(reply.answers.map((r) => r.data));
 * await client.close();
 * ```
 */
export class DnsClient {
  readonly #o: DnsClientOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #server: Endpoint;
  readonly #serverKey: string;
  readonly #pending = new Map<number, Exchange>();
  readonly #epoch: () => number;
  #socket: Promise<DatagramSocket> | undefined;
  #closed = false;
  /** Counters; see {@linkcode DnsClientStats}. */
  readonly stats: DnsClientStats = { sent: 0, replies: 0, tcp: 0, timeouts: 0, dropped: {} };

  /**
   * @param options Runtime, server and optional clock, logger, timeouts.
   */
  constructor(options: DnsClientOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? createLogger("peerlink dns");
    this.#server = options.server;
    this.#serverKey = bareAddress(options.server.address);
    this.#epoch = options.epochSeconds ?? (() => Math.floor(epochMs(this.#clock) / 1000));
  }

  /** The server, `address:port`. */
  get server(): string {
    return endpointText(this.#server);
  }

  /**
   * Asks one question (RD set, EDNS with a 1232-byte UDP size).
   *
   * @param name The name.
   * @param type The type.
   * @returns The reply, whatever its rcode (NXDOMAIN is an answer too).
   * @throws WideAreaError (`DNS_NO_ANSWER`) when no valid reply comes in time.
   */
  async query(name: string, type: QueryType): Promise<DnsReply> {
    const id = this.#newId();
    const code = type === "SOA" ? 6 : { A: 1, AAAA: 28, PTR: 12, SRV: 33, TXT: 16 }[type];
    const bytes = encodeDnsMessage({
      id,
      recursionDesired: true,
      questions: [{ name, type: code }],
      additionals: [ednsOpt()],
    });
    const { reply } = await this.#exchange({
      id,
      opcode: OPCODE_QUERY,
      question: { key: nameKey(name), type: typeName(code) },
      bytes,
      what: `${type} query for ${name}`,
    });
    return reply;
  }

  /**
   * Sends a TSIG-signed UPDATE and waits for the server's signed reply.
   *
   * @param zone The zone apex.
   * @param prerequisites Prerequisite records.
   * @param updates Update records.
   * @param key The TSIG key.
   * @returns The verified reply and its TSIG; the caller reads the rcode.
   * @throws WideAreaError: `DNS_NO_ANSWER` without a valid reply; `DNS_REFUSED` when only an
   *   unsigned refusal came (a wrong key).
   */
  async update(
    zone: string,
    prerequisites: readonly WireRecord[],
    updates: readonly WireRecord[],
    key: TsigSecret,
  ): Promise<SignedReply> {
    const id = this.#newId();
    const signed = signMessage(encodeUpdate(id, zone, prerequisites, updates), key, { now: this.#epoch() });
    const { reply, tsig } = await this.#exchange({
      id,
      opcode: OPCODE_UPDATE,
      question: { key: nameKey(zone), type: "TYPE6" },
      bytes: signed.bytes,
      what: `UPDATE of zone ${zone}.`,
      key,
      mac: signed.mac,
    });
    return { reply, tsig: tsig! };
  }

  /** Rejects pending exchanges and closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const ex of [...this.#pending.values()]) {
      this.#finish(ex);
      ex.reject(new WideAreaError("DNS_NO_ANSWER", `DNS client for ${this.server} closed during the ${ex.what}.`));
    }
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await socket.then((s) => s.close(), () => {});
  }

  #newId(): number {
    const buf = new Uint16Array(1);
    for (let i = 0; i < 64; i++) {
      crypto.getRandomValues(buf);
      if (!this.#pending.has(buf[0])) return buf[0];
    }
    return buf[0]; // 64 collisions in a row cannot happen with a few pending requests
  }

  #drop(reason: string, ex?: Exchange, refused?: Exchange["refused"]): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    this.#logger.debug(`dns: dropped a reply from ${this.server}${ex ? ` to the ${ex.what}` : ""}: ${reason}`);
    if (ex && refused) ex.refused = refused;
  }

  #exchange(
    request: Pick<Exchange, "id" | "opcode" | "question" | "bytes" | "what" | "key" | "mac">,
  ): Promise<{ reply: DnsReply; tsig?: TsigRecord }> {
    if (this.#closed) {
      return Promise.reject(new WideAreaError("DNS_NO_ANSWER", `DNS client for ${this.server} is closed.`));
    }
    return new Promise((resolve, reject) => {
      const ex: Exchange = {
        ...request,
        started: this.#clock.now(),
        sends: 0,
        overTcp: false,
        resolve,
        reject,
        timers: [],
      };
      this.#pending.set(ex.id, ex);
      const timeout = this.#o.timeoutMs ?? DNS_TIMEOUT_MS;
      ex.timers.push(this.#clock.setTimeout(() => this.#timedOut(ex, timeout), timeout));
      if (ex.bytes.length > 1232) {
        this.#tcp(ex);
      } else {
        void this.#sendUdp(ex);
      }
    });
  }

  #timedOut(ex: Exchange, timeout: number): void {
    if (this.#pending.get(ex.id) !== ex) return;
    this.#finish(ex);
    this.stats.timeouts++;
    const refused = ex.refused;
    if (refused) {
      const said = `${rcodeName(refused.rcode)}${
        refused.tsigError ? ` (TSIG error ${rcodeName(refused.tsigError)})` : ""
      }`;
      ex.reject(
        new WideAreaError(
          "DNS_REFUSED",
          `DNS server ${this.server} answered the ${ex.what} with ${said}, without a valid signature (${refused.reason}). ${
            keyAdvice(refused.tsigError, ex.key?.name)
          }`,
          { server: this.server, rcode: said },
        ),
      );
      return;
    }
    const dropped = Object.entries(this.stats.dropped).map(([k, v]) => `${v} ${k}`).join(", ");
    ex.reject(
      new WideAreaError(
        "DNS_NO_ANSWER",
        `no answer from DNS server ${this.server} to the ${ex.what} within ${timeout} ms (${ex.sends} request${
          ex.sends === 1 ? "" : "s"
        } sent${dropped ? `; replies dropped so far: ${dropped}` : ""}). ` +
          "Check that the server address is right and that it runs and is reachable on UDP and TCP.",
        { server: this.server },
      ),
    );
  }

  #finish(ex: Exchange): void {
    for (const t of ex.timers) this.#clock.clearTimeout(t);
    ex.timers = [];
    if (this.#pending.get(ex.id) === ex) this.#pending.delete(ex.id);
    ex.conn?.close().catch(() => {});
  }

  #udpSocket(): Promise<DatagramSocket> {
    if (!this.#socket) {
      const binding = this.#o.runtime.bindDatagram(
        { address: this.#server.address.includes(":") ? "::" : "0.0.0.0", port: 0 },
        (d) => this.#onDatagram(d),
      );
      this.#socket = binding;
      // A failed bind is tried again by the next send rather than remembered forever.
      binding.catch(() => {
        if (this.#socket === binding) this.#socket = undefined;
      });
    }
    return this.#socket;
  }

  async #sendUdp(ex: Exchange): Promise<void> {
    if (this.#pending.get(ex.id) !== ex || ex.overTcp) return;
    ex.sends++;
    this.stats.sent++;
    try {
      const socket = await this.#udpSocket();
      await socket.send(ex.bytes, this.#server.address, this.#server.port);
    } catch (err) {
      this.#logger.debug(`dns: sending the ${ex.what} to ${this.server} failed: ${String(err)}`);
    }
    if (this.#pending.get(ex.id) !== ex || ex.overTcp) return;
    const retry = this.#o.retryMs ?? DNS_RETRY_MS;
    ex.timers.push(this.#clock.setTimeout(() => void this.#sendUdp(ex), retry));
  }

  #onDatagram(d: Datagram): void {
    try {
      if (bareAddress(d.address) !== this.#serverKey || d.port !== this.#server.port) return this.#drop("wrong source");
      if (d.data.length > MAX_UDP_REPLY) return this.#drop("oversized");
      this.#accept(d.data, false);
    } catch (err) {
      this.#drop("handler error");
      this.#logger.error(`dns: handling a reply from ${this.server} failed: ${String(err)}`);
    }
  }

  /** Checks a reply (UDP or TCP) against the pending exchanges and settles the one it answers. */
  #accept(bytes: Uint8Array, viaTcp: boolean, expected?: Exchange): void {
    const header = readHeader(bytes);
    if (!header) return this.#drop("malformed: shorter than a DNS header");
    if (!header.response) return this.#drop("not a response");
    const ex = this.#pending.get(header.id);
    if (!ex || (expected && ex !== expected)) return this.#drop("wrong id");
    if (header.opcode !== ex.opcode) return this.#drop("wrong opcode", ex);
    const decoded = decodeReply(bytes);
    if (!decoded.ok) return this.#drop(`malformed: ${decoded.reason}`, ex);
    const reply = decoded.reply;
    const q = reply.questions;
    const sameQuestion = q.length === 1 && nameKey(q[0].name) === ex.question.key && q[0].type === ex.question.type;
    // An error reply may leave the question out (FORMERR, NOTIMP); id, source and TSIG still match.
    if (!sameQuestion && !(q.length === 0 && reply.rcode !== 0)) return this.#drop("wrong question", ex);
    let tsig: TsigRecord | undefined;
    if (ex.key) {
      const verdict = verifyMessage(bytes, ex.key, { now: this.#epoch(), requestMac: ex.mac });
      if (!verdict.ok) {
        if (verdict.internal) this.#logger.error(`dns: TSIG verifier failed: ${verdict.reason}`);
        const reason = verdict.reason.startsWith("unsigned") ? "unsigned" : `bad signature: ${verdict.reason}`;
        return this.#drop(reason, ex, { rcode: reply.rcode, tsigError: verdict.tsig?.error, reason: verdict.reason });
      }
      tsig = verdict.tsig;
    }
    if (reply.truncated && !viaTcp) {
      if (!ex.overTcp) this.#tcp(ex);
      return;
    }
    this.#finish(ex);
    this.stats.replies++;
    ex.resolve({ reply, tsig });
  }

  /** Asks again over TCP (once per exchange), within the exchange's time. */
  #tcp(ex: Exchange): void {
    ex.overTcp = true;
    this.stats.tcp++;
    void this.#tcpExchange(ex).catch((err) => {
      this.#logger.debug(`dns: TCP ${ex.what} to ${this.server} failed: ${String(err)}`);
    });
  }

  async #tcpExchange(ex: Exchange): Promise<void> {
    const left = (this.#o.timeoutMs ?? DNS_TIMEOUT_MS) - (this.#clock.now() - ex.started);
    let conn: StreamConnection | undefined;
    try {
      conn = await this.#o.runtime.connect({
        address: this.#server.address,
        port: this.#server.port,
        timeoutMs: Math.max(1, left),
      });
      if (this.#pending.get(ex.id) !== ex) return;
      ex.conn = conn;
      const framed = new Uint8Array(ex.bytes.length + 2);
      framed[0] = ex.bytes.length >> 8;
      framed[1] = ex.bytes.length & 0xff;
      framed.set(ex.bytes, 2);
      ex.sends++;
      this.stats.sent++;
      await conn.write(framed);
      const reply = await readFramed(conn, () => this.#pending.get(ex.id) !== ex);
      if (reply) this.#accept(reply, true, ex);
    } finally {
      await conn?.close().catch(() => {});
    }
  }
}

/**
 * Reads one length-prefixed DNS message from a TCP connection: the 2-byte prefix bounds it
 * to 65535 bytes (`MAX_TCP_REPLY`), and bytes after it are ignored.
 */
async function readFramed(conn: StreamConnection, abandoned: () => boolean): Promise<Uint8Array | undefined> {
  let buffered = new Uint8Array(0);
  let wanted = -1;
  for (;;) {
    if (wanted < 0 && buffered.length >= 2) wanted = (buffered[0] << 8) | buffered[1];
    if (wanted >= 0 && buffered.length >= wanted + 2) return buffered.slice(2, wanted + 2);
    const chunk = await conn.read();
    if (chunk === null || abandoned()) return undefined;
    const next = new Uint8Array(buffered.length + chunk.length);
    next.set(buffered);
    next.set(chunk, buffered.length);
    buffered = next;
  }
}

/** What to check after an unsigned refusal with this TSIG error. */
function keyAdvice(tsigError: number | undefined, keyName: string | undefined): string {
  const key = keyName ? `"${keyName}"` : "the key";
  if (tsigError === 17) {
    return `The server knows no key named ${key}: check wideArea.tsig.name against its configuration.`;
  }
  if (tsigError === 16) {
    return `The server's secret for ${key} differs from ours: check wideArea.tsig.secret against its configuration.`;
  }
  if (tsigError === 18) {
    return "Our clock and the server's differ by more than 5 minutes: synchronise the clocks (NTP).";
  }
  return `Check wideArea.tsig (name ${key} and secret) and the server's allow-update for the zone.`;
}
