"""Batch throughput, end to end: CSV upload to sent email. Prints figures; asserts nothing about time.

    .venv/bin/python bench/batch.py [letters] [--keep] [--pdf typst|weasyprint|pdfkit]
                                    [--database sqlite|postgres] [--workers N] [--only pdf|placeholder]
                                    [--seal] [--enclosures N]

Builds a medium template (3 fragments, 9 paragraphs with merge fields, 2 conditional sections,
an invoice table; channels print and email) and a customer data source of 200 synthetic
customers on a throwaway database (SQLite in the work folder, or with ``--database postgres``
a database created on 127.0.0.1:5432 as user postgres and dropped afterwards), writes a CSV
of ``letters`` rows (default 10,000; customer_id cycling through the customers, a varying
balance, channel "email"), then times the phases of a batch:

1. ``create_batch`` + ``check_batch``: upload, parse, store the rows, dry run of every row;
2. generation: chunks of ``BACKGROUND["CHUNK_ROWS"]`` rows, each with a block of reference
   numbers, assembly and PDF outside any transaction, one write transaction (letters, fragment
   pins, outbox rows, register entries, audit entries sealed in bulk);
3. delivery: the archive copy (PDF + JSON sidecar in a folder) and the email (HTML, text and
   the PDF attached) to an SMTP sink on loopback (aiosmtpd, in a thread of this process; it
   counts messages and connections), a chunk's dispatches together over one SMTP connection.

With ``--workers 0`` (the default) each phase is called directly in this process (the task
backend is django-tasks' dummy backend, which runs nothing): ``run_batch``, then
``process_due`` until the outbox is empty. With ``--workers N`` the batch is started as in
production and N real worker processes (``manage.py db_worker``, the database task backend)
run the batch task, its chunk tasks and the chunks' delivery tasks: generation and delivery
overlap. The bench then reports generation (until the last row is generated) and delivery
(until the last dispatch is sent), both counted from ``start_batch``, and the whole pipeline
with the upload and the dry run. Memory (RSS) of this process and of each worker is printed at
the start and the end of each run.

The pipeline runs twice on fresh batches: with the PDF backend of ``--pdf`` (default Typst, the
product's default), then with ``PlaceholderPdfBackend``, which returns the same tiny one-page
PDF for every letter, so the difference between the two runs is the cost of PDF rendering
(``--only`` runs one of them). Counts are checked and printed: letters, unique references,
void reference numbers (none expected), messages received by the sink, PDFs in the archive.
``--keep`` leaves the work folder (database, PDFs, archive) in place. ``--seal`` seals every PDF
(``PDF_SEAL``, pdf_seal.py) with a throwaway certificate, to measure what the seal costs.
``--enclosures N`` has the template always send N one-page enclosures, appended to every
letter's PDF (services/enclosures.py), to measure what appending costs.
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
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
WORK = Path(tempfile.mkdtemp(prefix="correspondence-bench-batch-"))
PDF_LABELS = {"typst": "Typst", "weasyprint": "WeasyPrint", "pdfkit": "pdfkit"}


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("letters", nargs="?", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help=f"keep the work folder ({WORK})")
    parser.add_argument("--pdf", choices=sorted(PDF_LABELS), default="typst",
                        help="the PDF backend of the run with PDF (default: typst, the product's default)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite",
                        help="sqlite (a file in the work folder) or postgres (a throwaway database on 127.0.0.1:5432)")
    parser.add_argument("--workers", type=int, default=0,
                        help="0: every phase in this process; N: N real worker processes run the tasks")
    parser.add_argument("--only", choices=["pdf", "placeholder"], help="run only one of the two pipelines")
    parser.add_argument("--enclosures", type=int, default=0,
                        help="N one-page enclosures always sent with the template, appended to every PDF")
    parser.add_argument("--seal", action="store_true",
                        help="seal every PDF (PDF_SEAL) with a throwaway EC P-256 certificate, as the demo makes one")
    return parser.parse_args()


ARGS = arguments()
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
PG_NAME = f"correspondence_bench_{os.getpid()}"


def admin_sql(statement):
    import psycopg

    with psycopg.connect(**POSTGRES, dbname="postgres", autocommit=True) as admin:
        admin.execute(statement)


if ARGS.database == "postgres":
    admin_sql(f'CREATE DATABASE "{PG_NAME}"')
    os.environ["DATABASE_URL"] = f"postgres://{POSTGRES['user']}@{POSTGRES['host']}:{POSTGRES['port']}/{PG_NAME}"
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{WORK}/bench.sqlite3"

# One settings module for this process and the workers: the test settings, with every storage
# in the work folder (the test settings make folders per process, which workers could not
# share), the database task backend, and the bench's part of WAGTAIL_CORRESPONDENCE from the
# environment (each run sets it for its workers).
SETTINGS_MODULE = """
import json
import os

