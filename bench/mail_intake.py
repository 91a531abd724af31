"""Mail intake from an mbox file. Prints figures; asserts nothing about time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/mail_intake.py \\
        [--messages 10000] [--start-entries 0] [--database bench_mail_intake] [--keep]
    .venv/bin/python bench/mail_intake.py --messages 2000            # SQLite in a temp folder

Other options: ``--run N`` (messages registered together: the ``INTAKE_RUN`` setting for
this bench; 1 registers each message on its own, as before runs existed),
``--profile FILE`` (the first pass under cProfile: its stats written to FILE and the top
entries printed; the rate is then not a measurement).

The database is made as bench/register_scale.py makes it, by importing that script (its
arguments are parsed at import: this script hands it ``--database``): with a PostgreSQL
``DATABASE_URL`` a throwaway database of its own on that server (``--database``, default
``bench_mail_intake``; dropped first if it exists, dropped at the end unless ``--keep``),
without one a SQLite file in a temporary folder. It is migrated and given the setup of
bench/register.py (``build_configuration()``: business calendar, 7 departments with members
and supervisors, categories, 7 SLA policies, 11 routing rules). With ``--start-entries M``
the register first holds M entries, bulk-loaded by register_scale.py's ``Loader`` (no
versions or audit entries for those; ``VACUUM ANALYZE`` after), so that intake runs against
a large register.

Then:

1. writes an mbox (Python's ``mailbox``) of ``--messages`` inbound emails (default 10,000),
   deterministic: distinct Message-IDs; senders from a pool (the demo customer source's
   customers, about a third; made-up private persons; the organisations of bench/register.py,
   whose domains some routing rules name); subjects and bodies from the vocabularies of
   bench/register.py and bench/register_scale.py (words the routing rules look for:
   complaint, refund, invoice, GDPR, unacceptable, ...); about 60% plain text, 25%
   multipart/alternative, 15% HTML only; about 20% with a small valid PDF (3-4 KB, the demo
   data's ``tiny_pdf``), 1% with a ZIP the register refuses (named in the body, kept in
   original.eml); about 8% replies to an earlier message of the mbox (In-Reply-To and
   References) and 2% replies to a message the register never saw (a letter of ours: looked
   up among the dispatches, not found); dates spread over the last 14 days, in mbox order;
2. first pass: takes the mbox exactly as ``manage.py correspondence_fetch_mail --mbox FILE``
   does, ``services.mail_intake.take_messages(mbox_items(FILE), user=None)`` (the command
   records no user unless ``--user`` is given), as one timed run: messages/s overall and per
   block of 1,000 (does it slow down as the register grows?), the statements of the whole
   pass (a ``perf_counter`` execute wrapper, bench/register.py's ``QueryTimer``: messages
   are registered in runs, so statements belong to a run, not to one message) per message
   and by kind, with their database time, and what resulted: entries, attachments, replies
   linked to their conversation, parts refused, failures, routing, emails in the locmem
   outbox;
3. second pass over the same mbox: every message is registered already (the duplicate check
   by Message-ID), messages/s and queries per message.

The settings are the test suite's (``correspondence_site.settings.test``): locmem email (the
script stops if another email backend is configured: nothing is sent anywhere), and
django-tasks' immediate backend, so the index updates a registration enqueues run inside it.
Not timed: the command's one line printed per message. Measure the code of another checkout
with ``PYTHONPATH=<checkout>:<checkout>/site`` (as bench/register_scale.py).
"""

import argparse
import cProfile
import datetime
import email.utils
import io
import mailbox
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
import zlib
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 2028
BLOCK = 1000
DAYS = 14


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the mbox (default 10000)")
    parser.add_argument("--start-entries", type=int, default=0,
                        help="bulk-load this many register entries before the intake (default 0)")
    parser.add_argument("--database", default="bench_mail_intake",
                        help="name of the throwaway PostgreSQL database (default bench_mail_intake)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database (PostgreSQL) or the SQLite folder, the mbox and the stored files")
    parser.add_argument("--run", type=int, default=0,
                        help="messages registered together (INTAKE_RUN; default: the setting's)")
    parser.add_argument("--profile", metavar="FILE", help="run the first pass under cProfile, stats to FILE")
    return parser.parse_args()


