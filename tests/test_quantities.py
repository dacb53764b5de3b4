"""Quantities as data (issue 15, item 3): a decimal value, the unit as reported, a unit code,
what is counted, the source's wording.

Values are kept in the XSD 1.1 canonical form Oxigraph writes, and rdflib writes them typed
(`"5600000"^^xsd:decimal`), so the exports, a pyoxigraph load and dump, and `kb publish` to a
real Oxigraph server all give back the same literals, byte for byte. Bad quantities are bad
input: exit 2, file:line, nothing written. The figures of the curated KB are checked against the
source texts (paragraph numbers are non-empty lines).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from test_publish import GRAPH, Oxigraph, oxigraph, publish  # noqa: F401 (a fixture)

from kb.bench.naive import load
from kb.build.run import BuildResult
from kb.cli.main import main
from kb.interop.formats import ntriples, turtle
from kb.query.run import bind, find_query, run
from kb.rdf.ontology import load_ontology
from kb.rdf.terms import to_store
from kb.seeds.quantities import canonical_decimal
from kb.seeds.schema import load_schema
from kb.serve.pages import EntityPages

BASE = Path(__file__).parent / "shapes" / "base"
KB = "https://kb.example.org/id/"
SDO = "https://schema.org/"
KBO = "https://kb.example.org/ontology#"
VALUE = URIRef(SDO + "value")


def _oxigraph_lexical(values: list[str]) -> list[str]:
    """What a pyoxigraph store gives back for each xsd:decimal lexical form."""
    store = ox.Store()
    dec = ox.NamedNode(str(XSD.decimal))
    for i, v in enumerate(values):
        store.add(ox.Quad(ox.NamedNode(f"urn:x:{i}"), ox.NamedNode("urn:x:p"),
                          ox.Literal(v, datatype=dec)))
    dumped = store.dump(format=ox.RdfFormat.N_QUADS)
    got = {str(t[0]): str(t[2]) for t in Graph().parse(data=dumped, format="nt")}
    return [got[f"urn:x:{i}"] for i in range(len(values))]


def test_values_are_normalised_to_the_form_oxigraph_writes() -> None:
    given = ["5600000", "5600000.0", "0.50", "9.7", "324000000000", "0", "0.0", "00.5",
             "100.00", "0.000001", "1.000000000000000001", "45"]
    assert [canonical_decimal(v) for v in given] == _oxigraph_lexical(given)
    assert [canonical_decimal(v) for v in ("5600000.0", "0.50", "100.00")] == [
        "5600000", "0.5", "100"]


def test_turtle_keeps_the_lexical_form() -> None:
    """rdflib's shorthand would write `5600000.0` (another literal); the KB writes it typed."""
    g = Graph()
    for i, v in enumerate(("5600000", "9.7", "0.5")):
        g.add((URIRef(f"urn:x:{i}"), VALUE, Literal(v, datatype=XSD.decimal)))
    text = turtle(g)
    assert b'"5600000"^^xsd:decimal' in text
    back = Graph().parse(data=text, format="turtle")
    assert {str(o) for o in back.objects()} == {"5600000", "9.7", "0.5"}


# -- seeds to RDF ---------------------------------------------------------------------------
EXPECTED = f"""
@prefix kb: <{KB}> . @prefix kbo: <{KBO}> . @prefix schema: <{SDO}> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
kb:fuel-delivery kbo:deliveredQuantity <{KB}fuel-delivery/quantity> ;
    kbo:amount <{KB}fuel-delivery/amount> .
<{KB}fuel-delivery/quantity> a kbo:Quantity ; schema:value "2"^^xsd:decimal ;
    schema:unitCode "H87" ; schema:unitText "tankers" ; kbo:quantityOf "fuel tankers" ;
    kbo:asReported "two tankers" .
<{KB}fuel-delivery/amount> a schema:MonetaryAmount ; schema:value "20"^^xsd:decimal ;
    schema:currency "EUR" .
kb:fund-pledge kbo:amount <{KB}fund-pledge/amount> .
<{KB}fund-pledge/amount> a schema:MonetaryAmount ; schema:value "1000000.5"^^xsd:decimal ;
    schema:currency "USD" ; schema:unitText "$" ; kbo:quantityOf "the pledge" ;
    kbo:asReported "$1 million" .
kb:envoy-calls-minister kbo:times <{KB}envoy-calls-minister/times> .
<{KB}envoy-calls-minister/times> a kbo:Quantity ; schema:value "3"^^xsd:decimal ;
    schema:unitCode "C62" ; kbo:quantityOf "calls" ; kbo:asReported "three times" .
kb:minister-praises-plan kbo:claimedAmount <{KB}minister-praises-plan/amounts/1> .
<{KB}minister-praises-plan/amounts/1> a schema:MonetaryAmount ;
    schema:value "3000000"^^xsd:decimal ; schema:currency "EUR" ;
    kbo:quantityOf "the fund's losses" ; kbo:asReported "three million euros" .
kb:banker-released kbo:quantity <{KB}banker-released/quantities/1> .
<{KB}banker-released/quantities/1> a kbo:Quantity ; schema:value "1"^^xsd:decimal ;
    schema:unitCode "C62" ; kbo:quantityOf "prisoners released" .
"""


