"""The correspondence register at large sizes. Prints figures; asserts nothing about time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/register_scale.py \\
        --entries 20000,200000,1000000 [--keep] [--requests 40]
    .venv/bin/python bench/register_scale.py --entries 20000,100000      # SQLite in a temp folder

Other options: ``--database NAME``, ``--batch ROWS`` (bulk-load batch, default 10,000),
``--intake N`` (default 200), ``--deep N`` (API cursor pages followed, default 20),
``--max-minutes M`` (start no further size after M minutes), ``--sweep-once-after SECONDS``,
``--reuse`` (measure again in a database an earlier run kept with ``--keep``: warm caches, no
new load; entries are only added up to the size asked) and ``--pages-only`` (no export, intake
or sweep).

With a PostgreSQL ``DATABASE_URL`` the script makes a database of its own on that server
(``--database``, default ``bench_register_scale``; dropped first if it exists, dropped at the
end unless ``--keep``, which leaves it in place for EXPLAIN and prints its name); without one,
a SQLite file in a temporary folder. It migrates it and builds the setup of bench/register.py
once (imported from there: business calendar, 7 departments with members and supervisors,
categories, 7 SLA policies, 11 routing rules), then for each size, smallest first:

1. bulk load: adds register entries until the register holds that many, without
   ``register_entry`` (no versions, no audit entries): PostgreSQL ``COPY`` (SQLite:
   ``bulk_create``) in batches of ``--batch`` rows, each batch followed by its rows in the
   Wagtail search index (PostgreSQL: one ``INSERT ... SELECT`` computing the same weighted
   vectors as our search backend, checked once against what ``backend.add_bulk`` writes for the
   same rows; SQLite: ``backend.add_bulk``). Reference numbers are reserved from the real
   sequences (``numbering.reserve_block``), so registrations afterwards continue them. (Where
   entries are searched through their own documents, PostgreSQL from migration 0030, they are
   not in Wagtail's index and no index rows are written: PostgreSQL fills the documents.) Then
   ``VACUUM ANALYZE`` (what autovacuum would have done by then). The entries: 3 years of
   ``registered_at`` (open ones mostly from the last days, a few forgotten older ones); about
   60% closed, 28% responded, the rest registered / assigned / in progress / awaiting the
   customer; departments uneven (Complaints, the officer's, about 15%); inbound 75%, outbound
   20%, internal 5%; deadlines from the SLA policies' budgets (so some open entries overdue,
   and the ones awaiting the customer paused); 2% strictly confidential; subjects and bodies
   from a vocabulary where "refund" appears in about 2% of entries; 50,000 customers plus
   organisations; some entries assigned to or registered by the officer; 8% of inbound mail a
   reply in a conversation (``in_reply_to``, ``thread_root``; first entries have NULL there,
   as ``register_entry`` leaves it).
2. pages through Django's test client (DEBUG off), as an officer of Complaints (department
   scope, no view_all) and as a supervisor (view_all): the admin register list (first page,
   ``?q=refund``, ``?deadline=overdue``, the last page ``?p=``), the API list (first page,
   ``?q=refund``, ``?department=complaints``, the deepest numbered page ``?offset=`` (near the
   end, or at ``EXACT_COUNT_LIMIT`` where numbered pages stop there), and, if the API answers
   with ``cursor`` links, the page reached by following ``next`` a few pages deep) and the
   dashboard ``/admin/`` (its counts kept per scope as configured, and with none kept,
   ``DASHBOARD_CACHE_SECONDS`` 0, as on the first look of a scope in an hour: the page, then
   the volumes' own request its script sends, which counts):
   one warm-up request, then ``--requests`` timed ones (median / p95,
   nearest rank), and the SQL queries of one more request. Any status but 200
   is printed loudly and the page is not timed. Then the scheduler's ``dashboard-volumes``
   job, counting again the two scopes just looked at.
3. the CSV export of the register (``?export=csv`` on the admin list) as the supervisor, once:
   time, rows in the file (the streaming content is read to the end) and how much the peak
   resident memory of this process grew (Linux: peak reset through /proc/self/clear_refs
   before; else getrusage's lifetime peak, which may hide the growth).
4. intake: 200 entries through ``services.register.register_entry`` exactly as bench/register.py
   registers them (same mix, as the mail-room officer; search and reference index updates
   run inside each registration under the test settings' immediate task backend); entries/s.
   Then ``--intake-runs`` entries (default 2,000) of the same mix through
   ``register_entries`` in runs of 100, as mail intake registers a mailbox: entries/s and
   statements per entry.
5. ``services.sla.sweep()`` over the open entries (locmem email), twice: the first creates and
   sends every notice reached (at the first size that is the whole backlog, later the new
   entries'), the second is the steady state of a periodic sweep. When the first takes over
   ``--sweep-once-after`` seconds (default 300) the second is skipped, and that is printed.

The last output is one table: pages (officer and supervisor) by size, each cell ``median / p95
ms (queries)``, followed by load, export, intake and sweep lines. Measure the code of a
commit by running the script with ``PYTHONPATH=<checkout>:<checkout>/site``: the package that
was imported is printed first.
"""

import argparse
import datetime
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def parse_sizes(text):
    sizes = []
    for part in text.replace("_", "").split(","):
        part = part.strip().lower()
        if not part:
            continue
        factor = 1
        if part[-1] in "km":
            factor = 1000 if part[-1] == "k" else 1_000_000
            part = part[:-1]
        sizes.append(int(float(part) * factor))
    return sorted(set(sizes))


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", "--sizes", dest="sizes", default="20000,200000",
                        help="register sizes to measure, comma-separated, e.g. 20000,200000,1000000 (or 20k,1M)")
    # A p95 by nearest rank needs twenty or more requests: of twelve it is the slowest one.
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page (default 40)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database (PostgreSQL) or the SQLite folder afterwards")
    parser.add_argument("--database", default="bench_register_scale",
                        help="name of the throwaway PostgreSQL database (default bench_register_scale)")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per bulk-load batch (default 10000)")
    parser.add_argument("--intake", type=int, default=200, help="entries registered through register_entry per size")
    parser.add_argument("--intake-runs", type=int, default=2000,
                        help="entries registered through register_entries, in runs of 100, per size")
    parser.add_argument("--deep", type=int, default=20, help="API pages followed through 'next' cursor links")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="start no further size once this many minutes have passed (default: no limit)")
    parser.add_argument("--sweep-once-after", type=float, default=300,
                        help="skip the second sweep when the first took longer (seconds, default 300)")
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL: measure again in a database kept by --keep (no drop, no new setup; "
                             "only missing entries are loaded)")
    parser.add_argument("--pages-only", action="store_true", help="measure the pages only: no export, intake or sweep")
    return parser.parse_args()


