/**
 * Splitting outgoing messages so each fits one Ethernet frame (about 1440 bytes of DNS
 * payload leaves room for IPv6 and UDP headers). Records are never cut: a record too large
 * for the limit travels alone.
 *
 * Responses: answers first, in order; additional records fill remaining space, then further
 * packets. Queries (RFC 6762 7.2): when the known answers do not fit, the packet has the TC
 * bit and the rest follow in packets without questions.
 *
 * @module
 */
import { type MdnsMessage, messageSize, recordSize } from "./packet.ts";
import type { MdnsQuestion, MdnsRecord } from "./records.ts";

/** Largest DNS payload we send in one datagram. */
export const MAX_PACKET_SIZE = 1440;

function empty(id: number, response: boolean, questions: MdnsQuestion[]): MdnsMessage {
  return { id, response, questions, answers: [], authorities: [], additionals: [] };
}

/**
 * Packs answers and additional records into responses under `limit` bytes.
 *
 * @param answers Answer records (all are sent).
 * @param additionals Additional records (sent where they fit, in extra packets otherwise).
 * @param options `id` and `questions` to repeat in every packet (legacy unicast), size limit.
 * @returns One or more messages; none when there are no answers.
 */
export function packResponses(
  answers: MdnsRecord[],
  additionals: MdnsRecord[],
  options: { id?: number; questions?: MdnsQuestion[]; limit?: number } = {},
): MdnsMessage[] {
  const limit = options.limit ?? MAX_PACKET_SIZE;
  const questions = options.questions ?? [];
  if (answers.length === 0) return [];
  const fresh = () => empty(options.id ?? 0, true, questions);
  const out: MdnsMessage[] = [fresh()];
  let size = messageSize(out[0]);
  for (const r of answers) {
    const n = recordSize(r);
    if (size + n > limit && out[out.length - 1].answers.length > 0) {
      out.push(fresh());
      size = messageSize(out[out.length - 1]);
    }
    out[out.length - 1].answers.push(r);
    size += n;
  }
  const sizes = out.map(messageSize);
  for (const r of additionals) {
    const n = recordSize(r);
    const i = sizes.findIndex((s) => s + n <= limit);
    if (i >= 0) {
      out[i].additionals.push(r);
      sizes[i] += n;
    } else if (n + messageSize(fresh()) <= limit) {
      const m = fresh();
      m.additionals.push(r);
      out.push(m);
      sizes.push(messageSize(m));
    } // an additional record that cannot fit any packet is optional: leave it out
  }
  // A packet of additionals only is still useful (it completes the answers), so it stays.
  return out;
}

/**
 * Packs questions and their known answers into queries under `limit` bytes, using the TC bit
 * when the known answers continue in following packets (RFC 6762 7.2).
 *
 * @param questions The questions.
 * @param knownAnswers Known answers to list.
 * @param limit Size limit (default {@linkcode MAX_PACKET_SIZE}).
 * @returns The queries in sending order.
 */
export function packQueries(
  questions: MdnsQuestion[],
  knownAnswers: MdnsRecord[],
  limit: number = MAX_PACKET_SIZE,
): MdnsMessage[] {
  if (questions.length === 0) return [];
  const out: MdnsMessage[] = [empty(0, false, [])];
  let size = 12;
  for (const q of questions) {
    const n = messageSize(empty(0, false, [q])) - 12;
    if (size + n > limit && out[out.length - 1].questions.length > 0) {
      out.push(empty(0, false, []));
      size = 12;
    }
    out[out.length - 1].questions.push(q);
    size += n;
  }
  let current = out[out.length - 1];
  for (const r of knownAnswers) {
    const n = recordSize(r);
    if (size + n > limit && (current.answers.length > 0 || current.questions.length > 0)) {
      current.truncated = true;
      current = empty(0, false, []);
      out.push(current);
      size = 12;
    }
    current.answers.push(r);
    size += n;
  }
  return out;
}
