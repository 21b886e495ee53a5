#!/bin/bash
# HAProxy interop endpoint (server only): HAProxy terminates QUIC on UDP 443
# (IPv4 and IPv6) and forwards each request over HTTP/1.1 to busybox httpd on
# 127.0.0.1:8080, which serves /www. The TLS secrets go to $SSLKEYLOGFILE in
# NSS key log format through a log-format line (tune.ssl.keylog on).
# Anything HAProxy cannot really do exits 127; see docs/implementations.md.
/setup.sh

CONF=/tmp/haproxy.cfg
SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
QLOGDIR="${QLOGDIR:-/logs/qlog/}"
mkdir -p "$QLOGDIR"

case "$ROLE" in
    server) ;;
    client)
        echo "haproxy: no client (server only); test case '$TESTCASE' is not supported"
        exit 127
        ;;
    *)
        echo "haproxy: ROLE must be server, not '$ROLE'" >&2
        exit 1
        ;;
esac

BIND_OPTS=""
case "$TESTCASE" in
    handshake|transfer|multiconnect|chacha20|resumption|http3|v2) ;;
    retry) BIND_OPTS="quic-force-retry" ;;
    *)
        # zerortt: Debian's OpenSSL 3.5 has no QUIC TLS API that HAProxy 3.0
        # uses, so HAProxy runs its OpenSSL compatibility layer
        # (limited-quic), which cannot do 0-RTT. ecn: HAProxy 3.0 does not
        # mark packets. connectionmigration: no preferred address.
        echo "haproxy: test case '$TESTCASE' is not supported"
        exit 127
        ;;
esac

# HAProxy wants the certificate chain and its key in one PEM file.
cat /certs/cert.pem /certs/priv.key > /tmp/server.pem
chmod 0600 /tmp/server.pem

# One log line per request carries the connection's secrets, one NSS key
# log line each (the "\n" in the format are line feeds). Logged to fd 3,
# which is $SSLKEYLOGFILE opened for appending.
KEYLOG_FORMAT='CLIENT_HANDSHAKE_TRAFFIC_SECRET %[ssl_fc_client_random,hex] %[ssl_fc_client_handshake_traffic_secret]\nSERVER_HANDSHAKE_TRAFFIC_SECRET %[ssl_fc_client_random,hex] %[ssl_fc_server_handshake_traffic_secret]\nCLIENT_TRAFFIC_SECRET_0 %[ssl_fc_client_random,hex] %[ssl_fc_client_traffic_secret_0]\nSERVER_TRAFFIC_SECRET_0 %[ssl_fc_client_random,hex] %[ssl_fc_server_traffic_secret_0]'

cat >"$CONF" <<CONF
global
    limited-quic
    tune.ssl.keylog on
    nbthread 1
    log fd@3 format raw local0 info

defaults
    mode http
    log global
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 60s

frontend quic
    bind quic4@0.0.0.0:443 ssl crt /tmp/server.pem alpn h3,hq-interop $BIND_OPTS
    bind quic6@[::]:443 ssl crt /tmp/server.pem alpn h3,hq-interop $BIND_OPTS
    log-format "$KEYLOG_FORMAT"
    default_backend www

backend www
    server files 127.0.0.1:8080
CONF
cp "$CONF" /logs/haproxy.cfg

# The file server: busybox httpd in the foreground, /www as its root.
busybox httpd -f -p 127.0.0.1:8080 -h /www 2>>/logs/httpd.log &
HTTPD_PID=$!

exec 3>>"$SSLKEYLOGFILE"
# shellcheck disable=SC2086 # SERVER_PARAMS is a user-supplied word list
haproxy -W -db -f "$CONF" $SERVER_PARAMS &
HAPROXY_PID=$!
trap 'kill -TERM "$HAPROXY_PID" "$HTTPD_PID" 2>/dev/null' TERM INT
wait "$HAPROXY_PID"
# The first wait returns when the trap runs; this one gets the exit code.
wait "$HAPROXY_PID"
RC=$?
kill -TERM "$HTTPD_PID" 2>/dev/null
exit $RC
