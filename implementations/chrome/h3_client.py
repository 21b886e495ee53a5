#!/usr/bin/env python3
"""Chromium as a QUIC interop client: fetches every URL of REQUESTS over
HTTP/3 (QUIC forced on for each origin) with the page's fetch(), and saves
each body to /downloads/<file name>.

Chromium speaks h3 only, never hq-interop. Per test case:
- handshake, transfer, retry, http3: every URL on one connection, at most
  256 requests in flight (Chromium refuses thousands of pending fetches);
- resumption, zerortt: the first URL, then every connection closed
  (chrome.benchmarking.closeConnections), then the others on a new
  connection that resumes the first one's session and, for zerortt, sends
  its requests as 0-RTT data as Chromium does by itself;
- multiconnect: one connection per URL, closed after each.
Everything else exits 127.

Environment: ROLE, TESTCASE, REQUESTS, SPKI (base64 SHA-256 of the leaf's
public key, which Chromium then accepts without a CA), SSLKEYLOGFILE.
"""

import base64
import json
import os
import sys
from urllib.parse import urlparse

EXIT_UNSUPPORTED = 127
# How each test case spreads its URLs over connections.
PLANS = {
    "handshake": "one",
    "transfer": "one",
    "retry": "one",
    "http3": "one",
    "resumption": "first-then-rest",
    "zerortt": "first-then-rest",
    "multiconnect": "each",
}
IN_FLIGHT = 256
# The longest test (crosstraffic) gives the client 180 s.
SCRIPT_TIMEOUT_S = 175

# Runs in about:blank with web security off (no CORS between the blank page
# and the server). Returns {url: base64 body} or throws with the first error.
FETCH_ALL = """
const [urls, plan, inFlight] = arguments;
const done = arguments[arguments.length - 1];
const out = {};
async function one(url) {
  const response = await fetch(url, {cache: "no-store"});
  if (!response.ok) throw new Error(`${url}: HTTP status ${response.status}`);
  out[url] = new Uint8Array(await response.arrayBuffer()).toBase64();
}
async function some(list) {
  let next = 0;
  const worker = async () => { while (next < list.length) await one(list[next++]); };
  await Promise.all(Array.from({length: Math.min(inFlight, list.length)}, worker));
}
// Closing every connection makes the next fetch a new handshake.
const reconnect = () => chrome.benchmarking.closeConnections();
async function all() {
  if (plan === "one") return some(urls);
  if (plan === "first-then-rest") {
    await one(urls[0]);
    await reconnect();
    return some(urls.slice(1));
  }
  for (const url of urls) {
    await one(url);
    await reconnect();
  }
}
all().then(() => done({ok: true, files: out}), (e) => done({ok: false, error: String(e)}));
"""


def log(msg: str) -> None:
    print(f"h3_client: {msg}", flush=True)


def chromium(origins: list[str], spki: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-web-security",
        "--user-data-dir=/tmp/chromium-profile",
        "--enable-net-benchmarking",
        "--enable-quic",
        f"--origin-to-force-quic-on={','.join(origins)}",
        f"--ignore-certificate-errors-spki-list={spki}",
        "--log-net-log=/logs/chrome-netlog.json",
    ):
        options.add_argument(arg)
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog:
        options.add_argument(f"--ssl-key-log-file={keylog}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", log_output="/logs/chromedriver.log")
    return webdriver.Chrome(service=service, options=options)


def target(url: str) -> str:
    """The file a URL's body is saved as: its path's last component."""
    name = os.path.basename(urlparse(url).path)
    if not name or name in (".", ".."):
        raise ValueError(f"URL {url!r} names no file")
    return os.path.join("/downloads", name)


def fetch(urls: list[str], plan: str) -> dict:
    origins = sorted({urlparse(u).netloc for u in urls})
    driver = chromium(origins, os.environ.get("SPKI", ""))
    try:
        driver.set_script_timeout(SCRIPT_TIMEOUT_S)
        driver.get("about:blank")
        return driver.execute_async_script(FETCH_ALL, urls, plan, IN_FLIGHT)
    finally:
        with open("/logs/browser-console.log", "w") as f:
            for entry in driver.get_log("browser"):
                f.write(json.dumps(entry) + "\n")
        driver.quit()


def main() -> int:
    testcase = os.environ.get("TESTCASE", "")
    if os.environ.get("ROLE") != "client":
        log("Chromium is a client only")
        return EXIT_UNSUPPORTED
    if testcase not in PLANS:
        log(f"test case {testcase!r} is not supported")
        return EXIT_UNSUPPORTED
    urls = os.environ.get("REQUESTS", "").split()
    paths = [target(u) for u in urls]
    log(f"{testcase}: {len(urls)} URL(s)")
    result = fetch(urls, PLANS[testcase])
    if not result.get("ok"):
        log(f"the browser failed: {result.get('error')}")
        return 1
    os.makedirs("/downloads", exist_ok=True)
    for url, path in zip(urls, paths):
        with open(path, "wb") as f:
            f.write(base64.b64decode(result["files"][url]))
    log(f"saved {len(paths)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