ARGS = arguments()
WORK = Path(tempfile.mkdtemp(prefix="correspondence-bench-mail-intake-"))

# bench/register_scale.py reads its arguments and makes the database when imported; it then
# sets up Django with the test settings and imports bench/register.py (as ``scale.base``).
_argv = sys.argv
sys.argv = [str(HERE / "register_scale.py"), "--database", ARGS.database]
sys.path.insert(0, str(HERE))
try:
    import register_scale as scale  # noqa: E402
finally:
    sys.argv = _argv
    sys.path.remove(str(HERE))
base = scale.base

from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

import wagtail_correspondence  # noqa: E402
from wagtail_correspondence.conf import get_setting  # noqa: E402
from wagtail_correspondence.models import Attachment, AttachmentVersion, Correspondence  # noqa: E402
from wagtail_correspondence.services import mail_intake as intake  # noqa: E402
from correspondence_demo.register import tiny_pdf  # noqa: E402  (the demo's PDF scans)

MAILBOXES = [("Northwind Insurance", "info@northwind.example"), ("Claims", "claims@northwind.example"),
             ("Customer Service", "service@northwind.example"), ("Billing", "billing@northwind.example")]
MAILERS = ["Microsoft Outlook 16.0", "Apple Mail (2.3774)", "Mozilla Thunderbird", "Roundcube Webmail/1.6.6", None]
PRIVATE_DOMAINS = ["mail.example", "inbox.example.be", "post.example.nl", "webmail.example.fr"]
ATTACHMENT_NAMES = ["claim form.pdf", "estimate-garage.pdf", "invoice {n}.pdf", "photos damage.pdf",
                    "bank statement.pdf", "scan_{n}.pdf", "police report.pdf"]


# The mbox ------------------------------------------------------------------------------

def statement_pdf(rng, number):
    """A valid one-page PDF of a few KB (the demo's stand-in for a scan), different each time."""
    return tiny_pdf([f"Claim {number}: statement of the policyholder"] + [
        " ".join(rng.sample(scale.SENTENCES, 2)) for _ in range(rng.randint(28, 40))])


def refused_zip(rng):
    """A ZIP archive: not a type the register accepts (the part stays in original.eml)."""
    data = zlib.compress(" ".join(rng.sample(scale.SENTENCES, 6)).encode())
    return b"PK\x03\x04" + bytes(26) + data


def sender_pool(rng):
    """Lists of (name, address): the demo customers, made-up private persons, organisations."""
    people = [(person["full_name"], person["email"]) for person in base.customers()]
    private = []
    for number in range(400):
        first, last = rng.choice(scale.FIRST), rng.choice(scale.LAST)
        local = f"{first}.{last}".lower().replace(" ", "").replace("é", "e")
        private.append((f"{first} {last}", f"{local}{number % 50}@{rng.choice(PRIVATE_DOMAINS)}"))
    return people, private, list(base.SENDERS)


def pick_sender(rng, pool):
    people, private, organisations = pool
    roll = rng.random()
    if roll < 0.35 and people:
        return rng.choice(people)
    if roll < 0.85:
        return rng.choice(private)
    organisation, address = rng.choice(organisations)
    return organisation, address


def pick_subject(rng):
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(base.SUBJECTS)[1]
    if roll < 0.55:
        return rng.choice(scale.REFUND_SUBJECTS)[1]
    return rng.choice(scale.SUBJECTS)[1]


def body_text(rng, name, subject):
    sentences = rng.sample(scale.SENTENCES, rng.randint(3, 7))
    if "refund" in subject.lower() or rng.random() < 0.03:
        sentences.insert(1, scale.REFUND_SENTENCE)
    if rng.random() < 0.1:
        sentences.insert(1, f"My policy number is {rng.randint(10, 99)}/{rng.randint(100000, 999999)}.")
    return "\n\n".join([sentences[0], " ".join(sentences[1:-1]), sentences[-1], name])


def as_html(text):
    paragraphs = "".join(f"<p>{paragraph}</p>" for paragraph in text.split("\n\n"))
    return (f'<html><head><meta charset="utf-8"><style>p {{ font-family: Calibri; }}</style></head>'
            f'<body><div dir="ltr">{paragraphs}</div></body></html>')


