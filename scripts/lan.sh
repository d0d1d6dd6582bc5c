#!/usr/bin/env bash
# A private multi-host LAN for multi-host tests, built entirely inside private network
# namespaces: nothing here ever touches the machine's real interfaces.
#
#   outer namespace (yours; untouched)      switch namespace           host N namespace
#   ─ runs CMD / the tests                   plbr0 (bridge)  ── plpN ═══ pleth0 10.77.0.N/24
#                                                                        fe80::N, fd77::N
#
# Every host is a network namespace (plus a mount namespace with its own /sys, so
# /sys/class/net shows the host's links) held open by a `sleep` with a bounded lifetime.
# Hosts are joined by veth pairs to a bridge that lives in a namespace of its own, so
# several LANs can coexist and the caller's namespace gains no links or routes. Each host
# has loopback up, 10.77.0.N/24 on pleth0, routes 224.0.0.0/4 and ff00::/8 via pleth0, and
# no other route: anything outside 10.77.0.0/24 is unreachable at once.
#
# With --lan2 M there is a second LAN, 10.88.0.0/24 (bridge plbr1), of M more hosts (host
# H+K is 10.88.0.K on pleth0, fe80::K and fd88::K), and a router, the last host, on both:
# 10.77.0.254 (fd77::fe) on pleth0 and 10.88.0.254 (fd88::fe) on pleth1. The router forwards
# unicast (IPv4 and IPv6) and, like any Linux host without a multicast routing daemon, no
# multicast: mDNS stays on its LAN. Each host gains one route, to the other LAN via the
# router; anything else is still unreachable.
#
#   LAN A: plbr0 ── hosts 1..H (10.77.0.N) ── router pleth0 10.77.0.254
#   LAN B: plbr1 ── hosts H+1..H+M (10.88.0.K) ── router pleth1 10.88.0.254
#
# Usage:
#   scripts/lan.sh run [--hosts N] [--lan2 M] [--max-seconds S] -- CMD [ARGS...]
#       Builds the LAN (2 hosts, 600 s by default), runs CMD outside it (in the private
#       namespace lan.sh runs in) with the LAN_* variables below, tears the LAN down when CMD
#       exits (or after S seconds, or on error / Ctrl-C / SIGTERM) and exits with CMD's
#       status (124 when CMD ran out of time).
#   scripts/lan.sh up [--hosts N] [--lan2 M] [--max-seconds S]
#       Builds the LAN, prints one JSON line describing it, then holds it until standard
#       input closes (or S seconds pass) and tears it down. Used by tests/support/lan.ts.
#   scripts/lan.sh exec N [--] CMD [ARGS...]        (needs the LAN_* variables)
#       Runs CMD on host N (in its network and mount namespace, same working directory).
#   scripts/lan.sh loss N PERCENT [--udp]           (needs the LAN_* variables)
#       Drops PERCENT% (integer 0-100; 0 removes it) of the IP packets entering and leaving
#       host N (only UDP with --udp), with nftables, else tc netem.
#   scripts/lan.sh check
#       Builds and removes a one-host LAN; prints `lan: ok` and `loss: nft|netem|unavailable (why)`.
#
# Variables given to CMD (host order = host number, 1-based):
#   LAN_HOSTS    IPv4 addresses, space-separated ("10.77.0.1 10.77.0.2"; the router's is
#                its LAN A one)
#   LAN_PIDS     PIDs of the processes holding each host's namespaces
#   LAN_NETNS    network namespace ids of the hosts (checked before entering one)
#   LAN_SWITCH_PID, LAN_IFACE (pleth0), LAN_SH (this script), LAN_JSON (all of it as JSON)
# Commands run with `exec` also get LAN_HOST (their number) and LAN_ADDRESS.
#
# Works as root and unprivileged (user namespaces). Started in a namespace with any link but
# loopback and pl*, it first enters a private one (scripts/netns.sh) and builds there.
# Needs: bash, iproute2 (ip), util-linux (unshare, nsenter), coreutils, findutils, awk; for
# loss, nftables (nft) or a kernel with sch_netem (tc, from iproute2).
# Exit codes: 97 the LAN cannot be made here (reason on stderr), 98 loss is unavailable
# here, 2 usage error.
set -euo pipefail

