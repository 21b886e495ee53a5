#!/bin/bash
# wtransport WebTransport endpoint: the small program in src/main.rs
# (wtransport 0.7.2). It reads ROLE, TESTCASE, REQUESTS, PROTOCOLS and
# SSLKEYLOGFILE itself and uses /certs, /www, /downloads and UDP :443. This
# script answers 127 for the cases it does not implement before anything
# starts, so the client does not wait for the simulator first
# (see docs/implementations.md).
/setup.sh

export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
mkdir -p /downloads

client_supports() {
    case "$1" in
        transfer|transfer-unidirectional-receive|transfer-bidirectional-receive|transfer-datagram-receive) return 0 ;;
        *) return 1 ;;
    esac
}

server_supports() {
    case "$1" in
        handshake|transfer|transfer-unidirectional-send|transfer-bidirectional-send|transfer-datagram-send) return 0 ;;
        *) return 1 ;;
    esac
}

case "$ROLE" in
    client)
        client_supports "$TESTCASE" || { echo "wtransport client: WebTransport test case '$TESTCASE' is not supported"; exit 127; }
        /wait-for-it.sh sim:57832 -s -t 30
        exec /usr/local/bin/wtransport-endpoint
        ;;
    server)
        server_supports "$TESTCASE" || { echo "wtransport server: WebTransport test case '$TESTCASE' is not supported"; exit 127; }
        exec /usr/local/bin/wtransport-endpoint
        ;;
    *)
        echo "wtransport: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
