"""The query page in Debian's headless Chromium, driven by Playwright (tests/browser.py).

A person's path: open the page, pick a named query, press Run, read the results table. The
page must work with no network beyond the server itself: every request the browser makes is
checked to go to the server. Chromium comes from `scripts/ensure-chromium.sh` (run by
`make test`); without it this test fails, it does not skip.
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


def _open(tab: Tab, url: str) -> None:
    tab.open(url)


def _table(tab: Tab) -> dict[str, Any]:
    tab.page.wait_for_function(
        "() => document.getElementById('results').dataset.state !== 'running' && "
        "document.getElementById('results').dataset.state !== 'idle'", timeout=20_000)
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
    tab.page.screenshot(path=SCREENSHOTS / "query-page.png")
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
    png = (SCREENSHOTS / "query-page.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    # nothing was fetched from anywhere but the server itself
    assert tab.requests and tab.outside(page_server) == []
    assert tab.errors == []


def test_named_query_with_a_parameter_and_entity_links(tab: Tab, page_server: str,
                                                       dist_dir: Path, tmp_path: Path) -> None:
    _open(tab, page_server)
    _choose(tab, "contacts-of-actor")
    tab.js("document.getElementById('param-actor').value = 'kirill-dmitriev'")
    tab.js("document.getElementById('run').click()")
    table = _table(tab)
    tab.page.screenshot(path=tmp_path / "contacts-of-actor.png")
    assert table["state"] == "done", table["status"]
    q = find_query("contacts-of-actor")
    expected = run(load_store(dist_dir / "kb.ttl"), q, bind(q, {"actor": "kirill-dmitriev"}))
    assert table["head"] == expected.columns
    assert len(table["rows"]) == len(expected.rows) > 0
    contact = table["rows"][0][1]
    assert contact["href"].startswith("/id/")
    # follow the link: the entity's page opens, with its label as the heading
    tab.page.goto(page_server.rstrip("/") + contact["href"])
    heading = tab.page.text_content("h1")
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

