/**
 * The mDNS responder (RFC 6762 sections 6-10, RFC 6763): publishes services, probes their
 * names, resolves conflicts, announces, answers queries and says goodbye.
 *
 * - Probing: see `prober.ts`; probes carry our proposed records in the authority section;
 *   a simultaneous probe for the same name is settled by the section 8.2 tiebreak (the loser
 *   waits one second and probes again).
 * - A conflict while probing renames (`"Name (2)"`, `"Name (3)"`...) when allowed, else
 *   rejects `publish()` with {@linkcode NameConflictError}. A conflict after announcing sends
 *   the name back to probing (section 9).
 * - Announcing: six unsolicited responses at 0, 1, 3, 7, 15 and 31 s (at least two one second
 *   apart, then doubling, section 8.3), unique records with the cache-flush bit. More than the
 *   minimum so a peer on a lossy link still hears one.
 * - Answering: unique answers at once, answers with shared records (PTR) after 20-120 ms,
 *   queries with more known answers to come (TC) after 400-500 ms; known answers suppressed;
 *   duplicate answers seen from others suppressed (7.4); every record multicast at most once
 *   per second per link, i.e. per interface and address family (a probe defence: once per
 *   250 ms), a record asked for too soon
 *   is sent when the second is over; QU questions by unicast when the record was multicast
 *   within a quarter of its TTL (else multicast, 5.4); legacy queries (source port not 5353)
 *   by unicast with the ID echoed, the questions repeated, TTLs at most 10 s and no
 *   cache-flush bits (6.7).
 * - Goodbye: TTL 0 records on unpublish and stop.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import { answerQuery } from "./answer.ts";
import { MdnsStateError, NameConflictError } from "./errors.ts";
import { linkId, type MdnsInterface } from "./interfaces.ts";
import { DEFAULT_MDNS_LIMITS, type MdnsLimits } from "./limits.ts";
import { nameKey, validateLabel } from "./names.ts";
import type { MdnsMessage } from "./packet.ts";
import { Prober } from "./prober.ts";
import type { MdnsQuestion, MdnsRecord } from "./records.ts";
import { answers as answersQuestion, compareRecordSets, PTR_TTL, recordKey, SERVICES_ENUMERATION } from "./records.ts";
import { hostRecords, instanceName, type NormalizedService, serviceRecords } from "./service.ts";
import { packResponses } from "./split.ts";
import type { Received } from "./transport.ts";
import { encodeTxt, type TxtAttributes } from "./txt.ts";

/** Where the responder and querier send. Implemented by the `Mdns` facade over the transport. */
export interface MdnsOutput {
  /** The interfaces in use. */
  interfaces(): readonly MdnsInterface[];
  /** Multicasts a message on one interface. */
  multicast(message: MdnsMessage, iface: MdnsInterface): Promise<void>;
  /** Sends a message by unicast. */
  unicast(message: MdnsMessage, address: string, port: number): Promise<void>;
}

/** Options of {@linkcode Responder}. */
export interface ResponderOptions {
  /** Time source. */
  clock: Clock;
  /** Random numbers in [0, 1). */
  random: () => number;
  /** Diagnostics. */
  logger: Logger;
  /** Sending. */
  output: MdnsOutput;
  /** Host name for SRV targets and A/AAAA records, e.g. `"pl-1a2b3c4d.local"`. */
  hostName: string;
  /** True when the host name was chosen by the user (a conflict is then an error, not a new random name). */
  hostNameFixed?: boolean;
  /** Bounds on held truncated queries (default: `DEFAULT_MDNS_LIMITS`). */
  limits?: Pick<MdnsLimits, "maxHeldQueries" | "maxKnownAnswers">;
}

