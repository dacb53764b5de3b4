"""The query page (YASGUI, vendored) in Debian's headless Chromium, driven by Playwright.

A person's path: open the page, pick a named query, fill its parameter, press Run, read the
results table that YASGUI draws. The page must work with no network beyond the server itself:
every request the browser makes is checked to go to the server, and the console stays free of
errors (a Content-Security-Policy violation is one). Chromium comes from
`scripts/ensure-chromium.sh` (run by `make test`); without it this test fails, it does not skip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import SCREENSHOTS, Tab, chromium_tab
from serving import kb_server

from kb.query.run import bind, find_query, run
from kb.rdf.terms import load_store
from kb.serve.engine import Limits


@pytest.fixture(scope="module")
def page_server(dist_dir: Path) -> Iterator[str]:
    with kb_server(dist_dir / "kb.ttl", Limits(timeout=30)) as url:
        yield url


@pytest.fixture
def tab() -> Iterator[Tab]:
    with chromium_tab() as t:
        yield t


def _table(tab: Tab) -> dict[str, Any]:
    """The state, status line and YASGUI's results table (head and cells, links kept)."""
    tab.page.wait_for_function(
        "() => !['running', 'idle'].includes(document.getElementById('results').dataset.state)",
        timeout=20_000)
    if tab.js("document.getElementById('results').dataset.state") == "done":
        tab.page.wait_for_selector("#yasr table.dataTable tbody tr", timeout=20_000)
    return tab.js("""(() => {
      const r = document.getElementById('results');
      const t = document.querySelector('#yasr table.dataTable');
      const text = (c) => c.textContent.trim();
      return {state: r.dataset.state,
              status: document.getElementById('status').textContent,
              head: t ? [...t.tHead.rows[0].cells].slice(1).map(text) : [],
              rows: t ? [...t.tBodies[0].rows].map(tr => [...tr.cells].slice(1).map(td => {
                  const a = td.querySelector('a');
                  return a ? {text: text(a), href: a.getAttribute('href'), title: a.title}
                           : {text: text(td)};
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


def test_yasgui_runs_a_named_query_with_a_parameter(tab: Tab, page_server: str,
                                                    dist_dir: Path) -> None:
    tab.open(page_server)
    # YASGUI's editor is there, highlighting SPARQL (CodeMirror tokens, not a bare textarea)
    assert tab.js("document.querySelectorAll('#yasqe .CodeMirror .cm-keyword').length") > 0
    _choose(tab, "timeline-of-actor")
    assert "?sortDate" in tab.js("document.querySelector('#yasqe .CodeMirror').CodeMirror"
                                 ".getValue()")
    tab.page.fill("#param-actor", "kirill-dmitriev")
    tab.page.click("#run")
    table = _table(tab)
    tab.page.screenshot(path=SCREENSHOTS / "query-page.png", full_page=False)
    assert table["state"] == "done", table["status"]
    q = find_query("timeline-of-actor")
    expected = run(load_store(dist_dir / "kb.ttl"), q, bind(q, {"actor": "kirill-dmitriev"}))
    assert table["head"] == expected.columns
    assert f"{len(expected.rows)} rows" in table["status"]
    # a known row: the first fact of his timeline, its IRI linked to its entity page
    first = str(expected.rows[0][1])
    facts = [r[1] for r in table["rows"]]
    assert facts[0]["title"] == first
    assert facts[0]["href"] == "/id/" + first.rsplit("/", 1)[-1]
    png = (SCREENSHOTS / "query-page.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    # nothing was fetched from anywhere but the server, and the console stayed clean
    assert tab.requests and tab.outside(page_server) == []
    assert tab.errors == []


def test_entity_links_open_the_entity_page(tab: Tab, page_server: str, dist_dir: Path) -> None:
    tab.open(page_server + "?name=contacts-of-actor&actor=kirill-dmitriev&run=1")
    table = _table(tab)
    assert table["state"] == "done", table["status"]
    q = find_query("contacts-of-actor")
    expected = run(load_store(dist_dir / "kb.ttl"), q, bind(q, {"actor": "kirill-dmitriev"}))
    assert len(table["rows"]) == len(expected.rows) > 0
    contact = table["rows"][0][1]
    assert contact["href"].startswith("/id/")
    tab.page.goto(page_server.rstrip("/") + contact["href"])
    label = {str(r[1]): str(r[3]) for r in expected.rows}
    assert tab.page.text_content("h1") == label[contact["title"]]


def test_prefix_completion_offers_only_the_kbs_prefixes(tab: Tab, page_server: str) -> None:
    tab.open(page_server)
    tab.js("document.querySelector('#yasqe .CodeMirror').CodeMirror.setValue('')")
    tab.page.click("#yasqe .CodeMirror")
    tab.page.keyboard.type("PREFIX ")
    tab.page.keyboard.press("Control+Space")
    tab.page.wait_for_selector(".CodeMirror-hints li", timeout=10_000)
    offered = tab.js("[...document.querySelectorAll('.CodeMirror-hints li')]"
                     ".map(li => li.textContent)")
    served = json.loads(tab.page.request.get(page_server.rstrip("/") + "/queries.json").text())
    assert sorted(offered) == sorted(f"{p}: <{ns}>" for p, ns in served["prefixes"].items())
    assert tab.outside(page_server) == [] and tab.errors == []


def test_an_error_is_shown_not_swallowed(tab: Tab, page_server: str) -> None:
    tab.open(page_server)
    tab.js("document.querySelector('#yasqe .CodeMirror').CodeMirror.setValue("
           "'SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }')")
    tab.page.click("#run")
    table = _table(tab)
    assert table["state"] == "error"
    assert "400" in table["status"] and "SERVICE is refused" in table["status"]


def test_timeline_view_of_dated_results(tab: Tab, page_server: str, dist_dir: Path) -> None:
    tab.open(page_server + "?name=timeline-of-actor&actor=kirill-dmitriev&run=1")
    table = _table(tab)
    assert table["state"] == "done", table["status"]
    tab.page.click("#yasr .select_timeline")
    tab.page.wait_for_selector("#yasr svg.kb-timeline .bar", timeout=10_000)
    tab.page.screenshot(path=SCREENSHOTS / "query-timeline.png")
    bars = tab.js("[...document.querySelectorAll('#yasr svg.kb-timeline .bar')].map(a => "
                  "({iri: a.dataset.iri, href: a.getAttribute('href'), "
                  "x: a.querySelector('rect').x.baseVal.value}))")
    q = find_query("timeline-of-actor")
    expected = run(load_store(dist_dir / "kb.ttl"), q, bind(q, {"actor": "kirill-dmitriev"}))
    dated = [str(r[1]) for r in expected.rows if r[6] is not None or r[7] is not None]
    assert [b["iri"] for b in bars] == dated
    assert bars[0]["href"] == "/id/" + dated[0].rsplit("/", 1)[-1]
    # each bar starts where its earliest day (else its latest) falls on one shared axis
    starts = [str(r[6] if r[6] is not None else r[7]) for r in expected.rows
              if r[6] is not None or r[7] is not None]
    for i in range(len(bars)):
        for j in range(len(bars)):
            dx = round(bars[i]["x"] - bars[j]["x"], 3)
            assert (starts[i] < starts[j]) == (dx < 0), (dated[i], dated[j])
    assert tab.outside(page_server) == [] and tab.errors == []