ARGS = arguments()
SIZES = parse_sizes(ARGS.sizes)

# The database: a throwaway PostgreSQL database on the server of DATABASE_URL, else SQLite.
WORK = Path(tempfile.mkdtemp(prefix="correspondence-bench-register-scale-"))
GIVEN_URL = os.environ.get("DATABASE_URL", "")
POSTGRES = GIVEN_URL.startswith(("postgres://", "postgresql://"))
SERVER_URL = None
if POSTGRES:
    parts = urlsplit(GIVEN_URL)
    SERVER_URL = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    os.environ["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{ARGS.database}", parts.query, ""))
elif GIVEN_URL:
    sys.exit("DATABASE_URL must be a postgres:// URL (the script makes its own database there), or unset for SQLite")
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{WORK}/bench.sqlite3"


def server_command(sql):
    import psycopg

    with psycopg.connect(SERVER_URL.replace("postgresql://", "postgres://", 1), autocommit=True) as server:
        server.execute(sql)


if ARGS.reuse and not POSTGRES:
    sys.exit("--reuse needs a PostgreSQL DATABASE_URL (the SQLite file of a run is a temporary folder)")
if POSTGRES and not ARGS.reuse:
    server_command(f'DROP DATABASE IF EXISTS "{ARGS.database}" WITH (FORCE)')
    server_command(f'CREATE DATABASE "{ARGS.database}"')

# The site and the package: whatever PYTHONPATH names comes first (a frozen checkout), then
# this checkout's site/ and root, as bench/register.py adds them.
_given = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
_at = min(len(sys.path), 1 + len(_given))
sys.path[_at:_at] = [str(ROOT / "site"), str(ROOT)]
os.environ["DJANGO_SETTINGS_MODULE"] = "correspondence_site.settings.test"

import django  # noqa: E402

django.setup()

import wagtail_correspondence  # noqa: E402

# bench/register.py prepends this checkout to sys.path and calls django.setup() when imported;
# everything it imports is loaded already (from where PYTHONPATH said), and the path is put back.
_path = list(sys.path)
sys.path.insert(0, str(HERE))
import register as base  # noqa: E402

sys.path[:] = _path

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from wagtail_correspondence.conf import get_setting  # noqa: E402
from wagtail_correspondence.models import (  # noqa: E402
    OPEN_STATUSES,
    Confidentiality,
    Correspondence,
    DashboardVolumes,
    Direction,
    Kind,
    Priority,
    RegisterChannel,
    SlaNotice,
    SlaPolicy,
    Source,
    Status,
)
from wagtail_correspondence.permissions import register_entry_policy  # noqa: E402
from wagtail_correspondence.services import numbering, register_volumes  # noqa: E402
from wagtail_correspondence.services.calendar import calendar_for  # noqa: E402
from wagtail_correspondence.services.sla import EffectiveSla  # noqa: E402

SEED = 2027
PAGE = 50  # rows per page of the admin list and of the API

# Vocabulary -----------------------------------------------------------------------------

# (kind, subject); none contains "refund": those are REFUND_SUBJECTS, drawn for ~2% of entries.
SUBJECTS = [
    (Kind.LETTER, "Question about my home insurance cover"), (Kind.EMAIL, "Change of address"),
    (Kind.COMPLAINT, "Complaint about the handling of my claim"), (Kind.INVOICE, "Invoice for the repair of the car"),
    (Kind.EMAIL, "Direct debit mandate"), (Kind.LETTER, "GDPR request: right of access to my personal data"),
    (Kind.LEGAL, "Summons to appear"), (Kind.LETTER, "Formal notice on behalf of our client"),
    (Kind.EMAIL, "This is unacceptable: third reminder without an answer"),
    (Kind.INQUIRY, "Which documents do you need for a new claim?"), (Kind.LETTER, "Declaration of water damage"),
    (Kind.EMAIL, "Payment plan for the outstanding balance"), (Kind.INQUIRY, "Green card for a trip abroad"),
    (Kind.EMAIL, "Sponsoring proposal for the 20 km"), (Kind.LETTER, "Cancellation of my car insurance"),
    (Kind.EMAIL, "New policy for a second car"), (Kind.LETTER, "Storm damage to the roof"),
    (Kind.INQUIRY, "Certificate of no claims for my new insurer"), (Kind.EMAIL, "Question about the premium increase"),
    (Kind.EMAIL, "Broken windscreen"), (Kind.LETTER, "Burglary at my home last weekend"),
    (Kind.EMAIL, "Update of my bank details"), (Kind.INQUIRY, "Travel insurance for a skiing holiday"),
    (Kind.LETTER, "Medical expenses after an accident"), (Kind.EMAIL, "Copy of my contract, please"),
    (Kind.NOTICE, "Reminder: late payment"), (Kind.LEGAL, "Letter from the bailiff"),
    (Kind.LETTER, "Expert report on the damage"), (Kind.COMPLAINT, "Complaint about a rude phone call"),
    (Kind.NOTICE, "Renewal notice of the fire policy"), (Kind.COMPLAINT, "Dissatisfied with the expert's visit"),
    (Kind.INVOICE, "Invoice of the towing service"), (Kind.MEMO, "Internal: handover of open files"),
    (Kind.OTHER, "Documents for file"), (Kind.EMAIL, "Accident report form attached"),
    (Kind.LETTER, "Theft of my bicycle"),
]
REFUND_SUBJECTS = [
    (Kind.COMPLAINT, "Complaint: my refund was refused"), (Kind.EMAIL, "Still waiting for my refund"),
    (Kind.LETTER, "Request for a refund of the premium"), (Kind.EMAIL, "Refund of the overpaid premium"),
]
SENTENCES = [
    "Dear Sir or Madam,", "I am writing about my file.", "I have tried to call several times.",
    "I would appreciate an answer in writing.", "Please find my details below.", "Kind regards.",
    "The damage happened on a Sunday evening.", "My neighbour can confirm what happened.",
    "I attach the photos and the estimate of the garage.", "Could you tell me which documents are missing?",
    "This is the second letter I send about this matter.", "The expert has not contacted me yet.",
    "Our client disputes the amount claimed.", "We reserve all rights.", "Please confirm receipt of this letter.",
    "I moved to a new address last month.", "The policy number is on the first page.",
    "My bank statement shows the payment twice.", "I would like to speak to someone in charge.",
    "Thank you in advance for your help.", "The invoice is enclosed for your records.",
    "Without an answer within fifteen days we will take further steps.",
]
REFUND_SENTENCE = "I ask for the refund of the amount paid too much."
FIRST = ["Anne", "Bart", "Chloé", "David", "Els", "Farid", "Greet", "Hugo", "Ines", "Jan", "Karim", "Lotte",
         "Marc", "Nina", "Olivier", "Pieter", "Quentin", "Rita", "Sofie", "Tom", "Ugo", "Vera", "Wim", "Yasmine",
         "Zoé", "Luc", "Marie", "Noah", "Emma", "Lucas"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
        "Dubois", "Lambert", "Dupont", "Martin", "Leroy", "Simon", "Laurent", "Lefebvre", "Michel", "Hermans",
        "Aerts", "Smets", "Bosmans", "Vermeulen", "Pauwels", "Segers", "Lemmens", "Coppens", "Declercq", "Verhoeven"]