readonly EXIT_USAGE=2 EXIT_NO_LAN=97 EXIT_NO_LOSS=98
readonly SUBNET=10.77.0 IFACE=pleth0 BRIDGE=plbr0 MAX_HOSTS=253
readonly SUBNET2=10.88.0 IFACE2=pleth1 BRIDGE2=plbr1 ROUTER_OCTET=254
SELF=$(readlink -f "$0")
readonly SELF
ROOT=$(dirname "$(dirname "$SELF")")
readonly ROOT

PROG=lan
# shellcheck source=scripts/_script_common.sh
source "$(dirname "$SELF")/_script_common.sh"

need_tools() {
  local tool
  for tool in ip unshare nsenter sleep find timeout awk; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "$EXIT_NO_LAN" "cannot build a LAN here: '$tool' is missing (Debian packages: iproute2, util-linux, coreutils, findutils, mawk)"
  done
}

# Links of the current network namespace that neither loopback nor ours (pl*).
foreign_links() {
  local links
  links=$(ip -o link show) || die "$EXIT_NO_LAN" "cannot list network links ('ip -o link show' failed)"
  awk -F': ' '{ split($2, name, "@"); if (name[1] != "lo" && name[1] !~ /^pl/) print name[1] }' <<<"$links"
}

# Never build anything in a namespace that has real interfaces: enter a private one first.
ensure_private_namespace() {
  local foreign
  foreign=$(foreign_links)
  [ -z "$foreign" ] && return 0
  if [ "${LAN_REENTERED:-}" = 1 ]; then
    die "$EXIT_NO_LAN" "refusing to build a LAN: this namespace has real interfaces ($(echo "$foreign" | tr '\n' ' '))"
  fi
  export LAN_REENTERED=1
  # netns.sh exits 97 with its own message when no private namespace can be made.
  exec "$ROOT/scripts/netns.sh" bash "$SELF" "$@"
}

# ---------------------------------------------------------------------------------------
# Building and tearing down

OWN_NETNS=$(readlink /proc/self/ns/net)
HOLDER_PIDS=()   # every namespace holder we started (switch first), for teardown
HOLDER_NETNS=()  # their network namespace ids
HOST_PIDS=()
HOST_NETNS=()
HOST_ADDRS=()   # IPv4 address of each host (the router's LAN A one)
HOST_ROLES=()   # a, b or router
LAN2=0
SWITCH_PID=""
CMD_PID=""
TORN_DOWN=0
HOLD_SECONDS=0

# start_holder SECONDS WITH_MOUNT_NS: starts a sleeping process in a new network namespace
# and sets HOLDER_PID / HOLDER_NS once it is in there.
start_holder() {
  local seconds=$1 mount=$2 ns="" i
  if [ "$mount" = 1 ]; then
    # A private /sys so /sys/class/net lists this host's links; best effort.
    unshare -n -m --propagation private sh -c \
      'mount -t sysfs plsysfs /sys 2>/dev/null; exec sleep "$0"' "$seconds" </dev/null >/dev/null 2>&1 &
  else
    unshare -n sleep "$seconds" </dev/null >/dev/null 2>&1 &
  fi
  HOLDER_PID=$!
  HOLDER_PIDS+=("$HOLDER_PID")
  for ((i = 0; i < 300; i++)); do
    ns=$(readlink "/proc/$HOLDER_PID/ns/net" 2>/dev/null || true)
    if [ -z "$ns" ]; then
      die "$EXIT_NO_LAN" "cannot make a network namespace here ('unshare -n' failed: no CAP_SYS_ADMIN in this namespace?)"
    fi
    # The mount namespace is set up too when sleep has replaced sh.
    if [ "$ns" != "$OWN_NETNS" ] && [ "$(cat "/proc/$HOLDER_PID/comm" 2>/dev/null)" = sleep ]; then
      HOLDER_NS=$ns
      HOLDER_NETNS+=("$ns")
      return 0
    fi
    sleep 0.01
  done
  die "$EXIT_NO_LAN" "a namespace holder (pid $HOLDER_PID) did not start within 3 s"
}

