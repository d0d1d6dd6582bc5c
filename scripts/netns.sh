#!/usr/bin/env bash
# Runs a command inside a fresh private network namespace (unprivileged: `unshare -rn`)
# whose only interface is loopback, with multicast on and routes for 224.0.0.0/4 and ff00::/8.
# Nothing sent inside can leave this machine. Usage: scripts/netns.sh COMMAND [ARGS...]
# Exit code 97 means the namespace could not be made here.
set -euo pipefail
if [ "${1:-}" = "--inside" ]; then
  shift
  ip link set lo up
  ip link set lo multicast on
  # src 127.0.0.1: without it multicast from sockets bound to 0.0.0.0 arrives from "0.0.0.0".
  ip route add 224.0.0.0/4 dev lo src 127.0.0.1
  # TEST-NET-2 routed into loopback, where nothing answers: a target that makes connects hang (timeout tests).
  ip route add 198.51.100.0/24 dev lo
  ip -6 route add ff00::/8 dev lo table local 2>/dev/null || ip -6 route add ff00::/8 dev lo 2>/dev/null || true
  export PEERLINK_NETNS=1
  exec "$@"
fi
if ! unshare -rn true 2>/dev/null; then
  echo "netns: cannot create a private network namespace here (unshare -rn failed: user namespaces disabled?)" >&2
  exit 97
fi
exec unshare -rn "$0" --inside "$@"
