#!/usr/bin/env python3
"""Firefox (firefox-esr, neqo inside) as a QUIC interop client: fetches every
URL of REQUESTS over HTTP/3 and saves each body to /downloads/<file name>.

The fetches run in the browser's privileged (chrome) scope through
Marionette: no page origin, so no CORS, and IOUtils writes the bodies
straight to /downloads. HTTP/3 is used from the first request through the
Alt-Svc test mapping for each origin; the run's CA is installed by an
enterprise policy (run_endpoint.sh writes it).

Per test case:
- handshake, transfer, retry, http3: the first URL alone (requests made
  while Firefox's first HTTP/3 connection to an origin is being set up get
  a second connection), then the others at once on that connection;
- multiconnect: one connection per URL, closed after each.
Everything else exits 127; resumption and zerortt too: with every
connection closed between two fetches, firefox-esr 153 made its second
connection without resuming (the server sent its Certificate again, and no
0-RTT), also with the tokens cache on. Firefox speaks h3 only, never
hq-interop.
"""

import os
import sys
from urllib.parse import urlparse

from marionette_driver.marionette import Marionette

EXIT_UNSUPPORTED = 127
# How each test case spreads its URLs over connections.
PLANS = {
    "handshake": "first-with-rest",
    "transfer": "first-with-rest",
    "retry": "first-with-rest",
    "http3": "first-with-rest",
    "multiconnect": "each",
}
IN_FLIGHT = 256
SCRIPT_TIMEOUT_S = 175

FETCH_ALL = """
const [urls, paths, plan, inFlight] = arguments;
const done = arguments[arguments.length - 1];
async function one(i) {
  const response = await fetch(urls[i], {cache: "no-store"});
  if (!response.ok) throw new Error(`${urls[i]}: HTTP status ${response.status}`);
  await IOUtils.write(paths[i], new Uint8Array(await response.arrayBuffer()));
}
async function some(from) {
  let next = from;
  const worker = async () => { while (next < urls.length) await one(next++); };
  await Promise.all(Array.from({length: Math.min(inFlight, urls.length - from)}, worker));
}
// Closing every connection makes the next fetch a new handshake.
async function reconnect() {
  Services.obs.notifyObservers(null, "net:prune-all-connections");
  await new Promise((r) => setTimeout(r, 200));
}
async function all() {
  await one(0);
  if (plan === "first-with-rest") return some(1);
  for (let i = 1; i < urls.length; i++) {
    await reconnect();
    await one(i);
  }
}
all().then(() => done({ok: true}), (e) => done({ok: false, error: String(e)}));
"""


def log(msg: str) -> None:
    print(f"h3_client: {msg}", flush=True)


def prefs(origins: list[str]) -> dict:
    hosts = sorted({o.rsplit(":", 1)[0] for o in origins})
    port = origins[0].rsplit(":", 1)[1] if ":" in origins[0] else "443"
    return {
        "network.http.http3.enable": True,
        "network.http.http3.alt-svc-mapping-for-testing": ",".join(
            f"{h};h3=:{port}" for h in hosts
        ),
        # The run's CA comes from a policy, which Firefox counts as a
        # third-party root; by default that turns HTTP/3 off.
        "network.http.http3.disable_when_third_party_roots_found": False,
        "network.http.speculative-parallel-limit": 0,
        "network.predictor.enabled": False,
        "browser.cache.disk.enable": False,
        "browser.cache.memory.enable": False,
    }


def target(url: str) -> str:
    """The file a URL's body is saved as: its path's last component."""
    name = os.path.basename(urlparse(url).path)
    if not name or name in (".", ".."):
        raise ValueError(f"URL {url!r} names no file")
    return os.path.join("/downloads", name)


def fetch(urls: list[str], paths: list[str], plan: str) -> dict:
    origins = sorted({urlparse(u).netloc for u in urls})
    client = Marionette(
        host="127.0.0.1",
        port=2828,
        bin="/usr/bin/firefox-esr",
        headless=True,
        prefs=prefs(origins),
        gecko_log="/logs/gecko.log",
    )
    client.start_session()
    try:
        client.timeout.script = SCRIPT_TIMEOUT_S
        client.set_context(client.CONTEXT_CHROME)
        return client.execute_async_script(
            FETCH_ALL, script_args=[urls, paths, plan, IN_FLIGHT], sandbox=None
        )
    finally:
        client.quit(in_app=False)
        client.cleanup()


def main() -> int:
    testcase = os.environ.get("TESTCASE", "")
    if os.environ.get("ROLE") != "client":
        log("Firefox is a client only")
        return EXIT_UNSUPPORTED
    if testcase not in PLANS:
        log(f"test case {testcase!r} is not supported")
        return EXIT_UNSUPPORTED
    urls = os.environ.get("REQUESTS", "").split()
    paths = [target(u) for u in urls]
    os.makedirs("/downloads", exist_ok=True)
    log(f"{testcase}: {len(urls)} URL(s)")
    result = fetch(urls, paths, PLANS[testcase])
    if not result.get("ok"):
        log(f"the browser failed: {result.get('error')}")
        return 1
    log(f"saved {len(paths)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
