#!/bin/bash
# aiopquic (picoquic) interop endpoint: runs aiopquic's own qns/endpoint.py,
# which reads ROLE, TESTCASE, REQUESTS, SSLKEYLOGFILE and QLOGDIR itself and
# uses /certs, /www, /downloads and UDP :443. This script admits only the
# test cases endpoint.py really implements (its CLIENT_CASES/SERVER_CASES)
# and answers 127 for everything else before anything starts, so the
# client does not wait for the simulator first; see docs/implementations.md.
# qns/wt_endpoint.py (WebTransport) is in the image too but not wired here.
/setup.sh

PYTHON=/venv/bin/python
export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
# picoquic writes one qlog per connection into QLOGDIR.
export QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR" /downloads

client_supports() {
    case "$1" in
        handshake|transfer|multiconnect|ecn|retry|chacha20|resumption|zerortt|v2|http3|keyupdate) return 0 ;;
        *) return 1 ;;
    esac
}

server_supports() {
    case "$1" in
        handshake|transfer|multiconnect|ecn|retry|chacha20|resumption|zerortt|v2|http3) return 0 ;;
        *) return 1 ;;
    esac
}

case "$ROLE" in
    client)
        client_supports "$TESTCASE" || { echo "aiopquic client: test case '$TESTCASE' is not supported"; exit 127; }
        /wait-for-it.sh sim:57832 -s -t 30
        exec "$PYTHON" -u /qns/endpoint.py 2>>/logs/endpoint.log
        ;;
    server)
        server_supports "$TESTCASE" || { echo "aiopquic server: test case '$TESTCASE' is not supported"; exit 127; }
        # Not exec'd: as PID 1 the server would ignore the runner's SIGTERM.
        "$PYTHON" -u /qns/endpoint.py 2>>/logs/endpoint.log &
        SERVER_PID=$!
        trap 'kill -TERM "$SERVER_PID" 2>/dev/null' TERM INT
        wait "$SERVER_PID"
        # The first wait returns when the trap runs; this one gets the exit code.
        wait "$SERVER_PID"
        ;;
    *)
        echo "aiopquic: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
