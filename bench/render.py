"""Letter assembly and PDF throughput. Prints figures; asserts nothing about time.

    .venv/bin/python bench/render.py [letters] [pdfs]

Builds a medium letter (16 paragraphs, 2 conditional sections, a 6-row invoice table, in
three fragments) on a throwaway SQLite database, then times:

* ``assemble`` on prebuilt sources (every output: print document, email HTML and text, SMS,
  subject, with the data checked and typed) and ``live_sources`` + ``assemble`` (what a
  preview request costs), beside a plain Jinja2 render of the same body flattened into one
  template, in the same run;
* the print body alone, from the fragments' compiled plans and with the block-by-block walker
  they replace, each as a multiple of the raw Jinja2 render;
* PDF rendering of the assembled print document with each backend (pages/s), and each as a
  multiple of the raw Jinja2 floor measured in the same run.
"""

import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
os.environ["DJANGO_SETTINGS_MODULE"] = "correspondence_site.settings.test"
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

import django  # noqa: E402

django.setup()

import jinja2  # noqa: E402
from django.core.management import call_command  # noqa: E402
from wagtail.rich_text import RichText  # noqa: E402

from tests import factories  # noqa: E402
from wagtail_correspondence.rendering import formatting  # noqa: E402
from wagtail_correspondence.rendering.assembly import LetterInput, assemble, live_sources  # noqa: E402
from wagtail_correspondence.rendering.budget import letter_budget  # noqa: E402
from wagtail_correspondence.rendering.images import inline_image_src  # noqa: E402
from wagtail_correspondence.rendering.sandbox import collect_missing, with_paths  # noqa: E402
from wagtail_correspondence.rendering.templates import LetterBodyRenderer  # noqa: E402
from wagtail_correspondence.rendering.pdf import (  # noqa: E402
    PageSetup,
    PdfkitBackend,
    PdfMetadata,
    TypstBackend,
    WeasyPrintBackend,
)

REFERENCE = "OUT-2026-000001"

# The medium letter's wording, paragraph by paragraph (16 rendered with the bench data).
OPENING = [
    "Dear {{ customer.title }} {{ customer.last_name }},",
    "Thank you for being a customer of Northwind Mutual. This letter concerns your account {{ customer.id }}.",
    "Our records show an outstanding balance of {{ balance|money }}, which was due on {{ due_date|date }}.",
    "If you have paid in the last few days, please accept our thanks and disregard this reminder.",
    "You can see every payment we have received online at any time, {{ customer.first_name }}.",
]
ACCOUNT = [
    "The invoices below make up the balance of {{ balance|money }}.",
    "Each amount includes VAT at the applicable rate; the due dates are those printed on the invoices.",
    "Please quote your customer number {{ customer.id }} with any payment.",
]
CONDITION_1 = "balance > 100"
CONDITION_1_CONTENT = [
    "Because the balance exceeds {{ 100|money }}, please pay it in full by {{ due_date|date }}.",
    "If that is not possible, call us before {{ due_date|date('medium') }} to arrange instalments.",
]
CONDITION_1_OTHERWISE = ["A small balance of {{ balance|money }} can be paid with your next invoice."]
CLOSING = [
    "You can pay by bank transfer, by direct debit or at any post office.",
    "Our customer service team is available on weekdays from 9:00 to 17:00.",
    "We will write to {{ customer.email }} once the payment of {{ balance|money }} has been received.",
    "Thank you for your attention, {{ customer.first_name }}.",
]
CONDITION_2 = "balance > 100 and not customer.vip"
CONDITION_2_CONTENT = [
    "If we have not received {{ balance|money }} by {{ due_date|date }}, we may suspend your cover.",
    "Suspension does not cancel the balance; the amount of {{ balance|money }} remains payable.",
]
CONDITION_2_OTHERWISE = ["As a valued customer, {{ customer.first_name }}, you keep your cover in the meantime."]
COLUMNS = [("Invoice", "{{ item.number }}"), ("Due", "{{ item.due_date|date('medium') }}"),
           ("Amount", "{{ item.amount|money }}")]


def paragraphs(texts):
    return "".join(f"<p>{text}</p>" for text in texts)


def conditional(condition, content, otherwise):
    return ("conditional", {"condition": condition, "content": [factories.rich_text(paragraphs(content))],
                            "otherwise": [factories.rich_text(paragraphs(otherwise))]})


def invoice_table():
    return ("repeating_list", {"source": "invoices", "item_name": "item", "style": "table", "empty_text": "",
                               "columns": [{"heading": heading, "value": value} for heading, value in COLUMNS],
                               "item_text": RichText("")})


