#!/bin/bash
# Chromium WebTransport client (headless, chromium-driver + Selenium): runs
# /wt/wt_browser.py, which loads /wt/wt_page.html. Only the client role
# exists; the server role and the send cases' full names exit 127.
/setup.sh

case "$TESTCASE" in
    handshake|transfer|transfer-unidirectional-receive|transfer-bidirectional-receive|transfer-datagram-receive) ;;
    *) echo "chrome: test case '$TESTCASE' is not supported"; exit 127 ;;
esac
[ "$ROLE" = client ] || { echo "chrome: only the client role exists"; exit 127; }

export SSLKEYLOGFILE="${SSLKEYLOGFILE:-/logs/keys.log}"
# The page pins the run's leaf certificate (serverCertificateHashes, which
# the contract's 10-day ECDSA leaf allows); the SPKI hash also lets
# Chromium's own verifier accept the run's CA-less chain.
CERTHASH=$(openssl x509 -in /certs/cert.pem -outform DER | openssl dgst -sha256 -binary | base64)
SPKI=$(openssl x509 -in /certs/cert.pem -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64)
export CERTHASH SPKI BROWSER=chromium
chromium --version

/wait-for-it.sh sim:57832 -s -t 30
exec python3 -u /wt/wt_browser.py
