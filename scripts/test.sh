#!/usr/bin/env bash
# `npm test`: every test file under Deno, Bun and Node, inside a private network namespace
# (scripts/netns.sh), so no test packet can leave this machine. Where no namespace can be
# made, it fails when PEERLINK_REQUIRE_NETNS=1 (CI); otherwise it says so and runs with
# PEERLINK_NO_NETNS=1: socket tests then skip themselves, and PEERLINK_ALLOW_SKIPS=1 makes
# the runner report those skips instead of failing on them (see scripts/run_tests.ts).
# Arguments pass through to scripts/run_tests.ts (e.g. --runtime node tests/net_errors.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in deno bun node; do
  [ -x "node_modules/.bin/$bin" ] || { echo "test: node_modules/.bin/$bin is missing: run 'npm ci' first" >&2; exit 2; }
done
if [ "${PEERLINK_NETNS:-}" = 1 ]; then
  exec node_modules/.bin/node scripts/run_tests.ts "$@"
fi
if unshare -rn true 2>/dev/null; then
  exec scripts/netns.sh node_modules/.bin/node scripts/run_tests.ts "$@"
fi
if [ "${PEERLINK_REQUIRE_NETNS:-}" = 1 ]; then
  echo "test: cannot create a private network namespace (unshare -rn failed) and PEERLINK_REQUIRE_NETNS=1: failing instead of skipping every socket test. Enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or run the container with --privileged / a seccomp profile that allows unshare)." >&2
  exit 1
fi
echo "test: cannot create a private network namespace (unshare -rn failed); running in-memory tests only, socket tests are skipped (and reported, not failed: PEERLINK_ALLOW_SKIPS=1)" >&2
PEERLINK_NO_NETNS=1 PEERLINK_ALLOW_SKIPS=1 exec node_modules/.bin/node scripts/run_tests.ts "$@"
