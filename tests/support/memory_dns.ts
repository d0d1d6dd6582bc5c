/**
 * A small authoritative DNS server on the in-memory network (src/testing), for deterministic
 * tests of the wide-area layer's logic and timing with a fake clock: one zone, queries over
 * UDP and TCP (answers that do not fit the requester's UDP size come back truncated), and
 * RFC 2136 UPDATE with its prerequisites, signed with TSIG (our own `tsig.ts`, so the real
 * BIND tests, tests/widearea_bind.test.ts, are what proves interoperability).
 *
 * Hooks let a test see every request and inject hostile replies before (or instead of) the
 * genuine one: `intercept` decides per request; `sendFrom53` sends from the server's own
 * port 53.
 */
import type { DatagramSocket, StreamConnection, StreamListener } from "../../src/net.ts";
import type { MemoryHost } from "../../src/testing/memory_net.ts";
import { nameBytes } from "../../src/mdns/records.ts";
import { nameKey } from "../../src/mdns/names.ts";
import { readName, walkMessage } from "../../src/mdns/walk.ts";
import { registrationRecords } from "../../src/dnssd/service_records.ts";
import type { TxtAttributes } from "../../src/mdns/txt.ts";
import { findTsig, signMessage, TSIG_ALGORITHM, type TsigSecret, verifyMessage } from "../../src/dnssd/tsig.ts";
import {
  CLASS_ANY,
  CLASS_IN,
  CLASS_NONE,
  encodeDnsMessage,
  OPCODE_UPDATE,
  readHeader,
  recordToWire,
  TYPE_ANY,
  TYPE_OPT,
  TYPE_SOA,
  TYPE_TSIG,
  type WireRecord,
} from "../../src/dnssd/wire.ts";

/** A request as the server saw it. */
export interface SeenRequest {
  id: number;
  opcode: number;
  bytes: Uint8Array;
  address: string;
  port: number;
  tcp: boolean;
  question: { name: string; type: number };
}

/** What `intercept` decides for a request. */
export type Verdict = "answer" | "ignore";

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, REFUSED: 5, YXDOMAIN: 6, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 };

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface ParsedRecord extends WireRecord {
  section: number;
}

/** Parses every record of a message, with its raw class and rdata (bounded by walkMessage). */
function parseRecords(bytes: Uint8Array): { question?: { name: string; type: number }; records: ParsedRecord[] } {
  const walked = walkMessage(bytes);
  if (typeof walked === "string") throw new Error(walked);
  const q = readName(bytes, 12);
  const question = typeof q === "string" || walked.questions.length === 0
    ? undefined
    : { name: q.name, type: walked.questions[0].type };
  const records = walked.records.map((r) => {
    const owner = readName(bytes, r.start);
    if (typeof owner === "string") throw new Error(owner);
    const t = r.typeOffset;
    return {
      section: r.section,
      name: owner.name,
      type: r.type,
      klass: r.classRaw,
      ttl: ((bytes[t + 4] << 24) | (bytes[t + 5] << 16) | (bytes[t + 6] << 8) | bytes[t + 7]) >>> 0,
      rdata: bytes.slice(r.rdataOffset, r.rdataOffset + r.rdataLength),
    };
  });
  return { question, records };
}

/**
 * An unsigned TSIG error record (empty MAC), as servers answer a request whose key or
 * signature they reject.
 */
export function unsignedTsigError(keyName: string, originalId: number, error: number, now: number): WireRecord {
  const rdata = [
    ...nameBytes(TSIG_ALGORITHM),
    0,
    0,
    ...u32(now),
    1,
    44, // fudge 300
    0,
    0, // MAC size 0
    originalId >> 8,
    originalId & 0xff,
    error >> 8,
    error & 0xff,
    0,
    0,
  ];
  return { name: keyName, type: TYPE_TSIG, klass: CLASS_ANY, ttl: 0, rdata: Uint8Array.from(rdata) };
}

/**
 * A reply to an UPDATE of `zone`, unsigned (sign it with `signMessage`).
 * @param id the request's id
 * @param zone the zone apex
 * @param rcode the response code (default NOERROR)
 * @param additionals e.g. an unsigned TSIG error record
 * @returns the reply's bytes
 */
export function updateReply(id: number, zone: string, rcode = 0, additionals: WireRecord[] = []): Uint8Array {
  return encodeDnsMessage({
    id,
    opcode: OPCODE_UPDATE,
    response: true,
    rcode,
    questions: [{ name: zone, type: TYPE_SOA }],
    additionals,
  });
}

/** The authoritative server. */
export class MemoryDnsServer {
  readonly host: MemoryHost;
  readonly zone: string;
  readonly keys = new Map<string, TsigSecret>();
  /** Records by owner name key (class IN). */
  readonly records = new Map<string, WireRecord[]>();
  readonly requests: SeenRequest[] = [];
  /** Called for each request; "ignore" drops it (the test may have answered itself). */
  intercept?: (request: SeenRequest) => Verdict | Promise<Verdict>;
  /** Largest UDP answer; larger ones come back truncated (default: the requester's EDNS size, else 512). */
  maxUdp?: number;
  /** Seconds since the epoch for TSIG. */
  now: () => number;
  #socket!: DatagramSocket;
  #listener!: StreamListener;

