#!/usr/bin/env bash
# Avahi (avahi-daemon with a D-Bus system bus of its own) on one host of the private LAN
# made by scripts/lan.sh, for the mDNS interoperability tests. Nothing here touches the
# machine's own D-Bus, /run, or Avahi: everything lives in the LAN host's namespaces and a
# directory you give.
#
# Usage:
#   scripts/avahi-host.sh daemon --dir DIR [--host-name NAME] [--max-seconds S] [--family 4|6|46]
#       Run ON a LAN host (scripts/lan.sh exec N, or Lan.spawn). Starts dbus-daemon (socket
#       DIR/bus) and avahi-daemon (mDNS on pleth0 over IPv4 - or, with --family, IPv6 only
#       (6) or both (46) - host name NAME.local, default "avahi-host$LAN_HOST"), prints one
#       JSON line once the daemon has registered its host name and answers clients:
#         {"ready":true,"bus":"unix:path=DIR/bus","hostName":"NAME.local","daemonPid":N}
#       then holds them until standard input closes, SIGTERM/SIGINT, the daemon dies, or S
#       seconds (default 120) pass, and stops them. Daemon logs go to stderr.
#       Clients (avahi-browse, avahi-publish, avahi-resolve) then run anywhere on that host
#       with DBUS_SYSTEM_BUS_ADDRESS set to "bus" from the JSON line.
#   scripts/avahi-host.sh check
#       Builds a one-host LAN, starts Avahi there and asks it something with avahi-browse;
#       prints `avahi: ok`, or why Avahi cannot run here (exit 96).
#
# How it runs without privileges (we are root only inside a user namespace, scripts/netns.sh):
#   - A nested private mount namespace with a tmpfs on /run: avahi-daemon's pid file and
#     socket (/run/avahi-daemon, fixed at build time) never touch the machine's /run, and
#     several daemons (one per host) do not see each other's pid files.
#   - avahi-daemon insists that /run/avahi-daemon belongs to the user "avahi", even with
#     --no-drop-root. That user's uid is not mapped in our user namespace, so chown to it
#     fails; inside the private mount namespace /etc/passwd and /etc/group are bind-mounted
#     over with copies where "avahi" is uid/gid 0 (us).
#   - --no-drop-root (setuid to an unmapped uid would fail), --no-chroot, --no-rlimits
#     (raising limits is not allowed in a user namespace; the stock config's rlimit-nproc
#     would count every process of the real user).
#   - Our own avahi-daemon.conf: allow-interfaces=pleth0, use-ipv4 only (unless --family),
#     wide-area off, no static services (we do not load /etc/avahi/avahi-daemon.conf).
#   - dbus-daemon with a minimal config we write (allow everything, socket in DIR): the
#     stock system.conf switches to the unmapped user "messagebus". libdbus honours
#     DBUS_SYSTEM_BUS_ADDRESS, in avahi-daemon and in the clients alike.
#
# Needs (Debian packages): avahi-daemon, avahi-utils, dbus (dbus-daemon); util-linux
# (unshare, mount), coreutils.
# Exit codes: 96 Avahi cannot run here (reason on stderr), 2 usage error, 1 the daemon failed.
set -euo pipefail

readonly EXIT_USAGE=2 EXIT_NO_AVAHI=96
readonly IFACE=pleth0 START_TIMEOUT_S=15
SELF=$(readlink -f "$0")
readonly SELF
ROOT=$(dirname "$(dirname "$SELF")")
readonly ROOT
# avahi-daemon lives in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

PROG=avahi-host
# shellcheck source=scripts/_script_common.sh
source "$(dirname "$SELF")/_script_common.sh"

need_tools() {
  local tool missing=()
  for tool in avahi-daemon avahi-browse avahi-publish dbus-daemon unshare mount timeout; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] ||
    die "$EXIT_NO_AVAHI" "Avahi cannot run here: missing ${missing[*]} (Debian packages: avahi-daemon avahi-utils dbus)"
}

