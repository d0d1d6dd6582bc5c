/**
 * `SHA256SUMS` beside the binaries, in the format `sha256sum -c SHA256SUMS` checks (and
 * `shasum -a 256 -c` on macOS, `Get-FileHash` by eye on Windows).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The checksum file's name. */
export const CHECKSUMS_FILE = "SHA256SUMS";

/**
 * Writes `SHA256SUMS` for every binary in the folder (`peerlink-*`, whichever run built it),
 * so the file always describes what is there (and is removed when there is none).
 *
 * @param dir The binaries' folder.
 * @returns The file's path and the names it lists.
 */
export async function writeChecksums(dir: string): Promise<{ file: string; names: string[] }> {
  const names = readdirSync(dir).filter((name) => name.startsWith("peerlink-") && statSync(join(dir, name)).isFile())
    .sort();
  const file = join(dir, CHECKSUMS_FILE);
  if (names.length === 0) {
    rmSync(file, { force: true }); // nothing to describe
    return { file, names };
  }
  const lines: string[] = [];
  for (const name of names) lines.push(`${await sha256(join(dir, name))}  ${name}\n`);
  writeFileSync(file, lines.join(""));
  return { file, names };
}

/** Streamed: the binaries are about 100 MiB each. */
function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file).on("data", (chunk) => hash.update(chunk)).on("error", reject).on(
      "end",
      () => resolve(hash.digest("hex")),
    );
  });
}
