#!/usr/bin/env python3
"""Runs one WebTransport test case in a browser (Chromium through
chromium-driver, or Firefox through Marionette) and saves what the page
returns: files into /downloads/<endpoint>/, the negotiated protocol into
/downloads/negotiated_protocol.txt.

Environment: ROLE (client only), TESTCASE, REQUESTS, PROTOCOLS, CERTHASH
(base64 SHA-256 of the server's leaf certificate), BROWSER (chromium or
firefox), SSLKEYLOGFILE. Exit 127 for a test case a browser client cannot
perform, 1 when the page reports a failure.
"""

import base64
import json
import os
import sys
from urllib.parse import urlparse

EXIT_UNSUPPORTED = 127
PAGE = "file:///wt/wt_page.html"
TIMEOUT_MS = 120_000
CLIENT_CASES = (
    "handshake",
    "transfer",
    "transfer-unidirectional-receive",
    "transfer-bidirectional-receive",
    "transfer-datagram-receive",
)


def log(msg: str) -> None:
    print(f"wt_browser: {msg}", flush=True)


def session_of(requests: list[str]) -> tuple[str, str, str, list[str]]:
    """(session URL, host:port, endpoint, file names) of the one session."""
    sessions: dict[tuple[str, str], list[str]] = {}
    for url in requests:
        u = urlparse(url)
        endpoint, _, name = u.path.lstrip("/").partition("/")
        names = sessions.setdefault((f"{u.scheme}://{u.netloc}", endpoint), [])
        if name:
            names.append(name)
    if len(sessions) != 1:
        raise ValueError(f"REQUESTS names {len(sessions)} sessions; this client opens one")
    (origin, endpoint), names = next(iter(sessions.items()))
    return f"{origin}/{endpoint}", urlparse(origin).netloc, endpoint, names


def files_to_answer(endpoint: str) -> dict[str, str]:
    root = os.path.join("/www", endpoint)
    if not os.path.isdir(root):
        return {}
    out = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out[name] = base64.b64encode(f.read()).decode()
    return out


def chromium(host_port: str, spki: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--enable-quic",
        f"--origin-to-force-quic-on={host_port}",
        "--log-net-log=/logs/chrome-netlog.json",
        "--net-log-capture-mode=IncludeSensitive",
    ):
        options.add_argument(arg)
    if spki:
        options.add_argument(f"--ignore-certificate-errors-spki-list={spki}")
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog:
        options.add_argument(f"--ssl-key-log-file={keylog}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", log_output="/logs/chromedriver.log")
    return webdriver.Chrome(service=service, options=options)


def run_page(driver, config: dict) -> dict:
    driver.set_script_timeout(TIMEOUT_MS / 1000 + 30)
    driver.get(PAGE)
    return driver.execute_script("return runCase(arguments[0]);", config)


def save(result: dict, endpoint: str, testcase: str) -> None:
    os.makedirs("/downloads", exist_ok=True)
    if testcase == "handshake":
        if result.get("protocol") is None:
            log("the browser reports no negotiated protocol; writing none")
        else:
            with open("/downloads/negotiated_protocol.txt", "w") as f:
                f.write(result["protocol"])
    directory = os.path.join("/downloads", endpoint)
    for name, b64 in (result.get("files") or {}).items():
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, os.path.basename(name)), "wb") as f:
            f.write(base64.b64decode(b64))


def main() -> int:
    testcase = os.environ.get("TESTCASE", "")
    if os.environ.get("ROLE") != "client" or testcase not in CLIENT_CASES:
        log(f"role {os.environ.get('ROLE')!r}, test case {testcase!r}: not supported")
        return EXIT_UNSUPPORTED
    url, host_port, endpoint, names = session_of(os.environ.get("REQUESTS", "").split())
    config = {
        "testcase": testcase,
        "url": url,
        "protocols": os.environ.get("PROTOCOLS", "").split(),
        "certHash": os.environ.get("CERTHASH", ""),
        "files": files_to_answer(endpoint) if testcase == "transfer" else {},
        "names": names,
        "timeoutMs": TIMEOUT_MS,
    }
    browser = os.environ.get("BROWSER", "chromium")
    log(f"{browser}: {testcase} on {url}, {len(names)} file(s)")
    if browser == "firefox":
        from wt_firefox import firefox_run
        result = firefox_run(config)
    else:
        driver = chromium(host_port, os.environ.get("SPKI", ""))
        try:
            result = run_page(driver, config)
            with open("/logs/browser-console.log", "w") as f:
                for entry in driver.get_log("browser"):
                    f.write(json.dumps(entry) + "\n")
        finally:
            driver.quit()
    for line in result.get("log", []):
        log(f"page: {line}")
    if not result.get("ok"):
        log(f"the page failed: {result.get('error')}")
        return 1
    save(result, endpoint, testcase)
    log(f"done: protocol {result.get('protocol')!r}, {len(result.get('files') or {})} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
