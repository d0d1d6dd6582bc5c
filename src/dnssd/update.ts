/**
 * DNS UPDATE messages (RFC 2136): a zone, prerequisites and updates, each a record whose
 * class says what it means (section 2.4 and 2.5):
 *
 * | meaning                        | class | type   | TTL | rdata |
 * |--------------------------------|-------|--------|-----|-------|
 * | prerequisite: name not in use  | NONE  | ANY    | 0   | empty |
 * | prerequisite: RRset is exactly | IN    | its    | 0   | each  |
 * | add a record                   | IN    | its    | TTL | yes   |
 * | delete an RRset                | ANY   | its    | 0   | empty |
 * | delete every RRset of a name   | ANY   | ANY    | 0   | empty |
 * | delete one record              | NONE  | its    | 0   | yes   |
 *
 * A server applies an UPDATE atomically: all of it, or (when a prerequisite fails or it is
 * refused) none of it, which is what lets a registration never be left half done.
 *
 * @module
 */
import type { MdnsRecord } from "../mdns/records.ts";
import {
  CLASS_ANY,
  CLASS_NONE,
  encodeDnsMessage,
  OPCODE_UPDATE,
  recordToWire,
  TYPE_ANY,
  TYPE_SOA,
  type WireRecord,
} from "./wire.ts";

const EMPTY = new Uint8Array(0);

/**
 * Prerequisite: no record of any type exists at `name`.
 *
 * @param name The name.
 * @returns The prerequisite record.
 */
export function nameNotInUse(name: string): WireRecord {
  return { name, type: TYPE_ANY, klass: CLASS_NONE, ttl: 0, rdata: EMPTY };
}

/**
 * Prerequisite: the RRset of these records' name and type is exactly these records.
 *
 * @param records Records of one name and type.
 * @returns The prerequisite records.
 */
export function rrsetIsExactly(records: readonly MdnsRecord[]): WireRecord[] {
  return records.map((r) => recordToWire(r, undefined, 0));
}

/**
 * Update: add a record (with its TTL).
 *
 * @param record The record.
 * @returns The update record.
 */
export function addRecord(record: MdnsRecord): WireRecord {
  return recordToWire(record);
}

/**
 * Update: delete every RRset of a name.
 *
 * @param name The name.
 * @returns The update record.
 */
export function deleteName(name: string): WireRecord {
  return { name, type: TYPE_ANY, klass: CLASS_ANY, ttl: 0, rdata: EMPTY };
}

/**
 * Update: delete one RRset.
 *
 * @param name The name.
 * @param type Numeric type.
 * @returns The update record.
 */
export function deleteRrset(name: string, type: number): WireRecord {
  return { name, type, klass: CLASS_ANY, ttl: 0, rdata: EMPTY };
}

/**
 * Update: delete one record (name, type and rdata), leaving the rest of its RRset.
 *
 * @param record The record.
 * @returns The update record.
 */
export function deleteRecord(record: MdnsRecord): WireRecord {
  return recordToWire(record, CLASS_NONE, 0);
}

/**
 * Encodes an UPDATE of `zone`.
 *
 * @param id Message id.
 * @param zone The zone apex, e.g. `"lab.example"`.
 * @param prerequisites Prerequisite records.
 * @param updates Update records.
 * @returns The unsigned message.
 *
 * @example
 * ```ts
 * import { addRecord, encodeUpdate, nameNotInUse } from "./update.ts";
 * const a = { name: "box.lab.example", type: "A" as const, ttl: 120, flush: false, data: "10.0.0.7" };
 * const bytes = encodeUpdate(1, "lab.example", [nameNotInUse(a.name)], [addRecord(a)]);
 * ```
 */
export function encodeUpdate(
  id: number,
  zone: string,
  prerequisites: readonly WireRecord[],
  updates: readonly WireRecord[],
): Uint8Array {
  return encodeDnsMessage({
    id,
    opcode: OPCODE_UPDATE,
    questions: [{ name: zone, type: TYPE_SOA }],
    answers: [...prerequisites],
    authorities: [...updates],
  });
}