in_ns() { # in_ns PID CMD...: runs CMD in that holder's network namespace
  local pid=$1
  shift
  nsenter --net="/proc/$pid/ns/net" -- "$@"
}

# The plan of host n (1-based): its role, and on which LAN it sits with which address byte.
plan_hosts() { # plan_hosts HOSTS LAN2
  local hosts=$1 lan2=$2 n
  for ((n = 1; n <= hosts; n++)); do HOST_ROLES+=(a); HOST_ADDRS+=("$SUBNET.$n"); done
  [ "$lan2" -gt 0 ] || return 0
  for ((n = 1; n <= lan2; n++)); do HOST_ROLES+=(b); HOST_ADDRS+=("$SUBNET2.$n"); done
  HOST_ROLES+=(router)
  HOST_ADDRS+=("$SUBNET.$ROUTER_OCTET")
}

# host_octet N: the last byte of host N's address on its LAN (the router: 254).
host_octet() {
  local n=$1
  echo "${HOST_ADDRS[n - 1]##*.}"
}

# configure_link PID IFACE SUBNET OCTET V6PREFIX [MCAST]: address, IPv6 and (unless MCAST is 0,
# for the router's second link: one 224.0.0.0/4 route per namespace) the multicast route.
configure_link() {
  local pid=$1 iface=$2 subnet=$3 octet=$4 v6=$5 mcast=${6:-1} hex
  hex=$(printf '%x' "$octet")
  # addrgenmode none + nodad: fixed IPv6 addresses usable at once (no duplicate detection wait).
  {
    printf '%s\n' "link set lo up" "link set $iface addrgenmode none" "link set $iface up" \
      "addr add $subnet.$octet/24 brd + dev $iface"
    [ "$mcast" = 0 ] || echo "route add 224.0.0.0/4 dev $iface"
  } | in_ns "$pid" ip -batch - >/dev/null ||
    die "$EXIT_NO_LAN" "cannot configure $iface of a host (ip addr/route failed)"
  # IPv6 is optional (the kernel may have it off); the kernel adds ff00::/8 itself with it.
  if ! printf '%s\n' "addr add fe80::$hex/64 dev $iface nodad" "addr add $v6::$hex/64 dev $iface nodad" |
    in_ns "$pid" ip -batch - >/dev/null 2>&1; then
    IPV6_OK=0
  fi
  if [ "${IPV6_OK:-1}" = 1 ] && ! in_ns "$pid" ip -6 route show table local ff00::/8 dev "$iface" | grep -q .; then
    in_ns "$pid" ip -6 route add ff00::/8 dev "$iface" table local >/dev/null 2>&1 || true
  fi
}

# veth_pair SWITCH_PORT PORT_MAC BRIDGE HOST_PID HOST_IFACE HOST_MAC: one cable, as ip -batch lines.
veth_pair() {
  echo "link add $1 address $2 type veth peer name $5 address $6 netns $4"
  echo "link set $1 master $3 up"
}

