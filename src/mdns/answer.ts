/**
 * Which of our records answer a query (RFC 6762 section 6), minus the ones the querier
 * already knows (known-answer suppression, section 7.1), plus the additional records that
 * save it a round trip (RFC 6763 section 12: SRV, TXT and addresses with a PTR; addresses
 * with an SRV; the other address family with an address).
 *
 * @module
 */
import { nameKey } from "./names.ts";
import type { MdnsQuestion, MdnsRecord } from "./records.ts";
import { answers as answersQuestion, recordKey } from "./records.ts";

/** Answers and additional records for one query. */
export interface Answer {
  /** Records answering the questions, not known to the querier. */
  answers: MdnsRecord[];
  /** Helpful extra records, not among the answers nor known to the querier. */
  additionals: MdnsRecord[];
}

/**
 * True when the querier's known-answer list makes our record redundant: same record with at
 * least half our TTL left (RFC 6762 7.1).
 *
 * @param record Our record.
 * @param known Its known answers by record key.
 * @returns Whether to leave it out.
 */
export function isKnown(record: MdnsRecord, known: ReadonlyMap<string, MdnsRecord>): boolean {
  const k = known.get(recordKey(record));
  return k !== undefined && k.ttl >= record.ttl / 2;
}

/**
 * Computes the answer to a query.
 *
 * @param questions The query's questions.
 * @param owned Our records on the interface the query came from.
 * @param knownAnswers The query's known-answer records.
 * @returns Answers and additional records (possibly empty).
 */
export function answerQuery(questions: MdnsQuestion[], owned: MdnsRecord[], knownAnswers: MdnsRecord[]): Answer {
  const known = new Map<string, MdnsRecord>();
  for (const k of knownAnswers) known.set(recordKey(k), k);
  const answerMap = new Map<string, MdnsRecord>();
  const ownedNames = owned.map((r) => nameKey(r.name));
  for (const q of questions) {
    const qk = nameKey(q.name);
    owned.forEach((r, i) => {
      if (ownedNames[i] === qk && answersQuestion(q, r) && !isKnown(r, known)) answerMap.set(recordKey(r), r);
    });
  }
  const extra = new Map<string, MdnsRecord>();
  const add = (name: string, types: string[]) => {
    const key = nameKey(name);
    for (const r of owned) {
      if (nameKey(r.name) !== key || !types.includes(r.type)) continue;
      const k = recordKey(r);
      if (!answerMap.has(k) && !isKnown(r, known)) extra.set(k, r);
    }
  };
  for (const r of answerMap.values()) {
    if (r.type === "PTR") {
      add(r.data, ["SRV", "TXT"]);
      for (const srv of owned) {
        if (srv.type === "SRV" && nameKey(srv.name) === nameKey(r.data)) add(srv.data.target, ["A", "AAAA"]);
      }
    } else if (r.type === "SRV") add(r.data.target, ["A", "AAAA"]);
    else if (r.type === "A") add(r.name, ["AAAA"]);
    else if (r.type === "AAAA") add(r.name, ["A"]);
  }
  return { answers: [...answerMap.values()], additionals: [...extra.values()] };
}
