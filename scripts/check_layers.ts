/**
 * Checks the import rules of ARCHITECTURE.md ("What each folder may import") on the source
 * tree, so the layering stays true: the core never imports an adapter or the CLI, never
 * touches a runtime's networking, the wire and security layers never reach up into the RPC
 * engine, and adapters use only the socket interface of the core.
 *
 * Usage: node scripts/check_layers.ts   (exit 1 listing every violation; CI runs it)
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** One rule: files under `from` may not import what `forbidden` matches (a repository path or a bare specifier). */
interface Rule {
  from: string;
  forbidden: RegExp;
  why: string;
}

const RULES: readonly Rule[] = [
  { from: "src/", forbidden: /^runtimes\//, why: "the core never imports an adapter (entry points wire them)" },
  { from: "src/", forbidden: /^cli\//, why: "the core never imports the CLI" },
  { from: "src/", forbidden: /^node:(net|dgram|child_process)$/, why: "the core never touches runtime networking" },
  { from: "src/wire/", forbidden: /^src\/(rpc|security|mdns)\//, why: "the wire format sits below the RPC engine" },
  { from: "src/security/", forbidden: /^src\/(rpc|mdns)\//, why: "the gate sits below the RPC engine" },
  { from: "src/mdns/", forbidden: /^src\/(rpc|security)\/|^src\/peerlink\.ts$/, why: "mDNS knows nothing of RPC" },
  {
    from: "src/dnssd/",
    forbidden: /^src\/(rpc|security)\/|^src\/(peerlink|discovery)\.ts$/,
    why: "wide-area DNS-SD feeds the peer table through callbacks and knows nothing of RPC",
  },
  {
    from: "runtimes/",
    forbidden:
      /^src\/(?!net\.ts$|net_errors\.ts$|log\.ts$|chunk_queue\.ts$|ipv4\.ts$|runtime_kind\.ts$|runtime_default\.ts$)/,
    why: "adapters use only the socket interface of the core",
  },
  { from: "cli/", forbidden: /^runtimes\//, why: "the CLI gets its adapter from the entry point (cli.ts)" },
];

/** Networking globals the core must not use (it sees only `SocketRuntime`). */
const RUNTIME_NETWORKING = /\b(Deno\.(listen|listenDatagram|connect)|Bun\.(udpSocket|listen|connect))\b/;

const IMPORT = /(?:^|\n)\s*(?:import|export)[^"'`;]*?from\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir))) {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(root, path));
    else if (path.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Strips comments, so documentation examples do not count as imports. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

/**
 * Every violation of the import rules in the tree.
 *
 * @param root Repository root (default: this checkout).
 * @returns One line per violation: file, what it imports, and the rule.
 */
export function layerViolations(root: string = ROOT): string[] {
  const problems: string[] = [];
  for (const top of ["src", "runtimes", "cli"]) {
    for (const file of sourceFiles(root, top)) {
      const text = code(readFileSync(join(root, file), "utf8"));
      const targets: string[] = [];
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2];
        targets.push(spec.startsWith(".") ? relative(root, normalize(join(root, dirname(file), spec))) : spec);
      }
      for (const rule of RULES) {
        if (!file.startsWith(rule.from)) continue;
        for (const target of targets) {
          if (rule.forbidden.test(target)) problems.push(`${file} imports ${target}: ${rule.why}`);
        }
      }
      if (file.startsWith("src/") && RUNTIME_NETWORKING.test(text)) {
        problems.push(`${file} uses a runtime's networking directly: the core sees only SocketRuntime (src/net.ts)`);
      }
    }
  }
  return problems;
}

if (import.meta.main ?? process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = layerViolations();
  for (const line of problems) console.error(`layers: ${line}`);
  if (problems.length > 0) process.exit(1);
  console.log("layers: ok (ARCHITECTURE.md import rules hold)");
}