CUSTOMERS = 50_000
DEPARTMENT_SHARES = [("customer-service", 30), ("complaints", 15), ("billing", 20), ("claims", 16), ("legal", 10),
                     ("litigation", 5), ("marketing", 4)]
WORKERS = {"complaints": ["officer", "officer", "officer2", "officer3"], "billing": ["agent"],
           "claims": ["claims-handler", "officer2"], "legal": ["lawyer"], "litigation": ["lawyer"],
           "customer-service": ["supervisor"], "marketing": []}
STATUS_SHARES = [(Status.CLOSED, 600), (Status.RESPONDED, 280), (Status.REGISTERED, 25), (Status.ASSIGNED, 35),
                 (Status.IN_PROGRESS, 40), (Status.AWAITING_CUSTOMER, 20)]
CHANNELS = [(RegisterChannel.EMAIL, 45), (RegisterChannel.POST, 30), (RegisterChannel.PORTAL, 15),
            (RegisterChannel.PHONE, 5), (RegisterChannel.API, 5)]
SOURCE_OF = {RegisterChannel.EMAIL: Source.MAILBOX, RegisterChannel.PORTAL: Source.PORTAL,
             RegisterChannel.API: Source.API}
YEARS = 3


def weighted(pairs):
    values, weights = zip(*pairs)
    return list(values), list(weights)


# The bulk load --------------------------------------------------------------------------

