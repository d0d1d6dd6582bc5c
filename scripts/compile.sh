#!/usr/bin/env bash
# Single-file `peerlink` binaries built from cli.ts.
#
# Usage: scripts/compile.sh [bun|deno] [OUTPUT]     (default: bun, OUTPUT ./peerlink)
#   bun   bun build --compile: embeds the Bun binary we already have (node_modules/.bin/bun),
#         so it needs no download. This is the binary CI builds and tests.
#   deno  deno compile -A --unstable-net: embeds `denort`, a slim Deno runtime that Deno
#         downloads from dl.deno.land on first use and caches in $DENO_DIR/dl/. Where that
#         download cannot work (no internet), this script stops and says why. Ways around it:
#           - run it once on a machine with internet, then copy $DENO_DIR/dl/ over; or
#           - set DENORT_BIN=/path/to/denort (the `denort` from Deno's release archive of the
#             same version; the full `deno` binary does NOT work as DENORT_BIN: it runs as the
#             Deno CLI instead of the embedded program).
#         No npm package ships denort (the @deno/* npm packages carry only the full `deno`).
#
# Exit codes: 0 built and smoke-tested (`OUTPUT --version`), 1 build failed,
#             2 usage, 3 denort unavailable (deno only).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-bun}"
out="${2:-$root/peerlink}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
bin="$root/node_modules/.bin"
expected_version="$(sed -n 's/^export const VERSION = "\(.*\)";$/\1/p' "$root/src/version.ts")"

[ -f "$root/cli.ts" ] || { echo "compile: $root/cli.ts is missing: nothing to compile" >&2; exit 1; }

smoke_test() {
  local printed
  if ! printed="$("$out" --version 2>&1)"; then
    echo "compile: the binary was built but '$out --version' failed: $printed" >&2
    exit 1
  fi
  case "$printed" in
    *"$expected_version"*) echo "compile: $out ($1, $(du -h "$out" | cut -f1)) prints: $printed" ;;
    *) echo "compile: '$out --version' printed '$printed', expected $expected_version" >&2; exit 1 ;;
  esac
}

compile_bun() {
  [ -x "$bin/bun" ] || { echo "compile: $bin/bun is missing: run 'npm ci' first" >&2; exit 1; }
  (cd "$root" && "$bin/bun" build --compile --sourcemap cli.ts --outfile "$out")
  smoke_test bun
}

# The denort archive `deno compile` would download for this Deno version and machine.
denort_archive() {
  local version arch
  version="$("$bin/deno" --version | sed -n 's/^deno \([^ ]*\).*/\1/p')"
  case "$(uname -m)" in
    x86_64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) arch="$(uname -m)" ;;
  esac
  case "$(uname -s)" in
    Linux) echo "v$version/denort-$arch-unknown-linux-gnu.zip" ;;
    Darwin) echo "v$version/denort-$arch-apple-darwin.zip" ;;
    *) echo "v$version/denort-$arch-pc-windows-msvc.zip" ;;
  esac
}

compile_deno() {
  [ -x "$bin/deno" ] || { echo "compile: $bin/deno is missing: run 'npm ci' first" >&2; exit 1; }
  local deno_dir archive source log
  deno_dir="$("$bin/deno" info --json 2>/dev/null | sed -n 's/.*"denoDir": *"\([^"]*\)".*/\1/p' | head -n1)"
  archive="$(denort_archive)"
  if [ -n "${DENORT_BIN:-}" ]; then
    [ -x "$DENORT_BIN" ] || { echo "compile: DENORT_BIN=$DENORT_BIN is not an executable file" >&2; exit 3; }
    if [ "$(readlink -f "$DENORT_BIN")" = "$(readlink -f "$bin/deno")" ]; then
      echo "compile: DENORT_BIN points to the full deno binary, which cannot serve as denort (the result would run as the Deno CLI). Use the denort binary from Deno's release archive." >&2
      exit 3
    fi
    source="DENORT_BIN=$DENORT_BIN"
  elif [ -n "$deno_dir" ] && [ -f "$deno_dir/dl/release/$archive" ]; then
    source="cached $deno_dir/dl/release/$archive"
  else
    source="download of https://dl.deno.land/release/$archive"
  fi
  echo "compile: deno compile, runtime from the $source"
  log="$(mktemp)"
  trap 'rm -f "$log"' RETURN
  if (cd "$root" && "$bin/deno" compile -A --unstable-net -o "$out" cli.ts) >"$log" 2>&1; then
    cat "$log"
    smoke_test deno
    return
  fi
  cat "$log" >&2
  if grep -q -e "dl.deno.land" -e "Setting up base binary" "$log"; then
    cat >&2 <<EOF

compile: stopped: deno compile needs denort, the runtime it embeds in the binary, and could not get it.
  It downloads https://dl.deno.land/release/$archive (no npm package ships denort),
  and this machine cannot reach that host. To build the Deno binary:
    - run 'deno task compile' once on a machine with internet: the archive is cached in
      ${deno_dir:-\$DENO_DIR}/dl/release/, and copying that file here makes later builds work offline; or
    - set DENORT_BIN to the denort binary from that archive.
  The Bun binary needs no download: scripts/compile.sh bun
EOF
    exit 3
  fi
  echo "compile: deno compile failed (see its output above)" >&2
  exit 1
}

case "$target" in
  bun) compile_bun ;;
  deno) compile_deno ;;
  -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "compile: unknown target '$target': use bun or deno (scripts/compile.sh --help)" >&2; exit 2 ;;
esac
