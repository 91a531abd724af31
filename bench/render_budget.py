"""How long the heaviest content can keep the sandbox busy. Prints figures; asserts nothing.

    .venv/bin/python bench/render_budget.py [repeats]

Each payload below is built to need more work than the budget allows (or to be refused before
it builds anything); the bench renders it as a letter would (one letter budget, and one render
budget per block) and prints how long it ran before it was stopped, how many units it was
charged, and that time as a ratio to a plain Jinja2 render of an ordinary letter body
measured in the same run. The longest of these is the longest any content can take.

A payload of many blocks shows the letter's budget: 200 blocks each just under the budget of
one render still stop at the letter's.
"""

import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "correspondence_site.settings.test")

import django  # noqa: E402

django.setup()

import jinja2  # noqa: E402

from wagtail_correspondence.conf import get_setting  # noqa: E402
from wagtail_correspondence.rendering import budget  # noqa: E402
from wagtail_correspondence.rendering.formatting import use_locale  # noqa: E402
from wagtail_correspondence.rendering.sandbox import MergeError, render_source  # noqa: E402

LIMITS = get_setting("RENDER_BUDGET")
BIG = "x" * 200_000
WORDS = ("lorem ipsum dolor sit amet " * 8000)[:200_000]
DATA = {
    "s": BIG, "words": WORDS, "x": "x", "n": 1000, "amount": "1234.50", "when": "2026-03-01",
    "items": list(range(2_000_000)),
    "rows": [[i] for i in range(20_000)],
    "records": [{"a": i % 97, "b": str(i), "c": {"d": str(i)}} for i in range(20_000)],
    "customer": {"first_name": "Ada", "last_name": "Peeters", "address": {"line1": "Rue de la Loi 16",
                                                                          "postal_code": "1000", "city": "Brussels"}},
}

# (name, template source, blocks): the source is rendered `blocks` times inside one letter budget.
PAYLOADS = [
    # The payloads: refused before they build anything.
    ("[s]*2000 (issue)", "{{ [s] * 2000 }}", 1),
    ("[s]*199999 (issue)", "{{ [s] * 199999 }}", 1),
    ("rows|sum(start=[]) (issue)", "{{ rows|sum(start=[]) }}", 1),
    ("wordwrap in a loop (issue)", "{% for i in items %}{{ words|wordwrap }}{% endfor %}", 1),
    # Stopped by the work budget: each kind of work, as much of it as fits.
    ("empty loop", "{% for i in items %}{% endfor %}", 1),
    ("loop of attribute lookups", "{% for i in items %}{{ customer.address.city }}{% endfor %}", 1),
    ("loop of money", "{% for i in items %}{{ amount|money }}{% endfor %}", 1),
    ("loop of dates", "{% for i in items %}{{ when|date }}{% endfor %}", 1),
    ("loop of wordwrap (1k)", "{% for i in items %}{{ words[:1000]|wordwrap }}{% endfor %}", 1),
    ("loop of title (1k)", "{% for i in items %}{{ words[:1000]|title }}{% endfor %}", 1),
    ("loop of striptags (1k)", "{% for i in items %}{{ words[:1000]|striptags }}{% endfor %}", 1),
    ("loop comparing 200k strings", "{% for i in items %}{{ s == words }}{% endfor %}", 1),
    ("loop of 'in' over 200k", "{% for i in items %}{{ 'y' in s }}{% endfor %}", 1),
    ("loop slicing 200k", "{% for i in items %}{{ s[1:]|length }}{% endfor %}", 1),
    ("loop of ~ (10k)", "{% for i in items %}{{ (s[:10000] ~ x)|length }}{% endfor %}", 1),
    ("loop of sort (20k records)", "{% for i in items %}{{ records|sort(attribute='a')|length }}{% endfor %}", 1),
    ("loop of groupby (20k)", "{% for i in items %}{{ records|groupby('a')|length }}{% endfor %}", 1),
    ("loop of join (20k)", "{% for i in items %}{{ rows|join(',')|length }}{% endfor %}", 1),
    ("loop of pprint (2k)", "{% for i in items %}{{ records[:2000]|pprint|length }}{% endfor %}", 1),
    ("loop of tojson (2k)", "{% for i in items %}{{ records[:2000]|tojson|length }}{% endfor %}", 1),
    ("loop of split (10k)", "{% for i in items %}{{ words[:10000].split()|length }}{% endfor %}", 1),
    ("loop of unique (20k)", "{% for i in items %}{{ records|map(attribute='b')|unique|list|length }}{% endfor %}",
     1),
    ("nested loops", "{% for i in items %}{% for j in rows %}{% endfor %}{% endfor %}", 1),
    ("wide loop body", "{% for i in items %}" + "{{ customer.first_name }}" * 200 + "{% endfor %}", 1),
    ("output of 200k per iteration", "{% for i in items %}{{ s }}{% endfor %}", 1),
    ("200 blocks near one render's budget", "{% for i in items[:" + str(LIMITS["WORK_PER_RENDER"] // 12)
     + "] %}{{ x }}{% endfor %}", 200),
]

ORDINARY = ("<p>Dear {{ customer.first_name }} {{ customer.last_name }},</p>"
            + "<p>Our records show a balance of {{ amount }} due on {{ when }}.</p>" * 12
            + "{% for r in rows[:6] %}<p>{{ r[0] }}</p>{% endfor %}")


def plain_jinja_seconds(repeats):
    template = jinja2.Environment(autoescape=True).from_string(ORDINARY)
    template.render(**DATA)
    start = time.perf_counter()
    for _ in range(repeats):
        template.render(**DATA)
    return (time.perf_counter() - start) / repeats


def run(source, blocks):
    outcome = "rendered"
    with budget.letter_budget() as letter:
        start = time.perf_counter()
        for _ in range(blocks):
            try:
                render_source(source, DATA)
            except MergeError as exc:
                outcome = str(exc)
                break
        elapsed = time.perf_counter() - start
    return elapsed, letter.used, outcome


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    reference = plain_jinja_seconds(2000)
    print(f"plain Jinja2, ordinary letter body: {reference * 1e6:.0f} µs")
    print(f"budgets: {LIMITS['WORK_PER_RENDER']:,} units a render, {LIMITS['WORK_PER_LETTER']:,} a letter\n")
    print(f"{'payload':<38} {'seconds':>8} {'× plain':>8} {'units':>9} {'peak MB':>8}  outcome")
    worst = 0
    with use_locale("en_GB"):
        for name, source, blocks in PAYLOADS:
            run(source, 1 if blocks > 1 else blocks)  # compiled once, as a letter's content would be
            timings = [run(source, blocks) for _ in range(repeats)]
            elapsed, used, outcome = min(timings)
            tracemalloc.start()
            run(source, blocks)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            worst = max(worst, elapsed)
            print(f"{name:<38} {elapsed:8.3f} {elapsed / reference:8.0f} {used:9,} {peak:8.1f}  {outcome[:70]}")
    print(f"\nlongest: {worst:.3f} s ({worst / reference:.0f} × the plain render of an ordinary letter body)")


if __name__ == "__main__":
    main()