write_configs() { # write_configs DIR HOST_NAME FAMILY
  local dir=$1 name=$2 family=$3 use_ipv4=yes use_ipv6=no
  [ "$family" = 6 ] && use_ipv4=no
  [ "$family" = 4 ] || use_ipv6=yes
  cat >"$dir/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- A throwaway system bus for one LAN host: only our test processes can reach it. -->
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
  cat >"$dir/avahi-daemon.conf" <<EOF
# Avahi for one private LAN host (scripts/avahi-host.sh); see avahi-daemon.conf(5).
[server]
host-name=$name
domain-name=local
use-ipv4=$use_ipv4
use-ipv6=$use_ipv6
allow-interfaces=$IFACE
enable-dbus=yes
disallow-other-stacks=no
ratelimit-interval-usec=1000000
ratelimit-burst=1000

[wide-area]
enable-wide-area=no

[publish]
publish-hinfo=no
publish-workstation=no
publish-addresses=yes

[reflector]
enable-reflector=no
EOF
  # "avahi" as uid/gid 0: see the header comment.
  { grep -v '^avahi:' /etc/passwd || true; echo 'avahi:x:0:0:Avahi (test):/run/avahi-daemon:/usr/sbin/nologin'; } >"$dir/passwd"
  { grep -v '^avahi:' /etc/group || true; echo 'avahi:x:0:'; } >"$dir/group"
}

DBUS_PID=""
AVAHI_PID=""

