#!/bin/bash
# tquic interop endpoint: maps the runner's TESTCASE onto the options of
# tquic_tools' ready programs tquic_client / tquic_server. Anything those
# programs cannot really do exits 127 (unsupported) before anything starts;
# see docs/implementations.md.
/setup.sh

BIN=/usr/local/bin
SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR" /downloads
LOG_LEVEL="${TQUIC_LOG_LEVEL:-INFO}"

client_args() {
    case "$TESTCASE" in
        handshake|transfer|retry) ARGS=(--alpn hq-interop) ;;
        # Under heavy loss (handshakeloss, handshakecorruption) the default
        # 10 s handshake timeout gives up on handshakes that would still
        # complete, and each new attempt is one more handshake.
        multiconnect) ARGS=(--alpn hq-interop --handshake-timeout 60000) ;;
        resumption) ARGS=(--alpn hq-interop --session-file /tmp/tquic.session) ;;
        zerortt) ARGS=(--alpn hq-interop --session-file /tmp/tquic.session --enable-early-data) ;;
        http3) ARGS=(--alpn h3) ;;
        *) return 1 ;;
    esac
}

server_args() {
    case "$TESTCASE" in
        handshake|transfer|chacha20|resumption|zerortt|http3) ARGS=() ;;
        multiconnect) ARGS=(--handshake-timeout 60000) ;;
        retry) ARGS=(--enable-retry) ;;
        *) return 1 ;;
    esac
}

# One tquic_client process: one connection fetching all the given URLs
# (tquic_client raises its requests-per-connection limit to the number of
# URLs). All requests may be outstanding at once, so a resumed connection
# sends them all as 0-RTT. tquic_client exits 0 even when requests failed;
# its closing statistics tell, so they decide the exit code here.
fetch() {
    local n=$# out=/tmp/tquic-client.out
    # shellcheck disable=SC2086 # CLIENT_PARAMS is a user-supplied word list
    "$BIN/tquic_client" \
        --dump-dir /downloads \
        --keylog-file "$SSLKEYLOGFILE" \
        --qlog-dir "$QLOGDIR" \
        --log-file /logs/client.log --log-level "$LOG_LEVEL" \
        --max-concurrent-requests "$n" \
        "${ARGS[@]}" $CLIENT_PARAMS "$@" >"$out" 2>>/logs/stderr.log
    local rc=$?
    cat "$out" >>/logs/client.out
    [ "$rc" -eq 0 ] || return "$rc"
    local conns success
    conns=$(sed -n 's/^conns: total \([0-9]*\),.*/\1/p' "$out")
    success=$(sed -n 's/^requests: sent [0-9]*, finish [0-9]*, success \([0-9]*\)$/\1/p' "$out")
    if [ "$success" != "$n" ]; then
        echo "tquic client: $success of $n requests succeeded" >&2
        return 1
    fi
    # After a failed connection tquic_client starts over with the first URL
    # on a new one; with several URLs that can skip some of them.
    if [ "$n" -gt 1 ] && [ "$conns" != 1 ]; then
        echo "tquic client: $n requests needed $conns connections" >&2
        return 1
    fi
}

run_client() {
    /wait-for-it.sh sim:57832 -s -t 30
    read -r -a URLS <<<"$REQUESTS"
    if [ ${#URLS[@]} -eq 0 ]; then
        echo "tquic: no REQUESTS given" >&2
        exit 1
    fi
    case "$TESTCASE" in
        multiconnect)
            # One process, so one connection (and handshake), per file.
            for url in "${URLS[@]}"; do
                fetch "$url" || exit 1
            done
            ;;
        resumption|zerortt)
            # The first connection saves the session, the second resumes it.
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
    # [::]:443 is a dual-stack socket: IPv4 and IPv6. The server offers the
    # ALPNs h3, http/0.9 and hq-interop, and always accepts early data.
    # Not exec'd: as PID 1 the server would ignore the runner's SIGTERM.
    # shellcheck disable=SC2086
    "$BIN/tquic_server" \
        --listen "[::]:443" \
        --root /www \
        --cert /certs/cert.pem --key /certs/priv.key \
        --keylog-file "$SSLKEYLOGFILE" \
        --qlog-dir "$QLOGDIR" \
        --log-file /logs/server.log --log-level "$LOG_LEVEL" \
        "${ARGS[@]}" $SERVER_PARAMS \
        >>/logs/server.out 2>>/logs/stderr.log &
    SERVER_PID=$!
    trap 'kill -TERM "$SERVER_PID" 2>/dev/null' TERM INT
    wait "$SERVER_PID"
    # The first wait returns when the trap runs; this one gets the exit code.
    wait "$SERVER_PID"
}

case "$ROLE" in
    client)
        client_args || { echo "tquic client: test case '$TESTCASE' is not supported"; exit 127; }
        run_client
        ;;
    server)
        server_args || { echo "tquic server: test case '$TESTCASE' is not supported"; exit 127; }
        run_server
        ;;
    *)
        echo "tquic: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
