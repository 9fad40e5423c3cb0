#!/usr/bin/env python3
"""Generate the benchmark site, matching dcrawl specs and the URL lists the peers use.

Usage: gen-site.py OUT_DIR BASE_URL [PAGES] [--targets N] [--crawl-pages M]
                   [--crawl-concurrency C] [--schedule-targets K] [--schedule EVERY] [--per-file F]

Writes OUT_DIR/www (served by nginx):
  /health          a tiny text body
  /p/I.html        PAGES HTML pages of ~40 KB (a nav, a `ul.products` of 30 items with links and
                   `span.price`)
  /j/I.json        PAGES JSON documents of ~5 KB
  /c/I.html        M pages like /p/ for the crawl: a 30-ary tree (each product links to a child,
                   the nav to neighbours), so all M are reachable from /c/0.html within a few hops

and, for each workload, OUT_DIR/specs-KIND/*.yaml plus OUT_DIR/urls-KIND.txt (the same URLs,
one a line, for wrk, blackbox_exporter, lychee and the bare client loop):
  status    N targets on /health?t=I (distinct URLs so that no peer can answer from a cache)
  html      N targets spread over the PAGES pages, 3 selectors (count, text, attribute)
  json      N targets spread over the PAGES documents, 5 JSONPath checks
  crawl     one crawl target seeded at /c/0.html, `span.price` on every page (urls: all M pages)
  schedule  K targets on /health on `@every EVERY` (for `dcrawl run`)
N defaults to PAGES, M to 5000, K to 10000. Targets are split into spec files of PER_FILE
(--per-file, default 1,000): one YAML file of 10,000 targets with selectors breaches the YAML
loader's node budget.
"""
import argparse
import collections
import json
import os
import re

PRODUCTS = 30


def page(i: int, pages: int, prefix: str, child) -> str:
    """One ~40 KB shop page; `child(i, k)` is the page product k of page i links to."""
    nav = "".join(
        f'<a href="/{prefix}/{(i + k) % pages}.html">Page {(i + k) % pages}</a> ' for k in range(1, 11)
    )
    items = "".join(
        f'<li class="item"><a href="/{prefix}/{child(i, k)}.html" data-id="{k}">Product {i}-{k}</a> '
        f'<span class="price">${(k * 3 + i) % 200 + 1}.{k % 100:02d}</span>'
        f'<p class="desc">{"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 21}</p></li>'
        for k in range(PRODUCTS)
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>Page {i}</title></head><body>'
        f'<header><a class="logo" href="/">Bench Shop</a><nav>{nav}</nav></header>'
        f'<main><h1>Shop page {i}</h1><ul class="products">{items}</ul></main>'
        f"<footer>Bench footer</footer></body></html>"
    )


def doc(i: int) -> str:
    items = [
        {"id": k, "name": f"item {i}-{k}", "price": (k * 3 + i) % 200 + 1.5, "tags": ["a", "b"]}
        for k in range(75)
    ]
    return json.dumps({"status": "ok", "page": i, "db": {"latency_ms": 12}, "items": items})


def crawl_child(m: int):
    return lambda i, k: (i * PRODUCTS + k + 1) % m


def crawl_depth(m: int) -> int:
    """Link hops from /c/0.html needed to reach every crawl page (breadth-first, as a crawler)."""
    child = crawl_child(m)
    depth = {0: 0}
    queue = collections.deque([0])
    while queue:
        i = queue.popleft()
        links = [(i + k) % m for k in range(1, 11)] + [child(i, k) for k in range(PRODUCTS)]
        for j in links:
            if j not in depth:
                depth[j] = depth[i] + 1
                queue.append(j)
    if len(depth) != m:
        raise SystemExit(f"gen-site: only {len(depth)} of {m} crawl pages are reachable")
    return max(depth.values())


