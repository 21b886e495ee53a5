#!/bin/bash
# Firefox (firefox-esr, headless, Marionette) WebTransport client: runs
# /wt/wt_browser.py, which loads /wt/wt_page.html. Only the client role
# exists; the server role and the send cases' full names exit 127.
/setup.sh

case "$TESTCASE" in
    handshake)
        # firefox-esr 153 establishes the session with the offered protocols
        # but its WebTransport.protocol is undefined (seen in trials), so it
        # cannot report what was negotiated.
        echo "firefox: handshake needs WebTransport.protocol, which firefox-esr does not expose"; exit 127 ;;
    transfer|transfer-unidirectional-receive|transfer-bidirectional-receive|transfer-datagram-receive) ;;
    *) echo "firefox: test case '$TESTCASE' is not supported"; exit 127 ;;
esac
[ "$ROLE" = client ] || { echo "firefox: only the client role exists"; exit 127; }

export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
# The page pins the run's leaf certificate (serverCertificateHashes, which
# the contract's 10-day ECDSA leaf allows); the SPKI hash also lets
# Chromium's own verifier accept the run's CA-less chain.
CERTHASH=$(openssl x509 -in /certs/cert.pem -outform DER | openssl dgst -sha256 -binary | base64)
SPKI=$(openssl x509 -in /certs/cert.pem -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64)
export CERTHASH SPKI BROWSER=firefox
firefox-esr --version

/wait-for-it.sh sim:57832 -s -t 30
cd /wt && exec /venv/bin/python -u /wt/wt_browser.py
