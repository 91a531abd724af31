"""The correspondence register under load. Prints figures; asserts nothing about time.

    .venv/bin/python bench/register.py [--entries 5000] [--keep]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_register .venv/bin/python bench/register.py

On a throwaway SQLite database (or, when ``DATABASE_URL`` is set, on that database, which
must be new and empty: the script migrates it, fills it and leaves the data there), builds a
business calendar, a department tree of 7 departments with members and supervisors, a
category tree, 7 SLA policies and 11 routing rules (sender domains, keywords, kinds, a
category, a customer condition, fixed and round-robin assignment, a catch-all), then:

1. intake: registers ``--entries`` inbound entries (default 5,000; a deterministic mix of
   subjects, senders, kinds, customers and categories) through
   ``services.register.register_entry``, as a mail-room officer, one at a time; entries/s
   over the whole loop, and queries per registration captured on every 25th entry;
2. moves the entries into the past (registered over the last 8 weeks, deadlines worked out
   again from each entry's own policy and calendar) and closes, answers or pauses a share
   of the older ones, with queryset updates (the services always stamp "now");
3. the admin register list (first page; plain, ``?q=refund``, ``?deadline=overdue``) and
   the dashboard ``/admin/``, through Django's test client, as an officer of one department
   (department scope) and as a supervisor (every department): the first request and the
   median of 3 more, and the queries of one request;
4. ``services.sla.sweep()`` over every open entry (locmem email backend), twice: the first
   creates and sends the notices due, the second finds nothing new (what a periodic sweep
   costs in steady state).

The settings are the test suite's: locmem email, and django-tasks' immediate backend, so
the Wagtail search index and reference index updates that saving an entry enqueues run
inside each registration (with the database task backend of the default settings they are
enqueued there and run by the worker). Query counts come from ``CaptureQueriesContext``
(the sweep uses a counting execute wrapper, which does not format every statement; it does
not see BEGIN and COMMIT on PostgreSQL). Repeated statements (the same SQL with other
values) are listed as a hint of N+1 patterns.
"""

