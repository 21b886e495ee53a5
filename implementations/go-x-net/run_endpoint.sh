#!/bin/bash
# go-x-net interop endpoint: the small program in main.go around
# golang.org/x/net/quic 0.27. It reads ROLE, TESTCASE, REQUESTS,
# SSLKEYLOGFILE and QLOGDIR itself; this script admits only the test cases
# it really implements and answers 127 for everything else (see
# docs/implementations.md).
/setup.sh

export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
export QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR" /downloads
BIN=/usr/local/lib/go-x-net/endpoint

case "$ROLE" in
    client)
        # Go's TLS cannot restrict TLS 1.3 cipher suites (no chacha20
        # client); x/net/quic 0.27 neither resumes sessions nor sends 0-RTT.
        case "$TESTCASE" in
            handshake|transfer|retry|multiconnect) ;;
            *) echo "go-x-net client: test case '$TESTCASE' is not supported"; exit 127 ;;
        esac
        /wait-for-it.sh sim:57832 -s -t 30
        exec "$BIN"
        ;;
    server)
        # A chacha20 client offers only ChaCha20-Poly1305, which Go's server
        # accepts; x/net/quic 0.27 issues no session tickets.
        case "$TESTCASE" in
            handshake|transfer|retry|multiconnect|chacha20) ;;
            *) echo "go-x-net server: test case '$TESTCASE' is not supported"; exit 127 ;;
        esac
        exec "$BIN"
        ;;
    *)
        echo "go-x-net: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
