#!/bin/bash
# Chromium client (headless, chromium-driver + Selenium), for both
# protocols. A WebTransport run always gives PROTOCOLS; a QUIC run leaves it
# empty. QUIC: /quic/h3_client.py fetches REQUESTS over HTTP/3.
# WebTransport: /wt/wt_browser.py loads /wt/wt_page.html. Only the client
# role exists; unsupported test cases exit 127.
/setup.sh

[ "$ROLE" = client ] || { echo "chrome: only the client role exists"; exit 127; }

if [ -z "$PROTOCOLS" ]; then
    case "$TESTCASE" in
        handshake|transfer|retry|http3|multiconnect|resumption|zerortt) ;;
        *) echo "chrome: QUIC test case '$TESTCASE' is not supported"; exit 127 ;;
    esac
    SCRIPT=/quic/h3_client.py
else
    case "$TESTCASE" in
        handshake|transfer|transfer-unidirectional-receive|transfer-bidirectional-receive|transfer-datagram-receive) ;;
        *) echo "chrome: WebTransport test case '$TESTCASE' is not supported"; exit 127 ;;
    esac
    SCRIPT=/wt/wt_browser.py
fi

export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
# WebTransport pins the run's leaf certificate (serverCertificateHashes,
# which the contract's 10-day ECDSA leaf allows); the SPKI hash lets
# Chromium's own verifier accept the run's chain for QUIC and WebTransport.
CERTHASH=$(openssl x509 -in /certs/cert.pem -outform DER | openssl dgst -sha256 -binary | base64)
SPKI=$(openssl x509 -in /certs/cert.pem -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64)
export CERTHASH SPKI BROWSER=chromium
chromium --version

/wait-for-it.sh sim:57832 -s -t 30
exec python3 -u "$SCRIPT"