class EntryFactory:
    """Register rows as dicts of column values (attname → value), deterministic per id."""

    def __init__(self, departments, users, categories, now):
        self.now = now
        self.departments = {code: department.pk for code, department in departments.items()}
        self.users = {name: user.pk for name, user in users.items()}
        self.categories = categories
        self.category_ids = [category.pk for category in categories.values()]
        self.department_codes, self.department_weights = weighted(DEPARTMENT_SHARES)
        self.statuses, self.status_weights = weighted(STATUS_SHARES)
        self.channels, self.channel_weights = weighted(CHANNELS)
        policies = {policy.name: policy for policy in SlaPolicy.objects.all()}
        calendar = calendar_for(departments["customer-service"])
        self.day_seconds = calendar.day_seconds
        self.policies = {name: (policy.pk, EffectiveSla.of(policy).budget_seconds(calendar))
                         for name, policy in policies.items()}
        # The policy register_entry would pick (sla.policy_for): the nearest category with one.
        own = {"complaints": "Complaints", "claims": "Claims", "legal": "Legal", "legal-gdpr": "GDPR data request"}
        self.category_policy = {}
        for category in categories.values():
            nearest = next((own[node.code] for node in category.lineage() if node.code in own), None)
            self.category_policy[category.pk] = nearest or "Standard response"
        self.json_columns = {field.attname for field in Correspondence._meta.concrete_fields
                             if field.get_internal_type() == "JSONField"}

    def customer(self, number):
        first, last = FIRST[number % len(FIRST)], LAST[(number // len(FIRST)) % len(LAST)]
        email = f"{first.lower()}.{last.lower().replace(' ', '')}{number % 97}@mail.example".replace("é", "e")
        return f"C-{100000 + number}", f"{first} {last}", email

    def row(self, rng, pk, replies_to):
        now = self.now
        refund = rng.random() < 0.02
        kind, subject = rng.choice(REFUND_SUBJECTS if refund else SUBJECTS)
        roll = rng.random()
        direction = Direction.INBOUND if roll < 0.75 else Direction.OUTBOUND if roll < 0.95 else Direction.INTERNAL
        if direction == Direction.INTERNAL:
            kind = Kind.MEMO
        department_code = rng.choices(self.department_codes, self.department_weights)[0]
        status = rng.choices(self.statuses, self.status_weights)[0]
        open_ = status in OPEN_STATUSES
        if direction == Direction.OUTBOUND and open_:
            status, open_ = Status.CLOSED, False  # letters that went out are done
        # When: 3 years for the finished ones; open ones are mostly recent, a few forgotten.
        if open_ and rng.random() < 0.97:
            age = datetime.timedelta(days=min(rng.expovariate(1 / 4), 365))
        else:
            age = datetime.timedelta(seconds=rng.random() * YEARS * 365 * 86400)
        registered_at = now - age
        channel = rng.choices(self.channels, self.channel_weights)[0]
        if direction == Direction.INBOUND:
            delay = rng.random() * (2 * 86400 if channel == RegisterChannel.POST else 600)
            received_at, sent_at = registered_at - datetime.timedelta(seconds=delay), None
        elif direction == Direction.OUTBOUND:
            received_at, sent_at = None, registered_at
        else:
            received_at, sent_at, channel = registered_at, None, RegisterChannel.INTERNAL
        body_sentences = rng.sample(SENTENCES, rng.randint(2, 5))
        if refund:
            body_sentences.insert(1, REFUND_SENTENCE)
        row = {
            "id": pk, "uuid": uuid.UUID(int=rng.getrandbits(128), version=4), "reference": None,
            "direction": direction, "kind": kind, "channel": channel,
            "subject": f"{subject} ({rng.randint(100000, 999999)})", "body": " ".join(body_sentences),
            "received_at": received_at, "sent_at": sent_at, "registered_at": registered_at,
            "status": status, "source": SOURCE_OF.get(channel, Source.ADMIN),
            "department_id": self.departments[department_code],
        }
        # Who: customers mostly, organisations sometimes; the other party of outbound mail.
        if rng.random() < 0.15:
            organisation, email = rng.choice(base.SENDERS)
            row.update(sender_organisation=organisation, sender_email=email, sender_name="Secretariat")
        else:
            customer_id, name, email = self.customer(rng.randrange(CUSTOMERS))
            row.update(sender_name=name, sender_email=email, customer_id=customer_id)
        if direction == Direction.OUTBOUND:
            row["recipients"] = [{"name": row.get("sender_name", ""), "organisation": row.get("sender_organisation", ""),
                                  "email": row.get("sender_email", ""), "address": "", "phone": ""}]
            row.update(sender_name="Northwind Insurance", sender_organisation="", sender_email="")
        if rng.random() < 0.3:
            row["category_id"] = rng.choice(self.category_ids)
        roll = rng.random()
        priority = Priority.NORMAL if roll < 0.85 else Priority.HIGH if roll < 0.93 else \
            Priority.LOW if roll < 0.98 else Priority.URGENT
        row["priority"] = priority
        roll = rng.random()
        row["confidentiality"] = Confidentiality.SECRET if roll < 0.02 else \
            Confidentiality.CONFIDENTIAL if roll < 0.10 else Confidentiality.INTERNAL
        # Who works it.
        workers = WORKERS[department_code]
        assignee = None
        if status != Status.REGISTERED and workers and rng.random() < (1.0 if status in OPEN_STATUSES else 0.85):
            assignee = rng.choice(workers)
        elif rng.random() < 0.005:
            assignee = "officer"  # a few entries of other departments handed to the officer
        if assignee is None and status in (Status.ASSIGNED, Status.IN_PROGRESS):
            status = Status.REGISTERED
            row["status"] = status
        row["assignee_id"] = self.users[assignee] if assignee else None
        roll = rng.random()
        row["created_by_id"] = self.users["officer" if roll < 0.01 else "agent" if roll < 0.03 else "mailroom"]
        # Conversations: some inbound mail answers an earlier entry of this batch.
        if direction == Direction.INBOUND and replies_to and rng.random() < 0.08:
            parent, root = rng.choice(replies_to)
            row.update(in_reply_to_id=parent, thread_root_id=root)
        # Deadlines (not for outbound mail, as register_entry).
        if direction != Direction.OUTBOUND:
            if priority == Priority.URGENT:
                name = "Urgent"
            elif priority == Priority.HIGH:
                name = "High priority"
            else:
                name = self.category_policy.get(row.get("category_id"), "Standard response")
            policy_id, budget = self.policies[name]
            start = received_at
            calendar_days = budget / self.day_seconds * 7 / 5
            due_at = start + datetime.timedelta(days=calendar_days)
            row.update(sla_policy_id=policy_id, sla_started_at=start, sla_budget_seconds=budget, due_at=due_at)
            if status == Status.AWAITING_CUSTOMER:
                row["sla_paused_at"] = start + (now - start) * rng.uniform(0.2, 0.9)
        if not open_:
            start = received_at or sent_at
            if row.get("due_at"):
                done = min(now, start + (row["due_at"] - start) * rng.uniform(0.3, 1.4))
            else:
                done = min(now, start + datetime.timedelta(hours=rng.uniform(0, 4)))
            row["responded_at"] = done
            if status == Status.CLOSED:
                row["closed_at"] = min(now, done + datetime.timedelta(hours=rng.uniform(0, 72)))
                row["resolution"] = "Answered in writing." if rng.random() < 0.5 else ""
        row["updated_at"] = row.get("closed_at") or row.get("responded_at") or registered_at
        return row


class Loader:
    """Adds rows in batches, with their search index rows; keeps nothing between batches."""

    def __init__(self, factory):
        self.factory = factory
        self.rng = random.Random(SEED)
        self.fields = [field for field in Correspondence._meta.concrete_fields]
        self.columns = [field.column for field in self.fields]
        self.defaults = {}
        for field in self.fields:
            default = field.get_default() if field.has_default() else (None if field.null else "")
            self.defaults[field.attname] = default
        self.patterns = get_setting("REGISTER")["REFERENCE_PATTERNS"]
        try:  # entries searched through their own documents are not in Wagtail's index
            from wagtail_correspondence.search_backend import document_search_available
        except ImportError:  # code from before migration 0030
            self.indexed = True
        else:
            self.indexed = not document_search_available()
        self.index_sql = self._index_sql() if POSTGRES and self.indexed else None
        self.checked_index = False

    # Search index -----------------------------------------------------------------------

    def _index_sql(self):
        """INSERT ... SELECT writing the index rows our backend writes for these entries: the
        same vectors (weights and configs from the search fields), texts and title_norm.
        None (then backend.add_bulk is used) if a search field is not a plain column."""
        from modelsearch.backends.database.postgres.postgres import IndexEntry
        from modelsearch.backends.database.postgres.weights import get_weight
        from modelsearch.index import AutocompleteField, FilterField, SearchField
        from modelsearch.utils import get_content_type_pk
        from wagtail.search.backends import get_search_backend

        backend = get_search_backend()
        title, body, autocomplete = [], [], []
        for search_field in Correspondence.get_search_fields():
            if isinstance(search_field, FilterField):
                continue
            try:
                column = Correspondence._meta.get_field(search_field.field_name).column
            except Exception:  # noqa: BLE001 - a method or a related field: not a column
                return None
            if isinstance(search_field, SearchField):
                (title if search_field.field_name == "title" else body).append(
                    (column, get_weight(search_field.boost)))
            elif isinstance(search_field, AutocompleteField):
                autocomplete.append((column, "D"))
            else:
                return None

        def vector(items, config):
            if not items:
                return "to_tsvector('')"
            config_sql = f"'{config}'::regconfig, " if config else ""
            return " || ".join(f"setweight(to_tsvector({config_sql}c.{column}), '{weight}')"
                               for column, weight in items)

        def text(items):
            if not items:
                return "''"
            return "concat_ws(' ', " + ", ".join(f"NULLIF(btrim(c.{column}), '')" for column, _w in items) + ")"

        table = Correspondence._meta.db_table
        return (f"INSERT INTO {IndexEntry._meta.db_table} (content_type_id, object_id, title, autocomplete, body, "
                f"title_norm, title_text, body_text) SELECT {get_content_type_pk(Correspondence)}, c.id::text, "
                f"{vector(title, backend.config)}, {vector(autocomplete, backend.autocomplete_config)}, "
                f"{vector(body, backend.config)}, 1.0, {text(title)}, {text(body)} "
                f"FROM {table} c WHERE c.id BETWEEN %s AND %s")

    def check_index(self, first, last):
        """The index rows written by SQL against what the backend writes for the same entries."""
        from modelsearch.backends.database.postgres.postgres import IndexEntry
        from modelsearch.utils import get_content_type_pk
        from wagtail.search.backends import get_search_backend

        ids = [str(pk) for pk in random.Random(1).sample(range(first, last + 1), min(25, last - first + 1))]
        query = (f"SELECT object_id, title::text, autocomplete::text, body::text, title_norm, title_text, body_text "
                 f"FROM {IndexEntry._meta.db_table} WHERE content_type_id = %s AND object_id = ANY(%s) "
                 f"ORDER BY object_id")
        content_type = get_content_type_pk(Correspondence)
        with connection.cursor() as cursor:
            cursor.execute(query, [content_type, ids])
            ours = cursor.fetchall()
            get_search_backend().add_bulk(Correspondence, list(Correspondence.objects.filter(pk__in=ids)))
            cursor.execute(query, [content_type, ids])
            theirs = cursor.fetchall()
        same = sum(1 for mine, backend in zip(ours, theirs) if mine == backend)
        if same == len(ids) == len(theirs):
            print(f"  search index: the {same} sampled rows written by SQL are the same as backend.add_bulk writes")
        else:
            print(f"  !!! search index: only {same} of {len(ids)} sampled rows are the same as backend.add_bulk "
                  f"writes ({len(ours)} / {len(theirs)} rows)")
            for mine, backend in zip(ours, theirs):
                if mine != backend:
                    print(f"  !!! ours:    {mine}\n  !!! backend: {backend}")
                    break

    # Loading ----------------------------------------------------------------------------

    def references(self, rows):
        """Reserve numbers from the real sequences (per direction and year) and hand them out."""
        wanted = {}
        for row in rows:
            key = (row["direction"], timezone.localtime(row["registered_at"]).year)
            wanted[key] = wanted.get(key, 0) + 1
        next_numbers = {}
        for (direction, year), count in wanted.items():
            next_numbers[(direction, year)] = numbering.reserve_block(
                self.patterns[direction], count, when=datetime.date(year, 6, 1))
        for row in rows:
            key = (row["direction"], timezone.localtime(row["registered_at"]).year)
            row["reference"] = numbering.block_reference(self.patterns[key[0]], next_numbers[key],
                                                         datetime.date(key[1], 6, 1))
            next_numbers[key] += 1

    def batch(self, first, count):
        rows, replies_to = [], []
        for pk in range(first, first + count):
            row = self.factory.row(self.rng, pk, replies_to)
            rows.append(row)
            if row["direction"] == Direction.INBOUND and len(replies_to) < 2000:
                replies_to.append((pk, row.get("thread_root_id") or pk))
        self.references(rows)
        return rows

    def write_postgres(self, rows):
        import json

        table = Correspondence._meta.db_table
        columns = ", ".join(f'"{column}"' for column in self.columns)
        attnames = [field.attname for field in self.fields]
        json_columns = self.factory.json_columns
        defaults = {name: (json.dumps(value) if name in json_columns else value)
                    for name, value in self.defaults.items()}
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(row[name]) if name in json_columns and name in row
                                    else row[name] if name in row else defaults[name] for name in attnames])

    def write_sqlite(self, rows):
        entries = []
        for row in rows:
            values = {name: (value() if callable(value) else value) for name, value in self.defaults.items()}
            values.update(row)
            entries.append(Correspondence(**values))
        Correspondence.objects.bulk_create(entries, batch_size=1000)
        return entries

    def load(self, count):
        """Add ``count`` entries; returns seconds for rows and for the index."""
        from wagtail.search.backends import get_search_backend

        table = Correspondence._meta.db_table
        first = (Correspondence.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        row_seconds = index_seconds = 0.0
        done = 0
        if POSTGRES:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
                cursor.execute("SET work_mem TO '256MB'")
                cursor.execute("SET gin_pending_list_limit TO '64MB'")
        started = time.perf_counter()
        try:
            while done < count:
                size = min(ARGS.batch, count - done)
                batch_started = time.perf_counter()
                with transaction.atomic():
                    rows = self.batch(first + done, size)
                    if POSTGRES:
                        self.write_postgres(rows)
                        del rows
                        rows_done = time.perf_counter()
                        if not self.indexed:
                            pass
                        elif self.index_sql:
                            with connection.cursor() as cursor:
                                cursor.execute(self.index_sql, [first + done, first + done + size - 1])
                        else:
                            get_search_backend().add_bulk(Correspondence, list(
                                Correspondence.objects.filter(pk__range=(first + done, first + done + size - 1))))
                    else:
                        entries = self.write_sqlite(rows)
                        del rows
                        rows_done = time.perf_counter()
                        get_search_backend().add_bulk(Correspondence, entries)
                        del entries
                row_seconds += rows_done - batch_started
                index_seconds += time.perf_counter() - rows_done
                if POSTGRES and self.index_sql and not self.checked_index:
                    self.check_index(first + done, first + done + size - 1)
                    self.checked_index = True
                done += size
                elapsed = time.perf_counter() - started
                print(f"    loaded {done}/{count} ({done / elapsed:.0f} rows/s)", file=sys.stderr, flush=True)
        finally:
            if POSTGRES:
                with connection.cursor() as cursor:
                    cursor.execute("RESET synchronous_commit")
                    cursor.execute("RESET work_mem")
                    cursor.execute("RESET gin_pending_list_limit")
        if POSTGRES:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        return row_seconds, index_seconds


def vacuum_analyze():
    from modelsearch.backends.database.postgres.postgres import IndexEntry

    started = time.perf_counter()
    with connection.cursor() as cursor:
        if POSTGRES:
            for table in (Correspondence._meta.db_table, IndexEntry._meta.db_table):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


# Measuring -----------------------------------------------------------------------------

def nearest_rank(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def rows_of(response):
    if response.get("Content-Type", "").startswith("application/json"):
        data = response.json()
        return len(data.get("results", [])) if isinstance(data, dict) else len(data)
    return response.content.count(b'data-entry="')


def get(client, url):
    """(response, None) or (None, 'ExceptionName: message') when the view raised."""
    try:
        return client.get(url), None
    except Exception as exc:  # noqa: BLE001 - a page that fails is a finding, not the end of the run
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def measure(client, url, requests):
    response, error = get(client, url)  # warm-up
    if error or response.status_code != 200:
        status = error or f"HTTP {response.status_code}"
        print(f"  !!!!! {url}: {status} !!!!!", flush=True)
        return {"status": status, "url": url}
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    database_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000
    return {"status": response.status_code, "url": url, "median": statistics.median(timings),
            "p95": nearest_rank(timings, 0.95), "slowest": max(timings), "queries": len(captured.captured_queries),
            "database_ms": database_ms, "rows": rows_of(response)}


def api_late_url(client, base_url):
    """A late page of the API: follow ``next`` when it is a cursor link, else ``?offset=``."""
    response, error = get(client, base_url)
    if error or response.status_code != 200:
        return base_url, f"first page failed: {error or response.status_code}"
    data = response.json()
    following = data.get("next")
    if following and "cursor=" in following:
        url, depth = following, 2
        while depth < ARGS.deep:
            page, error = get(client, url)
            if error or page.status_code != 200 or not page.json().get("next"):
                break
            url, depth = page.json()["next"], depth + 1
        return url, f"cursor, page {depth} through next links"
    count = data.get("count")
    if count is None:
        return f"{base_url}?offset=0", "no count and no cursor: offset 0"
    offset = max(0, count - PAGE)
    return f"{base_url}?offset={offset}", f"offset {offset} of {count}"


def rss_kb(field):
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def measure_export(client, url):
    reset = reset_peak()
    rss_before = rss_kb("VmRSS")
    lifetime_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    lines = size = 0
    background = None
    with CaptureQueriesContext(connection) as captured:
        response, error = get(client, url)
        if not error and response.status_code == 302 and "/exports/" in response["Location"]:
            # A large list is exported by a task (under the test settings' immediate backend,
            # within the request): the file it stored is what is measured.
            background = latest_background_export(client)
        elif error or response.status_code != 200:
            status = error or f"HTTP {response.status_code}"
            print(f"  !!!!! export {url}: {status} !!!!!", flush=True)
            return {"status": status}
        if background is not None:
            lines, size = background
        elif response.streaming:
            for chunk in response.streaming_content:
                chunk = chunk.encode() if isinstance(chunk, str) else chunk
                lines += chunk.count(b"\n")
                size += len(chunk)
        else:
            lines, size = response.content.count(b"\n"), len(response.content)
        response.close()
    seconds = time.perf_counter() - started
    if reset and rss_before is not None:
        growth, how = rss_kb("VmHWM") - rss_before, "peak RSS over RSS before (clear_refs)"
    else:
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - lifetime_before
        how = "growth of the lifetime max RSS (getrusage)"
    return {"status": 200, "seconds": seconds, "rows": max(0, lines - 1), "bytes": size, "growth_mb": growth / 1024,
            "how": how, "queries": len(captured.captured_queries),
            "streaming": "background task" if background is not None else response.streaming}


def latest_background_export(client):
    """(lines, bytes) of the newest background export, read back through its download."""
    from wagtail_correspondence.models import RegisterExport

    export = RegisterExport.objects.order_by("-pk").first()
    if export is None or export.status != "done":
        print(f"  !!!!! background export: {export and export.status} {export and export.error} !!!!!", flush=True)
        return 0, 0
    response = client.get(reverse("wagtail_correspondence_register:export_download", args=[export.pk]))
    lines = size = 0
    for chunk in response.streaming_content if response.streaming else [response.content]:
        lines += chunk.count(b"\n")
        size += len(chunk)
    return lines, size


def pages_for(user, code, label):
    """(name, url) of the pages measured for a user; the late pages from the user's counts."""
    admin_list = reverse("correspondence_register_entries_modeladmin_index")
    api_list = reverse("wagtail_correspondence_api:correspondence-list")
    visible = register_entry_policy.scope(user, "view", Correspondence.objects.all()).count()
    last_page = max(1, math.ceil(visible / PAGE))
    # Where lists count only up to EXACT_COUNT_LIMIT, the admin offers pages up to there.
    cap = get_setting("REGISTER").get("EXACT_COUNT_LIMIT")
    if cap:
        last_page = min(last_page, max(1, math.ceil(cap / PAGE)))
    return visible, [
        ("admin list", admin_list),
        ("admin ?q=refund", f"{admin_list}?q=refund"),
        ("admin ?deadline=overdue", f"{admin_list}?deadline=overdue"),
        ("admin last page", f"{admin_list}?p={last_page}"),
        ("api list", api_list),
        ("api ?q=refund", f"{api_list}?q=refund"),
        (f"api ?department={code}", f"{api_list}?department={code}"),
        ("api late page", None),  # worked out from the first page's answer
        # Numbered pages reach EXACT_COUNT_LIMIT entries (the cursor links go further).
        ("api ?offset= deepest", f"{api_list}?offset={max(0, min(visible, cap or visible) - PAGE)}"),
        ("dashboard /admin/", "/admin/"),  # its counts kept per scope (DASHBOARD_CACHE_SECONDS)
        # Nothing kept (the first look of a scope in a while): the page, which does not count,
        # and the volumes' own request that its script then sends, which counts.
        ("dashboard counted", "/admin/"),
        ("dashboard volumes counted", reverse("wagtail_correspondence_register:dashboard_volumes")),
    ]


# Reporting ------------------------------------------------------------------------------

def ms(seconds):
    return f"{seconds * 1000:.0f}"


def commit_of(path):
    try:
        return subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def database_note():
    if not POSTGRES:
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}, {connection.settings_dict['NAME']}"
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        version = cursor.fetchone()[0].split(",")[0]
    return f"{version}, database {connection.settings_dict['NAME']}"


def measure_size(size, users, categories, officer_code, results):
    figures = results[size] = {"pages": {}, "notes": []}
    officer, supervisor = users["officer"], users["supervisor"]
    for label, user in (("officer", officer), ("supervisor", supervisor)):
        client = Client(HTTP_HOST="testserver")
        client.force_login(user)
        visible, pages = pages_for(user, officer_code, label)
        figures["notes"].append(f"{label} sees {visible} entries")
        for name, url in pages:
            if url is None:
                url, how = api_late_url(client, reverse("wagtail_correspondence_api:correspondence-list"))
                name = f"{name}"
                figures["notes"].append(f"{label}, api late page: {how}")
            if name in ("dashboard counted", "dashboard volumes counted"):  # nothing kept, as on a first look
                with override_settings(WAGTAIL_CORRESPONDENCE={**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}),
                                                               "REGISTER": {**get_setting("REGISTER"),
                                                                            "DASHBOARD_CACHE_SECONDS": 0}}):
                    page = measure(client, url, ARGS.requests)
            else:
                page = measure(client, url, ARGS.requests)
            figures["pages"][(label, name)] = page
            if "median" in page:
                print(f"  {label:10} {name:28} {ms(page['median']):>6} / {ms(page['p95']):>6} ms "
                      f"(slowest {ms(page['slowest'])}), "
                      f"{page['queries']:3} queries ({page['database_ms']:.0f} ms in the database), "
                      f"{page['rows']} rows  {url}", flush=True)
            else:
                print(f"  {label:10} {name:28} FAILED: {page['status']}  {url}", flush=True)

    # The scheduler's job that keeps the dashboards' counts ready: the two scopes just looked
    # at, their counts made old.
    DashboardVolumes.objects.update(counted_at=timezone.now() - datetime.timedelta(hours=1))
    started = time.perf_counter()
    outcome = register_volumes.refresh_watched()
    figures["dashboard_job"] = time.perf_counter() - started
    print(f"  dashboard-volumes job: {outcome} in {figures['dashboard_job'] * 1000:.0f} ms", flush=True)

    if ARGS.pages_only:
        return

    # Export, as the supervisor.
    client = Client(HTTP_HOST="testserver")
    client.force_login(supervisor)
    export_url = reverse("correspondence_register_entries_modeladmin_index") + "?export=csv"
    print("  exporting...", file=sys.stderr, flush=True)
    export = figures["export"] = measure_export(client, export_url)
    if export["status"] == 200:
        how = export["streaming"]
        how = how if isinstance(how, str) else "streamed" if how else "NOT streamed"
        print(f"  export (supervisor, CSV): {export['seconds']:.1f} s, {export['rows']} rows, "
              f"{export['bytes'] / 1e6:.1f} MB, {how}, "
              f"memory +{export['growth_mb']:.0f} MB ({export['how']}), {export['queries']} queries", flush=True)

    # Intake, as bench/register.py.
    print("  registering...", file=sys.stderr, flush=True)
    seconds, samples, _blocks, people = base.intake(ARGS.intake, users["mailroom"], categories)
    per_entry = [len(sample) for sample in samples]
    figures["intake"] = {"seconds": seconds, "count": ARGS.intake,
                         "queries": statistics.mean(per_entry) if per_entry else None}
    print(f"  intake: {ARGS.intake} x register_entry in {seconds:.1f} s, {ARGS.intake / seconds:.1f} entries/s"
          + (f", {statistics.mean(per_entry):.1f} queries per registration" if per_entry else ""), flush=True)
    print("  registering in runs...", file=sys.stderr, flush=True)
    seconds, statements, database = base.intake_in_runs(ARGS.intake_runs, users["mailroom"], categories)
    figures["intake_runs"] = {"seconds": seconds, "count": ARGS.intake_runs, "queries": statements}
    print(f"  intake in runs: {ARGS.intake_runs} x register_entries in runs of 100 in {seconds:.1f} s, "
          f"{ARGS.intake_runs / seconds:.1f} entries/s, {statements:.2f} statements per entry "
          f"({database / ARGS.intake_runs * 1000:.2f} ms in the database)", flush=True)
    if samples:
        slowest = base.kind_times(samples).most_common(4)
        figures["intake"]["slowest"] = ", ".join(f"{kind} {seconds_ * 1000:.1f} ms" for kind, seconds_ in slowest)
        print(f"    database time per registration by statement (sampled): {figures['intake']['slowest']}")

    # SLA sweep.
    now = timezone.now()
    open_entries = Correspondence.objects.open().filter(due_at__isnull=False, sla_paused_at__isnull=True).exclude(
        direction=Direction.OUTBOUND).count()
    overdue = Correspondence.objects.overdue(now).exclude(direction=Direction.OUTBOUND).count()
    notices_before = SlaNotice.objects.count()
    print(f"  sweeping {open_entries} open entries ({overdue} overdue, {notices_before} notices exist)...",
          file=sys.stderr, flush=True)
    sweeps = []
    sweep_started = time.perf_counter()
    try:
        first = base.sweep_once(now)
        sweeps.append(first)
        if first["seconds"] > ARGS.sweep_once_after:
            skipped = (f"second sweep skipped: the first took {first['seconds']:.0f} s "
                       f"(> {ARGS.sweep_once_after:.0f} s)")
        else:
            sweeps.append(base.sweep_once(now))
            skipped = ""
    except KeyboardInterrupt:  # Ctrl-C in a long sweep: report what was measured
        skipped = f"sweep {len(sweeps) + 1} interrupted after {time.perf_counter() - sweep_started:.0f} s"
    figures["sweep"] = {"open": open_entries, "overdue": overdue, "notices_before": notices_before,
                        "runs": sweeps, "skipped": skipped}
    for number, run in enumerate(sweeps, 1):
        result = run["result"]
        print(f"  sweep {number}: {run['seconds']:.1f} s, checked {result.checked}, {run['notices']} notices "
              f"created, {result.sent} sent, {result.errors} errors, {run['queries'].total} queries", flush=True)
        for kind, number_of in run["queries"].kinds.most_common(5):
            print(f"      {number_of:8}  {kind}")
    if skipped:
        print(f"  {skipped}", flush=True)