def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def write_specs(d: str, name: str, header: str, targets: list, per_file: int) -> None:
    """Spec files `d/NAME-FILE.yaml` of at most `per_file` targets (target texts) each."""
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old.endswith(".yaml"):
            os.remove(os.path.join(d, old))
    for f, start in enumerate(range(0, len(targets), per_file)):
        body = "".join(targets[start : start + per_file])
        write(os.path.join(d, f"{name}-{f:03d}.yaml"), f"name: {name}-{f:03d}\n{header}targets:\n{body}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("base")
    ap.add_argument("pages", nargs="?", type=int, default=1000)
    ap.add_argument("--targets", type=int, help="targets of the status, html and json workloads")
    ap.add_argument("--crawl-pages", type=int, default=5000)
    ap.add_argument("--crawl-concurrency", type=int, default=64)
    ap.add_argument("--schedule-targets", type=int, default=10000)
    ap.add_argument("--schedule", default="1m", help="interval of the schedule workload")
    ap.add_argument("--per-file", type=int, default=1000, help="targets per spec file")
    args = ap.parse_args()
    out, base, pages = args.out, args.base.rstrip("/"), args.pages
    targets = args.targets or pages
    m = args.crawl_pages

    www = os.path.join(out, "www")
    for d in ("p", "j", "c"):
        os.makedirs(os.path.join(www, d), exist_ok=True)
    write(os.path.join(www, "health"), "ok\n")
    for i in range(pages):
        write(os.path.join(www, "p", f"{i}.html"), page(i, pages, "p", lambda i, k: (i * 7 + k) % pages))
        write(os.path.join(www, "j", f"{i}.json"), doc(i))
    child = crawl_child(m)
    for i in range(m):
        write(os.path.join(www, "c", f"{i}.html"), page(i, m, "c", child))

    html_expect = (
        "    expect:\n      html:\n"
        '        - css: "ul.products > li"\n          count: 30\n'
        "        - css: h1\n          text: {contains: Shop}\n"
        "        - css: a.logo\n          attr: {href: /}\n"
    )
    json_expect = (
        "    expect:\n      json:\n"
        "        - path: $.status\n          value: ok\n"
        "        - path: $.items\n          value: {type: array, length: {min: 1}}\n"
        "        - path: $.db.latency_ms\n          value: {lt: 100}\n"
        "        - path: $.items[*].price\n          value: {type: number, gt: 0}\n"
        "        - path: $.error\n          count: 0\n"
    )
    workloads = {
        "status": [f"{base}/health?t={i}" for i in range(targets)],
        "html": [f"{base}/p/{i % pages}.html" for i in range(targets)],
        "json": [f"{base}/j/{i % pages}.json" for i in range(targets)],
    }
    for kind, urls in workloads.items():
        expect = {"status": "", "html": html_expect, "json": json_expect}[kind]
        targets_text = [f"  - name: t{i}\n    url: {url}\n{expect}" for i, url in enumerate(urls)]
        write_specs(os.path.join(out, f"specs-{kind}"), f"bench-{kind}", "", targets_text, args.per_file)
        write(os.path.join(out, f"urls-{kind}.txt"), "\n".join(urls) + "\n")

    d = os.path.join(out, "specs-crawl")
    os.makedirs(d, exist_ok=True)
    write(
        os.path.join(d, "bench.yaml"),
        "name: bench-crawl\ntargets:\n"
        "  - name: catalogue\n"
        f"    url: {base}/c/0.html\n"
        "    crawl:\n"
        f"      include: ['^{re.escape(base)}/c/']\n"
        f"      max_depth: {crawl_depth(m)}\n"
        f"      max_pages: {m}\n"
        f"      concurrency: {args.crawl_concurrency}\n"
        "      robots: false\n"
        "    expect_each:\n"
        "      html:\n"
        '        - css: "span.price"\n',
    )
    write(os.path.join(out, "urls-crawl.txt"), "".join(f"{base}/c/{i}.html\n" for i in range(m)))

    targets_text = [f"  - name: t{i}\n    url: {base}/health\n" for i in range(args.schedule_targets)]
    header = f'schedule: "@every {args.schedule}"\n'
    write_specs(os.path.join(out, "specs-schedule"), "sched", header, targets_text, args.per_file)


if __name__ == "__main__":
    main()
