/**
 * Discovery proof: a node with a secret puts an HMAC in its DNS-SD TXT record, so peers accept
 * only announcements made by nodes that know the secret.
 *
 * ```text
 * TXT   auth=<base64url(HMAC-SHA256(proofKey, "peerlink-proof/v1" LF name LF instanceId LF udpPort LF tcpPort))>
 * ```
 *
 * `proofKey` is the HKDF-derived discovery key (`keys.ts`), independent of the RPC key. A
 * stranger cannot make a valid proof for any name, so a spoofed announcement for an existing
 * name is refused (its `auth` does not verify) and cannot take the name over. What a proof
 * cannot stop: an attacker may re-broadcast a genuine announcement (same name, instance and
 * ports) from its own address; peers that believe it send their calls to the attacker, which
 * cannot read or answer them (the RPC layer is sealed): a denial of service, not an
 * impersonation. Presence of `auth` also tells peers that this node seals its RPC traffic.
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "../wire/base64.ts";
import { bytesEqual, hmacSha256 } from "./crypto.ts";
import type { SecurityKeys } from "./keys.ts";

/** TXT key of the proof. */
export const PROOF_TXT_KEY = "auth";

/**
 * TXT key a node with a secret adds when it also takes plaintext calls (`allowInsecurePeers`),
 * so a node without the secret knows whether it may call it. Without it, such a caller fails
 * at once instead of waiting for a reply that never comes.
 */
export const PLAINTEXT_TXT_KEY = "plain";

const PROOF_LABEL = "peerlink-proof/v1";
const encoder = new TextEncoder();
const BASE64URL_HMAC = /^[A-Za-z0-9_-]{43}$/;

/** What a proof covers: the announced identity and ports. */
export interface ProofSubject {
  /** Node name. */
  name: string;
  /** Random id of this run of the node (changes at every start). */
  instanceId: string;
  /** RPC UDP port. */
  udpPort: number;
  /** RPC TCP port. */
  tcpPort: number;
}

/** A discovered peer as the proof check needs it (Discovery's `PeerInfo` fits). */
export interface ProofPeer extends ProofSubject {
  /** The peer's TXT entries. */
  txt?: Readonly<Record<string, string | undefined>>;
}

/** How a peer's announcement relates to our secret. */
export type PeerProofStatus = "proven" | "unproven" | "forged";

function proofInput(subject: ProofSubject): Uint8Array {
  return encoder.encode(
    `${PROOF_LABEL}\n${subject.name}\n${subject.instanceId}\n${subject.udpPort}\n${subject.tcpPort}`,
  );
}

function toBase64url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | undefined {
  if (!BASE64URL_HMAC.test(text)) return undefined;
  return decodeBase64(text.replace(/-/g, "+").replace(/_/g, "/") + "=");
}

/**
 * The TXT entries that prove this node knows the secret. Pass them (merged with the other
 * entries) as Discovery's `txt`.
 *
 * @param keys Keys from `deriveKeys(secret)`.
 * @param subject The node's name, instance id and RPC ports, exactly as announced.
 * @returns `{ auth: "<base64url HMAC>" }`.
 *
 * @example
 * ```ts
 * import { deriveKeys } from "./keys.ts";
 * import { proofTxt, verifyPeerProof } from "./proof.ts";
 *
 * const keys = await deriveKeys("a long random shared secret");
 * const me = { name: "Worker", instanceId: crypto.randomUUID(), udpPort: 50001, tcpPort: 50002 };
 * const txt = proofTxt(keys, me);
 * console.log(txt.auth.length); // 43
 * console.log(verifyPeerProof(keys, { ...me, txt })); // true
 * ```
 */
export function proofTxt(keys: SecurityKeys, subject: ProofSubject): { auth: string } {
  return { [PROOF_TXT_KEY]: toBase64url(hmacSha256(keys.proof, proofInput(subject))) } as { auth: string };
}

/**
 * Classifies a peer: `"proven"` (its `auth` verifies), `"unproven"` (no `auth`: a node without
 * a secret, such as Python PeerLink 1.2) or `"forged"` (an `auth` that does not verify: another
 * secret, or a spoof).
 *
 * @param keys Our keys.
 * @param peer The peer's name, instance id, ports and TXT.
 * @returns The status.
 *
 * @example
 * ```ts
 * import { deriveKeys } from "./keys.ts";
 * import { peerProofStatus } from "./proof.ts";
 * const keys = await deriveKeys("a long random shared secret");
 * const peer = { name: "Py", instanceId: "x", udpPort: 1, tcpPort: 2, txt: {} };
 * console.log(peerProofStatus(keys, peer)); // "unproven"
 * ```
 */
