/**
 * Shared-secret security for PeerLink: key derivation (`keys.ts`), the sealed envelope every
 * RPC message travels in (`envelope.ts`, `channel.ts`), replay protection (`replay.ts`) and
 * the discovery proof (`proof.ts`).
 *
 * @example
 * ```ts
 * import { deriveKeys, proofTxt, verifyPeerProof } from "./mod.ts";
 * const keys = await deriveKeys("a long random shared secret");
 * const me = { name: "Worker", instanceId: crypto.randomUUID(), udpPort: 50001, tcpPort: 50002 };
 * console.log(await verifyPeerProof(keys, { ...me, txt: await proofTxt(keys, me) })); // true
 * ```
 *
 * @module
 */
export { deriveKeys, isSecurityKeys, type SecurityKeys } from "./keys.ts";
export { envelopeOverhead, isSealed, SEAL_MAGIC, SealKind, type SealKinds } from "./envelope.ts";
export { type OpenedMessage, SecureChannel, type SecurityDrop, type SecurityStats } from "./channel.ts";
export { ReplayGuard, type ReplayVerdict } from "./replay.ts";
export {
  acceptPeerWith,
  announcesProof,
  type PeerProofStatus,
  peerProofStatus,
  PROOF_TXT_KEY,
  type ProofPeer,
  type ProofSubject,
  proofTxt,
  verifyPeerProof,
} from "./proof.ts";
