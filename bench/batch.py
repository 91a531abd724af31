"""Batch throughput, end to end: CSV upload to sent email. Prints figures; asserts nothing about time.

    .venv/bin/python bench/batch.py [letters] [--keep] [--pdf typst|weasyprint|pdfkit]

Builds a medium template (3 fragments, 9 paragraphs with merge fields, 2 conditional sections,
an invoice table; channels print and email) and a customer data source of 200 synthetic
customers on a throwaway SQLite database, writes a CSV of ``letters`` rows (default 10,000;
customer_id cycling through the customers, a varying balance, channel "email"), then times
the three phases of a batch, each called directly (the task backend is django-tasks' dummy
backend, which runs nothing):

1. ``create_batch`` + ``check_batch``: upload, parse, store the rows, dry run of every row;
2. ``start_batch`` + ``run_batch``: generation (reference number, assembly, PDF, storage,
   fragment pins, outbox rows), one transaction per row;
3. ``process_due`` until the outbox is empty: the archive copy (PDF + JSON sidecar in a
   folder) and the email (HTML, text and the PDF attached) to an SMTP sink on loopback
   (aiosmtpd, in a thread of this process; it counts what it receives).

The pipeline runs twice on fresh batches: with the PDF backend of ``--pdf`` (default Typst, the
product's default; ``--pdf weasyprint`` for the figures before it), then with ``PlaceholderPdfBackend``,
which returns the same tiny one-page PDF for every letter, so the difference between the two
runs is the cost of PDF rendering. Counts (letters generated, messages received, PDFs
archived) are checked against ``letters`` and printed. ``--keep`` leaves the work folder
(database, PDFs, archive) in place.
"""