stop_daemons() {
  trap '' INT TERM HUP
  local pid i
  for pid in $AVAHI_PID $DBUS_PID; do
    kill -TERM "$pid" 2>/dev/null || continue
    # avahi-daemon sends its goodbye packets on SIGTERM; give it a moment.
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# Runs inside the private mount namespace (see cmd_daemon).
daemon_inside() { # daemon_inside DIR HOST_NAME MAX_SECONDS
  local dir=$1 name=$2 max=$3 i bus
  bus="unix:path=$dir/bus"
  mount -t tmpfs -o mode=0755 plrun /run ||
    die "$EXIT_NO_AVAHI" "Avahi cannot run here: cannot mount a private tmpfs on /run (no CAP_SYS_ADMIN in this mount namespace?)"
  mount --bind "$dir/passwd" /etc/passwd && mount --bind "$dir/group" /etc/group ||
    die "$EXIT_NO_AVAHI" "Avahi cannot run here: cannot bind-mount over /etc/passwd and /etc/group"
  trap stop_daemons EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  trap 'exit 129' HUP
  # Each daemon gets a hard lifetime too, in case this shell is killed with SIGKILL
  # (scripts/lan.sh kills everything on the host at teardown anyway).
  timeout -k 2 "$((max + 5))" dbus-daemon --config-file="$dir/dbus.conf" --nofork --nopidfile \
    --nosyslog </dev/null >&2 2>&1 &
  DBUS_PID=$!
  for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
    [ -S "$dir/bus" ] && break
    kill -0 "$DBUS_PID" 2>/dev/null || die 1 "dbus-daemon exited at start (see its messages above)"
    sleep 0.1
  done
  [ -S "$dir/bus" ] || die 1 "dbus-daemon did not create $dir/bus within ${START_TIMEOUT_S} s"
  export DBUS_SYSTEM_BUS_ADDRESS=$bus
  # The log is also kept in DIR to tell when the daemon is up.
  : >"$dir/avahi.log"
  timeout -k 2 "$((max + 5))" avahi-daemon -f "$dir/avahi-daemon.conf" --no-drop-root --no-chroot \
    --no-rlimits --no-proc-title </dev/null > >(tee -a "$dir/avahi.log" >&2) 2>&1 &
  AVAHI_PID=$!
  for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
    grep -q 'Server startup complete' "$dir/avahi.log" && break
    kill -0 "$AVAHI_PID" 2>/dev/null || die 1 "avahi-daemon exited at start: $(tail -n 5 "$dir/avahi.log" | tr '\n' ' ')"
    sleep 0.1
  done
  grep -q 'Server startup complete' "$dir/avahi.log" ||
    die 1 "avahi-daemon did not finish starting within ${START_TIMEOUT_S} s: $(tail -n 5 "$dir/avahi.log" | tr '\n' ' ')"
  # A client round trip over D-Bus, as the tests will make (-k: no service type database).
  timeout 10 avahi-browse -t -p -k _avahi-host-check._tcp >/dev/null 2>"$dir/client.err" ||
    die 1 "avahi-daemon runs but clients cannot reach it over D-Bus ($bus): $(tr '\n' ' ' <"$dir/client.err")"
  printf '{"ready":true,"bus":"%s","hostName":"%s.local","daemonPid":%d}\n' "$bus" "$name" "$AVAHI_PID"
  # Hold until stdin closes, a signal, the daemon dies or time runs out. `read -t 1` returns
  # > 128 on timeout and 1 on end of input.
  local status=0 line
  while ((SECONDS < max)); do
    kill -0 "$AVAHI_PID" 2>/dev/null || die 1 "avahi-daemon died: $(tail -n 5 "$dir/avahi.log" | tr '\n' ' ')"
    status=0
    IFS= read -r -t 1 line || status=$?
    [ "$status" -eq 0 ] || [ "$status" -gt 128 ] || break
  done
  exit 0
}

cmd_daemon() {
  local dir="" name="avahi-host${LAN_HOST:-0}" max=120 family=4
  while [ $# -gt 0 ]; do
    case "$1" in
      --family) family=${2:-}; shift 2 || usage ;;
      --dir) dir=${2:-}; shift 2 || usage ;;
      --host-name) name=${2:-}; shift 2 || usage ;;
      --max-seconds) max=${2:-}; shift 2 || usage ;;
      *) die "$EXIT_USAGE" "daemon: unknown option '$1' (see scripts/avahi-host.sh --help)" ;;
    esac
  done
  [ -n "$dir" ] && [ -d "$dir" ] || die "$EXIT_USAGE" "daemon: --dir must name an existing directory, got '$dir'"
  # Short path: a unix socket path must stay under 108 bytes.
  [ ${#dir} -le 90 ] || die "$EXIT_USAGE" "daemon: --dir path is too long for a socket (${#dir} > 90 bytes)"
  [[ "$name" =~ ^[A-Za-z0-9-]{1,63}$ ]] || die "$EXIT_USAGE" "daemon: --host-name must be one DNS label (letters, digits, -), got '$name'"
  [[ "$max" =~ ^[0-9]+$ ]] && [ "$max" -ge 1 ] && [ "$max" -le 3600 ] ||
    die "$EXIT_USAGE" "daemon: --max-seconds must be 1..3600, got '$max'"
  [[ "$family" =~ ^(4|6|46)$ ]] || die "$EXIT_USAGE" "daemon: --family must be 4, 6 or 46, got '$family'"
  need_tools
  # Only ever on a LAN host, whose links are loopback and pleth0 and nothing else: Avahi must
  # never announce on a real interface.
  local links
  links=$(ip -o link show 2>/dev/null | awk -F': ' '{ split($2, n, "@"); print n[1] }' | sort | tr '\n' ' ')
  [ "$links" = "lo $IFACE " ] ||
    die "$EXIT_USAGE" "daemon: refusing to run: this namespace's links are '${links% }', not just lo and $IFACE; run it on a LAN host (scripts/lan.sh exec N -- $0 daemon ...)"
  write_configs "$dir" "$name" "$family"
  exec unshare -m --propagation private "$SELF" --inside-daemon "$dir" "$name" "$max"
}

cmd_check() {
  [ $# -eq 0 ] || die "$EXIT_USAGE" "check takes no arguments"
  need_tools
  local dir status=0 out
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pl-avahi.XXXXXX")
  # shellcheck disable=SC2016
  out=$(bash "$ROOT/scripts/lan.sh" run --hosts 1 --max-seconds 40 -- bash -c '
    "$LAN_SH" exec 1 -- "$0" daemon --dir "$1" --max-seconds 30 </dev/null | head -n 1' "$SELF" "$dir" 2>&1) ||
    status=$?
  rm -rf "$dir"
  if [ "$status" -eq 0 ] && grep -q '"ready":true' <<<"$out"; then
    echo "avahi: ok"
    return 0
  fi
  [ "$status" -ne 97 ] || die "$EXIT_NO_AVAHI" "Avahi cannot run here: no private LAN ($(tail -n 1 <<<"$out"))"
  die "$EXIT_NO_AVAHI" "Avahi cannot run here: $(grep 'avahi-host:' <<<"$out" | tail -n 1 | sed 's/^avahi-host: //')${out:+ (output: $(tail -n 3 <<<"$out" | tr '\n' ' '))}"
}

case "${1:-}" in
  --inside-daemon) shift; daemon_inside "$@" ;;
  daemon) shift; cmd_daemon "$@" ;;
  check) shift; cmd_check "$@" ;;
  -h | --help | help) usage 0 ;;
  *) echo "avahi-host: unknown command '${1:-}'" >&2; usage ;;
esac