def build_messages(count, now):
    """EmailMessage objects, oldest first, with what was made: counts of each variant."""
    rng = random.Random(SEED)
    pool = sender_pool(rng)
    offsets = sorted(rng.random() * DAYS * 86400 for _ in range(count))
    made = Counter()
    earlier = []  # (message id, references, subject, sender, text) of the messages so far
    messages = []
    for number in range(1, count + 1):
        when = now - datetime.timedelta(seconds=DAYS * 86400 - offsets[number - 1])
        message = EmailMessage()
        roll = rng.random()
        if roll < 0.08 and earlier:
            parent_id, parent_references, parent_subject, sender, parent_text = rng.choice(earlier)
            subject = parent_subject if parent_subject.startswith("Re: ") else f"Re: {parent_subject}"
            message["In-Reply-To"] = parent_id
            message["References"] = " ".join(parent_references + [parent_id])
            quoted = "\n".join(f"> {line}" for line in parent_text.splitlines())
            text = f"{body_text(rng, sender[0], subject)}\n\nOn an earlier day, {sender[0]} wrote:\n{quoted}"
            references = parent_references + [parent_id]
            made["reply to an earlier message"] += 1
        elif roll < 0.10:
            sender, subject = pick_sender(rng, pool), f"RE: {pick_subject(rng)}"
            unknown = f"<OUT-{rng.getrandbits(48):012x}@mail.northwind.example>"
            message["In-Reply-To"] = unknown
            message["References"] = unknown
            text, references = body_text(rng, sender[0], subject), [unknown]
            made["reply to a message not in the register"] += 1
        else:
            sender, subject = pick_sender(rng, pool), pick_subject(rng)
            text, references = body_text(rng, sender[0], subject), []
        message_id = f"<{when:%Y%m%d%H%M%S}.{number:06}.{rng.getrandbits(40):010x}@{sender[1].split('@')[1]}>"
        message["Message-ID"] = message_id
        message["Date"] = email.utils.format_datetime(when)
        message["From"] = email.utils.formataddr(sender)
        to_name, to_address = rng.choice(MAILBOXES)
        message["To"] = email.utils.formataddr((to_name, to_address))
        if rng.random() < 0.1:
            message["Cc"] = email.utils.formataddr(pick_sender(rng, pool))
        message["Subject"] = subject
        mailer = rng.choice(MAILERS)
        if mailer:
            message["X-Mailer"] = mailer
        roll = rng.random()
        if roll < 0.6:
            message.set_content(text)
            made["plain text"] += 1
        elif roll < 0.85:
            message.set_content(text)
            message.add_alternative(as_html(text), subtype="html")
            made["multipart/alternative"] += 1
        else:
            message.set_content(as_html(text), subtype="html")
            made["HTML only"] += 1
        roll = rng.random()
        if roll < 0.2:
            name = rng.choice(ATTACHMENT_NAMES).format(n=rng.randint(1000, 9999))
            message.add_attachment(statement_pdf(rng, number), maintype="application", subtype="pdf", filename=name)
            made["with a PDF"] += 1
        elif roll < 0.21:
            message.add_attachment(refused_zip(rng), maintype="application", subtype="zip", filename="documents.zip")
            made["with a ZIP (refused)"] += 1
        earlier.append((message_id, references[-5:], subject, sender, text))
        messages.append((message, sender[1], when))
    return messages, made


def write_mbox(path, count, now):
    started = time.perf_counter()
    messages, made = build_messages(count, now)
    box = mailbox.mbox(str(path), create=True)
    box.lock()
    try:
        for message, address, when in messages:
            entry = mailbox.mboxMessage(message)
            entry.set_from(address, time.gmtime(when.timestamp()))
            box.add(entry)
        box.flush()
    finally:
        box.unlock()
        box.close()
    return time.perf_counter() - started, made


# Intake --------------------------------------------------------------------------------