import argparse
import datetime
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
WORK = Path(tempfile.mkdtemp(prefix="correspondence-bench-register-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "correspondence_site.settings.test"
GIVEN_DATABASE = bool(os.environ.get("DATABASE_URL"))
if not GIVEN_DATABASE:
    os.environ["DATABASE_URL"] = f"sqlite:///{WORK}/bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from wagtail_correspondence import roles  # noqa: E402
from wagtail_correspondence.customers import CustomerNotFound, get_customer_source, reset_customer_source  # noqa: E402
from wagtail_correspondence.models import (  # noqa: E402
    BusinessCalendar,
    Category,
    Correspondence,
    Department,
    Direction,
    Kind,
    Priority,
    RegisterChannel,
    RoutingRule,
    SlaNotice,
    SlaPolicy,
    Status,
)
from correspondence_demo.register import SLA_POLICIES  # noqa: E402  (the demo's policies)
from wagtail_correspondence.services import register as register_service  # noqa: E402
from wagtail_correspondence.services import sla as sla_service  # noqa: E402
from wagtail_correspondence.services.calendar import calendar_for  # noqa: E402
from wagtail_correspondence.services.register_access import visible_entries  # noqa: E402

SEED = 2026
SAMPLE_EVERY = 25  # queries are captured on every 25th registration
BLOCK = 1000  # intake rate per block of 1000 registrations
REPEAT = 3  # warm requests per page, after the first
WEEKS = 8
ENTRIES_URL = "/admin/correspondence/register/entries/"

# Departments: code, name, parent code, team email. Members and supervisors come below.
DEPARTMENTS = [
    ("customer-service", "Customer Service", None, ""),
    ("complaints", "Complaints", "customer-service", ""),
    ("billing", "Billing", "customer-service", "billing@northwind.example"),
    ("claims", "Claims", "customer-service", ""),
    ("legal", "Legal", None, "legal@northwind.example"),
    ("litigation", "Litigation", "legal", ""),
    ("marketing", "Marketing", None, "marketing@northwind.example"),
]

# username, role, departments; supervisors: department code → username
USERS = [
    ("mailroom", roles.OFFICERS, []),
    ("officer", roles.OFFICERS, ["complaints"]),
    ("officer2", roles.OFFICERS, ["complaints", "claims"]),
    ("officer3", roles.OFFICERS, ["complaints"]),
    ("agent", roles.AGENTS, ["billing"]),
    ("claims-handler", roles.OFFICERS, ["claims"]),
    ("lawyer", roles.OFFICERS, ["legal", "litigation"]),
    ("supervisor", roles.SUPERVISORS, ["customer-service"]),
    ("legal-head", roles.SUPERVISORS, ["legal"]),
]
SUPERVISORS = {"customer-service": "supervisor", "complaints": "officer3", "legal": "legal-head",
               "litigation": "lawyer"}

# code, name, parent code
CATEGORIES = [
    ("complaints", "Complaints", None), ("complaint-delay", "Delay", "complaints"),
    ("complaint-billing", "Billing error", "complaints"), ("billing", "Billing", None),
    ("billing-refund", "Refund", "billing"), ("claims", "Claims", None), ("claims-new", "New claim", "claims"),
    ("legal", "Legal", None), ("legal-gdpr", "Data request (GDPR)", "legal"), ("general", "General inquiry", None),
]


# Tried in sort order; the first whose conditions all hold decides.
ROUTING_RULES = [
    {"name": "Courts and bailiffs", "sort_order": 10, "department": "litigation",
     "senders": "@just.example.be, @bailiffs.example.be", "priority": Priority.URGENT, "sla_policy": "Urgent",
     "assignment": "fixed", "assignee": "lawyer"},
    {"name": "GDPR requests", "sort_order": 20, "department": "legal",
     "keywords": "gdpr, personal data, right of access, erasure", "sla_policy": "GDPR data request"},
    {"name": "Legal documents", "sort_order": 30, "department": "legal", "kinds": [Kind.LEGAL]},
    {"name": "Law firms", "sort_order": 40, "department": "legal", "priority": Priority.HIGH,
     "senders": "@vandamme-law.example, @peeters-advocaten.example"},
    {"name": "VIP complaints", "sort_order": 50, "department": "complaints", "kinds": [Kind.COMPLAINT],
     "customer_condition": "customer.vip", "priority": Priority.HIGH, "assignment": "round_robin"},
    {"name": "Complaints", "sort_order": 60, "department": "complaints", "kinds": [Kind.COMPLAINT],
     "assignment": "round_robin"},
    {"name": "Complaint words", "sort_order": 70, "department": "complaints",
     "keywords": "complaint, ombudsman, unacceptable, dissatisfied", "assignment": "round_robin"},
    {"name": "Invoices", "sort_order": 80, "department": "billing", "kinds": [Kind.INVOICE],
     "assignment": "fixed", "assignee": "agent"},
    {"name": "Payment words", "sort_order": 90, "department": "billing",
     "keywords": "invoice, refund, direct debit, payment plan", "assignment": "fixed", "assignee": "agent"},
    {"name": "Claims category", "sort_order": 100, "department": "claims", "categories": ["claims"]},
    {"name": "Everything else", "sort_order": 1000, "department": "customer-service"},
]

# (kind, subject) pairs the entries are drawn from; "refund" appears in about one in six.
SUBJECTS = [
    (Kind.LETTER, "Question about my home insurance cover"),
    (Kind.EMAIL, "Change of address"),
    (Kind.COMPLAINT, "Complaint about the handling of my claim"),
    (Kind.COMPLAINT, "Complaint: my refund was refused"),
    (Kind.EMAIL, "Still waiting for my refund"),
    (Kind.LETTER, "Request for a refund of the premium"),
    (Kind.INVOICE, "Invoice for the repair of the car"),
    (Kind.EMAIL, "Direct debit mandate"),
    (Kind.LETTER, "GDPR request: right of access to my personal data"),
    (Kind.LEGAL, "Summons to appear"),
    (Kind.LETTER, "Formal notice on behalf of our client"),
    (Kind.EMAIL, "This is unacceptable: third reminder without an answer"),
    (Kind.INQUIRY, "Which documents do you need for a new claim?"),
    (Kind.LETTER, "Declaration of water damage"),
    (Kind.EMAIL, "Payment plan for the outstanding balance"),
    (Kind.INQUIRY, "Green card for a trip abroad"),
    (Kind.EMAIL, "Sponsoring proposal for the 20 km"),
]
SENDERS = [  # (organisation, email); most mail comes from customers (filled in below)
    ("Tribunal de première instance", "greffe@just.example.be"),
    ("Etude Lemaire", "etude.lemaire@bailiffs.example.be"),
    ("Van Damme & Partners", "office@vandamme-law.example"),
    ("Peeters Advocaten", "info@peeters-advocaten.example"),
    ("Garage Dupont", "factures@garage-dupont.example"),
    ("Brightside Agency", "hello@brightside-agency.example"),
]
BODY = ("Dear Sir or Madam, I am writing about my file. I have tried to call several times and would "
        "appreciate an answer in writing. Please find my details below. Kind regards.")


# Measuring -----------------------------------------------------------------------------

STATEMENT_VALUES = re.compile(r"'(?:[^']|'')*'|%s|\b\d+(?:\.\d+)?\b|\?")


def statement_shape(sql):
    """The SQL with its values blanked out: repeated shapes hint at N+1 queries."""
    shape = STATEMENT_VALUES.sub("?", sql)
    return re.sub(r"\(\?(?:, \?)+\)", "(?...)", shape)


def statement_kind(sql):
    """'SELECT wagtail_correspondence_department', 'INSERT reversion_version', ..."""
    words = sql.split(None, 1)
    verb = words[0].upper() if words else "?"
    match = re.search(r'(?:FROM|INTO|UPDATE)\s+"?([\w.]+)"?', sql, re.IGNORECASE)
    table = match.group(1) if match and verb in {"SELECT", "INSERT", "UPDATE", "DELETE"} else ""
    return f"{verb} {table.replace('wagtail_correspondence_', 'wc_')}".strip()


class QueryCounter:
    """A cheap execute wrapper: counts statements by kind and by shape."""

    def __init__(self):
        self.kinds = Counter()
        self.shapes = Counter()

    def __call__(self, execute, sql, params, many, context):
        self.kinds[statement_kind(sql)] += 1
        self.shapes[statement_shape(sql)] += 1
        return execute(sql, params, many, context)

    @property
    def total(self):
        return sum(self.kinds.values())


class QueryTimer:
    """An execute wrapper that times each statement with perf_counter."""

    def __init__(self):
        self.timed = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timed.append((sql, time.perf_counter() - started))

    def merged(self, captured):
        """(sql, seconds) of each captured statement: this timer's figure for statements run
        through a cursor, the captured one (whole milliseconds) for BEGIN, COMMIT and ROLLBACK
        when the backend issues them without a cursor (no execute wrapper sees those)."""
        timed = list(self.timed)
        merged = []
        for query in captured:
            if query["sql"] in ("BEGIN", "COMMIT", "ROLLBACK") and (not timed or timed[0][0] != query["sql"]):
                merged.append((query["sql"], float(query["time"])))
            else:
                merged.append((query["sql"], timed.pop(0)[1]))
        return merged


@contextmanager
def counting():
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def repeated(sqls, at_least=3, top=3):
    shapes = Counter(statement_shape(sql) for sql in sqls)
    return [(count, shape) for shape, count in shapes.most_common(top) if count >= at_least]


def kind_times(samples):
    """Mean seconds per registration by statement kind."""
    times = Counter()
    for sample in samples:
        for sql, seconds in sample:
            times[statement_kind(sql)] += seconds / len(samples)
    return times


def database_seconds(samples):
    """Mean time in the database of the sampled registrations."""
    return sum(seconds for sample in samples for _sql, seconds in sample) / len(samples)


def short(sql, width=150):
    sql = re.sub(r"\s+", " ", sql)
    return sql if len(sql) <= width else sql[:width - 1] + "…"


# The register's configuration ---------------------------------------------------------

def build_configuration():
    calendar = BusinessCalendar(name="Belgium (Brussels)", country="BE", time_zone="Europe/Brussels")
    calendar.full_clean()
    calendar.save()
    departments = {}
    for code, name, parent_code, email in DEPARTMENTS:
        instance = Department(code=code, name=name, email=email, calendar=calendar if parent_code is None else None)
        if parent_code:
            parent = Department.objects.get(pk=departments[parent_code].pk)  # fresh paths after add_child
            departments[code] = parent.add_child(instance=instance)
        else:
            departments[code] = Department.add_root(instance=instance)
    departments = {code: Department.objects.get(pk=department.pk) for code, department in departments.items()}

    model = get_user_model()
    users = {}
    for username, role, department_codes in USERS:
        user = model.objects.create_user(username, f"{username}@northwind.example", "bench",
                                         first_name=username.split("-")[0].title(), last_name="Bench")
        user.groups.add(Group.objects.get(name=role))
        for code in department_codes:
            departments[code].members.add(user)
        users[username] = user
    for code, username in SUPERVISORS.items():
        Department.objects.filter(pk=departments[code].pk).update(supervisor=users[username])

    categories = {}
    for code, name, parent_code in CATEGORIES:
        instance = Category(code=code, name=name)
        categories[code] = (Category.objects.get(pk=categories[parent_code].pk).add_child(instance=instance)
                            if parent_code else Category.add_root(instance=instance))
    categories = {code: Category.objects.get(pk=category.pk) for code, category in categories.items()}

    policies = {}
    for name, category_code, priority, response_time, unit in SLA_POLICIES:
        policies[name] = SlaPolicy.objects.create(
            name=name, category=categories[category_code] if category_code else None, priority=priority,
            response_time=response_time, unit=unit, reminder_percentages=[50, 80], escalation_interval_hours=8)

    for spec in ROUTING_RULES:
        spec = dict(spec)
        rule_categories = spec.pop("categories", [])
        spec["department"] = departments[spec["department"]]
        if "assignee" in spec:
            spec["assignee"] = users[spec["assignee"]]
        if "sla_policy" in spec:
            spec["sla_policy"] = policies[spec["sla_policy"]]
        rule = RoutingRule(**spec)
        rule.full_clean()
        rule.save()
        rule.categories.set([categories[code] for code in rule_categories])
    return departments, users, categories


def customers():
    """The customers of the site's demo customer source (C-1001, C-1002, ...; about twenty)."""
    reset_customer_source()
    source = get_customer_source()
    found = []
    for number in range(1001, 1100):
        try:
            found.append(source.get(f"C-{number}")["customer"])
        except CustomerNotFound:
            break
    return found


def entry_fields(rng, people, categories, number):
    kind, subject = rng.choice(SUBJECTS)
    fields = {"kind": kind, "subject": f"{subject} ({number})", "body": BODY,
              "channel": rng.choice([RegisterChannel.EMAIL, RegisterChannel.EMAIL, RegisterChannel.POST,
                                     RegisterChannel.PORTAL])}
    if rng.random() < 0.15:
        fields["sender_organisation"], fields["sender_email"] = rng.choice(SENDERS)
        fields["sender_name"] = "Secretariat"
    elif people:
        person = rng.choice(people)
        fields.update(sender_name=person["full_name"], sender_email=person["email"], customer_id=person["id"])
    if rng.random() < 0.3:
        fields["category"] = rng.choice(list(categories.values()))
    if rng.random() < 0.1:
        fields["priority"] = rng.choice([Priority.HIGH, Priority.URGENT, Priority.LOW])
    return fields


# Phases ---------------------------------------------------------------------------------

def intake(count, registrar, categories):
    rng = random.Random(SEED)
    people = customers()
    samples = []  # captured queries (sql, seconds) of every SAMPLE_EVERY-th registration
    blocks = []  # (entries, seconds) per block of BLOCK registrations: does intake slow down as the register grows?
    started = block_started = time.perf_counter()
    for number in range(1, count + 1):
        fields = entry_fields(rng, people, categories, number)
        if number % SAMPLE_EVERY == 0:
            timer = QueryTimer()  # CaptureQueriesContext keeps times to the millisecond only
            with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
                register_service.register_entry(registrar, **fields)
            samples.append(timer.merged(captured.captured_queries))
        else:
            register_service.register_entry(registrar, **fields)
        if number % BLOCK == 0 or number == count:
            now = time.perf_counter()
            blocks.append((number - sum(size for size, _seconds in blocks), now - block_started))
            block_started = now
            print(f"  registered {number} entries, {number / (now - started):.0f}/s", file=sys.stderr, flush=True)
    return time.perf_counter() - started, samples, blocks, len(people)


def intake_in_runs(count, registrar, categories, run=100):
    """``count`` entries through ``services.register.register_entries`` in runs of ``run``
    (as mail intake registers a mailbox); (seconds, statements per entry, database seconds)."""
    rng = random.Random(SEED + 1)
    people = customers()
    drafts = [register_service.Draft(entry_fields(rng, people, categories, number)) for number in range(count)]
    timer = QueryTimer()  # over every run: BEGIN and COMMIT are not seen on PostgreSQL
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        for first in range(0, count, run):
            results = register_service.register_entries(registrar, drafts[first:first + run])
            refused = [result.error for result in results if result.error is not None]
            if refused:
                raise RuntimeError(f"the bench's drafts were refused: {refused[:3]}")
    seconds = time.perf_counter() - started
    return seconds, len(timer.timed) / count, sum(seconds_ for _sql, seconds_ in timer.timed)


def age_entries(now):
    """Registered over the last WEEKS weeks; deadlines from each entry's own budget and
    calendar; most older entries answered or closed, some paused, the rest open."""
    rng = random.Random(SEED + 1)
    span = datetime.timedelta(weeks=WEEKS)
    calendars = {}
    changed = []
    entries = Correspondence.objects.select_related("department").order_by("pk")
    for entry in entries:
        moment = now - span * rng.random()
        if entry.department_id not in calendars:
            calendars[entry.department_id] = calendar_for(entry.department)
        calendar = calendars[entry.department_id]
        entry.registered_at = entry.received_at = entry.sla_started_at = moment
        entry.due_at = calendar.add(moment, entry.sla_budget_seconds)
        age = now - moment
        roll = rng.random()
        if age > datetime.timedelta(days=21) and roll < 0.85 or age > datetime.timedelta(days=7) and roll < 0.5:
            done = min(now, moment + (entry.due_at - moment) * rng.uniform(0.3, 1.4))
            entry.responded_at = done
            if rng.random() < 0.7:
                entry.status, entry.closed_at = Status.CLOSED, done
            else:
                entry.status = Status.RESPONDED
        elif roll > 0.9:
            entry.status, entry.sla_paused_at = Status.AWAITING_CUSTOMER, moment + (now - moment) / 2
        elif roll > 0.75 and entry.assignee_id:
            entry.status = Status.IN_PROGRESS
        changed.append(entry)
    Correspondence.objects.bulk_update(changed, ["registered_at", "received_at", "sla_started_at", "due_at",
                                                 "responded_at", "closed_at", "status", "sla_paused_at"],
                                       batch_size=500)
    return len(changed)


def measure_page(client, url):
    started = time.perf_counter()
    response = client.get(url)
    first = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)  # a page, not a timing assertion
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        client.get(url)
        timings.append(time.perf_counter() - started)
    timer = QueryTimer()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
        response = client.get(url)
    timed = timer.merged(captured.captured_queries)
    return {"first": first, "median": statistics.median(timings), "queries": len(timed),
            "database": sum(seconds for _sql, seconds in timed), "rows": response.content.count(b'data-entry="'),
            "repeated": repeated([sql for sql, _seconds in timed]),
            "slowest": sorted(timed, key=lambda item: -item[1])[:2]}


def sweep_once(now):
    mail.outbox = []
    notices_before = SlaNotice.objects.count()
    with counting() as counter:
        started = time.perf_counter()
        result = sla_service.sweep(now)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "result": result, "queries": counter, "emails": len(mail.outbox),
            "notices": SlaNotice.objects.count() - notices_before}