from correspondence_site.settings.test import *  # noqa: F401,F403

WORK = %(work)r
MEDIA_ROOT = os.path.join(WORK, "media")
for _alias in ("default", "letters", "archive", "print"):
    _storage = dict(STORAGES.get(_alias) or {"BACKEND": "django.core.files.storage.FileSystemStorage"})
    _storage["OPTIONS"] = {**_storage.get("OPTIONS", {}), "location": os.path.join(WORK, _alias), "base_url": None}
    STORAGES[_alias] = _storage
STORAGES.update(json.loads(os.environ.get("BENCH_STORAGES", "{}")))
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WAGTAIL_CORRESPONDENCE = {**WAGTAIL_CORRESPONDENCE, **json.loads(os.environ.get("BENCH_CORRESPONDENCE", "{}"))}
"""
PLACEHOLDER_MODULE = """
import io

from pypdf import PdfWriter

from wagtail_correspondence.rendering.pdf import PdfBackend, RenderedPdf

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
    '''Returns the same blank one-page PDF for every letter: the pipeline without PDF rendering.'''

    name = "placeholder"

    def render(self, html, metadata, page=None, variant=None):
        return RenderedPdf(content=placeholder_pdf(), pages=1)
"""
(WORK / "bench_settings.py").write_text(SETTINGS_MODULE % {"work": str(WORK)})
(WORK / "correspondence_bench_batch.py").write_text(PLACEHOLDER_MODULE)
sys.path.insert(0, str(WORK))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"

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
from pypdf import PdfReader  # noqa: E402
from wagtail.rich_text import RichText  # noqa: E402

from tests import factories  # noqa: E402
from wagtail_correspondence import roles  # noqa: E402
from wagtail_correspondence.conf import get_setting  # noqa: E402
from wagtail_correspondence.customers import reset_customer_source  # noqa: E402
from wagtail_correspondence.models import (  # noqa: E402
    BatchRow, BatchRowStatus, Dispatch, LetterBatch, TemplateEnclosure)
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


# PDF without rendering: correspondence_bench_batch.PlaceholderPdfBackend, written to the work
# folder above, importable by this process and the workers alike.
PLACEHOLDER_BACKEND = "correspondence_bench_batch.PlaceholderPdfBackend"


# The SMTP sink ---------------------------------------------------------------------------


class CountingMailbox:
    """aiosmtpd handler: accepts every message and keeps counts, not messages (bounded memory)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.messages = self.with_pdf = self.bytes = self.sessions = 0
        self.first = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd's name)
        self.sessions += 1
        session.host_name = hostname
        return responses

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
        body=factories.template_body(*[("fragment", fragment) for fragment in fragments]),
        enclosures=[TemplateEnclosure(inclusion="mandatory", enclosure=factories.enclosure(
            f"leaflet-{number}", f"Leaflet {number}", "Terms that go with every letter."))
            for number in range(1, ARGS.enclosures + 1)])


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
    """The bench's part of WAGTAIL_CORRESPONDENCE, set here and returned for the workers."""
    bench = {
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
    if ARGS.seal:
        from correspondence_demo import seal as demo_seal

        demo_seal.create(WORK / "seal", "Bench")
        bench["PDF_SEAL"] = demo_seal.settings_for(WORK / "seal")
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, **bench}
    reset_customer_source()
    return bench


def archive_storages(aliases):
    return {alias: {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(WORK / alias), "base_url": None}} for alias in aliases}


def use_archive_folders(aliases):
    """One archive folder per run, so that each run's PDFs can be counted."""
    settings.STORAGES = {**settings.STORAGES, **archive_storages(aliases)}
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