def take_mbox(path, block, profiler=None):
    """One run of the command's mbox path; (seconds, results, statements, blocks). Messages are
    registered in runs of ``INTAKE_RUN``, so statements are timed over the whole pass (an
    execute wrapper: it does not see BEGIN and COMMIT on PostgreSQL), not per message."""
    results, blocks = [], []
    timer = base.QueryTimer()
    taken = intake.take_messages(intake.mbox_items(str(path)), user=None)
    number = 0
    started = block_started = time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        with connection.execute_wrapper(timer):
            for result in taken:
                number += 1
                results.append(result)
                if number % block == 0:
                    now = time.perf_counter()
                    blocks.append((block, now - block_started))
                    block_started = now
                    print(f"  {number} messages, {number / (now - started):.0f}/s", file=sys.stderr, flush=True)
    finally:
        if profiler:
            profiler.disable()
    seconds = time.perf_counter() - started
    if number % block:
        blocks.append((number % block, time.perf_counter() - block_started))
    return seconds, results, timer.timed, blocks


def query_rows(statements, count):
    """Table rows: statements per message over the whole pass, database time, the costliest
    statement kinds."""
    if not count:
        return [("no message taken", None)]
    kinds, kind_seconds = Counter(), Counter()
    for sql, seconds in statements:
        kinds[base.statement_kind(sql)] += 1
        kind_seconds[base.statement_kind(sql)] += seconds
    total = sum(seconds for _sql, seconds in statements)
    rows = [("statements per message", f"{len(statements) / count:.2f} ({len(statements)} in all, "
                                       f"INTAKE_RUN {get_setting('REGISTER').get('INTAKE_RUN', 'not in this version')})"),
            ("database time per message", f"{total / count * 1000:.1f} ms")]
    for kind, number in sorted(kinds.items(), key=lambda item: -kind_seconds[item[0]])[:12]:
        rows.append((f"  {kind}", f"{number / count:.2f} per message, {kind_seconds[kind] / count * 1000:.2f} ms"))
    return rows


def rate_rows(seconds, count, blocks, block):
    return [("total", f"{seconds:.1f} s, {count / seconds:.1f} messages/s, {seconds / count * 1000:.1f} ms per "
                      f"message"),
            (f"per block of {block}", ", ".join(f"{size / block_seconds:.0f}/s" for size, block_seconds in blocks))]


def outcome_rows(results, first_pk, made):
    statuses = Counter(result.status for result in results)
    created = Correspondence.objects.filter(pk__gt=first_pk)
    attachments = Attachment.objects.filter(correspondence__pk__gt=first_pk)
    versions = AttachmentVersion.objects.filter(attachment__correspondence__pk__gt=first_pk)
    originals = versions.filter(filename="original.eml").count()
    replies = made["reply to an earlier message"]
    linked = created.filter(in_reply_to__isnull=False).count()
    refused = sum(len(result.skipped) for result in results)
    failures = Counter(result.reason[:120] for result in results if result.status == intake.FAILED)
    routed = Counter(created.values_list("department__code", flat=True))
    rows = [("results", ", ".join(f"{status} {number}" for status, number in statuses.most_common())),
            ("entries", f"{created.count()} new ({Correspondence.objects.count()} in the register)"),
            ("attachments", f"{attachments.count()} ({originals} original.eml, {versions.count() - originals} "
                            f"others; {versions.count()} versions)"),
            ("replies linked to their conversation", f"{linked} (the mbox has {replies} replies to earlier "
                                                     f"messages, {made['reply to a message not in the register']} "
                                                     f"to messages the register never saw)"),
            ("parts refused (named in the body, kept in original.eml)", str(refused)),
            ("routed to", ", ".join(f"{code} {number}" for code, number in routed.most_common())),
            ("emails in the locmem outbox", str(len(mail.outbox)))]
    rows += [(f"  FAILED x{number}", reason) for reason, number in failures.most_common(5)]
    return rows


