#!/bin/bash
# aioquic interop endpoint: maps the runner's TESTCASE onto the options of
# aioquic's example HTTP/3 client and server. Anything aioquic's examples
# cannot really do exits 127 (unsupported); see docs/implementations.md.
/setup.sh

PYTHON=/opt/aioquic/bin/python
EXAMPLES=/opt/aioquic-examples
SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR"

LOG_ARGS=(--quic-log "$QLOGDIR" --secrets-log "$SSLKEYLOGFILE")
# hq-interop unless the test is about HTTP/3.
HQ=(--legacy-http)

client_args() {
    case "$TESTCASE" in
        handshake|multiconnect|retry) ARGS=("${HQ[@]}") ;;
        transfer) ARGS=("${HQ[@]}" --max-data 262144 --max-stream-data 262144) ;;
        chacha20) ARGS=("${HQ[@]}" --cipher-suites CHACHA20_POLY1305_SHA256) ;;
        resumption) ARGS=("${HQ[@]}" --session-ticket /tmp/session.ticket) ;;
        zerortt) ARGS=("${HQ[@]}" --session-ticket /tmp/session.ticket --zero-rtt) ;;
        v2) ARGS=("${HQ[@]}" --negotiate-v2) ;;
        http3) ARGS=() ;;
        *) return 1 ;;
    esac
}

server_args() {
    case "$TESTCASE" in
        handshake|transfer|multiconnect|chacha20|resumption|zerortt|v2|http3) ARGS=() ;;
        retry) ARGS=(--retry) ;;
        *) return 1 ;;
    esac
}

fetch() {
    # shellcheck disable=SC2086 # CLIENT_PARAMS is a user-supplied word list
    "$PYTHON" "$EXAMPLES/http3_client.py" \
        --ca-certs /certs/ca.pem \
        --output-dir /downloads \
        --verbose \
        "${LOG_ARGS[@]}" "${ARGS[@]}" $CLIENT_PARAMS \
        "$@" 2>>/logs/stderr.log
}

run_client() {
    /wait-for-it.sh sim:57832 -s -t 30
    read -r -a URLS <<<"$REQUESTS"
    if [ ${#URLS[@]} -eq 0 ]; then
        echo "aioquic: no REQUESTS given" >&2
        exit 1
    fi
    case "$TESTCASE" in
        multiconnect)
            # One connection (and handshake) per file.
            for url in "${URLS[@]}"; do
                fetch "$url" || exit 1
            done
            ;;
        resumption|zerortt)
            # The first connection stores a session ticket, the second resumes.
            fetch "${URLS[0]}" || exit 1
            if [ ${#URLS[@]} -gt 1 ]; then
                fetch "${URLS[@]:1}" || exit 1
            fi
            ;;
        *)
            fetch "${URLS[@]}" || exit 1
            ;;
    esac
}

run_server() {
    # demo.py (the example server's app) serves STATIC_ROOT.
    export STATIC_ROOT=/www
    cd "$EXAMPLES" || exit 1
    # shellcheck disable=SC2086
    "$PYTHON" "$EXAMPLES/http3_server.py" \
        --host :: --port 443 \
        --certificate /certs/cert.pem \
        --private-key /certs/priv.key \
        --verbose \
        "${LOG_ARGS[@]}" "${ARGS[@]}" $SERVER_PARAMS \
        2>>/logs/stderr.log &
    SERVER_PID=$!
    # aioquic writes a connection's qlog only when the connection is gone. The
    # runner stops the server right after the client exits, while the last
    # connection is still draining (three PTOs, about 0.35 s on the default
    # link): give it half a second before stopping.
    trap 'sleep 0.5; kill -TERM "$SERVER_PID" 2>/dev/null' TERM INT
    wait "$SERVER_PID"
    # The first wait returns when the trap runs; this one gets the exit code.
    wait "$SERVER_PID"
}

case "$ROLE" in
    client)
        client_args || { echo "aioquic client: test case '$TESTCASE' is not supported"; exit 127; }
        run_client
        ;;
    server)
        server_args || { echo "aioquic server: test case '$TESTCASE' is not supported"; exit 127; }
        run_server
        ;;
    *)
        echo "aioquic: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
