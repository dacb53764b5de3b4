"""Load test of `kb serve`: N concurrent loopback clients for S seconds (figures in docs/serve.md).

Starts `kb serve` on a free port of 127.0.0.1 (on dist/, building it if it is not current, or
on --data FILE), then runs --clients threads, each with its own keep-alive connection, sending
a mix of requests in a loop until --seconds have passed: a SPARQL ASK and a SELECT ... LIMIT 10
(GET), the same SELECT POSTed as application/sparql-query, a named query, the query page and
an entity page. Reports requests, throughput, latency percentiles, the slowest request and
every error (a status other than 2xx, or a connection failure), and the server's memory
at the end: the resident set (RSS) and proportional set (PSS, shared pages divided among the
processes sharing them) summed over the server and its query workers. Stops the server itself.
Exit status 1 if a request failed or took longer than --max-latency.

With --competency FILE (a JSON object: query name -> parameters, or a `kb bench` work folder's
expected.json, whose "params" it reads), each competency query in queries/ is first sent
--reps times, one at a time, as /query/<name>?param=value, and its p50/p99 reported.

    .venv/bin/python scripts/load-test.py                 # 200 clients, 30 s
    .venv/bin/python scripts/load-test.py --clients 50 --seconds 10
    .venv/bin/python scripts/load-test.py --data /tmp/s5/synthetic-100000/fast-kb.ttl \\
        --workers 4 --clients 50 --entity p-000000 \\
        --competency /tmp/s5/synthetic-100000/expected.json --reps 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SELECT = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
          "SELECT ?s ?l WHERE { ?s rdfs:label ?l } ORDER BY ?l LIMIT 10")


KINDS = ["ask", "select", "post", "named", "page", "entity"]
Request = tuple[str, str, bytes | None, dict[str, str]]


def requests_mix(kinds: list[str] = KINDS, entity: str = "kirill-dmitriev") -> list[Request]:
    q = urllib.parse.quote
    json_accept = {"Accept": "application/sparql-results+json"}
    every: dict[str, Request] = {
        "ask": ("GET", "/sparql?query=" + q("ASK { ?s ?p ?o }"), None, json_accept),
        "select": ("GET", "/sparql?query=" + q(SELECT), None, json_accept),
        "post": ("POST", "/sparql", SELECT.encode(),
                 {**json_accept, "Content-Type": "application/sparql-query"}),
        "named": ("GET", "/query/stats/entities-per-class", None, {"Accept": "text/csv"}),
        "page": ("GET", "/", None, {"Accept": "text/html"}),
        "entity": ("GET", "/id/" + q(entity), None, {"Accept": "text/turtle"}),
    }
    return [every[k] for k in kinds]


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.slowest: tuple[float, str] = (0.0, "")

    def add(self, seconds: float, what: str, error: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if seconds > self.slowest[0]:
                self.slowest = (seconds, what)
            if error:
                self.errors[error] += 1


def client(host: str, port: int, deadline: float, offset: int, stats: Stats,
           mix: list[Request]) -> None:
    conn: http.client.HTTPConnection | None = None
    i = offset
    while time.monotonic() < deadline:
        method, path, body, headers = mix[i % len(mix)]
        i += 1
        started = time.monotonic()
        error = None
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.request(method, path, body, headers)
            resp = conn.getresponse()
            resp.read()
            if not 200 <= resp.status < 300:
                error = f"HTTP {resp.status} for {method} {path[:60]}"
            if resp.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__} for {method} {path[:60]}"
            if conn is not None:
                conn.close()
            conn = None
        stats.add(time.monotonic() - started, f"{method} {path[:60]}", error)
    if conn is not None:
        conn.close()


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str, int]:
    kb = Path(sys.executable).parent / "kb"
    cmd = [str(kb), "serve", "--port", "0", "--quiet", "--workers", str(args.workers)]
    cmd += ["--data", str(args.data)] if args.data else ["--dist", str(args.dist)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline() if proc.stdout else ""  # waits for the build, if any
    if " at http://" not in line:
        proc.kill()
        sys.exit(f"kb serve did not start: {line!r}")
    url = urllib.parse.urlsplit(line.split(" at ", 1)[1].split(" ", 1)[0])
    return proc, url.hostname or "127.0.0.1", url.port or 0


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (the server and its query workers)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def memory(pid: int) -> dict[str, int]:
    """RSS and PSS in KiB summed over the process tree (from /proc/PID/smaps_rollup)."""
    total = {"processes": 0, "Rss": 0, "Pss": 0}
    for p in process_tree(pid):
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        total["processes"] += 1
        for line in text.splitlines():
            key = line.split(":", 1)[0]
            if key in ("Rss", "Pss"):
                total[key] += int(line.split()[1])
    return total


def competency(host: str, port: int, params: dict[str, dict[str, str]], reps: int) -> None:
    """Each competency query `reps` times, one at a time; p50/p99 per query and overall."""
    sys.path.insert(0, str(ROOT))
    from kb.query.run import list_queries
    conn = http.client.HTTPConnection(host, port, timeout=120)
    p50s = []
    print(f"competency queries, {reps} runs each (ms): p50, p99, status")
    for q in list_queries(ROOT / "queries"):
        path = "/query/" + q.name + "?" + urllib.parse.urlencode(params.get(q.name, {}))
        times, status = [], 0
        for _ in range(reps):
            started = time.monotonic()
            conn.request("GET", path, headers={"Accept": "text/csv"})
            resp = conn.getresponse()
            resp.read()
            times.append(time.monotonic() - started)
            status = resp.status
        times.sort()
        p50s.append(percentile(times, 50))
        print(f"  {q.name:30s} {percentile(times, 50) * 1000:9.1f} "
              f"{percentile(times, 99) * 1000:9.1f}  {status}")
    conn.close()
    p50s.sort()
    print(f"  median of the {len(p50s)} p50s: {percentile(p50s, 50) * 1000:.1f} ms; "
          f"slowest p50 {p50s[-1] * 1000:.1f} ms")


def print_memory(pid: int, when: str) -> None:
    m = memory(pid)
    print(f"memory {when}: {m['processes']} processes, RSS sum {m['Rss'] / 2**20:.2f} GiB, "
          f"PSS sum {m['Pss'] / 2**20:.2f} GiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2, help="kb serve --workers")
    ap.add_argument("--dist", type=Path, default=ROOT / "dist")
    ap.add_argument("--data", type=Path, help="serve this dataset instead of the KB")
    ap.add_argument("--max-latency", type=float, default=5.0, help="target, in seconds")
    ap.add_argument("--kinds", default=",".join(KINDS),
                    help="requests to cycle through, comma-separated, of: " + ", ".join(KINDS))
    ap.add_argument("--entity", default="kirill-dmitriev", help="the entity page's id")
    ap.add_argument("--competency", type=Path, metavar="FILE",
                    help="time the competency queries first, with these parameters")
    ap.add_argument("--reps", type=int, default=5, help="runs of each competency query")
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    if not set(kinds) <= set(KINDS):
        ap.error(f"--kinds: expected some of {', '.join(KINDS)}")
    mix = requests_mix(kinds, args.entity)
    params = None
    if args.competency:
        doc = json.loads(args.competency.read_text())
        params = doc.get("params", doc)
    started = time.monotonic()
    proc, host, port = start_server(args)
    print(f"kb serve ready in {time.monotonic() - started:.1f} s")
    stats = Stats()
    try:
        print_memory(proc.pid, "when ready")
        if params is not None:
            competency(host, port, params, args.reps)
            print_memory(proc.pid, "after the competency queries")
        deadline = time.monotonic() + args.seconds
        threads = [threading.Thread(target=client, args=(host, port, deadline, i, stats, mix),
                                    daemon=True) for i in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.seconds + 60)
        elapsed = time.monotonic() - started
        print_memory(proc.pid, "after the load")
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    lat = sorted(stats.latencies)
    n = len(lat)
    print(f"{args.clients} clients ({','.join(kinds)}), {elapsed:.1f} s, {n} requests "
          f"({n / elapsed:.0f}/s), "
          f"{sum(stats.errors.values())} errors")
    if lat:
        print(f"latency ms: p50 {percentile(lat, 50) * 1000:.0f}, p90 "
              f"{percentile(lat, 90) * 1000:.0f}, p99 {percentile(lat, 99) * 1000:.0f}, "
              f"max {lat[-1] * 1000:.0f} ({stats.slowest[1]})")
    for error, count in stats.errors.most_common():
        print(f"  {count} x {error}")
    failed = bool(stats.errors) or (lat and lat[-1] > args.max_latency)
    print("target (no error, no request over "
          f"{args.max_latency:g} s): {'NOT met' if failed else 'met'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