def test_seed_quantities_become_nodes_with_stable_iris() -> None:
    """tests/shapes/base has one of each: a delivered quantity, amounts (one written
    "1000000.50", kept as "1000000.5"), a contact's times, a statement's claimed amount and a
    fact's other figure."""
    g = load(BASE).graph
    expected = Graph().parse(data=EXPECTED, format="turtle")
    nodes = {s for s in expected.subjects() if "/" in str(s)[len(KB):]}
    props = {p for p in expected.predicates() if p != RDF.type} | {RDF.type}
    got = Graph()
    for s, p, o in g:
        if s in nodes or (o in nodes and p in props):
            got.add((s, p, o))
    assert isomorphic(got, expected)
    assert set(got) == set(expected)  # no blank nodes: the same triples, the same literals


# -- bad input ------------------------------------------------------------------------------
DELIVERY = ('quantity: {value: "2", code: H87, unit: tankers, of: fuel tankers, '
            'as_reported: two tankers}')
AMOUNT = 'amount: {value: "20", currency: EUR}'
BAD = [
    (DELIVERY, "quantity: {code: C62, of: tankers}", "quantity.value", "needs a value"),
    (DELIVERY, 'quantity: {value: "two tankers"}', "quantity.value", "not a plain decimal"),
    (DELIVERY, 'quantity: {value: "5,600,000"}', "quantity.value", "not a plain decimal"),
    (DELIVERY, 'quantity: {value: "1e6"}', "quantity.value", "not a plain decimal"),
    (DELIVERY, 'quantity: {value: "-2"}', "quantity.value", "not a plain decimal"),
    (DELIVERY, 'quantity: {value: "2", code: ZZZ}', "quantity.code",
     "'ZZZ' is not a known UN/CEFACT unit code"),
    (DELIVERY, 'quantity: {value: "2", currency: EUR, code: C62}', "quantity.code",
     "money takes `currency`"),
    (DELIVERY, 'quantity: {value: "2", colour: red}', "quantity.colour", "unknown quantity key"),
    (DELIVERY, "quantity: two tankers", "quantity", "a quantity is {value:"),
    (AMOUNT, 'amount: {value: "20", currency: XYZ}', "amount.currency",
     "'XYZ' is not a known ISO 4217 code"),
    (AMOUNT, 'amount: {value: "20"}', "amount.currency", "needs a currency"),
]


def _seeds_with(tmp: Path, old: str, new: str) -> tuple[Path, int]:
    seeds = tmp / "seeds"
    shutil.copytree(BASE, seeds)
    facts = seeds / "facts.yaml"
    text = facts.read_text()
    assert text.count(old) == 1
    line = text[: text.index(old)].count("\n") + 1
    facts.write_text(text.replace(old, new))
    return seeds, line


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD,
                         ids=[f"{b[2]}:{b[1]}" for b in BAD])
def test_a_bad_quantity_is_bad_input(tmp_path: Path, old: str, new: str, field: str,
                                     message: str) -> None:
    seeds, line = _seeds_with(tmp_path, old, new)
    dist = tmp_path / "dist"
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist),
                                       "--no-cache", "--quiet"])
    assert result.exit_code == 2, result.output
    assert f"facts.yaml:{line}: [{field}] " in result.output
    assert message in result.output
    assert not dist.exists()  # nothing written


def test_a_contact_that_happened_zero_times_does_not_conform(tmp_path: Path) -> None:
    seeds, _ = _seeds_with(tmp_path, 'times: {value: "3"', 'times: {value: "0"')
    lines = (seeds / "facts.yaml").read_text().splitlines()
    line = lines.index("  - id: envoy-calls-minister") + 1  # the contact's own line
    dist = tmp_path / "dist"
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist),
                                       "--no-cache", "--quiet"])
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"{seeds / 'facts.yaml'}:{line}: Violation: "
                            "kb:envoy-calls-minister")
    assert "at least once" in first and "[sh:MinInclusiveConstraintComponent]" in first
    assert not (dist / "kb.ttl").exists()


# -- round trips ----------------------------------------------------------------------------
def _decimals(g: Graph) -> dict[tuple[URIRef, URIRef], str]:
    return {(s, p): str(o) for s, p, o in g
            if isinstance(o, Literal) and o.datatype == XSD.decimal}


def test_exports_and_pyoxigraph_keep_every_literal(built: BuildResult, dist_dir: Path) -> None:
    """dist/kb.ttl read back, and dist/kb.ttl loaded into pyoxigraph and dumped, are the built
    graph: the same triples, every decimal in the same lexical form."""
    graph = built.loaded.graph
    assert len(_decimals(graph)) >= 10  # the curated figures are there
    from_ttl = Graph().parse(dist_dir / "kb.ttl", format="turtle")
    assert set(from_ttl) == set(graph)
    store = ox.Store()
    store.load((dist_dir / "kb.ttl").read_bytes(), format=ox.RdfFormat.TURTLE)
    dumped = store.dump(format=ox.RdfFormat.N_QUADS)
    through_oxigraph = Graph().parse(data=dumped, format="nt")
    assert set(through_oxigraph) == set(graph)
    assert ntriples(through_oxigraph) == ntriples(graph)  # byte for byte
    assert _decimals(through_oxigraph) == _decimals(graph)


