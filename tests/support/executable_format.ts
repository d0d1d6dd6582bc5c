/**
 * Reads what an executable file says about itself in its headers, for the binaries that
 * cannot run here: ELF (Linux), Mach-O (macOS) and PE (Windows). Only the fields a wrong
 * build would get wrong: format, CPU, executable or not, the ELF program interpreter (glibc
 * or musl) and the PE subsystem. (A Mach-O's code signature is checked by
 * scripts/compile/macho_signature.ts.)
 */
import { closeSync, openSync, readSync } from "node:fs";

/** What the headers say. */
export interface ExecutableFormat {
  format: "elf" | "mach-o" | "pe" | "unknown";
  /** CPU, in the targets' words. */
  arch: "x64" | "arm64" | string;
  /** An executable program (ELF EXEC/DYN with an interpreter, Mach-O MH_EXECUTE, PE image). */
  executable: boolean;
  /** ELF: the dynamic loader it asks for, e.g. `/lib/ld-musl-x86_64.so.1`. */
  interpreter?: string;
  /** PE: `console` or `gui`. */
  subsystem?: string;
}

const ELF_MACHINES: Record<number, string> = { 62: "x64", 183: "arm64" };
const MACHO_CPUS: Record<number, string> = { 0x01000007: "x64", 0x0100000c: "arm64" };
const PE_MACHINES: Record<number, string> = { 0x8664: "x64", 0xaa64: "arm64" };
const PE_SUBSYSTEMS: Record<number, string> = { 2: "gui", 3: "console" };

/**
 * Reads a file's executable headers.
 *
 * @param file The file.
 * @returns What they say; `format: "unknown"` when none of the three.
 */
export function readExecutableFormat(file: string): ExecutableFormat {
  const head = readBytes(file, 0, 64 * 1024);
  if (head.readUInt32BE(0) === 0x7f454c46) return readElf(file, head);
  if (head.readUInt32LE(0) === 0xfeedfacf) {
    return {
      format: "mach-o",
      arch: MACHO_CPUS[head.readUInt32LE(4)] ?? `cpu 0x${head.readUInt32LE(4).toString(16)}`,
      executable: head.readUInt32LE(12) === 2, // MH_EXECUTE
    };
  }
  if (head.toString("latin1", 0, 2) === "MZ") {
    const pe = head.readUInt32LE(0x3c);
    if (head.toString("latin1", pe, pe + 4) === "PE\0\0") {
      const optional = pe + 24;
      return {
        format: "pe",
        arch: PE_MACHINES[head.readUInt16LE(pe + 4)] ?? `machine 0x${head.readUInt16LE(pe + 4).toString(16)}`,
        // IMAGE_FILE_EXECUTABLE_IMAGE, and a PE32+ optional header (64-bit).
        executable: (head.readUInt16LE(pe + 22) & 0x2) !== 0 && head.readUInt16LE(optional) === 0x20b,
        subsystem: PE_SUBSYSTEMS[head.readUInt16LE(optional + 68)] ?? String(head.readUInt16LE(optional + 68)),
      };
    }
  }
  return { format: "unknown", arch: "unknown", executable: false };
}

/** 64-bit little-endian ELF: machine, type, and the PT_INTERP segment's path. */
function readElf(file: string, head: Buffer): ExecutableFormat {
  const is64LittleEndian = head[4] === 2 && head[5] === 1;
  const machine = head.readUInt16LE(18);
  const type = head.readUInt16LE(16);
  let interpreter: string | undefined;
  if (is64LittleEndian) {
    const tableOffset = Number(head.readBigUInt64LE(32));
    const entrySize = head.readUInt16LE(54);
    const entries = head.readUInt16LE(56);
    const table = readBytes(file, tableOffset, entrySize * entries);
    for (let i = 0; i < entries; i++) {
      const entry = i * entrySize;
      if (table.readUInt32LE(entry) !== 3) continue; // PT_INTERP
      const offset = Number(table.readBigUInt64LE(entry + 8));
      const size = Number(table.readBigUInt64LE(entry + 32));
      interpreter = readBytes(file, offset, size).toString("latin1").replace(/\0+$/, "");
    }
  }
  return {
    format: "elf",
    arch: is64LittleEndian ? (ELF_MACHINES[machine] ?? `machine ${machine}`) : "not 64-bit little-endian",
    executable: (type === 2 || type === 3) && interpreter !== undefined, // ET_EXEC or a PIE
    interpreter,
  };
}

function readBytes(file: string, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    const read = readSync(fd, buffer, 0, length, offset);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
