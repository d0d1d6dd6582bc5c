/**
 * The code signature of a 64-bit Mach-O (macOS) binary: checking it, and replacing a broken
 * one with an ad-hoc signature.
 *
 * macOS refuses a binary whose signature does not match its content: on Apple silicon every
 * binary must be signed, and a hardened-runtime signature that no longer matches is killed on
 * Intel Macs too. `bun build --compile` appends the program to a copy of Bun's runtime and must
 * re-sign the result. Bun 1.4.5 does so for darwin-arm64, but its darwin-x64 output keeps the
 * runtime's original signature (Developer ID, hardened runtime), which covers only the runtime's
 * bytes: macOS would kill that binary. {@linkcode adHocSign} gives such a binary what Bun gives
 * the arm64 one, and what the linker gives any program built on a Mac: an ad-hoc signature, one
 * CodeDirectory with a SHA-256 hash per 4 KiB page.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const SUPERBLOB_MAGIC = 0xfade0cc0;
const CODEDIRECTORY_MAGIC = 0xfade0c02;
const CPU_ARM64 = 0x0100000c;
/** CodeDirectory flags: ad-hoc, linker-signed (as ld64 and Bun write them). */
const ADHOC_LINKER_SIGNED = 0x20002;
/** The CodeDirectory version with the executable-segment fields. */
const CODEDIRECTORY_VERSION = 0x20400;
/** Fixed part of a version 0x20400 CodeDirectory; the identifier follows it. */
const CODEDIRECTORY_HEADER = 88;
const PAGE_SHIFT = 12;
const HASH_SIZE = 32;

/** Where the signature and the segments it must agree with are. */
interface Layout {
  cpu: number;
  /** Offset of the LC_CODE_SIGNATURE load command. */
  signatureCommand: number;
  /** The signature's place in the file. */
  signatureOffset: number;
  signatureSize: number;
  /** Offset of the __LINKEDIT segment's load command (the signature lies at its end). */
  linkedit: number;
  /** The __TEXT segment's place in the file (the executable segment). */
  textOffset: bigint;
  textSize: bigint;
}

function layout(file: Buffer): Layout | string {
  if (file.readUInt32LE(0) !== 0xfeedfacf) return "not a 64-bit little-endian Mach-O";
  let signatureCommand = -1;
  let linkedit = -1;
  let textOffset = 0n;
  let textSize = 0n;
  let at = 32;
  for (let i = 0; i < file.readUInt32LE(16); i++) {
    const command = file.readUInt32LE(at);
    if (command === LC_CODE_SIGNATURE) signatureCommand = at;
    if (command === LC_SEGMENT_64) {
      const name = file.toString("latin1", at + 8, at + 24).replace(/\0+$/, "");
      if (name === "__LINKEDIT") linkedit = at;
      if (name === "__TEXT") [textOffset, textSize] = [file.readBigUInt64LE(at + 40), file.readBigUInt64LE(at + 48)];
    }
    at += file.readUInt32LE(at + 4);
  }
  if (signatureCommand < 0) {
    return "no LC_CODE_SIGNATURE load command: macOS on Apple silicon runs only signed binaries";
  }
  if (linkedit < 0) return "no __LINKEDIT segment";
  return {
    cpu: file.readUInt32LE(4),
    signatureCommand,
    signatureOffset: file.readUInt32LE(signatureCommand + 8),
    signatureSize: file.readUInt32LE(signatureCommand + 12),
    linkedit,
    textOffset,
    textSize,
  };
}

/**
 * Checks the embedded signature: its CodeDirectory must cover every byte before the signature,
 * and each page's hash must match the file as it is now.
 *
 * @param path A 64-bit Mach-O.
 * @returns `undefined` when the signature matches, else what is wrong.
 */