def print_profile(profiler, path):
    profiler.dump_stats(path)
    print(f"\nprofile of the first pass (cProfile; its overhead makes everything slower): {path}")
    prefix = str(Path(wagtail_correspondence.__file__).parent.parent) + "/"
    for sort, restriction, top in (("cumulative", "wagtail_correspondence", 30), ("cumulative", "", 40),
                                   ("tottime", "", 15)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(*([restriction] if restriction else []), top)
        text = out.getvalue()
        print(f"\n-- by {sort}, {'our code' if restriction else 'everything'} --")
        print(text[text.find("   ncalls"):].replace(prefix, "").rstrip())


# Main ----------------------------------------------------------------------------------

def main():
    if settings.EMAIL_BACKEND != "django.core.mail.backends.locmem.EmailBackend":
        sys.exit(f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: this bench runs only with the locmem backend")
    count, block = ARGS.messages, BLOCK if ARGS.messages >= 2 * BLOCK else max(1, ARGS.messages // 4)
    print(f"mail intake bench: {count} messages from one mbox; register starts with {ARGS.start_entries} entries")
    print(f"wagtail_correspondence: {wagtail_correspondence.__file__} (commit "
          f"{scale.commit_of(Path(wagtail_correspondence.__file__).parent)})")
    print(f"database: {scale.database_note()}; machine: {base.machine_note()}")
    print(f"tasks: {settings.TASKS['default']['BACKEND'].rsplit('.', 1)[-1]}; email: locmem", flush=True)

    print("  migrating...", file=sys.stderr, flush=True)
    call_command("migrate", verbosity=0)
    departments, users, categories = base.build_configuration()
    rows = []
    if ARGS.start_entries:
        loader = scale.Loader(scale.EntryFactory(departments, users, categories, timezone.now()))
        started = time.perf_counter()
        row_seconds, index_seconds = loader.load(ARGS.start_entries)
        vacuum = scale.vacuum_analyze()
        rows.append((f"0. bulk load of {ARGS.start_entries} entries", f"{time.perf_counter() - started:.1f} s "
                     f"(rows {row_seconds:.1f} s, index {index_seconds:.1f} s, VACUUM ANALYZE {vacuum:.1f} s)"))

    path = WORK / "inbox.mbox"
    print(f"  writing {count} messages to {path}...", file=sys.stderr, flush=True)
    seconds, made = write_mbox(path, count, timezone.now())
    rows.append((f"1. mbox: {count} messages, {path.stat().st_size / 1e6:.1f} MB, written in {seconds:.1f} s",
                 None))
    rows.append(("made", ", ".join(f"{what} {number}" for what, number in made.most_common())))

    first_pk = Correspondence.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    mail.outbox = []
    profiler = cProfile.Profile() if ARGS.profile else None
    print("  first pass...", file=sys.stderr, flush=True)
    seconds, results, statements, blocks = take_mbox(path, block, profiler)
    rows.append(("2. first pass: take_messages(mbox_items(FILE), user=None), as correspondence_fetch_mail "
                 "--mbox" + (" (UNDER cProfile)" if profiler else ""), None))
    rows += rate_rows(seconds, len(results), blocks, block)
    rows += query_rows(statements, len(results))
    rows += outcome_rows(results, first_pk, made)

    print("  second pass...", file=sys.stderr, flush=True)
    seconds, again, statements, blocks = take_mbox(path, block)
    rows.append(("3. second pass over the same mbox (every message registered already)", None))
    rows += rate_rows(seconds, len(again), blocks, block)
    rows.append(("results", ", ".join(f"{status} {number}" for status, number in
                                      Counter(result.status for result in again).most_common())))
    rows += query_rows(statements, len(again))

    base.print_table(rows)
    if profiler:
        print_profile(profiler, ARGS.profile)
    if ARGS.keep:
        print(f"\nkept: {os.environ['DATABASE_URL']}, the mbox {path}, stored files in "
              f"{settings.STORAGES['letters']['OPTIONS']['location']} and {settings.MEDIA_ROOT}")


def configured_main():
    if not ARGS.run:
        return main()
    configured = getattr(settings, "WAGTAIL_CORRESPONDENCE", {})
    with override_settings(WAGTAIL_CORRESPONDENCE={**configured, "REGISTER": {
            **get_setting("REGISTER"), "INTAKE_RUN": ARGS.run}}):
        return main()


if __name__ == "__main__":
    try:
        configured_main()
    finally:
        connection.close()
        if not ARGS.keep:
            base.cleanup()
            shutil.rmtree(WORK, ignore_errors=True)
            shutil.rmtree(scale.WORK, ignore_errors=True)
            if scale.POSTGRES:
                scale.server_command(f'DROP DATABASE IF EXISTS "{ARGS.database}" WITH (FORCE)')