def print_final(results, loads):
    sizes = sorted(results)
    labels = []
    for size in sizes:
        for key in results[size]["pages"]:
            if key not in labels:
                labels.append(key)
    header = ["page"] + [f"{size:,} entries" for size in sizes]
    rows = []
    for label, name in labels:
        cells = [f"{label}: {name}"]
        for size in sizes:
            page = results[size]["pages"].get((label, name))
            if page is None:
                cells.append("-")
            elif "median" in page:
                cells.append(f"{ms(page['median'])} / {ms(page['p95'])} ({page['queries']}q)")
            else:
                cells.append(f"!! {page['status']}"[:30])
        rows.append(cells)
    widths = [max(len(row[index]) for row in rows + [header]) for index in range(len(header))]
    print(f"\nmedian / p95 ms of {ARGS.requests} requests after one warm-up (SQL queries of one request)")
    print("  ".join(cell.ljust(width) if index == 0 else cell.rjust(width)
                    for index, (cell, width) in enumerate(zip(header, widths))))
    for row in rows:
        print("  ".join(cell.ljust(width) if index == 0 else cell.rjust(width)
                        for index, (cell, width) in enumerate(zip(row, widths))))
    print()
    for size in sizes:
        load = loads[size]
        figures = results[size]
        print(f"{size:,} entries:")
        print(f"  load: +{load['added']:,} rows in {load['rows']:.1f} s, their search index in {load['index']:.1f} s, "
              f"VACUUM ANALYZE {load['vacuum']:.1f} s; total {load['total']:.1f} s "
              f"({load['added'] / max(load['total'], 1e-9):.0f} rows/s)")
        print(f"  {'; '.join(figures['notes'])}")
        export = figures.get("export", {"status": "not measured"})
        if export["status"] == 200:
            how = export["streaming"] if isinstance(export["streaming"], str) else "streamed"
            print(f"  export CSV (supervisor, once, {how}): {export['seconds']:.1f} s, {export['rows']:,} rows, "
                  f"{export['bytes'] / 1e6:.0f} MB, memory +{export['growth_mb']:.0f} MB ({export['how']}), "
                  f"{export['queries']} queries")
        elif export["status"] == "not measured":
            print("  export CSV: not measured")
        else:
            print(f"  export CSV: !!! {export['status']}")
        intake = figures.get("intake")
        if intake is None:
            print("  intake: not measured")
            continue
        print(f"  intake: {intake['count']} x register_entry, {intake['count'] / intake['seconds']:.1f} entries/s"
              + (f", {intake['queries']:.1f} queries each" if intake["queries"] else "")
              + (f"; database time by statement: {intake['slowest']}" if intake.get("slowest") else ""))
        runs = figures.get("intake_runs")
        if runs:
            print(f"  intake in runs of 100: {runs['count']} x register_entries, "
                  f"{runs['count'] / runs['seconds']:.1f} entries/s, {runs['queries']:.2f} statements each")
        sweep = figures.get("sweep")
        if sweep is None:
            print("  sweep: not measured")
            continue
        runs = "; ".join(
            f"{'first' if number == 1 else 'second'} {run['seconds']:.1f} s, {run['queries'].total} queries, "
            f"{run['notices']} notices, {run['result'].sent} sent" for number, run in enumerate(sweep["runs"], 1))
        print(f"  sweep over {sweep['open']:,} open entries ({sweep['overdue']:,} overdue, "
              f"{sweep['notices_before']:,} notices before): {runs}"
              + (f"; {sweep['skipped']}" if sweep["skipped"] else ""))


