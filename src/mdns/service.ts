/**
 * What a published service looks like on the wire: its PTR records (shared: type, subtypes,
 * service enumeration), its SRV and TXT (unique), and the host's A/AAAA records (unique,
 * per interface: each interface announces its own addresses).
 *
 * @module
 */
import type { MdnsInterface } from "./interfaces.ts";
import { nameKey, serviceTypeName, trimDot, validateLabel, validateName } from "./names.ts";
import type { MdnsRecord } from "./records.ts";
import { HOST_TTL, PTR_TTL, SERVICES_ENUMERATION } from "./records.ts";
import { encodeTxt, type TxtAttributes } from "./txt.ts";

/** A service to publish. */
export interface ServiceDescription {
  /** Instance name, one DNS label (e.g. `"Worker"`); may contain spaces and UTF-8, not dots. */
  instance: string;
  /** Service type, e.g. `"_peerlink._tcp"` (`.local` optional). */
  type: string;
  /** Port in the SRV record. */
  port: number;
  /** TXT attributes (validated per RFC 6763 section 6). */
  txt?: TxtAttributes;
  /** Subtypes, e.g. `["_printer"]`, published as `_printer._sub.<type>` PTRs (RFC 6763 7.1). */
  subtypes?: readonly string[];
}

/** A validated, normalised service. */
export interface NormalizedService {
  /** Instance label. */
  instance: string;
  /** Fully qualified type, e.g. `"_peerlink._tcp.local"`. */
  type: string;
  /** Port. */
  port: number;
  /** Encoded TXT strings. */
  txt: Uint8Array[];
  /** Fully qualified subtype names. */
  subtypes: string[];
}

/**
 * Validates and normalises a service description.
 *
 * @param d The description.
 * @returns The normalised service.
 * @throws NameError, TxtError or RangeError with a message saying what to fix.
 */
export function normalizeService(d: ServiceDescription): NormalizedService {
  validateLabel(d.instance, "instance name");
  const type = serviceTypeName(d.type);
  if (!Number.isInteger(d.port) || d.port < 0 || d.port > 65535) {
    throw new RangeError(`service port must be an integer 0-65535, got ${d.port}`);
  }
  const subtypes = (d.subtypes ?? []).map((s) => {
    const label = trimDot(s);
    validateLabel(label, "subtype");
    const name = `${label}._sub.${type}`;
    validateName(name);
    return name;
  });
  const full = `${d.instance}.${type}`;
  validateName(full);
  return { instance: d.instance, type, port: d.port, txt: encodeTxt(d.txt ?? {}), subtypes };
}

/**
 * The full instance name of a service.
 *
 * @param s The service.
 * @returns `<instance>.<type>`.
 */
export function instanceName(s: NormalizedService): string {
  return `${s.instance}.${s.type}`;
}

/**
 * The records of a service (without host records).
 *
 * @param s The service.
 * @param host The host name its SRV points to, e.g. `"pl-1a2b3c4d.local"`.
 * @returns Shared PTRs (type, subtypes, enumeration) followed by the unique SRV and TXT.
 */
export function serviceRecords(s: NormalizedService, host: string): MdnsRecord[] {
  const full = instanceName(s);
  return [
    { name: s.type, type: "PTR", ttl: PTR_TTL, flush: false, data: full },
    ...s.subtypes.map((sub): MdnsRecord => ({ name: sub, type: "PTR", ttl: PTR_TTL, flush: false, data: full })),
    { name: SERVICES_ENUMERATION, type: "PTR", ttl: PTR_TTL, flush: false, data: s.type },
    {
      name: full,
      type: "SRV",
      ttl: HOST_TTL,
      flush: true,
      data: { priority: 0, weight: 0, port: s.port, target: host },
    },
    { name: full, type: "TXT", ttl: HOST_TTL, flush: true, data: s.txt },
  ];
}

/**
 * The host's address records on one interface: an A per IPv4 address and an AAAA per IPv6
 * address of that interface.
 *
 * @param host Host name.
 * @param iface The interface.
 * @returns The records.
 */
export function hostRecords(host: string, iface: MdnsInterface): MdnsRecord[] {
  return iface.addresses.map((a): MdnsRecord =>
    a.family === "IPv4"
      ? { name: host, type: "A", ttl: HOST_TTL, flush: true, data: a.address }
      : { name: host, type: "AAAA", ttl: HOST_TTL, flush: true, data: a.address.split("%")[0] }
  );
}

/**
 * The unique names a service owns and must probe: its instance name and the host name.
 *
 * @param s The service.
 * @param host The host name.
 * @returns Canonical keys of both names.
 */
export function uniqueNames(s: NormalizedService, host: string): string[] {
  return [nameKey(instanceName(s)), nameKey(host)];
}