build_lan() { # build_lan HOSTS LAN2
  local hosts=$1 lan2=$2 total n err pid role
  err=$(unshare -n -m --propagation private true 2>&1) ||
    die "$EXIT_NO_LAN" "cannot make network namespaces here: unshare -n -m: ${err:-failed}"
  plan_hosts "$hosts" "$lan2"
  total=${#HOST_ROLES[@]}
  start_holder "$HOLD_SECONDS" 0
  SWITCH_PID=$HOLDER_PID
  for ((n = 1; n <= total; n++)); do
    start_holder "$HOLD_SECONDS" 1
    HOST_PIDS+=("$HOLDER_PID")
    HOST_NETNS+=("$HOLDER_NS")
  done
  {
    # Snooping off: every multicast frame is flooded, as on a dumb switch (no IGMP querier here).
    echo "link add $BRIDGE type bridge mcast_snooping 0 forward_delay 0 stp_state 0"
    echo "link set $BRIDGE up"
    if [ "$lan2" -gt 0 ]; then
      echo "link add $BRIDGE2 type bridge mcast_snooping 0 forward_delay 0 stp_state 0"
      echo "link set $BRIDGE2 up"
    fi
    for ((n = 1; n <= total; n++)); do
      pid=${HOST_PIDS[n - 1]}
      case "${HOST_ROLES[n - 1]}" in
        a) veth_pair "plp$n" "$(printf '02:77:00:00:01:%02x' "$n")" "$BRIDGE" "$pid" "$IFACE" "$(printf '02:77:00:00:00:%02x' "$n")" ;;
        b) veth_pair "plp$n" "$(printf '02:88:00:00:01:%02x' "$n")" "$BRIDGE2" "$pid" "$IFACE" "$(printf '02:88:00:00:00:%02x' "$n")" ;;
        router)
          veth_pair "plp$n" 02:77:00:00:01:fe "$BRIDGE" "$pid" "$IFACE" 02:77:00:00:00:fe
          veth_pair "plq$n" 02:88:00:00:01:fe "$BRIDGE2" "$pid" "$IFACE2" 02:88:00:00:00:fe
          ;;
      esac
    done
  } | in_ns "$SWITCH_PID" ip -batch - >/dev/null ||
    die "$EXIT_NO_LAN" "cannot create the bridge and veth pairs (ip link add ... type bridge/veth failed: kernel without veth/bridge?)"
  for ((n = 1; n <= total; n++)); do
    pid=${HOST_PIDS[n - 1]}
    role=${HOST_ROLES[n - 1]}
    case "$role" in
      a) configure_link "$pid" "$IFACE" "$SUBNET" "$n" fd77 ;;
      b) configure_link "$pid" "$IFACE" "$SUBNET2" "$(host_octet "$n")" fd88 ;;
      router)
        configure_link "$pid" "$IFACE" "$SUBNET" "$ROUTER_OCTET" fd77
        configure_link "$pid" "$IFACE2" "$SUBNET2" "$ROUTER_OCTET" fd88 0
        # Unicast forwarding only: without a multicast routing daemon nothing multicast crosses.
        in_ns "$pid" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' ||
          die "$EXIT_NO_LAN" "cannot turn on IPv4 forwarding in the router namespace"
        [ "${IPV6_OK:-1}" = 1 ] && in_ns "$pid" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/forwarding' 2>/dev/null
        ;;
    esac
    if [ "$role" != router ] && [ "$lan2" -gt 0 ]; then
      local other=$SUBNET2 via=$SUBNET other6=fd88 via6=fd77
      [ "$role" = b ] && other=$SUBNET via=$SUBNET2 other6=fd77 via6=fd88
      in_ns "$pid" ip route add "$other.0/24" via "$via.$ROUTER_OCTET" ||
        die "$EXIT_NO_LAN" "cannot add the route to the other LAN on host $n"
      [ "${IPV6_OK:-1}" = 1 ] && in_ns "$pid" ip -6 route add "$other6::/64" via "$via6::fe" 2>/dev/null
    fi
  done
  return 0
}

