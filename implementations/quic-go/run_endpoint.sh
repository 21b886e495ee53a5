#!/bin/bash
# quic-go interop endpoint: runs quic-go's own interop client/server (built
# from Debian's quic-go 0.46 sources). They read TESTCASE, SSLKEYLOGFILE and
# QLOGDIR themselves and use /certs, /www, /downloads and :443. This script
# admits only the test cases those programs really implement and answers 127
# for everything else; see docs/implementations.md.
/setup.sh

BIN=/usr/local/lib/quic-go
export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
# quic-go writes one qlog per connection into QLOGDIR.
export QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR" /downloads

client_supports() {
    case "$1" in
        handshake|transfer|retry|keyupdate|chacha20|multiconnect|resumption|zerortt|http3|versionnegotiation) return 0 ;;
        *) return 1 ;;
    esac
}

server_supports() {
    case "$1" in
        handshake|transfer|retry|chacha20|multiconnect|resumption|zerortt|http3|versionnegotiation) return 0 ;;
        *) return 1 ;;
    esac
}

case "$ROLE" in
    client)
        client_supports "$TESTCASE" || { echo "quic-go client: test case '$TESTCASE' is not supported"; exit 127; }
        /wait-for-it.sh sim:57832 -s -t 30
        read -r -a URLS <<<"$REQUESTS"
        # shellcheck disable=SC2086 # CLIENT_PARAMS is a user-supplied word list
        exec "$BIN/client" $CLIENT_PARAMS "${URLS[@]}"
        ;;
    server)
        server_supports "$TESTCASE" || { echo "quic-go server: test case '$TESTCASE' is not supported"; exit 127; }
        # shellcheck disable=SC2086
        exec "$BIN/server" $SERVER_PARAMS
        ;;
    *)
        echo "quic-go: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