def build_letter_template():
    dictionary = factories.dictionary(name="Bench")
    fragments = [
        factories.fragment(dictionary, key="bench-opening", body=factories.fragment_body(
            factories.rich_text(paragraphs(OPENING)))),
        factories.fragment(dictionary, key="bench-account", body=factories.fragment_body(
            factories.rich_text(paragraphs(ACCOUNT)),
            conditional(CONDITION_1, CONDITION_1_CONTENT, CONDITION_1_OTHERWISE),
            invoice_table())),
        factories.fragment(dictionary, key="bench-closing", body=factories.fragment_body(
            factories.rich_text(paragraphs(CLOSING)),
            conditional(CONDITION_2, CONDITION_2_CONTENT, CONDITION_2_OTHERWISE))),
    ]
    page = factories.letter_template(dictionary, factories.layout(), fragments, title="Bench reminder",
                                     body=factories.template_body(*[("fragment", f) for f in fragments]))
    return dictionary, page


def flat_template():
    """The same body as one Jinja2 template: same paragraphs, conditions and table markup."""
    head = "".join(f"<th>{heading}</th>" for heading, _value in COLUMNS)
    cells = "".join(f"<td>{value}</td>" for _heading, value in COLUMNS)
    return (
        paragraphs(OPENING) + "\n" + paragraphs(ACCOUNT) + "\n"
        + f"{{% if {CONDITION_1} %}}{paragraphs(CONDITION_1_CONTENT)}"
        + f"{{% else %}}{paragraphs(CONDITION_1_OTHERWISE)}{{% endif %}}\n"
        + f'<table class="merge-list"><thead><tr>{head}</tr></thead><tbody>'
        + f"{{% for item in invoices %}}<tr>{cells}</tr>{{% endfor %}}</tbody></table>\n"
        + paragraphs(CLOSING) + "\n"
        + f"{{% if {CONDITION_2} %}}{paragraphs(CONDITION_2_CONTENT)}"
        + f"{{% else %}}{paragraphs(CONDITION_2_OTHERWISE)}{{% endif %}}"
    )


def raw_environment():
    """Plain Jinja2 with f-string filters: no sandbox, no Babel, no tracking of missing data."""
    env = jinja2.Environment(autoescape=True)
    env.filters["money"] = lambda value: f"€{Decimal(str(value)):,.2f}"
    env.filters["date"] = lambda value, format="long": f"{value.day} {value:%B %Y}" if format == "long" else (
        f"{value.day} {value:%b %Y}")
    return env


def timed(function, iterations):
    started = time.perf_counter()
    for _ in range(iterations):
        result = function()
    return (time.perf_counter() - started) / iterations, result


def per_second(seconds, unit):
    return f"{seconds * 1000:.2f} ms per {unit}, {1 / seconds:.0f} {unit}s/s"


def distinct_letters(html, count):
    """The letter ``count`` times, each differing in most paragraphs (as letters to different
    customers do), so that nothing a backend caches between letters of the same text counts."""
    return [html.replace(" the ", f" the{n} ").replace(" your ", f" your{n} ").replace("Peeters", f"Peeters{n}")
            for n in range(count)]


def bench_pdf(backend, html, iterations, floor_seconds, page=None):
    """Times one backend on the same letter, then on distinct ones; returns seconds per
    distinct letter."""
    page = page or PageSetup()
    metadata = PdfMetadata(title="Bench reminder", subject=REFERENCE, author="Bench")
    backend.render(html, metadata, page=page)  # warm up: fonts, imports
    seconds, pdf = timed(lambda: backend.render(html, metadata, page=page), iterations)
    letters = iter(distinct_letters(html, iterations))
    distinct_seconds, _pdf = timed(lambda: backend.render(next(letters), metadata, page=page), iterations)
    print(f"PDF {backend.name}: {pdf.pages} page(s) per letter, {len(pdf.content)} bytes; the same letter "
          f"{iterations} times: {seconds * 1000:.1f} ms per letter, {pdf.pages / seconds:.1f} pages/s; "
          f"{iterations} distinct letters: {distinct_seconds * 1000:.1f} ms per letter, "
          f"{pdf.pages / distinct_seconds:.1f} pages/s, {distinct_seconds / floor_seconds:,.0f}x the raw Jinja2 render")
    return distinct_seconds


def bench_seal(content, iterations, floor_seconds, typst_seconds):
    """The organisation's seal (pdf_seal.py) on the Typst PDF, with a throwaway EC P-256
    certificate (the demo's kind), and its check."""
    import datetime

    from correspondence_demo import seal as demo_seal
    from django.conf import settings
    from django.test import override_settings

    from wagtail_correspondence import pdf_seal

    folder = tempfile.mkdtemp()
    demo_seal.create(folder, "Bench")
    when = datetime.datetime.now(datetime.timezone.utc)
    with override_settings(WAGTAIL_CORRESPONDENCE={**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}),
                                                   "PDF_SEAL": demo_seal.settings_for(folder)}):
        pdf_seal.seal(content, when=when)  # warm up: the key is read once per process
        seconds, sealed = timed(lambda: pdf_seal.seal(content, when=when), iterations)
        check_seconds, check = timed(lambda: pdf_seal.check_seal(sealed), iterations)
    assert check.ok, check.problem  # a valid seal, not a timing assertion
    print(f"seal (PAdES, EC P-256, pyHanko) on the Typst PDF: {seconds * 1000:.1f} ms per letter "
          f"({len(sealed) - len(content)} bytes added), {seconds / typst_seconds:.2f}x the Typst PDF's own time, "
          f"{seconds / floor_seconds:,.0f}x the raw Jinja2 render; checking it: {check_seconds * 1000:.1f} ms")


