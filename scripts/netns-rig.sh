#!/usr/bin/env bash
# A namespaced LAN for mDNS tests: one namespace holds a bridge (multicast snooping off, so every host sees every
# mDNS packet as on a plain switch), one namespace per host is joined to it by a veth pair. Addresses exist only inside
# these namespaces; nothing here touches the caller's own interfaces, so no mDNS can reach a real network.
#
#   netns-rig.sh up <prefix> <host>...   create <prefix>-br and <prefix>-<host>; host i gets lan0 = 10.77.0.<i>/24
#   netns-rig.sh down <prefix>           delete every namespace named <prefix>-* (idempotent)
#   netns-rig.sh sweep                   delete rigs left by test processes that no longer exist (prefix pc<pid>r*)
#   netns-rig.sh nat <prefix>            two sites behind NAT routers and a "cloud" on a shared "internet" (see nat())
#   netns-rig.sh natmode <prefix> <site> cone|symmetric   (re)sets the NAT of router r<site>
#   netns-rig.sh avahi <dir> <if>        (run inside a host namespace) private /run for dbus + avahi-daemon, foreground
#
# Processes are started in a host with `ip netns exec <prefix>-<host> ...`; kill them (by PID) before `down`, since
# a namespace lives on while a process is inside it.
set -euo pipefail

die() {
  echo "netns-rig: $*" >&2
  exit 2
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces); run the tests through scripts/test.sh as root"

up() {
  local prefix=$1
  shift
  [ "$#" -ge 1 ] || die "usage: up <prefix> <host>..."
  [ "$#" -le 250 ] || die "at most 250 hosts"
  [[ $prefix =~ ^[a-z0-9]{1,12}$ ]] || die "prefix must be 1-12 of [a-z0-9], got '$prefix'"
  local br="$prefix-br"
  ip netns add "$br"
  ip -n "$br" link set lo up
  # mcast_snooping 0: flood multicast to every port, as an unmanaged switch does (no IGMP querier here).
  ip -n "$br" link add br0 type bridge mcast_snooping 0
  ip -n "$br" link set br0 up
  local i=0 host ns
  for host in "$@"; do
    i=$((i + 1))
    [[ $host =~ ^[a-z0-9]{1,8}$ ]] || die "host name must be 1-8 of [a-z0-9], got '$host'"
    ns="$prefix-$host"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$br" link add "p$host" type veth peer name lan0 netns "$ns"
    ip -n "$br" link set "p$host" master br0
    ip -n "$br" link set "p$host" up
    ip -n "$ns" addr add "10.77.0.$i/24" dev lan0
    ip -n "$ns" link set lan0 multicast on
    ip -n "$ns" link set lan0 up
    ip -n "$ns" route add 224.0.0.0/4 dev lan0
  done
}

down() {
  local prefix=$1 ns
  [[ $prefix =~ ^[a-z0-9]{1,12}$ ]] || die "prefix must be 1-12 of [a-z0-9], got '$prefix'"
  for ns in $(ip netns list | awk '{print $1}'); do
    case "$ns" in "$prefix"-*) ip netns del "$ns" 2>/dev/null || true ;; esac
  done
}

sweep() {
  local ns pid
  for ns in $(ip netns list | awk '{print $1}'); do
    if [[ $ns =~ ^pc([0-9]+)r[0-9a-z]*- ]]; then
      pid=${BASH_REMATCH[1]}
      kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
    fi
  done
}

# The away-from-home rig is IPv4 only. With IPv6 on, every link brought up gets a link-local address that turns from
# tentative to valid a second or so later (duplicate address detection); Chromium takes that address change for a
# network change and fails what it has in flight with net::ERR_NETWORK_CHANGED (a page.goto in nat.test.ts, once).
v4only() {
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
}

