#!/usr/bin/env bash
# Network-namespace test bed for the simulator (no Docker needed):
#   client ns (eth0) <-veth-> sim ns (eth0 | eth1) <-veth-> server ns (eth0)
# Addresses follow the contract's layout on a chosen pair of /24s and /64s,
# and the endpoints route exactly as the endpoint image's setup.sh does.
# Source this file, then: netns_up PREFIX LEFT_NET RIGHT_NET; ...; netns_down PREFIX
# (LEFT_NET/RIGHT_NET: third octet, e.g. 250 251 -> 193.167.250.0/24, fd00:cafe:cafe:250::/64).

netns_up() {
    local p="$1" l="$2" r="$3"
    ip netns add "$p-c" && ip netns add "$p-m" && ip netns add "$p-s" || return 1
    ip link add "$p-cl" type veth peer name "$p-ml" || return 1
    ip link add "$p-sr" type veth peer name "$p-mr" || return 1
    ip link set "$p-cl" netns "$p-c" name eth0
    ip link set "$p-ml" netns "$p-m" name eth0
    ip link set "$p-mr" netns "$p-m" name eth1
    ip link set "$p-sr" netns "$p-s" name eth0
    local ns
    for ns in c m s; do
        ip -n "$p-$ns" link set lo up
        ip netns exec "$p-$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
    ip -n "$p-m" addr add "193.167.$l.2/24" dev eth0
    ip -n "$p-m" addr add "fd00:cafe:cafe:$l::2/64" dev eth0 nodad
    ip -n "$p-m" addr add "193.167.$r.2/24" dev eth1
    ip -n "$p-m" addr add "fd00:cafe:cafe:$r::2/64" dev eth1 nodad
    ip -n "$p-m" link set eth0 up
    ip -n "$p-m" link set eth1 up
    endpoint_up "$p-c" "$l"
    endpoint_up "$p-s" "$r"
}

# Addresses .100 and routes as the endpoint image's setup.sh leaves them.
endpoint_up() {
    local ns="$1" net="$2"
    ip -n "$ns" addr add "193.167.$net.100/24" dev eth0
    ip -n "$ns" addr add "fd00:cafe:cafe:$net::100/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add 193.167.0.0/16 via "193.167.$net.2"
    ip -n "$ns" route del "193.167.$net.0/24"
    ip -n "$ns" -6 route add fd00:cafe:cafe::/48 via "fd00:cafe:cafe:$net::2"
    ip -n "$ns" -6 route del "fd00:cafe:cafe:$net::/64"
}

netns_down() {
    local p="$1" ns
    for ns in c m s; do
        ip netns pids "$p-$ns" 2>/dev/null | xargs -r kill 2>/dev/null
        ip netns del "$p-$ns" 2>/dev/null
    done
    return 0
}