def kept_configuration():
    """The setup of bench/register.py as an earlier run left it in the database (--reuse)."""
    from django.contrib.auth import get_user_model

    from wagtail_correspondence.models import Category, Department

    departments = {department.code: department for department in Department.objects.all()}
    if not departments:
        sys.exit(f"--reuse: the database {ARGS.database} holds no setup of an earlier run (keep one with --keep)")
    usernames = [username for username, _role, _codes in base.USERS]
    users = {user.username: user for user in get_user_model().objects.filter(username__in=usernames)}
    categories = {category.code: category for category in Category.objects.all()}
    return departments, users, categories


def main():
    started = time.perf_counter()
    package = Path(wagtail_correspondence.__file__).resolve().parent
    print(f"wagtail_correspondence: {wagtail_correspondence.__file__} (commit {commit_of(package)})")
    print(f"bench/register.py: {base.__file__}")
    print(f"database: {database_note()}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
          f"Django {django.get_version()}")
    print(f"sizes: {', '.join(f'{size:,}' for size in SIZES)}; {ARGS.requests} timed requests per page", flush=True)

    print("  migrating...", file=sys.stderr, flush=True)
    call_command("migrate", verbosity=0)
    departments, users, categories = kept_configuration() if ARGS.reuse else base.build_configuration()
    officer_code = "complaints"
    now = timezone.now()
    loader = Loader(EntryFactory(departments, users, categories, now))
    if not loader.indexed:
        print("  entries are searched through their own search documents: no Wagtail index rows are loaded")
    elif POSTGRES and loader.index_sql is None:
        print("  search fields are not all plain columns: the index is written through backend.add_bulk")
    results, loads = {}, {}
    for size in SIZES:
        if ARGS.max_minutes is not None and time.perf_counter() - started > ARGS.max_minutes * 60:
            print(f"\n== {size:,} entries: not started, {(time.perf_counter() - started) / 60:.0f} minutes have "
                  f"passed (--max-minutes {ARGS.max_minutes:g}) ==", flush=True)
            break
        have = Correspondence.objects.count()
        print(f"\n== {size:,} entries (the register holds {have:,}) ==", flush=True)
        size_started = time.perf_counter()
        added = max(0, size - have)
        row_seconds, index_seconds = loader.load(added) if added else (0.0, 0.0)
        vacuum = vacuum_analyze()
        total = time.perf_counter() - size_started
        loads[size] = {"added": added, "rows": row_seconds, "index": index_seconds, "vacuum": vacuum, "total": total}
        print(f"  load: +{added:,} rows in {row_seconds:.1f} s, search index {index_seconds:.1f} s, "
              f"VACUUM ANALYZE {vacuum:.1f} s, {total:.1f} s in all", flush=True)
        counts = dict(Correspondence.objects.values_list("status").annotate(n=Count("pk")))
        print(f"  statuses: {', '.join(f'{status} {n:,}' for status, n in sorted(counts.items()))}; overdue "
              f"{Correspondence.objects.overdue(timezone.now()).count():,}", flush=True)
        try:
            measure_size(size, users, categories, officer_code, results)
        except KeyboardInterrupt:
            print(f"  interrupted: the figures of {size:,} entries so far are reported", flush=True)
            break
        print(f"  ({time.perf_counter() - size_started:.0f} s for this size)", flush=True)
    print_final(results, loads)
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    if POSTGRES and ARGS.keep:
        print(f"kept: database {ARGS.database} ({os.environ['DATABASE_URL']})")
    elif ARGS.keep:
        print(f"kept: {WORK}")


if __name__ == "__main__":
    try:
        main()
    finally:
        base.cleanup()
        connection.close()
        if POSTGRES and not ARGS.keep:
            server_command(f'DROP DATABASE IF EXISTS "{ARGS.database}" WITH (FORCE)')
        if not ARGS.keep:
            shutil.rmtree(WORK, ignore_errors=True)