import argparse
import copy
import email
import email.policy
import io
import json
import os
import platform
import resource
import shutil
import socket
import sys
import tempfile
import time
import types
import unicodedata
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
WORK = Path(tempfile.mkdtemp(prefix="correspondence-bench-batch-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "correspondence_site.settings.test"
os.environ["DATABASE_URL"] = f"sqlite:///{WORK}/bench.sqlite3"

import django  # noqa: E402

django.setup()

import django_tasks  # noqa: E402
import weasyprint  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from asgiref.local import Local  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.files.storage import storages  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from pypdf import PdfReader, PdfWriter  # noqa: E402
from wagtail.rich_text import RichText  # noqa: E402

from tests import factories  # noqa: E402
from wagtail_correspondence import roles  # noqa: E402
from wagtail_correspondence.customers import reset_customer_source  # noqa: E402
from wagtail_correspondence.models import BatchRow, BatchRowStatus, Dispatch, LetterBatch  # noqa: E402
from wagtail_correspondence.rendering.pdf import PdfBackend, RenderedPdf  # noqa: E402
from wagtail_correspondence.services import batches  # noqa: E402
from wagtail_correspondence.services import dispatch as outbox  # noqa: E402

CUSTOMERS = 200
PROGRESS_EVERY = 1000

# The template's wording: 9 paragraphs with merge fields, whichever way the conditions go.
OPENING = [
    "Dear {{ customer.title }} {{ customer.last_name }},",
    "This letter concerns your account {{ customer.id }} with Northwind Mutual.",
    "Our records show an outstanding balance of {{ balance|money }}, which was due on {{ due_date|date }}.",
]
ACCOUNT = [
    "The invoices below make up the balance; please quote {{ customer.id }} with any payment.",
]
CONDITION_1 = ("balance > 100",
               ["Because the balance exceeds {{ 100|money }}, please pay it in full by {{ due_date|date }}.",
                "If that is not possible, call us before {{ due_date|date('medium') }} to arrange instalments."],
               ["A small balance of {{ balance|money }} can be paid with your next invoice.",
                "There is nothing else you need to do, {{ customer.first_name }}."])
CLOSING = [
    "You can pay by bank transfer, by direct debit or at any post office.",
    "We will write to {{ customer.email }} once {{ balance|money }} has been received.",
]
CONDITION_2 = ("not customer.vip",
               ["If we have not received {{ balance|money }} by {{ due_date|date }}, we may suspend your cover."],
               ["As a valued customer, {{ customer.first_name }}, you keep your cover in the meantime."])
COLUMNS = [("Invoice", "{{ item.number }}"), ("Due", "{{ item.due_date|date('medium') }}"),
           ("Amount", "{{ item.amount|money }}")]

FIRST_NAMES = ["Ada", "Bram", "Chloé", "Dries", "Elise", "Finn", "Greet", "Hugo", "Ines", "Jonas", "Katrien",
               "Lucas", "Marie", "Noah", "Olivia", "Pieter", "Quentin", "Roos", "Sofie", "Thomas"]
LAST_NAMES = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "Dubois"]


# PDF without rendering ------------------------------------------------------------------

_PLACEHOLDER = []


def placeholder_pdf():
    if not _PLACEHOLDER:
        writer = PdfWriter()
        writer.add_blank_page(595, 842)
        buffer = io.BytesIO()
        writer.write(buffer)
        _PLACEHOLDER.append(buffer.getvalue())
    return _PLACEHOLDER[0]


class PlaceholderPdfBackend(PdfBackend):
    """Returns the same blank one-page PDF for every letter: the pipeline without PDF rendering."""

    name = "placeholder"

    def render(self, html, metadata, page=None, variant=None):
        return RenderedPdf(content=placeholder_pdf(), pages=1)


# Importable by its dotted path however this script runs (python bench/batch.py, -m, cProfile).
sys.modules["correspondence_bench_batch"] = types.SimpleNamespace(PlaceholderPdfBackend=PlaceholderPdfBackend)
PLACEHOLDER_BACKEND = "correspondence_bench_batch.PlaceholderPdfBackend"


# The SMTP sink ---------------------------------------------------------------------------


class CountingMailbox:
    """aiosmtpd handler: accepts every message and keeps counts, not messages (bounded memory)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.messages = self.with_pdf = self.bytes = 0
        self.first = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages += 1
        self.bytes += len(envelope.content)
        if b"Content-Type: application/pdf" in envelope.content:
            self.with_pdf += 1
        if self.first is None:
            self.first = envelope.content
        return "250 OK queued"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_message_note(mailbox):
    """What the first message looked like: recipient, bodies, the attachment (parsed once)."""
    if mailbox.first is None:
        return "no message"
    message = email.message_from_bytes(mailbox.first, policy=email.policy.default)
    parts = [part.get_content_type() for part in message.walk() if not part.is_multipart()]
    attachments = [(part.get_filename(), len(part.get_content())) for part in message.iter_attachments()
                   if part.get_content_type() == "application/pdf"]
    pages = [len(PdfReader(io.BytesIO(part.get_content())).pages) for part in message.iter_attachments()
             if part.get_content_type() == "application/pdf"]
    return (f"to {message['To']}, subject {message['Subject']!r}, parts {parts}, PDF {attachments} "
            f"with {pages} page(s)")


# Content and data -------------------------------------------------------------------------


def paragraphs(texts):
    return "".join(f"<p>{text}</p>" for text in texts)


def conditional(condition):
    expression, content, otherwise = condition
    return ("conditional", {"condition": expression, "content": [factories.rich_text(paragraphs(content))],
                            "otherwise": [factories.rich_text(paragraphs(otherwise))]})


def invoice_table():
    return ("repeating_list", {"source": "invoices", "item_name": "item", "style": "table", "empty_text": "",
                               "columns": [{"heading": heading, "value": value} for heading, value in COLUMNS],
                               "item_text": RichText("")})


def build_template():
    dictionary = factories.dictionary(name="Bench")
    fragments = [
        factories.fragment(dictionary, key="batch-opening", body=factories.fragment_body(
            factories.rich_text(paragraphs(OPENING)))),
        factories.fragment(dictionary, key="batch-account", body=factories.fragment_body(
            factories.rich_text(paragraphs(ACCOUNT)), conditional(CONDITION_1), invoice_table())),
        factories.fragment(dictionary, key="batch-closing", body=factories.fragment_body(
            factories.rich_text(paragraphs(CLOSING)), conditional(CONDITION_2))),
    ]
    return factories.letter_template(
        dictionary, factories.layout(), fragments, title="Batch reminder", channels=["print", "email"],
        email_intro="Dear {{ customer.first_name }}, your letter about {{ balance|money }} is attached.",
        body=factories.template_body(*[("fragment", fragment) for fragment in fragments]))


def ascii_name(name):
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def customer_records(count):
    records = []
    for number in range(1, count + 1):
        first, last = FIRST_NAMES[number % len(FIRST_NAMES)], LAST_NAMES[number % len(LAST_NAMES)]
        record = copy.deepcopy(factories.SAMPLE_DATA)
        record["customer"].update(
            id=f"C-{number:04}", title="Ms" if number % 2 else "Mr", first_name=first, last_name=last,
            full_name=f"{first} {last}", email=f"{ascii_name(first)}.{ascii_name(last)}.{number}@example.org",
            vip=number % 7 == 0)
        record["invoices"] = [{"number": f"INV-{number}-{item}", "amount": f"{item * 40 + number % 50}.00",
                               "due_date": f"2026-11-{item * 5:02}"} for item in range(1, 2 + number % 4)]
        records.append(record)
    return records


def batch_csv(count):
    lines = ["customer_id,balance,channel"]
    lines += [f"C-{row % CUSTOMERS + 1:04},{(row * 37) % 400 + 0.5:.2f},email" for row in range(count)]
    return ("\n".join(lines) + "\n").encode()


# Settings -------------------------------------------------------------------------------


def configure(pdf_backend, archive_alias, smtp_port, customers_path):
    settings.WAGTAIL_CORRESPONDENCE = {
        **settings.WAGTAIL_CORRESPONDENCE,
        "CUSTOMER_DATA_SOURCE": {"BACKEND": "wagtail_correspondence.customers.JSONFileCustomerSource",
                                 "OPTIONS": {"path": str(customers_path)}},
        "PDF_BACKEND": pdf_backend,
        "CHANNEL_BACKENDS": {"email": {
            "BACKEND": "wagtail_correspondence.delivery.email.EmailChannel",
            "OPTIONS": {"connection": {"backend": "django.core.mail.backends.smtp.EmailBackend",
                                       "host": "127.0.0.1", "port": smtp_port, "timeout": 10}}}},
        "ARCHIVE": {"BACKEND": "wagtail_correspondence.delivery.archive.StorageArchive",
                    "OPTIONS": {"storage": archive_alias, "prefix": ""}},
    }
    reset_customer_source()


def use_archive_folders(aliases):
    """One archive folder per run, so that each run's PDFs can be counted."""
    settings.STORAGES = {**settings.STORAGES, **{alias: {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(WORK / alias), "base_url": None}} for alias in aliases}}
    storages._storages = {}
    storages._backends = None
    storages.__dict__.pop("backends", None)


