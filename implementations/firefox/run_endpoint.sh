#!/bin/bash
# Firefox client (firefox-esr, headless, Marionette), for both protocols. A
# WebTransport run always gives PROTOCOLS; a QUIC run leaves it empty.
# QUIC: /quic/h3_client.py fetches REQUESTS over HTTP/3. WebTransport:
# /wt/wt_browser.py loads /wt/wt_page.html. Only the client role exists;
# unsupported test cases exit 127.
/setup.sh

[ "$ROLE" = client ] || { echo "firefox: only the client role exists"; exit 127; }
export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
firefox-esr --version

if [ -z "$PROTOCOLS" ]; then
    case "$TESTCASE" in
        handshake|transfer|retry|http3|multiconnect) ;;
        *) echo "firefox: QUIC test case '$TESTCASE' is not supported"; exit 127 ;;
    esac
    # The run's CA, trusted through an enterprise policy (read at start).
    mkdir -p /usr/lib/firefox-esr/distribution
    echo '{"policies": {"Certificates": {"Install": ["/certs/ca.pem"]}}}' \
        > /usr/lib/firefox-esr/distribution/policies.json
    /wait-for-it.sh sim:57832 -s -t 30
    exec /venv/bin/python -u /quic/h3_client.py
fi

case "$TESTCASE" in
    handshake)
        # firefox-esr 153 establishes the session with the offered protocols
        # but its WebTransport.protocol is undefined (seen in trials), so it
        # cannot report what was negotiated.
        echo "firefox: handshake needs WebTransport.protocol, which firefox-esr does not expose"; exit 127 ;;
    transfer|transfer-unidirectional-receive|transfer-bidirectional-receive|transfer-datagram-receive) ;;
    *) echo "firefox: WebTransport test case '$TESTCASE' is not supported"; exit 127 ;;
esac

# The page pins the run's leaf certificate (serverCertificateHashes, which
# the contract's 10-day ECDSA leaf allows).
CERTHASH=$(openssl x509 -in /certs/cert.pem -outform DER | openssl dgst -sha256 -binary | base64)
export CERTHASH BROWSER=firefox

/wait-for-it.sh sim:57832 -s -t 30
cd /wt && exec /venv/bin/python -u /wt/wt_browser.py