/** Options of {@linkcode Responder.publish}. */
export interface PublishOptions {
  /** Rename on conflict (`"Name (2)"`...) instead of failing. */
  allowRename?: boolean;
  /** Called when the instance name changed after a conflict. */
  onNameChange?: (instance: string) => void;
  /** Called when a conflict after publication could not be resolved; the service is withdrawn. */
  onConflict?: (error: NameConflictError) => void;
  /** TXT attributes for a new name after a rename (e.g. when the TXT repeats the name). */
  txtFor?: (instance: string) => TxtAttributes;
}

/** Delays of the announcements after probing, ms (RFC 6762 8.3: at least two one second apart, up to eight, doubling). */
export const ANNOUNCE_DELAYS_MS = [0, 1000, 3000, 7000, 15000, 31000];
/** Minimum time between two multicasts of one record on one interface, ms (RFC 6762 6.2). */
export const RATE_LIMIT_MS = 1000;
/** The same for probe defence, ms. */
export const DEFENCE_RATE_LIMIT_MS = 250;
/** TTL cap of legacy unicast answers, s (RFC 6762 6.7). */
export const LEGACY_TTL = 10;

/** One published service. */
export class Registration {
  /** The service as currently named. */
  service: NormalizedService;
  /** Rename allowed. */
  readonly allowRename: boolean;
  /** `"probing"` until the name is ours, then `"announced"`; `"stopped"` when withdrawn. */
  state: "probing" | "announced" | "stopped" = "probing";
  /** True once announced at least once (a later failure is reported, not thrown). */
  everAnnounced = false;
  readonly #base: string;
  #index = 1;
  /** Conflict times, for the 15-in-10-s rate limit. */
  conflicts: number[] = [];
  /** Probe timing. */
  prober?: Prober;
  /** Announcement timers. */
  readonly timers = new Set<TimerId>();
  /** Settles `publish()`. */
  settle?: { resolve: () => void; reject: (err: Error) => void };
  /** Callbacks. */
  readonly options: PublishOptions;

  /**
   * @param service The service.
   * @param options Publish options.
   */
  constructor(service: NormalizedService, options: PublishOptions) {
    this.service = service;
    this.#base = service.instance;
    this.allowRename = options.allowRename === true;
    this.options = options;
  }

  /** Full instance name. */
  get fullName(): string {
    return instanceName(this.service);
  }

  /** Switches to the next RFC 6763-style name, `"Base (n)"`, keeping it within 63 bytes. */
  rename(): string {
    this.#index++;
    const suffix = ` (${this.#index})`;
    let base = this.#base;
    const enc = new TextEncoder();
    while (enc.encode(base + suffix).length > 63) base = base.slice(0, -1);
    const next = base + suffix;
    validateLabel(next, "instance name");
    const txt = this.options.txtFor ? encodeTxt(this.options.txtFor(next)) : this.service.txt;
    this.service = { ...this.service, instance: next, txt };
    return next;
  }
}

/** Past this many remembered sends on a link, the ones too old to matter are forgotten (renamed names leave some). */
const LAST_MULTICAST_SWEEP = 256;

/**
 * Forgets sends older than a quarter of the longest TTL we publish: past it, a record counts
 * as not multicast recently (the QU rule, RFC 6762 5.4), and the 1 s rate limit is long over.
 */
function forgetOldSends(last: Map<string, number>, now: number): void {
  const horizon = now - (PTR_TTL * 1000) / 4;
  for (const [key, at] of last) if (at < horizon) last.delete(key);
}

interface PendingResponse {
  answers: Map<string, MdnsRecord>;
  additionals: Map<string, MdnsRecord>;
  dueAt: number;
  timer?: TimerId;
  /** Keys of answers queued to defend a name against a probe: they wait 250 ms after their last multicast, not 1 s. */
  defended: Set<string>;
}

interface HeldQuery {
  received: Received;
  known: MdnsRecord[];
  timer: TimerId;
}

/**
 * Publishes services and answers for them. Driven by the `Mdns` facade.
 */