export function machOSignatureProblem(path: string): string | undefined {
  const file = readFileSync(path);
  const where = layout(file);
  if (typeof where === "string") return where;
  const blob = file.subarray(where.signatureOffset, where.signatureOffset + where.signatureSize);
  if (blob.length < 12 || blob.readUInt32BE(0) !== SUPERBLOB_MAGIC) return "the signature is not a SuperBlob";
  let directory: number | undefined;
  for (let i = 0; i < blob.readUInt32BE(8); i++) {
    if (blob.readUInt32BE(12 + i * 8) === 0) directory = blob.readUInt32BE(16 + i * 8);
  }
  if (directory === undefined || blob.readUInt32BE(directory) !== CODEDIRECTORY_MAGIC) return "no CodeDirectory";
  const hashOffset = directory + blob.readUInt32BE(directory + 16);
  const slots = blob.readUInt32BE(directory + 28);
  const codeLimit = blob.readUInt32BE(directory + 32);
  const hashSize = blob[directory + 36];
  const algorithm = ({ 1: "sha1", 2: "sha256" } as Record<number, string>)[blob[directory + 37]];
  const pageSize = 2 ** blob[directory + 39];
  if (!algorithm) return `unknown hash type ${blob[directory + 37]}`;
  if (codeLimit !== where.signatureOffset) {
    return `the signature covers ${codeLimit} bytes, but the code runs to ${where.signatureOffset}`;
  }
  for (let slot = 0; slot < slots; slot++) {
    const page = file.subarray(slot * pageSize, Math.min(codeLimit, (slot + 1) * pageSize));
    const signed = blob.subarray(hashOffset + slot * hashSize, hashOffset + (slot + 1) * hashSize);
    if (!createHash(algorithm).update(page).digest().subarray(0, hashSize).equals(signed)) {
      return `page ${slot} (from byte ${slot * pageSize}) does not match its signed hash`;
    }
  }
  return undefined;
}

/**
 * Replaces the binary's signature with an ad-hoc one over its current content, growing the
 * signature's space (and __LINKEDIT, at whose end it lies) as the hashes need.
 *
 * @param path A 64-bit Mach-O executable, rewritten in place.
 * @param identifier The signing identifier (the program's name).
 */
export function adHocSign(path: string, identifier: string): void {
  const original = readFileSync(path);
  const where = layout(original);
  if (typeof where === "string") throw new Error(`cannot sign ${path}: ${where}`);
  const codeLimit = where.signatureOffset;
  const slots = Math.ceil(codeLimit / 2 ** PAGE_SHIFT);
  const ident = Buffer.from(`${identifier}\0`, "latin1");
  const hashOffset = CODEDIRECTORY_HEADER + ident.length;
  const directorySize = hashOffset + slots * HASH_SIZE;
  const superBlobSize = 20 + directorySize;
  const signatureSize = Math.ceil(superBlobSize / 16) * 16;

  // The load commands are hashed too (page 0): fix the sizes before hashing.
  const code = Buffer.from(original.subarray(0, codeLimit));
  code.writeUInt32LE(signatureSize, where.signatureCommand + 12);
  const linkeditOffset = code.readBigUInt64LE(where.linkedit + 40);
  const linkeditSize = BigInt(codeLimit + signatureSize) - linkeditOffset;
  const vmPage = where.cpu === CPU_ARM64 ? 16384n : 4096n;
  const vmSize = (linkeditSize + vmPage - 1n) / vmPage * vmPage;
  if (vmSize > code.readBigUInt64LE(where.linkedit + 32)) code.writeBigUInt64LE(vmSize, where.linkedit + 32);
  code.writeBigUInt64LE(linkeditSize, where.linkedit + 48);

  const signature = Buffer.alloc(signatureSize);
  signature.writeUInt32BE(SUPERBLOB_MAGIC, 0);
  signature.writeUInt32BE(superBlobSize, 4);
  signature.writeUInt32BE(1, 8); // one blob:
  signature.writeUInt32BE(0, 12); // the CodeDirectory,
  signature.writeUInt32BE(20, 16); // right after this index
  const directory = signature.subarray(20, 20 + directorySize);
  directory.writeUInt32BE(CODEDIRECTORY_MAGIC, 0);
  directory.writeUInt32BE(directorySize, 4);
  directory.writeUInt32BE(CODEDIRECTORY_VERSION, 8);
  directory.writeUInt32BE(ADHOC_LINKER_SIGNED, 12);
  directory.writeUInt32BE(hashOffset, 16);
  directory.writeUInt32BE(CODEDIRECTORY_HEADER, 20); // identOffset
  directory.writeUInt32BE(0, 24); // no special slots
  directory.writeUInt32BE(slots, 28);
  directory.writeUInt32BE(codeLimit, 32);
  directory[36] = HASH_SIZE;
  directory[37] = 2; // SHA-256
  directory[39] = PAGE_SHIFT;
  directory.writeBigUInt64BE(where.textOffset, 64); // execSegBase
  directory.writeBigUInt64BE(where.textSize, 72); // execSegLimit
  directory.writeBigUInt64BE(1n, 80); // CS_EXECSEG_MAIN_BINARY
  ident.copy(directory, CODEDIRECTORY_HEADER);
  for (let slot = 0; slot < slots; slot++) {
    const page = code.subarray(slot << PAGE_SHIFT, Math.min(codeLimit, (slot + 1) << PAGE_SHIFT));
    createHash("sha256").update(page).digest().copy(directory, hashOffset + slot * HASH_SIZE);
  }
  writeFileSync(path, Buffer.concat([code, signature]));
}