def test_publish_round_trips_every_literal(oxigraph: Oxigraph, current_dist: Path) -> None:  # noqa: F811
    """No allowance for numbers rewritten by the store: the published graph is kb.ttl's."""
    result = publish(current_dist, "--endpoint", oxigraph.store, "--graph", GRAPH)
    assert result.exit_code == 0, result.output
    expected = Graph().parse(current_dist / "kb.ttl", format="turtle")
    got = oxigraph.graph(GRAPH)
    assert set(got) == set(expected)
    assert ntriples(got) == ntriples(expected)
    amount = (URIRef(KB + "dmitriev-claims-us-companies-losses-2025-02/amounts/1"), VALUE)
    assert _decimals(got)[amount] == "324000000000"


# -- the curated KB -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def figures(built: BuildResult) -> dict[tuple[str, str, str], dict[str, str]]:
    """The quantities query on the curated KB, keyed by (fact, property, value)."""
    store = to_store(built.loaded.graph)
    q = find_query("quantities")
    result = run(store, q, bind(q, {}))
    out = {}
    for row in result.rows:
        r = {c: "" if t is None else str(t) for c, t in zip(result.columns, row, strict=True)}
        out[(r["fact"][len(KB):], r["property"], r["value"])] = r
    return out


def test_the_curated_figures(figures: dict[tuple[str, str, str], dict[str, str]]) -> None:
    # 000 p10: "how the 45 ventilators had ended up on American soil"
    jfk = figures[("ventilator-delivery-jfk-2020-03", "deliveredQuantity", "45")]
    assert (jfk["unitCode"], jfk["of"], jfk["asReported"]) == ("C62", "ventilators",
                                                                "45 ventilators")
    # 004 p15, 002 p9: Dmitriev claimed US companies had $324 billion in losses
    claim = figures[("dmitriev-claims-us-companies-losses-2025-02", "claimedAmount",
                     "324000000000")]
    assert claim["currency"] == "USD"
    assert set(claim["sources"].split(", ")) == {"004_89a377b74d81ac61 p15",
                                                 "002_66477ec835c9b3e9 p9"}
    # 000 p107: "the delivery of a $5.6 million shipment with ventilators"
    usaid = figures[("us-ventilator-delivery-moscow-2020-05", "amount", "5600000")]
    assert (usaid["currency"], usaid["asReported"]) == ("USD", "$5.6 million shipment")
    # 000 p39: Prince met with Dmitriev "twice while on the island"
    twice = figures[("seychelles-prince-dmitriev-2017-01", "times", "2")]
    assert twice["asReported"] == "twice"
    # 000 p103: OPEC and its allies cut production by 9.7 million barrels a day
    opec = figures[("opec-deal-2020-04", "quantity", "9700000")]
    assert (opec["unitCode"], opec["unit"]) == ("B1", "barrels a day")
    # 000 p97: acquitted "with a 48-52 vote" and "by a vote of 47-53"
    assert {("trump-acquitted-abuse-of-power", "48"), ("trump-acquitted-abuse-of-power", "52"),
            ("trump-acquitted-obstruction", "47"), ("trump-acquitted-obstruction", "53")} <= {
        (f, v) for f, p, v in figures if p == "quantity"}
    # 000 p10: "Half of the shipment was paid for by the Russian Direct Investment Fund"
    assert ("rdif-pays-half-ventilator-shipment-2020-03", "quantity", "0.5") in figures


def test_figures_of_facts_about_an_actor(built: BuildResult) -> None:
    store = to_store(built.loaded.graph)
    q = find_query("quantities")
    result = run(store, q, bind(q, {"about": "erik-prince"}))
    facts = {str(row[result.columns.index("fact")])[len(KB):] for row in result.rows}
    assert facts == {"seychelles-prince-dmitriev-2017-01"}


def test_a_facts_page_shows_its_figures(built: BuildResult) -> None:
    """The reader's page of the ventilator delivery shows the quantity's value, code and
    wording in its statements table (the quantity node is part of the fact)."""
    schema = load_schema()
    pages = EntityPages.create(to_store(built.loaded.graph), schema.base, load_ontology(),
                               schema.prefixes)
    html = pages.html(KB + "ventilator-delivery-jfk-2020-03")
    start = html.index(">delivered quantity</th>")
    nested = html[start: html.index("</table>", start)]
    cells = dict(re.findall(r"<th[^>]*>([^<]*)</th><td>(.*?)</td></tr>", nested))
    assert cells["value"] == '45 <span class="dt">decimal</span>'
    assert (cells["unitCode"], cells["quantity of"], cells["as reported"]) == (
        "C62", "ventilators", "45 ventilators")
