"""Measure the engines `kb serve` could be built on, on this KB (the figures in docs/serve.md).

Compares, on dist/kb.ttl: in-process load and query time of pyoxigraph and rdflib, then
end-to-end HTTP latency of `kb serve` (pyoxigraph in worker processes), the Oxigraph server
(PyPI `oxigraph`) and rdflib-endpoint (FastAPI + rdflib), each on 127.0.0.1. Also checks
whether each server connects to a URL named in SERVICE. rdflib-endpoint is not a project
dependency: install it in a separate virtualenv and pass its command with --rdflib-endpoint.

    .venv/bin/python scripts/bench-serve.py --kb dist/kb.ttl \\
        --rdflib-endpoint /tmp/bench-venv/bin/rdflib-endpoint
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["stats/entities-per-class", "stats/facts-per-source", "sanction-actions",
           "contested-claims", "corroboration"]
LOOKUP = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
          "SELECT ?s ?l WHERE { ?s rdfs:label ?l } ORDER BY ?l LIMIT 100")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def post(url: str, query: str, timeout: float = 120) -> tuple[int, float]:
    data = urllib.parse.urlencode({"query": query}).encode()
    req = urllib.request.Request(url, data=data, headers={
        "Accept": "application/sparql-results+json",
        "Content-Type": "application/x-www-form-urlencoded"})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError:
        status = 0
    return status, (time.perf_counter() - t) * 1000


def median_ms(url: str, query: str, n: int) -> str:
    post(url, query)  # warm up
    times, statuses = [], set()
    for _ in range(n):
        status, ms = post(url, query)
        statuses.add(status)
        times.append(ms)
    return f"{statistics.median(times):.1f}" + ("" if statuses == {200} else f" ({statuses})")


def service_connects(url: str) -> bool:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(5)
    hits: list[bool] = []

    def accept() -> None:
        try:
            conn, _ = srv.accept()
            hits.append(True)
            conn.close()
        except OSError:
            pass

    t = threading.Thread(target=accept)
    t.start()
    port = srv.getsockname()[1]
    post(url, f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}", 10)
    t.join(6)
    srv.close()
    return bool(hits)


def in_process(kb: Path) -> None:
    import pyoxigraph as ox
    from rdflib import Graph

    from kb.query.run import find_query

    t = time.perf_counter()
    store = ox.Store()
    store.load(path=str(kb), format=ox.RdfFormat.TURTLE)
    ox_load = time.perf_counter() - t
    t = time.perf_counter()
    g = Graph().parse(kb, format="turtle")
    rdf_load = time.perf_counter() - t
    print(f"triples: {len(g)}")
    print(f"load: pyoxigraph {ox_load * 1000:.0f} ms, rdflib {rdf_load * 1000:.0f} ms")
    print("| query | pyoxigraph ms | rdflib ms |")
    for name in [*QUERIES, "lookup"]:
        text = LOOKUP if name == "lookup" else find_query(name).text
        t = time.perf_counter()
        n_ox = len(list(store.query(text)))
        a = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        n_rdf = len(list(g.query(text)))
        b = (time.perf_counter() - t) * 1000
        print(f"| {name} ({n_ox}/{n_rdf} rows) | {a:.1f} | {b:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kb", type=Path, default=ROOT / "dist" / "kb.ttl")
    ap.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    ap.add_argument("--rdflib-endpoint", help="the rdflib-endpoint command, if installed")
    ap.add_argument("-n", type=int, default=20, help="requests per query")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from kb.build.run import current_build

    current_build(args.seeds, args.kb.parent)  # so that kb serve's start is not a build
    in_process(args.kb)

    from kb.query.run import find_query

    bin_dir = Path(sys.executable).parent
    servers: dict[str, tuple[list[str], str]] = {}
    p1, p2, p3 = free_port(), free_port(), free_port()
    servers["kb serve (pyoxigraph workers)"] = (
        [str(bin_dir / "kb"), "serve", "--dist", str(args.kb.parent), "--port", str(p1),
         "--seeds", str(args.seeds),
         "--quiet", "--timeout", "120"], f"http://127.0.0.1:{p1}/sparql")
    servers["oxigraph serve"] = ([str(bin_dir / "oxigraph"), "serve-read-only", "--location",
                                  "", "--bind", f"127.0.0.1:{p2}"], f"http://127.0.0.1:{p2}/query")
    if args.rdflib_endpoint:
        servers["rdflib-endpoint"] = ([args.rdflib_endpoint, "serve", str(args.kb), "--host",
                                       "127.0.0.1", "--port", str(p3)],
                                      f"http://127.0.0.1:{p3}/")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        location = Path(tmp) / "oxi"
        subprocess.run([str(bin_dir / "oxigraph"), "load", "--location", str(location),
                        "--file", str(args.kb)], check=True, capture_output=True)
        servers["oxigraph serve"][0][3] = str(location)
        rows: dict[str, list[str]] = {}
        for label, (cmd, url) in servers.items():
            t = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait(url.rsplit("/", 1)[0] + "/")
                post(url, "ASK {}")
                start = (time.perf_counter() - t) * 1000
                cells = [f"{start:.0f}"]
                for name in [*QUERIES, "lookup"]:
                    text = LOOKUP if name == "lookup" else find_query(name).text
                    cells.append(median_ms(url, text, args.n))
                cells.append("yes" if service_connects(url) else "no")
                rows[label] = cells
            finally:
                proc.terminate()
                proc.wait(10)
    print("| server | start ms | " + " | ".join(QUERIES) + " | lookup | SERVICE connects |")
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
