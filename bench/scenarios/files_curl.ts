/**
 * `curl` as the file row's plain HTTP client: it downloads from the serving node's TCP port on
 * one LAN host, run on another (`Lan.run`, bounded in time).
 *
 * @module
 */
import type { Lan } from "../../tests/support/lan.ts";

/**
 * curl's version line, run on a host.
 *
 * @param lan The LAN.
 * @param host Where.
 * @returns e.g. `"curl 8.14.1"`.
 * @throws {Error} When curl is not there.
 */
export async function curlVersion(lan: Lan, host: number): Promise<string> {
  const exit = await lan.run(host, ["curl", "--version"], 10_000);
  if (exit.code !== 0) {
    throw new Error(`curl does not run here (Debian package curl): ${exit.stderr.trim() || `exit ${exit.code}`}`);
  }
  return exit.stdout.split(" ").slice(0, 2).join(" ");
}

/**
 * Downloads `url` to `dest` with `curl -o` on a host.
 *
 * @param lan The LAN.
 * @param host Where curl runs.
 * @param url What it fetches.
 * @param dest Where it writes.
 * @param bytes The size expected.
 * @param timeoutMs How long it may take.
 * @returns `rate`: MB/s over curl's own total time (connection included).
 * @throws {Error} When curl fails or the size differs.
 */
export async function curlDownload(
  lan: Lan,
  host: number,
  url: string,
  dest: string,
  bytes: number,
  timeoutMs: number,
): Promise<{ rate: number }> {
  const argv = [
    "curl",
    "--silent",
    "--show-error",
    "--fail",
    // A proxy from the environment would be unreachable inside the LAN.
    "--noproxy",
    "*",
    "--max-time",
    String(Math.ceil(timeoutMs / 1000)),
    "--output",
    dest,
    "--write-out",
    "%{size_download} %{time_total}",
    url,
  ];
  const exit = await lan.run(host, argv, timeoutMs + 5_000);
  if (exit.code !== 0) throw new Error(`curl ${url} exited with ${exit.code ?? exit.signal}: ${exit.stderr.trim()}`);
  const [size, seconds] = exit.stdout.trim().split(" ").map(Number);
  if (size !== bytes) throw new Error(`curl ${url} downloaded ${size} bytes, expected ${bytes}`);
  return { rate: size / 1e6 / seconds };
}
