"""The query page in Debian's headless Chromium, driven over the DevTools protocol.

A person's path: open the page, pick a named query, press Run, read the results table. The
page must work with no network beyond the server itself: every request the browser makes is
checked to go to the server. Chromium comes from `scripts/ensure-chromium.sh` (run by
`make test`); without it this test fails, it does not skip.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
from serving import kb_server, stop

from kb.query.run import bind, find_query, run
from kb.rdf.terms import load_store
from kb.serve.engine import Limits

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1000", "--remote-debugging-port=0"]


class DevTools:
    """A minimal DevTools protocol client over one browser websocket (flat sessions)."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def close(self) -> None:
        self.ws.close()


class Tab:
    def __init__(self, devtools: DevTools, session: str):
        self.dt = devtools
        self.session = session

    def js(self, expression: str) -> Any:
        res = self.dt.call("Runtime.evaluate", self.session, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout} s for: {expression}")
            time.sleep(0.1)

    def screenshot(self, path: Path) -> None:
        data = self.dt.call("Page.captureScreenshot", self.session, format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.dt.events
                if e.get("method") == "Network.requestWillBeSent"]


@pytest.fixture(scope="module")
def page_server(dist_dir: Path) -> Iterator[str]:
    with kb_server(dist_dir / "kb.ttl", Limits(timeout=30)) as url:
        yield url


@pytest.fixture
def tab(tmp_path: Path) -> Iterator[Tab]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/ensure-chromium.sh (`make test` does) "
                    "to install Debian's chromium package", pytrace=False)
    profile = tmp_path / "profile"
    profile.mkdir()
    proc = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    devtools = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        devtools = DevTools(f"ws://127.0.0.1:{port}{path}")
        target = devtools.call("Target.createTarget", url="about:blank")["targetId"]
        session = devtools.call("Target.attachToTarget", targetId=target,
                                flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            devtools.call(f"{domain}.enable", session)
        yield Tab(devtools, session)
    finally:
        if devtools:
            devtools.close()
        stop(proc)


def _open(tab: Tab, url: str) -> None:
    tab.dt.call("Page.navigate", tab.session, url=url)
    tab.wait_for("document.body && document.body.dataset.ready === 'true'")


def _table(tab: Tab) -> dict[str, Any]:
    tab.wait_for("document.getElementById('results').dataset.state !== 'running' && "
                 "document.getElementById('results').dataset.state !== 'idle'")
    return tab.js("""(() => {
      const r = document.getElementById('results');
      const t = document.getElementById('results-table');
      return {state: r.dataset.state,
              status: document.getElementById('status').textContent,
              head: t ? [...t.tHead.rows[0].cells].map(c => c.textContent) : [],
              rows: t ? [...t.tBodies[0].rows].map(tr => [...tr.cells].map(td => {
                  const a = td.querySelector('a');
                  return a ? {text: a.textContent, href: a.getAttribute('href'),
                              title: a.title} : {text: td.textContent};
              })) : []};
    })()""")


def _choose(tab: Tab, name: str) -> None:
    """Pick a named query in the drop-down, as a person would."""
    found = tab.js(f"""(() => {{
      const s = document.getElementById('named');
      if (![...s.options].some(o => o.value === {json.dumps(name)})) return false;
      s.value = {json.dumps(name)};
      s.dispatchEvent(new Event('change'));
      return true;
    }})()""")
    assert found, f"the page does not offer the named query {name}"


def test_run_a_named_query_in_the_browser(tab: Tab, page_server: str, dist_dir: Path,
                                          tmp_path: Path) -> None:
    _open(tab, page_server)
    _choose(tab, "stats/entities-per-class")
    assert "COUNT(DISTINCT ?s)" in tab.js("document.getElementById('query').value")
    tab.js("document.getElementById('run').click()")
    table = _table(tab)
    tab.screenshot(tmp_path / "query-page.png")
    assert table["state"] == "done", table["status"]
    assert table["head"] == ["class", "count"]
    # the known row: as many people as the same query finds in-process
    local = load_store(dist_dir / "kb.ttl")
    q = find_query("stats/entities-per-class")
    expected = {str(r[0]): str(r[1]) for r in run(local, q).rows}
    person = "https://kb.example.org/ontology#Person"
    rows = {r[0]["title"]: r[1]["text"].split()[0] for r in table["rows"]}
    assert rows[person] == expected[person]
    assert len(table["rows"]) == len(expected)
    assert f"{len(expected)} rows" in table["status"]
    png = (tmp_path / "query-page.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    # nothing was fetched from anywhere but the server itself
    urls = [u for u in tab.requested_urls() if not u.startswith(("data:", "about:"))]
    assert urls and all(u.startswith(page_server) for u in urls), urls


def test_named_query_with_a_parameter_and_entity_links(tab: Tab, page_server: str,
                                                       dist_dir: Path, tmp_path: Path) -> None:
    _open(tab, page_server)
    _choose(tab, "contacts-of-actor")
    tab.js("document.getElementById('param-actor').value = 'kirill-dmitriev'")
    tab.js("document.getElementById('run').click()")
    table = _table(tab)
    tab.screenshot(tmp_path / "contacts-of-actor.png")
    assert table["state"] == "done", table["status"]
    q = find_query("contacts-of-actor")
    expected = run(load_store(dist_dir / "kb.ttl"), q, bind(q, {"actor": "kirill-dmitriev"}))
    assert table["head"] == expected.columns
    assert len(table["rows"]) == len(expected.rows) > 0
    contact = table["rows"][0][1]
    assert contact["href"].startswith("/id/")
    # follow the link: the entity's page opens, with its label as the heading
    tab.dt.call("Page.navigate", tab.session, url=page_server.rstrip("/") + contact["href"])
    heading = tab.wait_for("document.querySelector('h1') && "
                           "document.querySelector('h1').textContent")
    label = {str(r[1]): str(r[3]) for r in expected.rows}
    assert heading == label[contact["title"]]


def test_an_error_is_shown_not_swallowed(tab: Tab, page_server: str) -> None:
    _open(tab, page_server)
    tab.js("document.getElementById('query').value = "
           "'SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }'")
    tab.js("document.getElementById('run').click()")
    table = _table(tab)
    assert table["state"] == "error"
    assert "400" in table["status"] and "SERVICE is refused" in table["status"]

