#!/bin/bash
# ngtcp2 1.11 interop endpoint: maps the runner's TESTCASE onto the options
# of ngtcp2's example programs.
#  - hq-interop (every case but http3): h09wsslclient / h09wsslserver
#    (ngtcp2 + wolfSSL, built in the image from Debian's source package);
#  - http3: gtlsclient / gtlsserver (ngtcp2 + GnuTLS, Debian's packages).
# Cases the programs cannot really do exit 127 (unsupported), as does every
# unknown name; see docs/implementations.md.
/setup.sh

H09=/usr/local/lib/ngtcp2
LOG=/logs/log.txt
export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR" /downloads

# Both examples: BBR and a 100 ms initial RTT (the simulated link has 30 ms;
# the default of 333 ms makes every lost handshake packet cost a second).
COMMON=(--qlog-dir "$QLOGDIR" --no-quic-dump --no-http-dump --cc bbr --initial-rtt 100ms)

client_args() {
    case "$TESTCASE" in
        handshake|transfer|retry|http3) ARGS=() ;;
        # Active migration: half a second after the handshake the client
        # moves to a new local port (new path, new connection ID) and
        # validates it, unless the server sent disable_active_migration.
        # Whatever the case, the client also follows a server's preferred
        # address (what the server side of connectionmigration offers).
        connectionmigration) ARGS=(--change-local-addr=500ms) ;;
        multiconnect) ARGS=(--timeout=180s --handshake-timeout=180s) ;;
        chacha20) ARGS=(--ciphers=TLS_CHACHA20_POLY1305_SHA256) ;;
        # Resumption without early data; the client waits for the ticket.
        resumption) ARGS=(--session-file=/tmp/session.txt --tp-file=/tmp/tp.txt --wait-for-ticket --disable-early-data) ;;
        # Path MTU probes are 1-RTT payload too: keep them out of a test that
        # measures how little is sent in 1-RTT.
        zerortt) ARGS=(--session-file=/tmp/session.txt --tp-file=/tmp/tp.txt --wait-for-ticket --no-pmtud) ;;
        # Update keys right after the handshake, before the data flows.
        keyupdate) ARGS=(--key-update=1ms --delay-stream=10ms) ;;
        # ngtcp2 marks ECT(0) and reports ECN counts by itself; its Path MTU
        # probes go out unmarked, so there are none.
        ecn) ARGS=(--no-pmtud) ;;
        # Start in v1, offer v2: compatible version negotiation to v2.
        v2) ARGS=(--available-versions=v2,v1) ;;
        # A reserved version the server cannot know, then the one it offers.
        versionnegotiation) ARGS=(--version=0xaaaaaaaa --preferred-versions=v1) ;;
        *) return 1 ;;
    esac
}

server_args() {
    case "$TESTCASE" in
        # keyupdate: the server only has to answer the client's key update.
        handshake|transfer|chacha20|resumption|zerortt|http3|keyupdate|versionnegotiation) ARGS=() ;;
        retry) ARGS=(--validate-addr) ;;
        multiconnect) ARGS=(--timeout=180s --handshake-timeout=180s) ;;
        ecn) ARGS=(--no-pmtud) ;;
        # Prefer v2 when the client offers it.
        v2) ARGS=(--preferred-versions=v2) ;;
        # Offer a preferred address (port 4433 on both families): the client
        # migrates there once the handshake is confirmed. (The contract gives
        # this name to the server and "transfer" to the client; a runner that
        # does it the other way round gets the client's active migration.)
        connectionmigration) ARGS=(--preferred-ipv4-addr=server4:4433 --preferred-ipv6-addr=server6:4433) ;;
        *) return 1 ;;
    esac
}