def batch_checks(batch, count, mailbox, archive_alias):
    """Every count of a finished run, for ``report`` to compare with what is expected."""
    from wagtail_correspondence.models import Letter, VoidReference

    batch = LetterBatch.objects.get(pk=batch.pk)
    rows = BatchRow.objects.filter(batch=batch)
    letter_ids = rows.filter(letter__isnull=False).values("letter_id")
    dispatches = Dispatch.objects.filter(letter_id__in=letter_ids)
    references = Letter.objects.filter(pk__in=letter_ids).values_list("reference", flat=True)
    return {
        "batch status": batch.status,
        "rows generated": rows.filter(status=BatchRowStatus.GENERATED).count(),
        "letters": Letter.objects.filter(pk__in=letter_ids).count(),
        "unique references": len(set(references)),
        "void reference numbers": VoidReference.objects.filter(batch=batch).count(),
        "chunks": batch.chunks.count(),
        "letters with a PDF": rows.filter(letter__isnull=False).exclude(letter__pdf="").count(),
        "email dispatches sent": dispatches.filter(channel="email", status="sent").count(),
        "archive dispatches sent": dispatches.filter(channel="archive", status="sent").count(),
        "dispatches not sent": dispatches.exclude(status="sent").count(),
        "SMTP messages received": mailbox.messages,
        "SMTP messages with a PDF attached": mailbox.with_pdf,
        "SMTP connections": mailbox.sessions,
        "PDFs in the archive folder": count_files(WORK / archive_alias, ".pdf"),
        "JSON sidecars in the archive folder": count_files(WORK / archive_alias, ".json"),
    }


def upload_and_check(label, count, template, agent):
    started = time.perf_counter()
    batch = batches.create_batch(agent, template, SimpleUploadedFile("bench.csv", batch_csv(count), "text/csv"))
    with counting(batches, "check_row", Progress(f"{label} check", count)):
        report = batches.check_batch(batch.pk)
    if report["valid"] != count:  # a broken bench, not a timing assertion
        raise SystemExit(f"the dry run found problems: {json.dumps(report, default=str)[:2000]}")
    return batch, time.perf_counter() - started


def run_pipeline(label, count, template, agent, tasks, mailbox, archive_alias):
    """Every phase called in this process; tasks are enqueued (dummy backend) but never run."""
    mailbox.reset()
    tasks.clear()
    phases = []
    memory = {"start": memory_note([])}
    batch, seconds = upload_and_check(label, count, template, agent)
    phases.append(("create_batch + check_batch (dry run)", seconds))

    started = time.perf_counter()
    batches.start_batch(agent, batch)
    generated = batches.run_batch(batch.pk)
    phases.append(("run_batch (generate: chunks of numbers, assembly, PDF, one write per chunk)",
                   time.perf_counter() - started))
    enqueued = Counter(f"{result.task.module_path}" for result in tasks.results)
    tasks.clear()

    started = time.perf_counter()
    claimed = 0
    while True:
        done = outbox.process_due(limit=1000)
        if not done:
            break
        claimed += done
    phases.append(("process_due (archive to a folder + SMTP email with the PDF)", time.perf_counter() - started))
    memory["end"] = memory_note([])
    checks = batch_checks(batch, count, mailbox, archive_alias)
    checks.update({"run_batch returned": generated, "dispatches claimed": claimed,
                   "delivery tasks enqueued (not run)": enqueued.pop(
                       "wagtail_correspondence.tasks.deliver_dispatches_task", 0)})
    return phases, checks, memory


