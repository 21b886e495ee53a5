#!/bin/bash
# aiopquic (picoquic) WebTransport endpoint: runs aiopquic's own
# qns/wt_endpoint.py, which reads ROLE, TESTCASE, REQUESTS, PROTOCOLS and
# QLOGDIR itself and uses /certs, /www, /downloads and UDP :443.
# wt_endpoint.py acts only on the cases in its CLIENT_CASES / SERVER_CASES;
# this script answers 127 for the rest before anything starts, so the client
# does not wait for the simulator first.
#
# WT_WRONG_PROTOCOL (test only): when set, the endpoint writes this value to
# negotiated_protocol.txt after the handshake instead of what it negotiated,
# so a test can show that the runner catches a wrong report.
/setup.sh

PYTHON=/venv/bin/python
export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
export QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR" /downloads

client_supports() {
    case "$1" in
        handshake|transfer|transfer-unidirectional-receive|transfer-bidirectional-receive|transfer-datagram-receive) return 0 ;;
        *) return 1 ;;
    esac
}

server_supports() {
    case "$1" in
        handshake|transfer|transfer-unidirectional-send|transfer-bidirectional-send|transfer-datagram-send) return 0 ;;
        *) return 1 ;;
    esac
}

run() {
    "$PYTHON" -u /qns/wt_endpoint.py 2>>/logs/endpoint.log
    local rc=$?
    if [ "$rc" -eq 0 ] && [ -n "$WT_WRONG_PROTOCOL" ] && [ -f /downloads/negotiated_protocol.txt ]; then
        printf '%s' "$WT_WRONG_PROTOCOL" > /downloads/negotiated_protocol.txt
    fi
    return "$rc"
}

case "$ROLE" in
    client)
        client_supports "$TESTCASE" || { echo "aiopquic client: WebTransport test case '$TESTCASE' is not supported"; exit 127; }
        /wait-for-it.sh sim:57832 -s -t 30
        run
        exit $?
        ;;
    server)
        server_supports "$TESTCASE" || { echo "aiopquic server: WebTransport test case '$TESTCASE' is not supported"; exit 127; }
        if [ -n "$WT_WRONG_PROTOCOL" ]; then
            # The server runs until stopped: replace its report once written.
            ( while [ ! -s /downloads/negotiated_protocol.txt ]; do sleep 0.05; done
              sleep 0.2
              printf '%s' "$WT_WRONG_PROTOCOL" > /downloads/negotiated_protocol.txt ) &
        fi
        # Not exec'd: as PID 1 the server would ignore the runner's SIGTERM.
        "$PYTHON" -u /qns/wt_endpoint.py 2>>/logs/endpoint.log &
        SERVER_PID=$!
        trap 'kill -TERM "$SERVER_PID" 2>/dev/null' TERM INT
        wait "$SERVER_PID"
        wait "$SERVER_PID"
        ;;
    *)
        echo "aiopquic: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