# fetch URL... : one connection for the given URLs, all to the host of the
# first one. Exits non-zero if a requested file is missing afterwards.
fetch() {
    local host port rest url name
    rest="${1#https://}"
    host="${rest%%/*}"
    port=443
    case "$host" in
        \[*\]:*) port="${host##*]:}"; host="${host%:*}" ;;
        \[*\]) ;;
        *:*) port="${host##*:}"; host="${host%%:*}" ;;
    esac
    host="${host#[}"; host="${host%]}"
    local uris=("$@")
    # versionnegotiation: only the server's address, no request.
    [ "$TESTCASE" = versionnegotiation ] && uris=()
    echo "ngtcp2: $PROG $host $port ${ARGS[*]} (${#uris[@]} URLs)" >>"$LOG"
    # shellcheck disable=SC2086 # CLIENT_PARAMS is a user-supplied word list
    "$PROG" "$host" "$port" "${uris[@]}" \
        --download=/downloads --exit-on-all-streams-close \
        "${COMMON[@]}" "${ARGS[@]}" $CLIENT_PARAMS >>"$LOG" 2>&1
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "ngtcp2: client exited with $rc" | tee -a "$LOG" >&2
        return 1
    fi
    # The example exits 0 after an idle timeout too: check the files (the
    # versionnegotiation case transfers none).
    [ "$TESTCASE" = versionnegotiation ] && return 0
    for url in "$@"; do
        name="${url##*/}"
        if [ ! -f "/downloads/$name" ]; then
            echo "ngtcp2: $url was not downloaded" | tee -a "$LOG" >&2
            return 1
        fi
    done
}

run_client() {
    /wait-for-it.sh sim:57832 -s -t 30
    read -r -a URLS <<<"$REQUESTS"
    if [ ${#URLS[@]} -eq 0 ]; then
        # versionnegotiation transfers no file: just elicit the answer.
        if [ "$TESTCASE" != versionnegotiation ]; then
            echo "ngtcp2: no REQUESTS given" >&2
            exit 1
        fi
        URLS=(https://server4:443/)
    fi
    if [ "$TESTCASE" = http3 ]; then PROG=/usr/bin/gtlsclient; else PROG="$H09/h09wsslclient"; fi
    case "$TESTCASE" in
        multiconnect)
            # One connection (and handshake) per file.
            for url in "${URLS[@]}"; do
                fetch "$url" || exit 1
            done
            ;;
        resumption|zerortt)
            # The first connection stores the ticket and transport
            # parameters, the second resumes with them (and sends its
            # requests in 0-RTT for zerortt).
            rm -f /tmp/session.txt /tmp/tp.txt
            fetch "${URLS[0]}" || exit 1
            if [ ${#URLS[@]} -gt 1 ]; then
                fetch "${URLS[@]:1}" || exit 1
            fi
            ;;
        *)
            fetch "${URLS[@]}" || exit 1
            ;;
    esac
    exit 0
}

run_server() {
    if [ "$TESTCASE" = http3 ]; then PROG=/usr/sbin/gtlsserver; else PROG="$H09/h09wsslserver"; fi
    echo "ngtcp2: $PROG * 443 ${ARGS[*]}" >>"$LOG"
    # shellcheck disable=SC2086 # SERVER_PARAMS is a user-supplied word list
    "$PROG" '*' 443 /certs/priv.key /certs/cert.pem --htdocs=/www \
        "${COMMON[@]}" "${ARGS[@]}" $SERVER_PARAMS >>"$LOG" 2>&1 &
    SERVER_PID=$!
    # The examples stop on SIGINT only; the runner sends SIGTERM.
    trap 'kill -INT "$SERVER_PID" 2>/dev/null' TERM INT
    wait "$SERVER_PID"
    # The first wait returns when the trap runs; this one gets the exit code.
    wait "$SERVER_PID"
}

case "$ROLE" in
    client)
        client_args || { echo "ngtcp2 client: test case '$TESTCASE' is not supported"; exit 127; }
        run_client
        ;;
    server)
        server_args || { echo "ngtcp2 server: test case '$TESTCASE' is not supported"; exit 127; }
        run_server
        ;;
    *)
        echo "ngtcp2: ROLE must be client or server, not '$ROLE'" >&2
        exit 1
        ;;
esac
