#!/bin/bash
# Routes all simulated traffic through the simulator, which sits at .2 (IPv4)
# and ::2 (IPv6) of this endpoint's own subnet. Deriving the gateway from the
# endpoint's own address is what lets any /24 (and /64) pair inside
# 193.167.0.0/16 (fd00:cafe:cafe::/48) work, so tests can run in parallel.

echo "Setting up routes..."
# Docker leaves checksums to the NIC; packets that cross the simulator
# must carry real checksums or the receiver drops them.
ethtool -K eth0 tx off

IPV4=$(ip -4 -o addr show dev eth0 scope global | awk '{print $4}' | cut -d/ -f1 | head -n1)
if [ -n "$IPV4" ]; then
    PREFIX4="${IPV4%.*}"
    echo "Endpoint's IPv4 address is $IPV4"
    ip route add 193.167.0.0/16 via "$PREFIX4.2"
    # The direct subnet route would let packets bypass the simulator.
    ip route del "$PREFIX4.0/24"
fi

IPV6=$(ip -6 -o addr show dev eth0 scope global | awk '{print $4}' | cut -d/ -f1 | head -n1)
if [ -n "$IPV6" ]; then
    PREFIX6="${IPV6%:*}"
    echo "Endpoint's IPv6 address is $IPV6"
    ip -6 route add fd00:cafe:cafe::/48 via "$PREFIX6:2"
    ip -6 route del "$PREFIX6:/64"
fi

mkdir -p /logs/qlog
