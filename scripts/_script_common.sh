# Shared by scripts/lan.sh and scripts/avahi-host.sh (sourced, not run): error exit and usage.
# The sourcing script sets PROG (message prefix), SELF (its own path) and EXIT_USAGE first.

die() { # die EXIT_CODE MESSAGE...
  local code=$1
  shift
  echo "$PROG: $*" >&2
  exit "$code"
}

usage() { # usage [EXIT_CODE]: prints the sourcing script's header comment
  sed -n '2,/^set -euo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "${1:-$EXIT_USAGE}"
}