export function peerProofStatus(keys: SecurityKeys, peer: ProofPeer): PeerProofStatus {
  const auth = peer.txt?.[PROOF_TXT_KEY];
  if (auth === undefined) return "unproven";
  const mac = typeof auth === "string" ? fromBase64url(auth) : undefined;
  if (!mac || typeof peer.name !== "string" || typeof peer.instanceId !== "string") return "forged";
  return bytesEqual(mac, hmacSha256(keys.proof, proofInput(peer))) ? "proven" : "forged";
}

/**
 * Discovery's `acceptPeer` check for a node with a secret: true only for peers whose proof
 * verifies. Never throws (a malformed announcement is simply refused).
 *
 * @param keys Our keys.
 * @param peer The discovered peer.
 * @returns Whether to accept it.
 *
 * @example
 * ```ts
 * import { deriveKeys } from "./keys.ts";
 * import { proofTxt, verifyPeerProof } from "./proof.ts";
 * const mine = await deriveKeys("a long random shared secret");
 * const theirs = await deriveKeys("another secret");
 * const peer = { name: "Host", instanceId: "i-1", udpPort: 1, tcpPort: 2 };
 * console.log(verifyPeerProof(mine, { ...peer, txt: proofTxt(theirs, peer) })); // false
 * ```
 */
export function verifyPeerProof(keys: SecurityKeys, peer: ProofPeer): boolean {
  try {
    return peerProofStatus(keys, peer) === "proven";
  } catch {
    return false;
  }
}

/**
 * Builds Discovery's `acceptPeer` option for a node with a secret.
 *
 * @param keys Our keys.
 * @param options `allowInsecurePeers`: also accept peers without any proof (Python 1.2,
 *   nodes without a secret); peers with a proof that does not verify are refused either way.
 * @returns The predicate.
 *
 * @example
 * ```ts ignore
 * const discovery = new Discovery({ ...options, txt: { ...txt, ...proofTxt(keys, me) }, acceptPeer: acceptPeerWith(keys) });
 * ```
 */
export function acceptPeerWith(
  keys: SecurityKeys,
  options: { allowInsecurePeers?: boolean } = {},
): (peer: ProofPeer) => boolean {
  const allowUnproven = options.allowInsecurePeers === true;
  return (peer) => {
    try {
      const status = peerProofStatus(keys, peer);
      return status === "proven" || (allowUnproven && status === "unproven");
    } catch {
      return false;
    }
  };
}

/**
 * Whether a discovered peer announced a proof (and so seals its RPC traffic). A node with a
 * secret and `allowInsecurePeers` talks plaintext to peers without one (`RpcPeer.insecure`).
 *
 * @param peer The peer's TXT entries.
 * @returns True when the TXT has an `auth` entry.
 *
 * @example
 * ```ts
 * import { announcesProof } from "./proof.ts";
 * console.log(announcesProof({ txt: { ext: "persist" } })); // false
 * ```
 */
export function announcesProof(peer: { txt?: Readonly<Record<string, string | undefined>> }): boolean {
  return peer.txt?.[PROOF_TXT_KEY] !== undefined;
}

/**
 * Whether a discovered peer takes only sealed calls: it announced a proof of a secret and not
 * that it also takes plaintext ({@linkcode PLAINTEXT_TXT_KEY}). A node without the secret
 * cannot call it.
 *
 * @param peer The peer's TXT entries.
 * @returns True for a peer with a secret that drops plaintext.
 *
 * @example
 * ```ts
 * import { takesOnlySealed } from "./proof.ts";
 * console.log(takesOnlySealed({ txt: { auth: "…" } })); // true
 * console.log(takesOnlySealed({ txt: { auth: "…", plain: "1" } })); // false
 * ```
 */
export function takesOnlySealed(peer: { txt?: Readonly<Record<string, string | undefined>> }): boolean {
  return announcesProof(peer) && peer.txt?.[PLAINTEXT_TXT_KEY] === undefined;
}
