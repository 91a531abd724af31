"""Merge-field checking and rendering throughput. Prints figures; asserts nothing about time.

    .venv/bin/python bench/render_fragments.py [renders]

Builds a fragment with rich text, a conditional section and a 50-row invoice table on a
throwaway SQLite database, then times ``check_fragment_body`` and ``render_fragment_body``.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
os.environ["DJANGO_SETTINGS_MODULE"] = "correspondence_site.settings.test"
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from wagtail.blocks import StreamValue  # noqa: E402
from wagtail.rich_text import RichText  # noqa: E402

from tests import factories  # noqa: E402
from wagtail_correspondence.blocks import FragmentBodyBlock  # noqa: E402
from wagtail_correspondence.rendering.fragments import check_fragment_body, render_fragment_body  # noqa: E402


def main(renders=2000):
    call_command("migrate", verbosity=0)
    dictionary = factories.dictionary(name="Bench")
    body = StreamValue(FragmentBodyBlock(), [
        ("rich_text", RichText("<p>Dear {{ customer.title }} {{ customer.last_name }}, you owe "
                               "{{ balance|money }} by {{ due_date|date }}.</p>")),
        ("conditional", {"condition": "balance > 100 and not customer.vip",
                         "content": [("rich_text", RichText("<p>Please pay within 14 days.</p>"))], "otherwise": []}),
        ("repeating_list", {"source": "invoices", "item_name": "item", "style": "table", "empty_text": "",
                            "columns": [{"heading": "Invoice", "value": "{{ item.number }}"},
                                        {"heading": "Due", "value": "{{ item.due_date|date('medium') }}"},
                                        {"heading": "Amount", "value": "{{ item.amount|money }}"}],
                            "item_text": RichText("")}),
    ])
    data = dict(factories.SAMPLE_DATA)
    data["invoices"] = [{"number": f"INV-{n}", "amount": f"{n}.50", "due_date": "2026-11-01"} for n in range(50)]
    data = dictionary.coerce_payload(data)
    index = dictionary.field_index()

    started = time.perf_counter()
    for _ in range(200):
        assert check_fragment_body(body, index) == []
    check_seconds = (time.perf_counter() - started) / 200

    render_fragment_body(body, data)  # warm the compiled-template cache
    started = time.perf_counter()
    for _ in range(renders):
        html = render_fragment_body(body, data)
    render_seconds = (time.perf_counter() - started) / renders

    print(f"check_fragment_body: {check_seconds * 1000:.2f} ms per fragment")
    print(f"render_fragment_body (50-row table): {render_seconds * 1000:.2f} ms per render, "
          f"{1 / render_seconds:.0f} renders/s, {len(html)} bytes of HTML")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