# Prints "PID" for every process whose network namespace is one of ours.
lan_processes() {
  local listing
  [ ${#HOLDER_NETNS[@]} -gt 0 ] || return 0
  listing=$(find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l %p\n' 2>/dev/null || true)
  awk -v wanted="${HOLDER_NETNS[*]}" 'BEGIN { n = split(wanted, w, " "); for (i = 1; i <= n; i++) ours[w[i]] = 1 }
    ($1 in ours) { split($2, p, "/"); print p[3] }' <<<"$listing"
}

alive() { # alive PID: true while the process exists and is not a zombie
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

teardown() {
  [ "$TORN_DOWN" = 1 ] && return 0
  TORN_DOWN=1
  trap '' INT TERM HUP
  local i pid pids
  if [ -n "$CMD_PID" ] && alive "$CMD_PID"; then
    kill -TERM "$CMD_PID" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do alive "$CMD_PID" || break; sleep 0.1; done
    kill -KILL "$CMD_PID" 2>/dev/null || true
  fi
  # Everything still running on a host (including the holders) goes, gently first.
  for sig in TERM KILL; do
    pids=$(lan_processes)
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill "-$sig" $pids 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      pids=$(lan_processes)
      [ -z "$pids" ] && break
      sleep 0.1
    done
  done
  for pid in "${HOLDER_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ -z "$(lan_processes)" ] || echo "lan: warning: processes left on the LAN after teardown: $(lan_processes | tr '\n' ' ')" >&2
  return 0
}

on_signal() { # on_signal EXIT_CODE
  teardown
  exit "$1"
}

json_string() { # a JSON string literal for $1
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

export_lan_env() {
  local n addresses="" json="" sep="" role mac iface v6 hex
  for ((n = 1; n <= ${#HOST_ROLES[@]}; n++)); do
    role=${HOST_ROLES[n - 1]}
    addresses+="${addresses:+ }${HOST_ADDRS[n - 1]}"
    hex=$(printf '%x' "$(host_octet "$n")")
    case "$role" in
      a) v6=fd77 mac=$(printf '02:77:00:00:00:%02x' "$n") ;;
      b) v6=fd88 mac=$(printf '02:88:00:00:00:%02x' "$n") ;;
      router) v6=fd77 mac=02:77:00:00:00:fe ;;
    esac
    json+="$sep{\"index\":$n,\"address\":\"${HOST_ADDRS[n - 1]}\",\"lan\":\"$role\",\"pid\":${HOST_PIDS[n - 1]},\"netns\":$(json_string "${HOST_NETNS[n - 1]}")"
    if [ "$role" = router ]; then
      json+=",\"addresses\":[\"$SUBNET.$ROUTER_OCTET\",\"$SUBNET2.$ROUTER_OCTET\"]"
    else
      json+=",\"addresses\":[\"${HOST_ADDRS[n - 1]}\"]"
    fi
    if [ "${IPV6_OK:-1}" = 1 ]; then
      json+=",\"ipv6\":\"$v6::$hex\",\"linkLocal\":\"fe80::$hex\""
    else
      json+=",\"ipv6\":null,\"linkLocal\":null"
    fi
    iface=$IFACE
    json+=",\"iface\":\"$iface\",\"mac\":\"$mac\"}"
    sep=","
  done
  export LAN_HOSTS=$addresses
  export LAN_PIDS="${HOST_PIDS[*]}"
  export LAN_NETNS="${HOST_NETNS[*]}"
  export LAN_SWITCH_PID=$SWITCH_PID
  export LAN_IFACE=$IFACE
  export LAN_SH=$SELF
  local env_json
  env_json="{\"LAN_HOSTS\":\"$LAN_HOSTS\",\"LAN_PIDS\":\"$LAN_PIDS\",\"LAN_NETNS\":$(json_string "$LAN_NETNS"),\"LAN_SWITCH_PID\":\"$SWITCH_PID\",\"LAN_IFACE\":\"$IFACE\",\"LAN_SH\":$(json_string "$SELF")}"
  export LAN_JSON="{\"hosts\":[$json],\"switchPid\":$SWITCH_PID,\"iface\":\"$IFACE\",\"bridge\":\"$BRIDGE\",\"env\":$env_json}"
}

parse_build_options() { # sets HOSTS, LAN2, MAX_SECONDS, REST (args after --)
  HOSTS=2
  LAN2=0
  MAX_SECONDS=600
  REST=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --hosts) HOSTS=${2:-}; shift 2 || usage ;;
      --hosts=*) HOSTS=${1#--hosts=}; shift ;;
      --lan2) LAN2=${2:-}; shift 2 || usage ;;
      --lan2=*) LAN2=${1#--lan2=}; shift ;;
      --max-seconds) MAX_SECONDS=${2:-}; shift 2 || usage ;;
      --max-seconds=*) MAX_SECONDS=${1#--max-seconds=}; shift ;;
      --) shift; REST=("$@"); break ;;
      *) die "$EXIT_USAGE" "unknown option '$1' (see scripts/lan.sh --help)" ;;
    esac
  done
  [[ "$HOSTS" =~ ^[0-9]+$ ]] && [ "$HOSTS" -ge 1 ] && [ "$HOSTS" -le "$MAX_HOSTS" ] ||
    die "$EXIT_USAGE" "--hosts must be 1..$MAX_HOSTS, got '$HOSTS'"
  [[ "$LAN2" =~ ^[0-9]+$ ]] && [ $((HOSTS + LAN2 + (LAN2 > 0))) -le "$MAX_HOSTS" ] ||
    die "$EXIT_USAGE" "--lan2 must be a number with --hosts + --lan2 + 1 (the router) <= $MAX_HOSTS, got '$LAN2'"
  [[ "$MAX_SECONDS" =~ ^[0-9]+$ ]] && [ "$MAX_SECONDS" -ge 1 ] && [ "$MAX_SECONDS" -le 86400 ] ||
    die "$EXIT_USAGE" "--max-seconds must be 1..86400, got '$MAX_SECONDS'"
  # Holders outlive the command a little so teardown, not their timer, ends the LAN.
  HOLD_SECONDS=$((MAX_SECONDS + 30))
}

