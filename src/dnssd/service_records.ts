/**
 * What a node registers in a wide-area domain: the same PTR, SRV and TXT records it announces
 * by mDNS (built by the mDNS layer's `serviceRecords`), under `<domain>` instead of `local`,
 * plus A/AAAA records of a host name of its own, all with the registration TTL. The service
 * enumeration PTR is left out: it is shared by every node, so no node could delete it.
 *
 * The host name is derived from the instance name (`worker-1a2b3c.lab.example`): readable,
 * unique per instance name, and the same after a restart, so a node that crashed and starts
 * again replaces exactly its old records.
 *
 * The TXT record carries one more key, `expires` (seconds since the Unix epoch): DNS servers
 * keep records until they are deleted, so a node that died without deleting them would stay
 * listed forever; browsers treat a registration past its `expires` as gone, and a new node of
 * that name may take it over.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { validateLabel, validateName } from "../mdns/names.ts";
import type { MdnsRecord, TxtRecordRR } from "../mdns/records.ts";
import { SERVICES_ENUMERATION } from "../mdns/records.ts";
import { serviceRecords } from "../mdns/service.ts";
import { decodeTxt, encodeTxt, type TxtAttributes } from "../mdns/txt.ts";

/** TXT key of the registration's expiry, seconds since the Unix epoch. */
export const LEASE_TXT_KEY = "expires";

/** A node to register. */
export interface WideAreaService {
  /** Instance label, the node name. */
  instance: string;
  /** Service type without domain, e.g. `"_peerlink._tcp"`. */
  type: string;
  /** Domain, e.g. `"lab.example"`. */
  domain: string;
  /** SRV port. */
  port: number;
  /** TXT attributes (without `expires`). */
  txt: TxtAttributes;
  /** Addresses for the host's A/AAAA records. */
  addresses: readonly string[];
  /** TTL of every record, seconds. */
  ttl: number;
  /** When the registration lapses unless refreshed, seconds since the Unix epoch. */
  expires: number;
}

/** The records of one registration. */
export interface RegistrationRecords {
  /** `<instance>.<type>.<domain>`. */
  instanceName: string;
  /** The SRV target, `<label>-<hash>.<domain>`. */
  hostName: string;
  /** The browse PTR. */
  ptr: MdnsRecord;
  /** SRV, TXT (instance name) and the host's A/AAAA records. */
  unique: MdnsRecord[];
  /** The TXT record (also in `unique`). */
  txt: TxtRecordRR;
}

/**
 * The host label for an instance: its name reduced to letters, digits and hyphens (at most 40),
 * then 6 hex digits of a hash of the full instance name.
 *
 * @param instanceName The instance's full name.
 * @returns E.g. `"worker-1a2b3c"`.
 */
export function hostLabel(instanceName: string): string {
  const label = instanceName.split(".")[0].toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "")
    .slice(0, 40);
  const hash = createHash("sha256").update(instanceName.toLowerCase()).digest("hex").slice(0, 6);
  return `${label || "peer"}-${hash}`;
}

/**
 * Builds the records of a registration.
 *
 * @param s The node, domain, addresses, TTL and expiry.
 * @returns The records.
 * @throws NameError/TxtError for names or TXT that cannot be published.
 *
 * @example
 * ```ts
 * import { registrationRecords } from "./service_records.ts";
 * const r = registrationRecords({
 *   instance: "Worker", type: "_peerlink._tcp", domain: "lab.example", port: 50001,
 *   txt: { node: "Worker" }, addresses: ["10.77.0.1"], ttl: 120, expires: 1_900_000_000,
 * });
 * console.log(r.instanceName, r.hostName); // Worker._peerlink._tcp.lab.example worker-xxxxxx.lab.example
 * ```
 */
export function registrationRecords(s: WideAreaService): RegistrationRecords {
  validateLabel(s.instance, "node name");
  const type = `${s.type}.${s.domain}`;
  const instanceName = `${s.instance}.${type}`;
  validateName(instanceName);
  const hostName = `${hostLabel(instanceName)}.${s.domain}`;
  const txt = encodeTxt({ ...s.txt, [LEASE_TXT_KEY]: String(s.expires) });
  const service = { instance: s.instance, type, port: s.port, txt, subtypes: [] };
  const records = serviceRecords(service, hostName)
    .filter((r) => r.name !== SERVICES_ENUMERATION)
    .map((r) => ({ ...r, ttl: s.ttl, flush: false }));
  const addresses = s.addresses.map((address): MdnsRecord =>
    address.includes(":")
      ? { name: hostName, type: "AAAA", ttl: s.ttl, flush: false, data: address.split("%")[0] }
      : { name: hostName, type: "A", ttl: s.ttl, flush: false, data: address }
  );
  const ptr = records.find((r) => r.type === "PTR")!;
  const txtRecord = records.find((r): r is TxtRecordRR => r.type === "TXT")!;
  return {
    instanceName,
    hostName,
    ptr,
    unique: [...records.filter((r) => r.type !== "PTR"), ...addresses],
    txt: txtRecord,
  };
}

/**
 * The `expires` stamp of a TXT record, if it has a valid one.
 *
 * @param txt The record.
 * @returns Seconds since the Unix epoch, or undefined.
 */
export function leaseOf(txt: TxtRecordRR): number | undefined {
  const value = decodeTxt(txt.data)[LEASE_TXT_KEY];
  return typeof value === "string" && /^\d{1,12}$/.test(value) ? Number(value) : undefined;
}
