#!/bin/bash
# quinn interop endpoint: the small program in src/main.rs (quinn 0.11,
# rustls with ring). It reads ROLE, TESTCASE, REQUESTS and SSLKEYLOGFILE
# itself; this script admits only the test cases it really implements and
# answers 127 for everything else (see docs/implementations.md).
/setup.sh

export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
mkdir -p /downloads

supports() {
    case "$1" in
        handshake|transfer|retry|multiconnect|chacha20|resumption|zerortt|keyupdate|ecn) return 0 ;;
        *) return 1 ;;
    esac
}

case "$ROLE" in
    client)
        supports "$TESTCASE" || { echo "quinn client: test case '$TESTCASE' is not supported"; exit 127; }
        /wait-for-it.sh sim:57832 -s -t 30
        exec /usr/local/bin/quinn-endpoint
        ;;
    server)
        supports "$TESTCASE" || { echo "quinn server: test case '$TESTCASE' is not supported"; exit 127; }
        exec /usr/local/bin/quinn-endpoint
        ;;
    *)
        echo "quinn: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
