#!/bin/bash
# ROLE=client: receive on TCP 5001 (iperf 2).
# ROLE=server: once the client side listens, send to $CLIENT for an hour
# (the runner stops the container when the measurement ends) using the TCP
# congestion control named in IPERF_CONGESTION.
/setup.sh
/wait-for-it.sh sim:57832 -s -t 10

CLIENT="${CLIENT:-client4}"
IPERF_CONGESTION="${IPERF_CONGESTION:-cubic}"

case "$ROLE" in
    server)
        /wait-for-it.sh "$CLIENT:5001" -s -t 10 || exit 1
        exec iperf -c "$CLIENT" -t 3600 -e -i 1 -Z "$IPERF_CONGESTION"
        ;;
    client)
        exec iperf -s -m -i 1
        ;;
    *)
        echo "run_iperf: ROLE must be server or client, not '$ROLE'" >&2
        exit 1
        ;;
esac