def use_dummy_tasks():
    """Tasks are enqueued (and counted) but never run: the bench calls each phase itself."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    handler = django_tasks.task_backends
    handler._settings = None
    handler.__dict__.pop("settings", None)
    handler._connections = Local(handler.thread_critical)
    return handler["default"]


# Measuring --------------------------------------------------------------------------------


class Progress:
    """Counts calls of a wrapped function and reports every PROGRESS_EVERY to stderr."""

    def __init__(self, label, total, counts=lambda *args, **kwargs: True):
        self.label, self.total, self.counts = label, total, counts
        self.done, self.started = 0, time.perf_counter()

    def wrap(self, function):
        def counted(*args, **kwargs):
            result = function(*args, **kwargs)
            if self.counts(*args, **kwargs):
                self.done += 1
                if self.done % PROGRESS_EVERY == 0:
                    elapsed = time.perf_counter() - self.started
                    print(f"  {self.label}: {self.done}/{self.total} letters, {elapsed:.0f} s, "
                          f"{self.done / elapsed:.1f} letters/s", file=sys.stderr, flush=True)
            return result

        return counted


@contextmanager
def counting(module, name, progress):
    original = getattr(module, name)
    setattr(module, name, progress.wrap(original))
    try:
        yield progress
    finally:
        setattr(module, name, original)


def count_files(folder, suffix):
    return sum(1 for path in Path(folder).rglob(f"*{suffix}")) if Path(folder).exists() else 0


def run_pipeline(label, count, template, agent, tasks, mailbox, archive_alias):
    mailbox.reset()
    tasks.clear()
    phases = []
    content = batch_csv(count)

    started = time.perf_counter()
    batch = batches.create_batch(agent, template, SimpleUploadedFile("bench.csv", content, "text/csv"))
    with counting(batches, "check_row", Progress(f"{label} check", count)):
        report = batches.check_batch(batch.pk)
    phases.append(("create_batch + check_batch (dry run)", time.perf_counter() - started))
    if report["valid"] != count:  # a broken bench, not a timing assertion
        raise SystemExit(f"the dry run found problems: {json.dumps(report, default=str)[:2000]}")

    started = time.perf_counter()
    batches.start_batch(agent, batch)
    with counting(batches, "generate_row", Progress(f"{label} generate", count)):
        generated = batches.run_batch(batch.pk)
    phases.append(("run_batch (generate: number, assemble, PDF, store, pin, plan dispatches)",
                   time.perf_counter() - started))
    enqueued = Counter(f"{result.task.module_path}" for result in tasks.results)
    tasks.clear()

    started = time.perf_counter()
    claimed = 0
    with counting(outbox, "deliver", Progress(f"{label} dispatch", count,
                                              counts=lambda dispatch, *args: dispatch.channel == "email")):
        while True:
            done = outbox.process_due(limit=1000)
            if not done:
                break
            claimed += done
    phases.append(("process_due (archive to a folder + SMTP email with the PDF)", time.perf_counter() - started))

    batch = LetterBatch.objects.get(pk=batch.pk)
    rows = BatchRow.objects.filter(batch=batch)
    letter_ids = rows.filter(letter__isnull=False).values("letter_id")
    dispatches = Dispatch.objects.filter(letter_id__in=letter_ids)
    checks = {
        "batch status": batch.status,
        "rows generated": rows.filter(status=BatchRowStatus.GENERATED).count(),
        "run_batch returned": generated,
        "letters with a PDF": rows.filter(letter__isnull=False).exclude(letter__pdf="").count(),
        "send_dispatch tasks enqueued (not run)": enqueued.pop("wagtail_correspondence.tasks.send_dispatch", 0),
        "other tasks enqueued (not run)": dict(enqueued),
        "dispatches claimed": claimed,
        "email dispatches sent": dispatches.filter(channel="email", status="sent").count(),
        "archive dispatches sent": dispatches.filter(channel="archive", status="sent").count(),
        "dispatches not sent": dispatches.exclude(status="sent").count(),
        "SMTP messages received": mailbox.messages,
        "SMTP messages with a PDF attached": mailbox.with_pdf,
        "PDFs in the archive folder": count_files(WORK / archive_alias, ".pdf"),
        "JSON sidecars in the archive folder": count_files(WORK / archive_alias, ".json"),
    }
    return phases, checks


def report(label, count, phases, checks, mailbox):
    total = sum(seconds for _name, seconds in phases)
    print(f"\n{label}")
    for name, seconds in phases:
        print(f"  {name}: {seconds:.1f} s, {count / seconds:.1f} letters/s")
    print(f"  total: {total:.1f} s, {count / total:.1f} letters/s")
    expected = {"rows generated": count, "run_batch returned": count, "letters with a PDF": count,
                "send_dispatch tasks enqueued (not run)": 2 * count, "dispatches claimed": 2 * count,
                "email dispatches sent": count, "archive dispatches sent": count, "dispatches not sent": 0,
                "SMTP messages received": count, "SMTP messages with a PDF attached": count,
                "PDFs in the archive folder": count, "JSON sidecars in the archive folder": count,
                "batch status": "completed"}
    wrong = [name for name, value in checks.items() if expected.get(name, value) != value]
    print("  checks: " + "; ".join(f"{name} {value}" for name, value in checks.items()))
    average = mailbox.bytes / mailbox.messages if mailbox.messages else 0
    print(f"  average message size: {average / 1024:.0f} KiB; first message: {first_message_note(mailbox)}")
    print(f"  memory: RSS {rss_mib():.0f} MiB after this run")
    print("  checks: all as expected" if not wrong else f"  checks: NOT AS EXPECTED: {', '.join(wrong)}", flush=True)
    return total, wrong


def rss_mib():
    """The process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_note():
    return (f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, Django {django.get_version()}, WeasyPrint {weasyprint.__version__}")


def database_note():
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}, a file in {WORK}"
    return f"{connection.vendor} {connection.settings_dict.get('NAME')}"