# Reporting ------------------------------------------------------------------------------

def machine_note():
    return (f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, Django {django.get_version()}")


def database_note():
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}, a file in {WORK}"
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        version = cursor.fetchone()[0].split(",")[0]
    return f"{version}, database {connection.settings_dict.get('NAME')}"


def print_table(rows):
    width = max(len(name) for name, value in rows if value is not None)
    print()
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}" if value is not None else f"{name}")


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def cleanup():
    folders = [WORK, Path(settings.MEDIA_ROOT)] + [
        Path(settings.STORAGES[alias]["OPTIONS"]["location"]) for alias in ("letters", "archive", "print")]
    for folder in folders:
        if folder.name.startswith(("correspondence-bench-register-", "correspondence-test-")):
            shutil.rmtree(folder, ignore_errors=True)


def main(count):
    if GIVEN_DATABASE and connection.introspection.table_names():
        sys.exit(f"{connection.settings_dict.get('NAME')} has tables already: give a new, empty database")
    call_command("migrate", verbosity=0)
    departments, users, categories = build_configuration()
    print(f"register bench: N={count} inbound entries; {len(DEPARTMENTS)} departments, {len(SLA_POLICIES)} SLA "
          f"policies, {len(ROUTING_RULES)} routing rules, {len(CATEGORIES)} categories")
    print(f"database: {database_note()}")
    print(f"machine: {machine_note()}")
    print(f"tasks: {settings.TASKS['default']['BACKEND'].rsplit('.', 1)[-1]} (the test settings: the search index "
          f"and reference index updates run inside each registration)", flush=True)
    rows = []

    # 1. Intake
    print("  registering...", file=sys.stderr, flush=True)
    seconds, samples, blocks, people = intake(count, users["mailroom"], categories)
    per_entry = [len(sample) for sample in samples]
    kinds, kind_seconds = Counter(), Counter()
    for sample in samples:
        for sql, query_seconds in sample:
            kinds[statement_kind(sql)] += 1
            kind_seconds[statement_kind(sql)] += query_seconds
    rows.append((f"1. intake: register_entry x {count} (as a mail-room officer, {people} customers)", None))
    rows.append(("total", f"{seconds:.1f} s, {count / seconds:.1f} entries/s, {seconds / count * 1000:.1f} ms "
                          f"per entry"))
    rows.append(("per block", ", ".join(f"{size / block_seconds:.0f}/s" for size, block_seconds in blocks)
                 + f" (blocks of {BLOCK})"))
    if samples:
        database_ms = sum(kind_seconds.values()) / len(samples) * 1000
        ends = max(1, len(samples) // 10)
        rows.append(("queries per registration", f"mean {statistics.mean(per_entry):.1f}, min {min(per_entry)}, "
                                                 f"max {max(per_entry)} ({len(samples)} sampled)"))
        rows.append(("database time per registration", f"{database_ms:.1f} ms on average; first {ends} sampled "
                                                       f"{database_seconds(samples[:ends]) * 1000:.1f} ms, last {ends} "
                                                       f"{database_seconds(samples[-ends:]) * 1000:.1f} ms"))
        for kind, number in kinds.most_common(10):
            rows.append((f"  {kind}", f"{number / len(samples):.1f} per registration, "
                                      f"{kind_seconds[kind] / len(samples) * 1000:.2f} ms"))
        first_kinds, last_kinds = kind_times(samples[:ends]), kind_times(samples[-ends:])
        growth = sorted(last_kinds, key=lambda kind: first_kinds.get(kind, 0) - last_kinds[kind])[:3]
        rows.append(("  grew most (first / last sampled)", ", ".join(
            f"{kind} {first_kinds.get(kind, 0) * 1000:.2f} / {last_kinds[kind] * 1000:.2f} ms" for kind in growth)))
    routed = Counter(Correspondence.objects.values_list("department__code", flat=True))
    rows.append(("routed to", ", ".join(f"{code} {number}" for code, number in routed.most_common())))
    print("  registering in runs...", file=sys.stderr, flush=True)
    seconds, statements, database = intake_in_runs(count, users["mailroom"], categories)
    rows.append((f"1b. intake in runs: register_entries, {count} entries in runs of 100 (as mail intake)", None))
    rows.append(("total", f"{seconds:.1f} s, {count / seconds:.1f} entries/s, {seconds / count * 1000:.1f} ms "
                          f"per entry; {statements:.2f} statements and {database / count * 1000:.2f} ms in the "
                          f"database per entry"))

    # 2. Age the register
    now = timezone.now()
    started = time.perf_counter()
    aged = age_entries(now)
    statuses = Counter(Correspondence.objects.values_list("status", flat=True))
    overdue = Correspondence.objects.overdue(now).count()
    print(f"  aged {aged} entries in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    spread = ", ".join(f"{status} {number}" for status, number in sorted(statuses.items()))
    rows.append((f"2. aged over {WEEKS} weeks: {spread}; overdue {overdue}", None))

    # 3. Admin pages
    officer, supervisor = users["officer"], users["supervisor"]
    rows.append((f"3. admin pages (first request / median of {REPEAT} more / queries of one request and their "
                 f"time / rows shown)", None))
    findings = []
    for label, user in (("officer (Complaints)", officer), ("supervisor (all)", supervisor)):
        client = Client(HTTP_HOST="testserver")
        client.force_login(user)
        visible = visible_entries(user).count()
        for name, url in (("list", ENTRIES_URL), ("list ?q=refund", f"{ENTRIES_URL}?q=refund"),
                          ("list ?deadline=overdue", f"{ENTRIES_URL}?deadline=overdue"), ("dashboard", "/admin/")):
            figures = measure_page(client, url)
            rows.append((f"{label}, {name}", f"{ms(figures['first'])} / {ms(figures['median'])} / "
                                             f"{figures['queries']} queries in {ms(figures['database'])} / "
                                             f"{figures['rows']} rows"
                                             + (f" (of {visible} visible)" if name == "list" else "")))
            for repeats, shape in figures["repeated"]:
                findings.append(f"{label}, {name}: {repeats}x {short(shape)}")
            for sql, query_seconds in figures["slowest"]:
                if query_seconds > 0.02:
                    findings.append(f"{label}, {name}: a query of {query_seconds * 1000:.0f} ms: {short(sql, 400)}")

    # 4. Sweep
    print("  sweeping...", file=sys.stderr, flush=True)
    open_entries = Correspondence.objects.open().filter(due_at__isnull=False, sla_paused_at__isnull=True).exclude(
        direction=Direction.OUTBOUND).count()
    first, second = sweep_once(now), sweep_once(now)
    notice_kinds = Counter(SlaNotice.objects.values_list("kind", flat=True))
    rows.append((f"4. sla.sweep() over {open_entries} open entries with a running clock", None))
    for label, figures in (("first sweep", first), ("second sweep (nothing new)", second)):
        result = figures["result"]
        rows.append((label, f"{figures['seconds']:.1f} s, {result.checked / figures['seconds']:.0f} entries/s; "
                            f"{figures['notices']} notices created, {result.sent} sent, {figures['emails']} emails "
                            f"in the locmem outbox, {result.errors} errors; {figures['queries'].total} queries "
                            f"({figures['queries'].total / max(result.checked, 1):.1f} per entry)"))
        for kind, number in figures["queries"].kinds.most_common(6):
            rows.append((f"  {kind}", f"{number}"))
    rows.append(("notices by kind", ", ".join(f"{kind} {number}" for kind, number in notice_kinds.most_common())))
    for shape, number in first["queries"].shapes.most_common(4):
        findings.append(f"first sweep: {number}x {short(shape)}")

    print_table(rows)
    if findings:
        print("\nrepeated statements (the same SQL with other values) and slow queries:")
        for finding in findings:
            print(f"  {finding}")
    if samples:
        print("\nstatements of one registration (the last sampled):")
        for sql, query_seconds in samples[-1]:
            print(f"  {query_seconds * 1000:6.2f} ms  {short(sql, 120)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=5_000, help="inbound entries to register (default 5000)")
    parser.add_argument("--keep", action="store_true", help=f"keep the work folder ({WORK})")
    arguments = parser.parse_args()
    try:
        main(arguments.entries)
    finally:
        if not arguments.keep:
            cleanup()