export class Responder {
  readonly #o: ResponderOptions;
  #hostName: string;
  readonly #registrations = new Set<Registration>();
  readonly #lastMulticast = new Map<string, Map<string, number>>();
  readonly #pending = new Map<string, PendingResponse>();
  readonly #held = new Map<string, HeldQuery>();
  readonly #timers = new Set<TimerId>();
  readonly #limits: Pick<MdnsLimits, "maxHeldQueries" | "maxKnownAnswers">;
  #stopped = false;

  /**
   * @param options Clock, randomness, logger, output, host name and bounds.
   */
  constructor(options: ResponderOptions) {
    this.#o = options;
    this.#hostName = options.hostName;
    this.#limits = options.limits ?? DEFAULT_MDNS_LIMITS;
  }

  /** Truncated queries from other hosts held now, waiting for their known answers. */
  get heldQueries(): number {
    return this.#held.size;
  }

  /** The host name in use. */
  get hostName(): string {
    return this.#hostName;
  }

  /** Live registrations. */
  get registrations(): Registration[] {
    return [...this.#registrations];
  }

  /**
   * Probes and announces a service.
   *
   * @param service The normalised service.
   * @param options Rename policy and callbacks.
   * @returns The registration, once its first announcement was sent.
   * @throws NameConflictError when the name is taken and renaming is not allowed.
   */
  async publish(service: NormalizedService, options: PublishOptions = {}): Promise<Registration> {
    const reg = new Registration(service, options);
    for (const other of this.#registrations) {
      if (nameKey(other.fullName) === nameKey(reg.fullName)) {
        if (!reg.allowRename) throw new NameConflictError(reg.fullName, "this process");
        while ([...this.#registrations].some((o) => nameKey(o.fullName) === nameKey(reg.fullName))) reg.rename();
      }
    }
    this.#registrations.add(reg);
    const done = new Promise<void>((resolve, reject) => (reg.settle = { resolve, reject }));
    this.#probe(reg);
    await done;
    return reg;
  }

  /**
   * Withdraws a service: goodbye records (TTL 0) if it was announced.
   *
   * @param reg The registration.
   * @returns Resolves when the goodbyes were sent.
   */
  async unpublish(reg: Registration): Promise<void> {
    if (!this.#registrations.has(reg)) return;
    const wasAnnounced = reg.state === "announced";
    this.#withdraw(reg);
    if (wasAnnounced) await this.#goodbye([reg]);
  }

  /**
   * Withdraws everything with goodbyes and cancels every timer. Idempotent.
   *
   * @returns Resolves when the goodbyes were sent.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    const announced = [...this.#registrations].filter((r) => r.state === "announced");
    for (const reg of [...this.#registrations]) {
      this.#withdraw(reg);
      reg.settle?.reject(new MdnsStateError(`mDNS stopped before "${reg.fullName}" was published.`));
    }
    this.#stopped = true;
    for (const t of this.#timers) this.#o.clock.clearTimeout(t);
    this.#timers.clear();
    for (const p of this.#pending.values()) if (p.timer !== undefined) this.#o.clock.clearTimeout(p.timer);
    this.#pending.clear();
    for (const h of this.#held.values()) this.#o.clock.clearTimeout(h.timer);
    this.#held.clear();
    if (announced.length) await this.#goodbye(announced);
  }

  #withdraw(reg: Registration): void {
    reg.prober?.cancel();
    for (const t of reg.timers) this.#o.clock.clearTimeout(t);
    reg.timers.clear();
    reg.state = "stopped";
    this.#registrations.delete(reg);
  }

  #later(fn: () => void, ms: number, reg?: Registration): void {
    const id = this.#o.clock.setTimeout(() => {
      this.#timers.delete(id);
      reg?.timers.delete(id);
      fn();
    }, ms);
    this.#timers.add(id);
    reg?.timers.add(id);
  }

  /** Our records for a registration on one interface: PTRs, SRV, TXT and the host's addresses. */
  recordsOf(reg: Registration, iface: MdnsInterface): MdnsRecord[] {
    return [...serviceRecords(reg.service, this.#hostName), ...hostRecords(this.#hostName, iface)];
  }

  /** Records we own on an interface (announced registrations), deduplicated. */
  owned(iface: MdnsInterface): MdnsRecord[] {
    const map = new Map<string, MdnsRecord>();
    for (const reg of this.#registrations) {
      if (reg.state !== "announced") continue;
      for (const r of this.recordsOf(reg, iface)) map.set(recordKey(r), r);
    }
    return [...map.values()];
  }

  // ---- probing ----

  #probe(reg: Registration, delayMs?: number): void {
    reg.state = "probing";
    reg.prober?.cancel();
    reg.prober = new Prober({
      clock: this.#o.clock,
      random: this.#o.random,
      sendProbe: () => this.#sendProbe(reg),
      onSuccess: () => this.#announce(reg),
    });
    reg.prober.start(delayMs);
  }

  #sendProbe(reg: Registration): void {
    const names = [reg.fullName, this.#hostName];
    for (const iface of this.#o.output.interfaces()) {
      const questions: MdnsQuestion[] = names.map((name) => ({ name, type: "ANY", qu: false }));
      const authorities = this.recordsOf(reg, iface).filter((r) => r.flush);
      void this.#o.output.multicast(
        { id: 0, response: false, questions, answers: [], authorities, additionals: [] },
        iface,
      );
    }
  }

  /** Simultaneous probes (RFC 6762 8.2): the lexicographically later record set wins. */
  #tiebreak(r: Received): void {
    const theirsByName = new Map<string, MdnsRecord[]>();
    for (const rec of r.message.authorities) {
      const k = nameKey(rec.name);
      theirsByName.set(k, [...(theirsByName.get(k) ?? []), rec]);
    }
    for (const reg of this.#registrations) {
      if (reg.state !== "probing" || !reg.prober?.active) continue;
      for (const name of [reg.fullName, this.#hostName]) {
        const theirs = theirsByName.get(nameKey(name));
        if (!theirs) continue;
        const ours = this.recordsOf(reg, r.iface).filter((x) => x.flush && nameKey(x.name) === nameKey(name));
        if (compareRecordSets(ours, theirs) < 0) {
          this.#o.logger.debug(`mDNS: lost probe tiebreak for ${name} to ${r.address}; probing again in 1 s`);
          this.#probe(reg, 1000);
          break;
        }
      }
    }
  }

  #conflict(reg: Registration, name: string, holder: string): void {
    const now = this.#o.clock.now();
    reg.conflicts = [...reg.conflicts.filter((t) => t > now - 10_000), now];
    const delay = reg.conflicts.length > 15 ? 5000 : undefined; // RFC 6762 8.1 rate limit
    const wasAnnounced = reg.state === "announced";
    for (const t of reg.timers) this.#o.clock.clearTimeout(t);
    reg.timers.clear();
    if (wasAnnounced) {
      // Section 9: a conflict after announcing resets the records to probing.
      this.#o.logger.warn(`mDNS: ${name} conflicts with a record from ${holder}; probing again`);
      this.#probe(reg, delay);
      return;
    }
    if (nameKey(name) === nameKey(this.#hostName) && !this.#o.hostNameFixed) {
      const old = this.#hostName;
      this.#hostName = `pl-${Math.floor(this.#o.random() * 0xffffffff).toString(16).padStart(8, "0")}.local`;
      this.#o.logger.info(`mDNS: host name ${old} is taken (by ${holder}); using ${this.#hostName}`);
      for (const other of this.#registrations) if (other !== reg && other.state !== "stopped") this.#probe(other);
      this.#probe(reg, delay);
      return;
    }
    const error = new NameConflictError(name, holder);
    let next: string | undefined;
    if (reg.allowRename && nameKey(name) === nameKey(reg.fullName)) {
      try {
        next = reg.rename();
      } catch (err) {
        this.#o.logger.error(`mDNS: cannot rename ${name}: ${String(err)}`);
      }
    }
    if (next !== undefined) {
      this.#o.logger.info(`mDNS: ${name} is taken (by ${holder}); trying "${next}"`);
      try {
        reg.options.onNameChange?.(next);
      } catch (err) {
        this.#o.logger.error(`mDNS: onNameChange callback failed: ${String(err)}`);
      }
      this.#probe(reg, delay);
      return;
    }
    this.#withdraw(reg);
    if (reg.settle && !reg.everAnnounced) {
      reg.settle.reject(error);
      reg.settle = undefined;
    } else {
      this.#o.logger.error(error.message);
      try {
        reg.options.onConflict?.(error);
      } catch (err) {
        this.#o.logger.error(`mDNS: onConflict callback failed: ${String(err)}`);
      }
    }
  }

  // ---- announcing and goodbye ----

  #announce(reg: Registration, only?: MdnsInterface[]): void {
    reg.state = "announced";
    ANNOUNCE_DELAYS_MS.forEach((delay, i) => {
      const send = () => {
        if (reg.state !== "announced") return;
        const ifaces = only ?? this.#o.output.interfaces();
        const sends = ifaces.map((iface) => this.#multicastRecords(iface, this.recordsOf(reg, iface), []));
        if (i === 0 && !reg.everAnnounced) {
          reg.everAnnounced = true;
          void Promise.all(sends).then(() => {
            reg.settle?.resolve();
            reg.settle = undefined;
          });
        }
      };
      if (delay === 0) send();
      else this.#later(send, delay, reg);
    });
  }

  /** Goodbyes for the registrations' records, except those other live registrations still use. */
  async #goodbye(regs: Registration[]): Promise<void> {
    const remaining = [...this.#registrations].filter((r) => r.state === "announced");
    const sends: Promise<void>[] = [];
    for (const iface of this.#o.output.interfaces()) {
      const keep = new Set<string>();
      for (const r of remaining) for (const rec of this.recordsOf(r, iface)) keep.add(recordKey(rec));
      const bye = new Map<string, MdnsRecord>();
      for (const reg of regs) {
        for (const rec of this.recordsOf(reg, iface)) {
          const k = recordKey(rec);
          if (!keep.has(k)) bye.set(k, { ...rec, ttl: 0 });
        }
      }
      const last = this.#lastMulticast.get(linkId(iface));
      for (const k of bye.keys()) last?.delete(k);
      for (const m of packResponses([...bye.values()], [])) sends.push(this.#o.output.multicast(m, iface));
    }
    await Promise.all(sends);
  }

  #multicastRecords(iface: MdnsInterface, answers: MdnsRecord[], additionals: MdnsRecord[]): Promise<void> {
    const now = this.#o.clock.now();
    let last = this.#lastMulticast.get(linkId(iface));
    if (!last) this.#lastMulticast.set(linkId(iface), last = new Map());
    for (const r of [...answers, ...additionals]) last.set(recordKey(r), now);
    if (last.size > LAST_MULTICAST_SWEEP) forgetOldSends(last, now);
    return Promise.all(packResponses(answers, additionals).map((m) => this.#o.output.multicast(m, iface))).then(
      () => {},
    );
  }

  /**
   * Re-announces every published service on interfaces that appeared, and forgets state of
   * vanished ones.
   *
   * @param added New interfaces.
   * @param removed Vanished interfaces.
   */
  interfacesChanged(added: MdnsInterface[], removed: MdnsInterface[]): void {
    for (const iface of removed) {
      const p = this.#pending.get(linkId(iface));
      if (p?.timer !== undefined) this.#o.clock.clearTimeout(p.timer);
      this.#pending.delete(linkId(iface));
      this.#lastMulticast.delete(linkId(iface));
    }
    if (added.length === 0) return;
    for (const reg of this.#registrations) {
      if (reg.state === "announced") this.#announce(reg, added);
    }
  }

  // ---- queries ----

  /**
   * Handles a query: probe tiebreaks, then answers.
   *
   * @param r The received query.
   */
  handleQuery(r: Received): void {
    if (this.#stopped) return;
    const m = r.message;
    if (m.authorities.length > 0) this.#tiebreak(r);
    const key = `${r.address}|${r.port}`;
    const held = this.#held.get(key);
    if (held && m.questions.length === 0) {
      // More known answers for a truncated query (RFC 6762 7.2), as many as one query may list.
      held.known.push(...m.answers.slice(0, Math.max(0, this.#limits.maxKnownAnswers - held.known.length)));
      return;
    }
    // Waiting for more known answers costs a timer per querier: bounded, beyond it answer at once.
    if (m.truncated && !r.legacy && m.questions.length > 0 && (held || this.#held.size < this.#limits.maxHeldQueries)) {
      if (held) {
        this.#o.clock.clearTimeout(held.timer);
        this.#timers.delete(held.timer);
      }
      const known = m.answers.slice(0, this.#limits.maxKnownAnswers);
      const timer = this.#o.clock.setTimeout(() => {
        this.#timers.delete(timer);
        this.#held.delete(key);
        this.#answer(r, known);
      }, 400 + this.#o.random() * 100);
      this.#timers.add(timer);
      this.#held.set(key, { received: r, known, timer });
      return;
    }
    this.#answer(r, m.answers);
  }

  #answer(r: Received, known: MdnsRecord[]): void {
    const m = r.message;
    const owned = this.owned(r.iface);
    if (owned.length === 0 || m.questions.length === 0) return;
    const { answers, additionals } = answerQuery(m.questions, owned, known);
    if (answers.length === 0) return;
    if (r.legacy) {
      const cap = (x: MdnsRecord): MdnsRecord => ({ ...x, ttl: Math.min(x.ttl, LEGACY_TTL), flush: false });
      const questions = m.questions.map((q) => ({ ...q, qu: false }));
      for (const msg of packResponses(answers.map(cap), additionals.map(cap), { id: m.id, questions })) {
        void this.#o.output.unicast(msg, r.address, r.port);
      }
      return;
    }
    const now = this.#o.clock.now();
    const last = this.#lastMulticast.get(linkId(r.iface));
    const unicast: MdnsRecord[] = [];
    const multicast: MdnsRecord[] = [];
    for (const a of answers) {
      const quAsked = m.questions.some((q) => q.qu && answersQuestion(q, a));
      const sent = last?.get(recordKey(a));
      const recent = sent !== undefined && now - sent < (a.ttl * 1000) / 4;
      (quAsked && recent ? unicast : multicast).push(a);
    }
    if (unicast.length) {
      const extra = multicast.length ? [] : additionals;
      for (const msg of packResponses(unicast, extra)) void this.#o.output.unicast(msg, r.address, r.port);
    }
    if (multicast.length) {
      const defence = m.authorities.length > 0;
      const shared = multicast.some((a) => !a.flush);
      const delay = defence || !shared ? 0 : 20 + this.#o.random() * 100;
      this.#enqueue(r.iface, multicast, additionals, delay, defence);
    }
  }

  #enqueue(iface: MdnsInterface, answers: MdnsRecord[], additionals: MdnsRecord[], delay: number, defence: boolean) {
    const now = this.#o.clock.now();
    let p = this.#pending.get(linkId(iface));
    if (!p) {
      p = { answers: new Map(), additionals: new Map(), dueAt: Infinity, defended: new Set() };
      this.#pending.set(linkId(iface), p);
    }
    for (const a of answers) {
      const k = recordKey(a);
      p.answers.set(k, a);
      if (defence) p.defended.add(k);
    }
    for (const a of additionals) p.additionals.set(recordKey(a), a);
    this.#schedulePending(iface, p, now + delay);
  }

  #schedulePending(iface: MdnsInterface, p: PendingResponse, at: number): void {
    if (at >= p.dueAt && p.timer !== undefined) return;
    if (p.timer !== undefined) {
      this.#o.clock.clearTimeout(p.timer);
      this.#timers.delete(p.timer);
    }
    p.dueAt = at;
    const timer = this.#o.clock.setTimeout(() => {
      this.#timers.delete(timer);
      p.timer = undefined;
      p.dueAt = Infinity;
      this.#flush(iface, p);
    }, Math.max(0, at - this.#o.clock.now()));
    p.timer = timer;
    this.#timers.add(timer);
  }

  #flush(iface: MdnsInterface, p: PendingResponse): void {
    if (!this.#o.output.interfaces().some((i) => linkId(i) === linkId(iface))) {
      this.#pending.delete(linkId(iface));
      return;
    }
    const now = this.#o.clock.now();
    const last = this.#lastMulticast.get(linkId(iface));
    const send: MdnsRecord[] = [];
    let retryAt = Infinity;
    for (const [k, a] of p.answers) {
      const sent = last?.get(k);
      const limit = p.defended.has(k) ? DEFENCE_RATE_LIMIT_MS : RATE_LIMIT_MS;
      if (sent !== undefined && now - sent < limit) {
        retryAt = Math.min(retryAt, sent + limit);
      } else {
        send.push(a);
        p.answers.delete(k);
        p.defended.delete(k);
      }
    }
    const sendKeys = new Set(send.map(recordKey));
    const extra = [...p.additionals.values()].filter((a) => !sendKeys.has(recordKey(a)));
    if (p.answers.size === 0) {
      this.#pending.delete(linkId(iface));
    } else {
      this.#schedulePending(iface, p, retryAt);
    }
    if (send.length) void this.#multicastRecords(iface, send, extra);
  }

  /**
   * Handles a response from another host: duplicate-answer suppression and conflict checks.
   *
   * @param r The received response.
   */
  handleResponse(r: Received): void {
    if (this.#stopped) return;
    const records = [...r.message.answers, ...r.message.additionals];
    const pending = this.#pending.get(linkId(r.iface));
    if (pending) {
      for (const rec of records) {
        const k = recordKey(rec);
        const ours = pending.answers.get(k);
        if (ours && rec.ttl >= ours.ttl / 2) {
          pending.answers.delete(k);
          pending.defended.delete(k);
          this.#lastMulticast.get(linkId(r.iface))?.set(k, this.#o.clock.now());
        }
      }
    }
    for (const reg of [...this.#registrations]) this.#checkConflict(reg, records, r);
  }

  #checkConflict(reg: Registration, records: MdnsRecord[], r: Received): void {
    if (reg.state === "stopped") return;
    const instanceKey = nameKey(reg.fullName);
    const hostKey = nameKey(this.#hostName);
    const about = (rec: MdnsRecord) => {
      const k = nameKey(rec.name);
      return k === instanceKey || k === hostKey;
    };
    // Nearly every response on a busy LAN is about other names: skip building our record keys.
    if (!records.some((rec) => rec.ttl !== 0 && about(rec))) return;
    const ours = new Set<string>();
    const ourSets = new Set<string>();
    for (const iface of this.#o.output.interfaces()) {
      for (const rec of this.recordsOf(reg, iface)) {
        ours.add(recordKey(rec));
        if (rec.flush) ourSets.add(`${nameKey(rec.name)}|${rec.type}`);
      }
    }
    for (const rec of records) {
      if (rec.ttl === 0 || !about(rec) || ours.has(recordKey(rec))) continue;
      if (reg.state === "announced" && !ourSets.has(`${nameKey(rec.name)}|${rec.type}`)) continue;
      this.#conflict(reg, rec.name, r.address);
      return;
    }
  }

  /** Names this responder answers for (for diagnostics and tests). */
  ownedNames(): string[] {
    const names = new Set<string>();
    for (const reg of this.#registrations) {
      if (reg.state !== "announced") continue;
      names.add(reg.fullName);
      names.add(this.#hostName);
      names.add(reg.service.type);
      names.add(SERVICES_ENUMERATION);
    }
    return [...names];
  }
}