class Workers:
    """N ``manage.py db_worker`` processes on the bench's database and settings."""

    def __init__(self, count, environment, label):
        self.count, self.environment, self.label = count, environment, label
        self.processes = []

    def log(self, number):
        return WORK / f"{self.label}-worker-{number}.log"

    def start(self):
        env = {key: value for key, value in os.environ.items() if key not in ("TASKS_BACKEND",)}
        env.update(self.environment)
        env["PYTHONPATH"] = os.pathsep.join([str(WORK), str(ROOT / "site"), str(ROOT), env.get("PYTHONPATH", "")])
        for number in range(1, self.count + 1):
            log = open(self.log(number), "ab")
            self.processes.append(subprocess.Popen(
                [sys.executable, str(ROOT / "site" / "manage.py"), "db_worker", "--queue-name", "*", "--no-reload",
                 "--no-startup-delay", "--interval", "0.1", "--worker-id", f"bench-worker-{number}"],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
            log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # each worker logs a line once it polls the queue
            if all(self.log(number).stat().st_size for number in range(1, self.count + 1)):
                return
            if any(process.poll() is not None for process in self.processes):
                break
            time.sleep(0.2)
        raise SystemExit("the workers did not start:\n" + "\n".join(
            self.log(number).read_text(errors="replace")[-3000:] for number in range(1, self.count + 1)))

    def pids(self):
        return [process.pid for process in self.processes]

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        self.processes = []


def run_pipeline_with_workers(label, count, template, agent, mailbox, archive_alias, workers):
    """Generation and delivery by real worker processes, as in production; timed from here."""
    from django_tasks_db.models import DBTaskResult

    mailbox.reset()
    phases = []
    batch, seconds = upload_and_check(label, count, template, agent)
    phases.append(("create_batch + check_batch (dry run, in this process)", seconds))
    DBTaskResult.objects.all().delete()  # the check task create_batch enqueued: done above
    workers.start()  # after the dry run, which would otherwise race the check task
    memory = {"start": memory_note(workers.pids())}

    started = time.perf_counter()
    batches.start_batch(agent, batch)
    rows = BatchRow.objects.filter(batch=batch)
    dispatches = Dispatch.objects.filter(letter__batch_row__batch=batch)
    generated_at = delivered_at = None
    last_note = time.monotonic()
    while delivered_at is None:
        time.sleep(0.25)
        now = time.perf_counter()
        if generated_at is None and not rows.filter(status=BatchRowStatus.VALID).exists():
            generated_at = now
        if generated_at is not None and dispatches.count() == 2 * count and not dispatches.exclude(
                status="sent").exists():
            delivered_at = now
        if any(process.poll() is not None for process in workers.processes):
            raise SystemExit("a worker stopped:\n" + "\n".join(
                workers.log(n).read_text(errors="replace")[-3000:] for n in range(1, workers.count + 1)))
        if time.monotonic() - last_note > 10:
            last_note = time.monotonic()
            done = rows.filter(status=BatchRowStatus.GENERATED).count()
            sent = dispatches.filter(status="sent").count()
            print(f"  {label}: {done}/{count} generated, {sent}/{2 * count} dispatches sent, "
                  f"{now - started:.0f} s", file=sys.stderr, flush=True)
        if now - started > 4 * 3600:
            raise SystemExit("gave up after 4 hours")
    memory["end"] = memory_note(workers.pids())
    phases.append((f"generation by {workers.count} worker(s) (from start_batch to the last row)",
                   generated_at - started))
    phases.append(("delivery after generation (until the last archive copy and email)", delivered_at - generated_at))
    tasks = dict(Counter(DBTaskResult.objects.values_list("task_path", "status")))
    # The search and reference index updates the register entries enqueued (two tasks per
    # letter) run after the deliveries: timed apart, as the work a batch leaves behind.
    pending = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
    backlog = pending.count()
    while pending.exists():
        time.sleep(0.5)
    drained = time.perf_counter() - delivered_at
    print(f"  {label}: {backlog} background tasks still queued after the last dispatch (index updates) took "
          f"{drained:.1f} s more to drain", file=sys.stderr, flush=True)
    memory["backlog"] = f"{backlog} tasks queued at the last dispatch, drained {drained:.1f} s later"
    checks = batch_checks(batch, count, mailbox, archive_alias)
    checks["tasks run (path, status: count)"] = {f"{path.rsplit('.', 1)[-1]} {status}": n
                                                 for (path, status), n in tasks.items()}
    return phases, checks, memory


def report(label, count, phases, checks, mailbox, memory):
    total = sum(seconds for _name, seconds in phases)
    print(f"\n{label}")
    for name, seconds in phases:
        print(f"  {name}: {seconds:.1f} s, {count / seconds:.1f} letters/s")
    if len(phases) == 3 and ARGS.workers:
        generation_and_delivery = phases[1][1] + phases[2][1]
        print(f"  generation + delivery (from start_batch to the last dispatch): {generation_and_delivery:.1f} s, "
              f"{count / generation_and_delivery:.1f} letters/s")
    print(f"  total (upload, dry run, generation, delivery): {total:.1f} s, {count / total:.1f} letters/s")
    expected = {"rows generated": count, "letters": count, "unique references": count, "void reference numbers": 0,
                "run_batch returned": count, "letters with a PDF": count, "dispatches claimed": 2 * count,
                "email dispatches sent": count, "archive dispatches sent": count, "dispatches not sent": 0,
                "SMTP messages received": count, "SMTP messages with a PDF attached": count,
                "PDFs in the archive folder": count, "JSON sidecars in the archive folder": count,
                "batch status": "completed"}
    wrong = [name for name, value in checks.items() if expected.get(name, value) != value]
    print("  checks: " + "; ".join(f"{name} {value}" for name, value in checks.items()))
    average = mailbox.bytes / mailbox.messages if mailbox.messages else 0
    print(f"  average message size: {average / 1024:.0f} KiB; first message: {first_message_note(mailbox)}")
    print(f"  memory (RSS, MiB) at the start: {memory['start']}; at the end: {memory['end']}")
    if "backlog" in memory:
        print(f"  background tasks left by the batch (not in the figures above): {memory['backlog']}")
    print("  checks: all as expected" if not wrong else f"  checks: NOT AS EXPECTED: {', '.join(wrong)}", flush=True)
    return total, wrong


def rss_mib(pid="self"):
    """A process's resident memory now (Linux), else this process's peak."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid == "self" else 0


def memory_note(worker_pids):
    parts = [f"bench {rss_mib():.0f}"]
    parts += [f"worker {number} {rss_mib(pid):.0f}" for number, pid in enumerate(worker_pids, start=1)]
    return ", ".join(parts)


def machine_note():
    return (f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, Django {django.get_version()}, WeasyPrint {weasyprint.__version__}")


def database_note():
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}, a file in {WORK}"
    return f"PostgreSQL {connection.cursor().connection.info.server_version}, database {PG_NAME} on 127.0.0.1"


def cleanup():
    """The work folder and the folders the test settings made for this process."""
    from correspondence_site.settings import test as test_settings

    folders = [WORK, Path(test_settings.MEDIA_ROOT)] + [
        Path(test_settings.STORAGES[alias]["OPTIONS"]["location"]) for alias in ("letters", "archive", "print")]
    for folder in folders:
        if folder.name.startswith(("correspondence-bench-batch-", "correspondence-test-")):
            shutil.rmtree(folder, ignore_errors=True)


def main(count=10_000, keep=False, pdf="typst", workers=0, only=None):
    label_pdf = PDF_LABELS[pdf]
    smtp = None
    try:
        call_command("migrate", verbosity=0)
        tasks = use_dummy_tasks() if not workers else None
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

        chunk = get_setting("BACKGROUND")["CHUNK_ROWS"]
        print(f"batch bench: N={count} letters from a CSV of {count} rows, {CUSTOMERS} customers; template: "
              f"3 fragments, 9 paragraphs, 2 conditions, an invoice table of 1-4 rows; channel email; chunks of "
              f"{chunk} rows")
        print(f"database: {database_note()}")
        print(f"machine: {machine_note()}")
        print(f"SMTP sink: aiosmtpd on 127.0.0.1:{port}, a thread of this process (counts messages and "
              f"connections); archive: StorageArchive on a FileSystemStorage folder; " + (
                  f"{workers} worker process(es): manage.py db_worker, django-tasks-db" if workers else
                  "tasks: django-tasks DummyBackend (enqueued, never run: each phase is called directly)"), flush=True)

        results = {}
        runs = [(label_pdf, pdf, "pdf"), ("placeholder", {"BACKEND": PLACEHOLDER_BACKEND}, "placeholder")]
        for label, backend, kind in runs:
            if only and kind != only:
                continue
            configured = configure(backend, archives[label], port, customers_path)
            title = (f"with PDF ({label_pdf})" if label == label_pdf else
                     "without PDF rendering (PlaceholderPdfBackend: the same blank one-page PDF for every letter)")
            print(f"  running {title}...", file=sys.stderr, flush=True)
            if workers:
                pool = Workers(workers, {"BENCH_CORRESPONDENCE": json.dumps(configured),
                                         "BENCH_STORAGES": json.dumps(archive_storages(archives.values()))}, kind)
                try:
                    phases, checks, memory = run_pipeline_with_workers(label, count, template, agent, mailbox,
                                                                       archives[label], pool)
                finally:
                    pool.stop()
            else:
                phases, checks, memory = run_pipeline(label, count, template, agent, tasks, mailbox, archives[label])
            total, wrong = report(title, count, phases, checks, mailbox, memory)
            results[label] = {"phases": phases, "total": total, "wrong": wrong}

        if len(results) == 2:
            with_pdf, without_pdf = results[label_pdf], results["placeholder"]
            print("\nthe cost of PDF rendering (with PDF minus placeholder):")
            for (name, seconds), (_name, baseline) in zip(with_pdf["phases"], without_pdf["phases"]):
                print(f"  {name.split(' (')[0]}: {seconds - baseline:+.1f} s, "
                      f"{(seconds - baseline) / count * 1000:+.1f} ms per letter")
            difference = with_pdf["total"] - without_pdf["total"]
            print(f"  total: {difference:+.1f} s ({difference / count * 1000:+.1f} ms per letter), "
                  f"{difference / with_pdf['total']:.0%} of the total with PDF; "
                  f"{count / with_pdf['total']:.1f} letters/s with PDF, {count / without_pdf['total']:.1f} without")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process (max RSS): {peak:.0f} MiB")
        if any(result["wrong"] for result in results.values()):
            sys.exit(1)
    finally:
        if smtp is not None:
            smtp.stop()
        connection.close()
        if ARGS.database == "postgres":
            admin_sql(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
        if not keep:
            cleanup()


if __name__ == "__main__":
    main(ARGS.letters, ARGS.keep, ARGS.pdf, ARGS.workers, ARGS.only)