def cleanup():
    """The work folder and the folders the test settings made for this process."""
    folders = [WORK, Path(settings.MEDIA_ROOT)] + [
        Path(settings.STORAGES[alias]["OPTIONS"]["location"]) for alias in ("letters", "archive", "print")]
    for folder in folders:
        if folder.name.startswith(("correspondence-bench-batch-", "correspondence-test-")):
            shutil.rmtree(folder, ignore_errors=True)


PDF_LABELS = {"typst": "Typst", "weasyprint": "WeasyPrint", "pdfkit": "pdfkit"}


def main(count=10_000, keep=False, pdf="typst"):
    label_pdf = PDF_LABELS[pdf]
    smtp = None
    try:
        call_command("migrate", verbosity=0)
        tasks = use_dummy_tasks()
        archives = {label_pdf: f"bench-archive-{pdf}", "placeholder": "bench-archive-placeholder"}
        use_archive_folders(archives.values())
        customers_path = WORK / "customers.json"
        customers_path.write_text(json.dumps(customer_records(CUSTOMERS)))

        mailbox = CountingMailbox()
        port = free_port()
        smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
        smtp.start()
        configure(pdf, archives[label_pdf], port, customers_path)
        template = build_template()
        agent = factories.user("bench-agent", roles.AGENTS)

        print(f"batch bench: N={count} letters from a CSV of {count} rows, {CUSTOMERS} customers; template: "
              f"3 fragments, 9 paragraphs, 2 conditions, an invoice table of 1-4 rows; channel email")
        print(f"database: {database_note()}")
        print(f"machine: {machine_note()}")
        print(f"SMTP sink: aiosmtpd on 127.0.0.1:{port}, a thread of this process (counts messages); "
              f"archive: StorageArchive on a FileSystemStorage folder; tasks: django-tasks DummyBackend "
              f"(enqueued, never run: each phase is called directly)", flush=True)

        results = {}
        for label, backend in ((label_pdf, pdf), ("placeholder", {"BACKEND": PLACEHOLDER_BACKEND})):
            configure(backend, archives[label], port, customers_path)
            title = (f"with PDF ({label_pdf})" if label == label_pdf else
                     "without PDF rendering (PlaceholderPdfBackend: the same blank one-page PDF for every letter)")
            print(f"  running {title}...", file=sys.stderr, flush=True)
            phases, checks = run_pipeline(label, count, template, agent, tasks, mailbox, archives[label])
            total, wrong = report(title, count, phases, checks, mailbox)
            results[label] = {"phases": phases, "total": total, "wrong": wrong}

        with_pdf, without_pdf = results[label_pdf], results["placeholder"]
        print("\nthe cost of PDF rendering (with PDF minus placeholder):")
        for (name, seconds), (_name, baseline) in zip(with_pdf["phases"], without_pdf["phases"]):
            print(f"  {name.split(' (')[0]}: {seconds - baseline:+.1f} s, {(seconds - baseline) / count * 1000:+.1f} ms "
                  f"per letter")
        difference = with_pdf["total"] - without_pdf["total"]
        print(f"  total: {difference:+.1f} s ({difference / count * 1000:+.1f} ms per letter), "
              f"{difference / with_pdf['total']:.0%} of the total with PDF; {count / with_pdf['total']:.1f} letters/s "
              f"with PDF, {count / without_pdf['total']:.1f} letters/s without")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (max RSS): {peak:.0f} MiB")
        if any(result["wrong"] for result in results.values()):
            sys.exit(1)
    finally:
        if smtp is not None:
            smtp.stop()
        if not keep:
            cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("letters", nargs="?", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help=f"keep the work folder ({WORK})")
    parser.add_argument("--pdf", choices=sorted(PDF_LABELS), default="typst",
                        help="the PDF backend of the run with PDF (default: typst, the product's default)")
    arguments = parser.parse_args()
    main(arguments.letters, arguments.keep, arguments.pdf)
