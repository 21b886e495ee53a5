#!/bin/bash
# nginx interop endpoint (server only): writes an nginx.conf for the
# TESTCASE and runs nginx in the foreground on UDP 443 (IPv4 and IPv6),
# serving /www over hq-interop (`http3_hq on`) or, for `http3`, over h3.
# Anything nginx cannot really do exits 127; see docs/implementations.md.
/setup.sh

CONF=/tmp/nginx.conf
QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR"

# hq-interop for every case but http3: with `http3_hq on` nginx offers only
# the ALPN "hq-interop" and serves HTTP/0.9 requests.
HQ="http3_hq on;"
EXTRA=""
case "$ROLE" in
    server) ;;
    client)
        echo "nginx: no client (server only); test case '$TESTCASE' is not supported"
        exit 127
        ;;
    *)
        echo "nginx: ROLE must be server, not '$ROLE'" >&2
        exit 1
        ;;
esac

case "$TESTCASE" in
    handshake|transfer|multiconnect|chacha20|resumption) ;;
    retry) EXTRA="quic_retry on;" ;;
    http3) HQ="http3_hq off;" ;;
    *)
        # zerortt: Debian builds nginx against OpenSSL 3.5 without a QUIC TLS
        # API, so nginx uses its OpenSSL compatibility layer, which cannot do
        # 0-RTT. ecn, v2, connectionmigration, versionnegotiation: not
        # implemented (no ECN marking, QUIC v1 only, no preferred address).
        echo "nginx: test case '$TESTCASE' is not supported"
        exit 127
        ;;
esac

cat >"$CONF" <<CONF
user root;
worker_processes 1;
daemon off;
pid /tmp/nginx.pid;
error_log /logs/nginx-error.log info;

events {
    worker_connections 4096;
}

http {
    default_type application/octet-stream;
    access_log /logs/nginx-access.log;
    client_body_temp_path /tmp/nginx-body;
    # nginx closes a connection after keepalive_requests requests (1000 by
    # default); multiplexing sends 1999 on one connection.
    keepalive_requests 100000;

    server {
        listen 443 quic reuseport;
        listen [::]:443 quic reuseport;
        server_name server server4 server6 server46;

        ssl_certificate /certs/cert.pem;
        ssl_certificate_key /certs/priv.key;
        ssl_protocols TLSv1.3;
        # Session tickets (the default) plus a cache, for resumption.
        ssl_session_tickets on;
        ssl_session_cache shared:SSL:10m;

        $HQ
        $EXTRA

        root /www;
        location / {
        }
    }
}
CONF
cp "$CONF" /logs/nginx.conf

nginx -t -c "$CONF" 2>>/logs/nginx-error.log || { echo "nginx: configuration test failed" >&2; exit 1; }
# shellcheck disable=SC2086 # SERVER_PARAMS is a user-supplied word list
exec nginx -c "$CONF" $SERVER_PARAMS
