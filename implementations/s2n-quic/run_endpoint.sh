#!/bin/bash
# s2n-quic interop endpoint: the small program in src/main.rs (s2n-quic 1.72,
# s2n-tls on AWS-LC). It reads ROLE, TESTCASE, REQUESTS and SSLKEYLOGFILE
# itself; this script admits only the test cases it really implements and
# answers 127 for everything else (see docs/implementations.md).
/setup.sh

export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
mkdir -p /downloads

supports() {
    case "$1" in
        handshake|transfer|retry|multiconnect|chacha20|ecn) return 0 ;;
        *) return 1 ;;
    esac
}

case "$ROLE" in
    client)
        supports "$TESTCASE" || { echo "s2n-quic client: test case '$TESTCASE' is not supported"; exit 127; }
        /wait-for-it.sh sim:57832 -s -t 30
        exec /usr/local/bin/s2n-quic-endpoint
        ;;
    server)
        supports "$TESTCASE" || { echo "s2n-quic server: test case '$TESTCASE' is not supported"; exit 127; }
        exec /usr/local/bin/s2n-quic-endpoint
        ;;
    *)
        echo "s2n-quic: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
