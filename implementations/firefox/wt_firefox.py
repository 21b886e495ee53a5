"""Firefox (firefox-esr) through Marionette for wt_browser.py: starts a
headless browser with WebTransport and HTTP/3 on, runs the page's
runCase(config) in the page's own scope and returns its result."""

from marionette_driver.marionette import Marionette

PAGE = "file:///wt/wt_page.html"
PREFS = {
    "network.http.http3.enable": True,
    "network.webtransport.enabled": True,
    "network.webtransport.datagrams.enabled": True,
    # One QUIC connection per trial: no speculative or predicted
    # connections next to the session's own.
    "network.http.speculative-parallel-limit": 0,
    "network.predictor.enabled": False,
    "network.dns.disableIPv6": True,
}


def firefox_run(config: dict) -> dict:
    client = Marionette(
        host="127.0.0.1",
        port=2828,
        bin="/usr/bin/firefox-esr",
        headless=True,
        prefs=PREFS,
        gecko_log="/logs/gecko.log",
    )
    client.start_session()
    try:
        client.timeout.script = config["timeoutMs"] / 1000 + 30
        client.navigate(PAGE)
        # sandbox=None: the page's own global, where runCase lives.
        return client.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "runCase(arguments[0]).then(done, (e) => done({ok: false, error: String(e), log: []}));",
            script_args=[config],
            sandbox=None,
        )
    finally:
        client.quit(in_app=False)
        client.cleanup()