# Away from home: an "internet" namespace <prefix>-net (a bridge, 203.0.113.0/24, no route anywhere else), a
# <prefix>-cloud host on it (203.0.113.10: broker, TURN, web host), and two sites, home and office, each a host
# (lan0 = 192.168.N.2, default route via its router) behind a router namespace <prefix>-r<site> (lan1 = 192.168.N.1,
# wan0 = 203.0.113.N+1) that masquerades and firewalls like a home router. Default routes end in <prefix>-net's
# blackhole (203.0.113.1): nothing here has a route out of the rig.
nat() {
  local prefix=$1
  [[ $prefix =~ ^[a-z0-9]{1,12}$ ]] || die "prefix must be 1-12 of [a-z0-9], got '$prefix'"
  local net="$prefix-net"
  ip netns add "$net"
  v4only "$net"
  ip -n "$net" link set lo up
  ip -n "$net" link add br0 type bridge
  ip -n "$net" link set br0 up
  ip netns add "$prefix-cloud"
  v4only "$prefix-cloud"
  ip -n "$prefix-cloud" link set lo up
  ip -n "$net" link add pcloud type veth peer name wan0 netns "$prefix-cloud"
  ip -n "$net" link set pcloud master br0 up
  ip -n "$prefix-cloud" addr add 203.0.113.10/24 dev wan0
  ip -n "$prefix-cloud" link set wan0 up
  # The "internet" routes nothing beyond 203.0.113.0/24 and drops the rest silently, as the real one drops packets to
  # private addresses: <prefix>-net forwards into a blackhole, and the cloud and the routers use it as their default
  # route. Without one, a TURN server relaying an ICE check to a peer's private (host) candidate gets ENETUNREACH
  # from sendto, and coturn closes that whole allocation (seen here: the next CreatePermission then fails with 438
  # and 400 on a session without an allocation), which no real TURN server on the internet ever sees.
  ip -n "$net" addr add 203.0.113.1/24 dev br0
  ip netns exec "$net" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$net" route add blackhole default
  ip -n "$prefix-cloud" route add default via 203.0.113.1
  local n=0 site host router
  for site in home office; do
    n=$((n + 1))
    host="$prefix-$site"
    router="$prefix-r$site"
    ip netns add "$router"
    ip netns add "$host"
    v4only "$router"
    v4only "$host"
    ip -n "$router" link set lo up
    ip -n "$host" link set lo up
    ip -n "$net" link add "p$site" type veth peer name wan0 netns "$router"
    ip -n "$net" link set "p$site" master br0 up
    ip -n "$router" addr add "203.0.113.$((n + 1))/24" dev wan0
    ip -n "$router" link set wan0 up
    ip -n "$router" route add default via 203.0.113.1
    ip -n "$router" link add lan1 type veth peer name lan0 netns "$host"
    ip -n "$router" addr add "192.168.$n.1/24" dev lan1
    ip -n "$router" link set lan1 up
    ip -n "$host" addr add "192.168.$n.2/24" dev lan0
    ip -n "$host" link set lan0 up
    ip -n "$host" route add default via "192.168.$n.1"
    ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
    # From the internet only replies get in, and nothing unsolicited reaches the router itself: without the INPUT rule
    # an early ICE check from the other side leaves a conntrack entry that clashes with the next outbound mapping, and
    # even two cone NATs behave as symmetric ones (DESIGN.md).
    ip netns exec "$router" iptables -A FORWARD -i wan0 -o lan1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    ip netns exec "$router" iptables -A FORWARD -i wan0 -o lan1 -j DROP
    ip netns exec "$router" iptables -A INPUT -i wan0 -m conntrack --ctstate NEW -j DROP
    natmode "$prefix" "$site" cone
  done
}

# cone: MASQUERADE keeps the source port where it can (one mapping per local port, whatever the destination);
# symmetric: --random-fully picks a new port for every destination, so a STUN-learned mapping is useless to a peer.
natmode() {
  local prefix=$1 site=$2 mode=$3 n
  case "$site" in home) n=1 ;; office) n=2 ;; *) die "site must be home or office" ;; esac
  local router="$prefix-r$site"
  ip netns exec "$router" iptables -t nat -F POSTROUTING
  case "$mode" in
    cone) ip netns exec "$router" iptables -t nat -A POSTROUTING -s "192.168.$n.0/24" -o wan0 -j MASQUERADE ;;
    symmetric) ip netns exec "$router" iptables -t nat -A POSTROUTING -s "192.168.$n.0/24" -o wan0 -j MASQUERADE --random-fully ;;
    *) die "mode must be cone or symmetric" ;;
  esac
}

# Avahi wants /run/avahi-daemon (pid file, socket) and the system bus at /run/dbus: give this host private copies
# (a tmpfs in a mount namespace of its own), so daemons of several hosts never meet. The caller runs us under
# `ip netns exec <ns> unshare -m --propagation private`; clients join with `nsenter -t <pid> -m -n`.
avahi() {
  local dir=$1 iface=$2
  mkdir -p "$dir"
  mount -t tmpfs tmpfs /run/avahi-daemon 2>/dev/null || { mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon; }
  mount -t tmpfs tmpfs /run/dbus 2>/dev/null || { mkdir -p /run/dbus && mount -t tmpfs tmpfs /run/dbus; }
  cat >"$dir/avahi-daemon.conf" <<EOF
[server]
host-name=avahi-$iface-$$
use-ipv4=yes
use-ipv6=no
allow-interfaces=$iface
enable-dbus=yes
ratelimit-interval-usec=0
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
enable-reflector=no
[rlimits]
EOF
  # A bus private to this host: no <user> switch (which would clear the death signal below), open policy.
  cat >"$dir/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
  # --pdeathsig: if this wrapper is killed outright (SIGKILL), the daemons go with it instead of lingering.
  setpriv --pdeathsig KILL dbus-daemon --config-file="$dir/dbus.conf" --nofork --nopidfile --nosyslog &
  local dbus=$!
  for _ in $(seq 100); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.05; done
  setpriv --pdeathsig KILL avahi-daemon -f "$dir/avahi-daemon.conf" --no-rlimits --no-drop-root --no-chroot --no-proc-title &
  local avahi=$!
  trap 'kill $avahi $dbus 2>/dev/null; wait' TERM INT
  wait -n $avahi $dbus || true
  kill $avahi $dbus 2>/dev/null || true
  wait
}

cmd=${1:-}
shift || true
case "$cmd" in
  up) up "$@" ;;
  down) down "$@" ;;
  sweep) sweep ;;
  avahi) avahi "$@" ;;
  nat) nat "$@" ;;
  natmode) natmode "$@" ;;
  *) die "usage: netns-rig.sh up <prefix> <host>... | down <prefix> | sweep | avahi <dir> <if> | nat <prefix> | natmode <prefix> <site> cone|symmetric" ;;
esac
