"""Time the entity pages of `kb serve` on a KB (the figures in docs/serve.md).

Starts the server on 127.0.0.1, then fetches each page once (rendered: the server keeps
rendered pages, so a first request is the real cost) and then again n times (cached), and
the network and timeline JSON behind the views. Prints milliseconds per request.

    .venv/bin/python scripts/bench-pages.py --kb dist/kb.ttl
    .venv/bin/python scripts/bench-pages.py --kb /tmp/synth/dist/kb.ttl \\
        --page p-000000 --page p-000001 --view p-000000/network.json?hops=1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["kirill-dmitriev", "jared-kushner", "steve-witkoff", "rdif", "donald-trump",
         "dmitriev-witkoff-meeting-2025-04-02", "kushner-dmitriev-fii-meeting-2017-10",
         "washington-dc", "united-states"]
VIEWS = ["kirill-dmitriev/network.json?hops=1", "kirill-dmitriev/network.json?hops=2",
         "kirill-dmitriev/timeline.json?actor=steve-witkoff"]


def fetch_ms(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url) as resp:
        resp.read()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kb", type=Path, default=ROOT / "dist" / "kb.ttl")
    ap.add_argument("-n", type=int, default=20, help="cached requests per page")
    ap.add_argument("--page", action="append", help="an id to time (repeatable)")
    ap.add_argument("--view", action="append", help="a view's JSON path below /id/")
    args = ap.parse_args()
    pages, views = args.page or PAGES, args.view or ([] if args.page else VIEWS)
    sys.path.insert(0, str(ROOT))
    from kb.serve.http import create_app, make_server

    app = create_app(args.kb)
    server = make_server(app, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = server.url + "id/"
        print(f"{'page':45} {'first (ms)':>10} {'cached median (ms)':>18}")
        for p in pages:
            first = fetch_ms(base + p)
            cached = statistics.median(fetch_ms(base + p) for _ in range(args.n))
            print(f"{p:45} {first:10.1f} {cached:18.1f}")
        for v in views:
            times = [fetch_ms(base + v) for _ in range(max(3, args.n // 4))]
            print(f"{v:45} {times[0]:10.1f} {statistics.median(times):18.1f}")
    finally:
        server.shutdown()
        server.server_close()
        app.close()


if __name__ == "__main__":
    main()
