#!/usr/bin/env python3
"""Generate the benchmark site and matching dcrawl specs.

Usage: gen-site.py OUT_DIR BASE_URL [PAGES]

Writes OUT_DIR/www (served by nginx): PAGES HTML pages of ~40 KB (a nav, a `ul.products` of 30
items with links and `span.price`), PAGES JSON documents of ~5 KB and a tiny /health; and
OUT_DIR/specs-{status,html,json}/bench.yaml with one target per page for dcrawl.
"""
import json
import os
import sys


def page(i: int, pages: int) -> str:
    nav = "".join(f'<a href="/p/{(i + k) % pages}.html">Page {(i + k) % pages}</a> ' for k in range(1, 11))
    items = "".join(
        f'<li class="item"><a href="/p/{(i * 7 + k) % pages}.html" data-id="{k}">Product {i}-{k}</a> '
        f'<span class="price">${(k * 3 + i) % 200 + 1}.{k % 100:02d}</span>'
        f'<p class="desc">{"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 21}</p></li>'
        for k in range(30)
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>Page {i}</title></head><body>'
        f'<header><a class="logo" href="/">Bench Shop</a><nav>{nav}</nav></header>'
        f'<main><h1>Shop page {i}</h1><ul class="products">{items}</ul></main>'
        f'<footer>Bench footer</footer></body></html>'
    )


def doc(i: int) -> str:
    items = [{"id": k, "name": f"item {i}-{k}", "price": (k * 3 + i) % 200 + 1.5, "tags": ["a", "b"]} for k in range(75)]
    return json.dumps({"status": "ok", "page": i, "db": {"latency_ms": 12}, "items": items})


def main() -> None:
    out, base = sys.argv[1], sys.argv[2].rstrip("/")
    pages = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    www = os.path.join(out, "www")
    os.makedirs(os.path.join(www, "p"), exist_ok=True)
    os.makedirs(os.path.join(www, "j"), exist_ok=True)
    with open(os.path.join(www, "health"), "w") as f:
        f.write("ok\n")
    for i in range(pages):
        with open(os.path.join(www, "p", f"{i}.html"), "w") as f:
            f.write(page(i, pages))
        with open(os.path.join(www, "j", f"{i}.json"), "w") as f:
            f.write(doc(i))
    specs = {
        "status": lambda i: f"  - name: t{i}\n    url: {base}/health\n",
        "html": lambda i: (
            f"  - name: t{i}\n    url: {base}/p/{i}.html\n    expect:\n      html:\n"
            f"        - css: \"ul.products > li\"\n          count: 30\n"
            f"        - css: h1\n          text: {{contains: Shop}}\n"
            f"        - css: a.logo\n          attr: {{href: /}}\n"
        ),
        "json": lambda i: (
            f"  - name: t{i}\n    url: {base}/j/{i}.json\n    expect:\n      json:\n"
            f"        - path: $.status\n          value: ok\n"
            f"        - path: $.items\n          value: {{type: array, length: {{min: 1}}}}\n"
            f"        - path: $.db.latency_ms\n          value: {{lt: 100}}\n"
            f"        - path: $.items[*].price\n          value: {{type: number, gt: 0}}\n"
            f"        - path: $.error\n          count: 0\n"
        ),
    }
    for kind, target in specs.items():
        d = os.path.join(out, f"specs-{kind}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "bench.yaml"), "w") as f:
            f.write(f"name: bench-{kind}\ntargets:\n")
            for i in range(pages):
                f.write(target(i))


if __name__ == "__main__":
    main()
