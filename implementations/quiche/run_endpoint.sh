#!/bin/bash
# quiche interop endpoint: the small program in src/main.rs (quiche 0.28 on
# its bundled BoringSSL). It reads ROLE, TESTCASE, REQUESTS, SSLKEYLOGFILE
# and QLOGDIR itself; this script admits only the test cases it really
# implements and answers 127 for everything else (see docs/implementations.md).
/setup.sh

export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
mkdir -p /downloads

case "$ROLE" in
    client)
        case "$TESTCASE" in
            handshake|transfer|retry|multiconnect|resumption|zerortt|http3) ;;
            *) echo "quiche client: test case '$TESTCASE' is not supported"; exit 127 ;;
        esac
        /wait-for-it.sh sim:57832 -s -t 30
        exec /usr/local/bin/quiche-endpoint
        ;;
    server)
        case "$TESTCASE" in
            handshake|transfer|retry|multiconnect|resumption|zerortt|http3|chacha20) ;;
            *) echo "quiche server: test case '$TESTCASE' is not supported"; exit 127 ;;
        esac
        exec /usr/local/bin/quiche-endpoint
        ;;
    *)
        echo "quiche: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
