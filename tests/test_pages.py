"""Entity pages and their pictures in Debian's Chromium (Playwright; tests/browser.py).

What a reader sees: Kirill Dmitriev's page with his posts, sanctions, every fact in date
order, his counterparts and the sources; the network view holding his counterparts (read from
the rendered graph, cy.nodes()); a click on Witkoff's node opening Witkoff's page; the
timeline's bars in date order, one lane per actor; a fact's claims side by side; a place's
events; an unknown id's 404 page with a search box. Every page loads with no console error
and no request to any host but the server. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import SCREENSHOTS, Tab, chromium_tab
from rdflib import Graph
from rdflib.compare import isomorphic
from serving import kb_server

from kb.interop.pictures import network, rows
from kb.rdf.terms import load_store
from kb.serve.engine import Limits

KB = "https://kb.example.org/id/"
DMITRIEV = KB + "kirill-dmitriev"


@pytest.fixture(scope="module")
def server(dist_dir: Path) -> Iterator[str]:
    with kb_server(dist_dir / "kb.ttl", Limits(timeout=30)) as url:
        yield url


@pytest.fixture(scope="module")
def store(dist_dir: Path):  # noqa: ANN201 - a pyoxigraph Store
    return load_store(dist_dir / "kb.ttl")


@pytest.fixture
def tab() -> Iterator[Tab]:
    with chromium_tab((1280, 1600)) as t:
        yield t


def _clean(tab: Tab, server: str) -> None:
    assert tab.errors == [], tab.errors
    assert tab.requests and tab.outside(server) == []


def test_entity_page_reads_like_a_profile(tab: Tab, server: str, store) -> None:  # noqa: ANN001
    tab.open(server + "id/kirill-dmitriev")
    assert tab.page.text_content("h1") == "Kirill Dmitriev"
    sections = tab.js("[...document.querySelectorAll('h2')].map(h => h.textContent)")
    for name in ("Posts", "Sanctions", "Every fact, by date", "Contacts, by counterpart",
                 "Sources that mention it", "Network", "Timeline"):
        assert name in sections
    posts = tab.js("[...document.querySelectorAll('ul.posts > li')].map(li => li.textContent)")
    expected_posts = rows(store, "posts-of-actor", actor=DMITRIEV)
    assert len(posts) == len(expected_posts)
    assert any("Russian Direct Investment Fund" in p for p in posts)
    # every fact he takes part in, in the order of the timeline query, contested ones marked
    facts = tab.js("[...document.querySelectorAll('#facts > li')].map(li => "
                   "[li.dataset.fact, li.classList.contains('contested')])")
    timeline = rows(store, "timeline", node=DMITRIEV)
    assert [f for f, _ in facts] == [r["fact"] for r in timeline]
    assert {f for f, c in facts if c} == {r["fact"] for r in timeline
                                          if r.get("status") in ("Disputed", "Denied")}
    starts = [r["earliest"] for r in timeline if "earliest" in r]
    assert starts == sorted(starts)
    counterparts = tab.js("[...document.querySelectorAll('#counterparts tbody tr')]"
                          ".map(tr => tr.cells[0].textContent)")
    assert counterparts[0] == "Jared Kushner"
    assert "Steve Witkoff" in counterparts
    tab.page.screenshot(path=SCREENSHOTS / "entity-page.png", full_page=False)
    _clean(tab, server)


def test_network_holds_the_counterparts_and_opens_a_node(tab: Tab, server: str,
                                                         store) -> None:  # noqa: ANN001
    tab.open(server + "id/kirill-dmitriev")
    drawn = set(tab.js("window.kbNetwork.nodes().map(n => n.id())"))
    expected = set(network(store, DMITRIEV, 1).nodes)
    assert drawn == expected
    for who in ("steve-witkoff", "jared-kushner", "vladimir-putin", "rdif"):
        assert KB + who in drawn
    edges = tab.js("window.kbNetwork.edges().map(e => [e.data('relation'), e.data('weight')])")
    assert {r for r, _ in edges} >= {"contact", "transmission", "post", "sanction"}
    tab.page.locator("#network").screenshot(path=SCREENSHOTS / "network.png")
    # two hops draw more; a time range draws fewer
    tab.page.select_option("#net-hops", "2")
    tab.page.wait_for_function(f"() => window.kbNetwork.nodes().length > {len(drawn)}")
    tab.page.select_option("#net-hops", "1")
    tab.page.fill("#net-from", "2025-01-01")
    tab.page.dispatch_event("#net-from", "change")
    tab.page.wait_for_function(f"() => window.kbNetwork.nodes().length < {len(drawn)}")
    recent = set(tab.js("window.kbNetwork.nodes().map(n => n.id())"))
    assert recent == set(network(store, DMITRIEV, 1, "2025-01-01").nodes)
    assert KB + "steve-witkoff" in recent and KB + "rick-gerson" not in recent
    assert KB + "rdif" in recent  # he still heads it: the post has no end
    # a click on Witkoff's node opens his page
    box = tab.page.locator("#network").bounding_box()
    pos = tab.js(f"window.kbNetwork.getElementById('{KB}steve-witkoff').renderedPosition()")
    with tab.page.expect_navigation():
        tab.page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
    assert tab.page.url == server + "id/steve-witkoff"
    assert tab.page.text_content("h1") == "Steve Witkoff"
    _clean(tab, server)


def test_timeline_orders_events_in_lanes(tab: Tab, server: str) -> None:
    tab.open(server + "id/kirill-dmitriev")
    tab.page.fill("#tl-actor", "steve-witkoff")
    tab.page.click("#tl-add")
    tab.page.wait_for_function("() => document.getElementById('timeline').dataset.lanes === '2'")
    lanes = tab.js("[...document.querySelectorAll('#timeline g.lane')].map(g => g.dataset.actor)")
    assert lanes == [DMITRIEV, KB + "steve-witkoff"]
    xs = tab.js("""Object.fromEntries([...document.querySelectorAll(
        '#timeline g.lane:first-of-type .bar')].map(b => [b.dataset.fact, +b.dataset.x]))""")
    known = ["dmitriev-outreach-via-nader", "bahrain-workshop-2019-06",
             "dmitriev-witkoff-meeting-2025-04-02"]
    positions = [xs[KB + k] for k in known]
    assert positions == sorted(positions) and len(set(positions)) == 3
    # a designation with no end (never lifted) runs to the right edge with an arrow
    assert tab.js(f"""document.querySelector('#timeline .bar[data-fact="{KB}dmitriev-designation"]')
                     .getAttribute('marker-end')""") == "url(#arrow)"
    tab.page.locator("#timeline").screenshot(path=SCREENSHOTS / "timeline.png")
    _clean(tab, server)


def test_fact_page_puts_claims_side_by_side(tab: Tab, server: str, store) -> None:  # noqa: ANN001
    fact = "nader-tells-prince-of-dmitriev-trip"  # one account asserts it, another denies
    tab.open(server + "id/" + fact)
    claims = rows(store, "claims", node=KB + fact)
    shown = tab.js("document.querySelectorAll('table.claims tbody tr').length")
    assert shown == len(claims)
    against = [r for r in claims if r.get("stance") not in ("Asserts", "Confirms")]
    assert 0 < len(against) < len(claims), "the example fact has accounts on both sides"
    assert tab.js("document.querySelectorAll('.side-against tbody tr').length") == len(against)
    assert tab.js("document.querySelectorAll('.side-for tbody tr').length") == (
        len(claims) - len(against))
    who = tab.js("[...document.querySelectorAll('ul.who a')].map(a => a.textContent)")
    assert {"George Nader", "Erik Prince"} <= set(who)
    links = tab.js("[...document.querySelectorAll('p.iri a')].map(a => a.getAttribute('href'))")
    assert links == [f"/id/{fact}?format=turtle", f"/id/{fact}?format=jsonld"]
    tab.page.screenshot(path=SCREENSHOTS / "fact-page.png")
    _clean(tab, server)


def test_place_page_lists_what_happened_inside(tab: Tab, server: str) -> None:
    tab.open(server + "id/washington-dc")
    facts = tab.js("[...document.querySelectorAll('ol.facts a')].map(a => a.getAttribute('href'))")
    assert "/id/dmitriev-witkoff-meeting-2025-04-02" in facts  # at the White House, inside
    _clean(tab, server)


def test_unknown_id_is_a_404_page_with_a_search_box(tab: Tab, server: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server + "id/steve-witkof")
    assert err.value.code == 404
    resp = tab.page.goto(server + "id/steve-witkof")
    assert resp is not None and resp.status == 404
    tab.page.fill("main input[name=q]", "witkoff")
    with tab.page.expect_navigation():
        tab.page.press("main input[name=q]", "Enter")
    found = tab.js("[...document.querySelectorAll('main li a')].map(a => a.textContent)")
    assert "Steve Witkoff" in found
    assert [e for e in tab.errors if "404" not in e] == []
    assert tab.outside(server) == []


def test_turtle_and_json_ld_links_give_the_same_graph(server: str) -> None:
    graphs = []
    for fmt, parser in (("turtle", "turtle"), ("jsonld", "json-ld")):
        with urllib.request.urlopen(server + f"id/kirill-dmitriev?format={fmt}") as resp:
            graphs.append(Graph().parse(data=resp.read(), format=parser))
    assert len(graphs[0]) > 0 and isomorphic(graphs[0], graphs[1])


def test_an_id_that_is_not_an_iri_is_404(server: str) -> None:
    for path in ("id/no%20such%20thing", "id/no%20such/network.json"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server + path)
        assert err.value.code == 404
