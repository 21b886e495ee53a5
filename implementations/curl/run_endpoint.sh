#!/bin/bash
# curl interop endpoint (client only). HTTP/3 (`http3`) is curl 8.14.1 on
# OpenSSL 3.5's QUIC stack; every hq-interop case is hq-client, this
# project's small hq-interop client on the same OpenSSL QUIC API (curl has
# no hq-interop). Anything neither can really do exits 127; see
# docs/implementations.md.
/setup.sh

SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
QLOGDIR="${QLOGDIR:-/logs/qlog/}"
export SSLKEYLOGFILE QLOGDIR
mkdir -p "$QLOGDIR" /downloads

case "$ROLE" in
    client) ;;
    server)
        echo "curl: no server (client only); test case '$TESTCASE' is not supported"
        exit 127
        ;;
    *)
        echo "curl: ROLE must be client, not '$ROLE'" >&2
        exit 1
        ;;
esac

# X25519 first: OpenSSL 3.5's default key share (X25519MLKEM768 + X25519)
# makes a 1.5 KB ClientHello that spans two Initial packets, and OpenSSL's
# probes after a loss are PINGs that do not resend lost CRYPTO data, so a
# lost second half stalls the handshake. An X25519 ClientHello fits one packet.
HQ=(/usr/local/bin/hq-client -o /downloads -C /certs/ca.pem -g X25519:secp256r1:X25519MLKEM768)
case "$TESTCASE" in
    handshake|transfer|multiconnect|retry|resumption|http3) ;;
    chacha20) HQ+=(-c TLS_CHACHA20_POLY1305_SHA256) ;;
    # Ask for a key update once 100 KB of the file have arrived.
    keyupdate) HQ+=(-u 100000) ;;
    *)
        # zerortt: OpenSSL 3.5's QUIC client sends no early data. v2: it
        # speaks QUIC v1 only. ecn: it does not mark packets. Anything
        # else (connectionmigration, versionnegotiation, ...): not done.
        echo "curl: test case '$TESTCASE' is not supported"
        exit 127
        ;;
esac

/wait-for-it.sh sim:57832 -s -t 30
read -r -a URLS <<<"$REQUESTS"
if [ ${#URLS[@]} -eq 0 ]; then
    echo "curl: no REQUESTS given" >&2
    exit 1
fi

hq() {
    # shellcheck disable=SC2086 # CLIENT_PARAMS is a user-supplied word list
    "${HQ[@]}" $CLIENT_PARAMS "$@" 2>>/logs/hq-client.log
}

case "$TESTCASE" in
    http3)
        # One curl, so one connection that carries every request.
        # shellcheck disable=SC2086
        curl --http3-only --cacert /certs/ca.pem --fail --silent --show-error \
            --verbose --output-dir /downloads --remote-name-all $CLIENT_PARAMS \
            "${URLS[@]}" 2>>/logs/curl.log || exit 1
        ;;
    multiconnect)
        # One connection (and handshake) per file.
        for url in "${URLS[@]}"; do
            hq "$url" || exit 1
        done
        ;;
    resumption)
        # The first file stores the server's session ticket, the rest come
        # over a second connection that resumes that session.
        rm -f /tmp/session.pem
        hq -s /tmp/session.pem "${URLS[0]}" || exit 1
        if [ ${#URLS[@]} -gt 1 ]; then
            [ -s /tmp/session.pem ] || { echo "curl: the server sent no session ticket" >&2; exit 1; }
            hq -r /tmp/session.pem "${URLS[@]:1}" || exit 1
        fi
        ;;
    *)
        hq "${URLS[@]}" || exit 1
        ;;
esac
exit 0