def render_body(sources, data, use_plans):
    """The letter's body as ``assemble`` renders it (locale, missing-field tracking, budget)."""
    with formatting.use_locale("en_GB"), collect_missing(), letter_budget():
        renderer = LetterBodyRenderer(data, image_src=inline_image_src, fragment_body=sources.fragment_body,
                                      problems=[], use_plans=use_plans)
        return renderer.render(sources.template)


def main(letters=200, pdfs=10):
    call_command("migrate", verbosity=0)
    dictionary, page = build_letter_template()
    data = dict(factories.SAMPLE_DATA)
    data["invoices"] = [{"number": f"INV-{n}", "amount": f"{n * 10 + 0.5:.2f}", "due_date": f"2026-11-{n:02d}"}
                        for n in range(1, 7)]
    letter_input = LetterInput(data=data, slots={}, reference=REFERENCE)

    sources = live_sources(page)
    letter = assemble(sources, letter_input)
    assert letter.problems == [], letter.problems  # a valid letter, not a timing assertion
    assert letter.body_html.count("<p>") == 16, letter.body_html
    assert letter.body_html.count("<tr>") == 7, letter.body_html

    assemble_seconds, letter = timed(lambda: assemble(sources, letter_input), letters)
    preview_seconds, _letter = timed(lambda: assemble(live_sources(page), letter_input), letters)

    template = raw_environment().from_string(flat_template())
    typed = dictionary.coerce_payload(data)  # the baseline gets data already typed
    raw_html = template.render(typed)
    assert raw_html == letter.body_html, raw_html  # the same body, merge for merge
    raw_seconds, raw_html = timed(lambda: template.render(typed), letters * 10)
    typed_data = with_paths(typed)

    print(f"medium letter: 16 paragraphs, 2 conditions, a {len(data['invoices'])}-row table, 3 fragments; "
          f"{len(letter.html)} bytes print HTML, {len(letter.email_html)} bytes email HTML, "
          f"{len(letter.email_text)} bytes text")
    print(f"assemble (prebuilt sources): {per_second(assemble_seconds, 'letter')} ({letters} letters)")
    print(f"live_sources + assemble (a preview request): {per_second(preview_seconds, 'letter')}")
    print(f"raw Jinja2 render of the flattened body: {per_second(raw_seconds, 'render')} "
          f"({letters * 10} renders, {len(raw_html)} bytes)")
    print(f"assembly / raw Jinja2: {assemble_seconds / raw_seconds:.0f}x")

    # The print body alone, as the assembly renders it: from the fragments' plans, and with
    # the block-by-block walker the plans replace (the figure before plans).
    for label, use_plans in (("plans", True), ("walker", False)):
        body_seconds, body = timed(lambda use_plans=use_plans: render_body(sources, typed_data, use_plans), letters)
        assert body == letter.body_html, body
        print(f"print body ({label}): {per_second(body_seconds, 'letter')}, {body_seconds / raw_seconds:.1f}x the raw "
              f"Jinja2 render")
    print(f"all outputs (print document, email HTML, text, SMS, subject; data checked and typed): "
          f"{assemble_seconds / raw_seconds:.1f}x the raw Jinja2 render")

    page = PageSetup.for_layout(sources.layout)
    weasyprint = bench_pdf(WeasyPrintBackend(), letter.html, pdfs, raw_seconds, page)
    typst = bench_pdf(TypstBackend(), letter.html, pdfs, raw_seconds, page)
    print(f"PDF typst / weasyprint: {typst / weasyprint:.3f} of the time per distinct letter "
          f"({weasyprint / typst:.0f}x as many pages/s)")
    typst_pdf = TypstBackend().render(letter.html, PdfMetadata(title="Bench", subject=REFERENCE, author="Bench"),
                                      page=page)
    bench_seal(typst_pdf.content, pdfs * 5, raw_seconds, typst)
    pdfkit = PdfkitBackend()
    if pdfkit.wkhtmltopdf:
        bench_pdf(pdfkit, letter.html, pdfs, raw_seconds, page)
    else:
        print("PDF pdfkit: skipped, wkhtmltopdf is not installed")


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:3]))
