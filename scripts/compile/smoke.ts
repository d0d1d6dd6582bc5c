/**
 * The check every binary built for this machine gets before the script reports success:
 * `peerlink --version` runs and prints the version of the sources it was built from.
 *
 * @module
 */
import { VERSION } from "../../src/version.ts";
import { execute } from "./exec.ts";

/**
 * Runs `<file> --version`.
 *
 * @param file The binary.
 * @returns What it printed, or throws when it failed or printed another version.
 */
export async function checkVersion(file: string): Promise<string> {
  const result = await execute(file, ["--version"]);
  const printed = result.stdout.trim();
  if (result.status !== 0) {
    throw new Error(
      `the binary was built but '${file} --version' failed (exit ${result.status}): ${result.stderr.trim()}`,
    );
  }
  if (printed !== `peerlink ${VERSION}`) {
    throw new Error(`'${file} --version' printed '${printed}', expected 'peerlink ${VERSION}'`);
  }
  return printed;
}