  private constructor(host: MemoryHost, zone: string, now: () => number) {
    this.host = host;
    this.zone = nameKey(zone);
    this.now = now;
  }

  /**
   * Starts a server for `zone` on `host` port 53 (UDP and TCP).
   * @param host the host
   * @param zone the zone apex
   * @param now seconds since the epoch (the fake clock's)
   * @param port the port (default 53; 5353 stands in for a seed's responder)
   * @returns the running server
   */
  static async start(host: MemoryHost, zone: string, now: () => number, port = 53): Promise<MemoryDnsServer> {
    const s = new MemoryDnsServer(host, zone, now);
    s.#socket = await host.bindDatagram({ address: "0.0.0.0", port }, (d) => {
      void s.#handle(d.data, d.address, d.port, false).then((reply) => {
        if (reply) return s.#socket.send(reply, d.address, d.port);
      }).catch(() => {});
    });
    s.#listener = await host.listen({ address: "0.0.0.0", port }, (conn) => void s.#serveTcp(conn));
    s.add({ name: s.zone, type: TYPE_SOA, klass: CLASS_IN, ttl: 60, rdata: s.#soaRdata() });
    return s;
  }

  #soaRdata(): Uint8Array {
    return Uint8Array.from([
      ...nameBytes(`ns.${this.zone}`),
      ...nameBytes(`admin.${this.zone}`),
      ...u32(1),
      ...u32(60),
      ...u32(60),
      ...u32(600),
      ...u32(60),
    ]);
  }

  /** Adds a key that may sign updates. */
  allowKey(key: TsigSecret): void {
    this.keys.set(key.name, key);
  }

  /** Adds a record (class IN). */
  add(r: WireRecord): void {
    const key = nameKey(r.name);
    const list = this.records.get(key) ?? [];
    const same = list.find((x) => x.type === r.type && sameBytes(x.rdata, r.rdata));
    if (same) same.ttl = r.ttl;
    else list.push({ ...r, klass: CLASS_IN });
    this.records.set(key, list);
  }

  /** Records of a name and type (all types for ANY). */
  find(name: string, type: number): WireRecord[] {
    return (this.records.get(nameKey(name)) ?? []).filter((r) => type === TYPE_ANY || r.type === type);
  }

  /**
   * Adds a service as a registration would (PTR, SRV, TXT, A), built by the registrar's own
   * record builder, for tests that need one registered by "someone else".
   * @param s instance, type (e.g. `"_peerlink._tcp"`), SRV port, TXT, address, TTL (default 60)
   */
  addService(
    s: { instance: string; type: string; port: number; txt: TxtAttributes; address: string; ttl?: number },
  ): void {
    const ttl = s.ttl ?? 60;
    const r = registrationRecords({
      ...s,
      domain: this.zone,
      addresses: [s.address],
      ttl,
      expires: this.now() + 86_400,
    });
    for (const record of [r.ptr, ...r.unique]) this.add(recordToWire(record));
  }

  /** Every owner name that has records, except the apex. */
  names(): string[] {
    return [...this.records.keys()].filter((k) => k !== this.zone && (this.records.get(k)?.length ?? 0) > 0).sort();
  }

  /** Sends raw bytes from the server's port (53 unless started on another). */
  sendFrom53(bytes: Uint8Array, address: string, port: number): Promise<void> {
    return this.#socket.send(bytes, address, port);
  }

  async close(): Promise<void> {
    await this.#socket.close();
    await this.#listener.close();
  }

  async #serveTcp(conn: StreamConnection): Promise<void> {
    try {
      let buffered = new Uint8Array(0);
      for (;;) {
        const chunk = await conn.read();
        if (chunk === null) return;
        const next = new Uint8Array(buffered.length + chunk.length);
        next.set(buffered);
        next.set(chunk, buffered.length);
        buffered = next;
        if (buffered.length < 2) continue;
        const length = (buffered[0] << 8) | buffered[1];
        if (buffered.length < length + 2) continue;
        const reply = await this.#handle(buffered.slice(2, length + 2), conn.remoteAddress.address, 0, true);
        if (reply) await conn.write(Uint8Array.from([reply.length >> 8, reply.length & 0xff, ...reply]));
        return;
      }
    } catch {
      // A client that went away.
    } finally {
      await conn.close().catch(() => {});
    }
  }

  async #handle(bytes: Uint8Array, address: string, port: number, tcp: boolean): Promise<Uint8Array | undefined> {
    const header = readHeader(bytes);
    if (!header || header.response) return undefined;
    let parsed: ReturnType<typeof parseRecords>;
    try {
      parsed = parseRecords(bytes);
    } catch {
      return encodeDnsMessage({ id: header.id, response: true, questions: [], rcode: RCODE.FORMERR });
    }
    const question = parsed.question ?? { name: "", type: 0 };
    const request: SeenRequest = { id: header.id, opcode: header.opcode, bytes, address, port, tcp, question };
    this.requests.push(request);
    if ((await this.intercept?.(request)) === "ignore") return undefined;
    if (header.opcode === OPCODE_UPDATE) return this.#update(bytes, header.id, question, parsed.records);
    const opt = parsed.records.find((r) => r.type === TYPE_OPT);
    return this.#query(header.id, question, tcp ? 65535 : this.maxUdp ?? (opt ? opt.klass : 512), header.opcode);
  }

  #query(id: number, q: { name: string; type: number }, limit: number, opcode: number): Uint8Array {
    const base = { id, opcode, response: true, authoritative: true, questions: [{ name: q.name, type: q.type }] };
    const key = nameKey(q.name);
    if (key !== this.zone && !key.endsWith(`.${this.zone}`)) return encodeDnsMessage({ ...base, rcode: RCODE.REFUSED });
    const answers = this.find(q.name, q.type);
    const soa = this.find(this.zone, TYPE_SOA);
    const exists = (this.records.get(key)?.length ?? 0) > 0;
    const reply = answers.length > 0
      ? encodeDnsMessage({ ...base, answers })
      : encodeDnsMessage({ ...base, rcode: exists ? RCODE.NOERROR : RCODE.NXDOMAIN, authorities: soa });
    return reply.length > limit ? encodeDnsMessage({ ...base, truncated: true }) : reply;
  }

  #update(
    bytes: Uint8Array,
    id: number,
    zone: { name: string; type: number },
    records: ParsedRecord[],
  ): Uint8Array {
    const now = this.now();
    const found = findTsig(bytes);
    const tsig = "tsig" in found ? found.tsig : undefined;
    if (!tsig) return updateReply(id, zone.name, RCODE.REFUSED);
    const key = this.keys.get(tsig.keyName);
    if (!key) return updateReply(id, zone.name, RCODE.NOTAUTH, [unsignedTsigError(tsig.keyName, id, 17, now)]);
    const verdict = verifyMessage(bytes, key, { now });
    if (!verdict.ok) return updateReply(id, zone.name, RCODE.NOTAUTH, [unsignedTsigError(tsig.keyName, id, 16, now)]);
    const sign = (rcode: number) =>
      signMessage(updateReply(id, zone.name, rcode), key, { now, requestMac: tsig.mac }).bytes;
    if (nameKey(zone.name) !== this.zone) return sign(RCODE.NOTAUTH);
    const prerequisites = records.filter((r) => r.section === 0);
    const updates = records.filter((r) => r.section === 1);
    const rcode = this.#checkPrerequisites(prerequisites);
    if (rcode !== RCODE.NOERROR) return sign(rcode);
    for (const u of updates) {
      const key = nameKey(u.name);
      if (key !== this.zone && !key.endsWith(`.${this.zone}`)) return sign(RCODE.NOTZONE);
    }
    for (const u of updates) this.#apply(u);
    return sign(RCODE.NOERROR);
  }

  #checkPrerequisites(prerequisites: ParsedRecord[]): number {
    const valueDependent = new Map<string, ParsedRecord[]>();
    for (const p of prerequisites) {
      const existing = this.find(p.name, p.type);
      const inUse = (this.records.get(nameKey(p.name))?.length ?? 0) > 0;
      if (p.klass === CLASS_ANY && p.type === TYPE_ANY && !inUse) return RCODE.NXDOMAIN;
      if (p.klass === CLASS_ANY && p.type !== TYPE_ANY && existing.length === 0) return RCODE.NXRRSET;
      if (p.klass === CLASS_NONE && p.type === TYPE_ANY && inUse) return RCODE.YXDOMAIN;
      if (p.klass === CLASS_NONE && p.type !== TYPE_ANY && existing.length > 0) return 7; // YXRRSET
      if (p.klass === CLASS_IN) {
        const k = `${nameKey(p.name)}|${p.type}`;
        valueDependent.set(k, [...(valueDependent.get(k) ?? []), p]);
      }
    }
    for (const set of valueDependent.values()) {
      const existing = this.find(set[0].name, set[0].type);
      if (existing.length !== set.length || !set.every((p) => existing.some((e) => sameBytes(e.rdata, p.rdata)))) {
        return RCODE.NXRRSET;
      }
    }
    return RCODE.NOERROR;
  }

  #apply(u: ParsedRecord): void {
    const key = nameKey(u.name);
    const list = this.records.get(key) ?? [];
    if (u.klass === CLASS_IN) return this.add(u);
    let kept = list;
    if (u.klass === CLASS_ANY && u.type === TYPE_ANY) {
      kept = key === this.zone ? list.filter((r) => r.type === TYPE_SOA) : [];
    } else if (u.klass === CLASS_ANY) kept = list.filter((r) => r.type !== u.type);
    else if (u.klass === CLASS_NONE) kept = list.filter((r) => !(r.type === u.type && sameBytes(r.rdata, u.rdata)));
    if (kept.length > 0) this.records.set(key, kept);
    else this.records.delete(key);
  }
}