start_lan() { # start_lan ARGS...: common part of run/up/check
  need_tools
  ensure_private_namespace "$@"
  trap teardown EXIT
  trap 'on_signal 130' INT
  trap 'on_signal 143' TERM
  trap 'on_signal 129' HUP
  build_lan "$HOSTS" "$LAN2"
  export_lan_env
}

cmd_run() {
  parse_build_options "$@"
  [ ${#REST[@]} -gt 0 ] || die "$EXIT_USAGE" "run: no command given (scripts/lan.sh run --hosts N -- CMD...)"
  start_lan run "$@"
  # --foreground keeps CMD in our process group, so it may use the terminal (and Ctrl-C).
  timeout --foreground -k 5 "$MAX_SECONDS" "${REST[@]}" <&0 &
  CMD_PID=$!
  local status=0
  wait "$CMD_PID" || status=$?
  CMD_PID=""
  teardown
  exit "$status"
}

cmd_up() {
  parse_build_options "$@"
  [ ${#REST[@]} -eq 0 ] || die "$EXIT_USAGE" "up takes no command (use run)"
  start_lan up "$@"
  printf '%s\n' "$LAN_JSON"
  timeout --foreground -k 5 "$MAX_SECONDS" cat <&0 >/dev/null &
  CMD_PID=$!
  wait "$CMD_PID" || true
  CMD_PID=""
  teardown
}

# host_pid N: checks LAN_* and that host N's namespace is still the one we made.
host_pid() {
  local n=$1 pids netns pid ns actual
  [ -n "${LAN_PIDS:-}" ] && [ -n "${LAN_NETNS:-}" ] ||
    die "$EXIT_USAGE" "no LAN in the environment (LAN_PIDS/LAN_NETNS unset): run this under 'scripts/lan.sh run'"
  read -r -a pids <<<"$LAN_PIDS"
  read -r -a netns <<<"$LAN_NETNS"
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le ${#pids[@]} ] ||
    die "$EXIT_USAGE" "host must be 1..${#pids[@]}, got '$n'"
  pid=${pids[n - 1]}
  ns=${netns[n - 1]}
  actual=$(readlink "/proc/$pid/ns/net" 2>/dev/null || true)
  [ "$actual" = "$ns" ] && [ "$ns" != "$OWN_NETNS" ] ||
    die "$EXIT_NO_LAN" "host $n is gone (its namespace holder $pid has exited: LAN torn down or timed out)"
  HOST_PID=$pid
}

cmd_exec() {
  [ $# -ge 1 ] || usage
  local n=$1
  shift
  [ "${1:-}" = -- ] && shift
  [ $# -gt 0 ] || die "$EXIT_USAGE" "exec: no command given (scripts/lan.sh exec N -- CMD...)"
  host_pid "$n"
  local addresses
  read -r -a addresses <<<"${LAN_HOSTS:-}"
  export LAN_HOST=$n LAN_ADDRESS="${addresses[n - 1]:-$SUBNET.$n}"
  exec nsenter --net="/proc/$HOST_PID/ns/net" --mount="/proc/$HOST_PID/ns/mnt" --wd="$PWD" -- "$@"
}

# loss_nft PID DEVICE PERCENT UDP_ONLY TABLE: drops on DEVICE's ingress in that namespace.
loss_nft() {
  local pid=$1 dev=$2 percent=$3 udp=$4 table=$5 match="meta protocol { ip, ip6 }"
  [ "$udp" = 1 ] && match+=" meta l4proto udp"
  {
    # Declaring then deleting makes this idempotent whether or not the table exists.
    echo "table netdev $table"
    echo "delete table netdev $table"
    if [ "$percent" -gt 0 ]; then
      echo "table netdev $table {"
      echo "  chain ingress { type filter hook ingress device \"$dev\" priority 0; policy accept;"
      echo "    $match numgen random mod 100 < $percent counter drop; }"
      echo "}"
    fi
  } | in_ns "$pid" nft -f -
}

loss_netem() { # loss_netem PID DEVICE PERCENT: drops on DEVICE's egress in that namespace
  local pid=$1 dev=$2 percent=$3
  in_ns "$pid" tc qdisc del dev "$dev" root >/dev/null 2>&1 || true
  [ "$percent" -eq 0 ] || in_ns "$pid" tc qdisc add dev "$dev" root netem loss "$percent%"
}

cmd_loss() {
  [ $# -ge 2 ] || usage
  local n=$1 percent=$2 udp=0 switch_pid
  shift 2
  case "${1:-}" in
    --udp) udp=1 ;;
    "") ;;
    *) die "$EXIT_USAGE" "loss: unknown option '$1' (only --udp)" ;;
  esac
  [[ "$percent" =~ ^[0-9]+$ ]] && [ "$percent" -le 100 ] ||
    die "$EXIT_USAGE" "loss: PERCENT must be an integer 0..100, got '$percent'"
  host_pid "$n"
  switch_pid=${LAN_SWITCH_PID:?LAN_SWITCH_PID unset}
  # Both directions are dropped on ingress (host side: into the host; switch side: out of
  # it), like loss on the wire: the sender's send() never sees an error.
  if command -v nft >/dev/null 2>&1; then
    if loss_nft "$HOST_PID" "$IFACE" "$percent" "$udp" pl_loss &&
      loss_nft "$switch_pid" "plp$n" "$percent" "$udp" "pl_loss_$n"; then
      return 0
    fi
    echo "lan: nft is installed but failed to add a rule; trying tc netem" >&2
  fi
  if [ "$udp" = 0 ] && command -v tc >/dev/null 2>&1 &&
    loss_netem "$HOST_PID" "$IFACE" "$percent" 2>/dev/null && loss_netem "$switch_pid" "plp$n" "$percent" 2>/dev/null; then
    return 0
  fi
  die "$EXIT_NO_LOSS" "packet loss is unavailable here: install nftables (Debian package 'nftables'; kernel with nf_tables and nft_numgen)$([ "$udp" = 1 ] && echo ", needed for --udp" || echo " or use a kernel with sch_netem")"
}

cmd_check() {
  HOSTS=1
  MAX_SECONDS=30
  HOLD_SECONDS=60
  [ $# -eq 0 ] || die "$EXIT_USAGE" "check takes no arguments"
  start_lan check
  echo "lan: ok"
  # Probe loss support on the real thing: apply and remove 1% on host 1.
  local out
  if out=$(cmd_loss 1 1 --udp 2>&1) && cmd_loss 1 0 --udp >/dev/null 2>&1; then
    echo "loss: nft"
  elif out=$(cmd_loss 1 1 2>&1) && cmd_loss 1 0 >/dev/null 2>&1; then
    echo "loss: netem (no --udp)"
  else
    out=${out##*$'\n'} # the last line says why
    echo "loss: unavailable (${out#lan: })"
  fi
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  up) shift; cmd_up "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  loss) shift; cmd_loss "$@" ;;
  check) shift; cmd_check "$@" ;;
  -h | --help | help) usage 0 ;;
  *) echo "lan: unknown command '${1:-}'" >&2; usage ;;
esac
