"""Batches in chunks (services.batch_pipeline): a block of reference numbers per chunk, every
number accounted for (a letter, or void with its reason), the chunk's audit entries sealed
with one head update, and its emails sent over one SMTP connection. Real components: the
SQLite test database, an aiosmtpd server on loopback, the archive in a folder. The
PostgreSQL tests with real worker processes are in test_worker_recovery.py."""

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions
from wagtail_correspondence.customers import reset_customer_source
from wagtail_correspondence.models import (
    AuditSeal,
    BatchChunk,
    BatchRowStatus,
    BatchStatus,
    Dispatch,
    DispatchStatus,
    Letter,
    VoidReference,
)
from wagtail_correspondence.services import audit, batches

from . import factories
from .test_batches import make_batch, template  # noqa: F401 (fixture)
from .test_dispatch import Mailbox, SmtpServer

RECORDS = []
for _number, _first in enumerate(["Ada", "Bo", "Cy"], start=1):
    _record = copy.deepcopy(factories.SAMPLE_DATA)
    _record["customer"].update(id=f"C-{_number}", first_name=_first, full_name=f"{_first} Peeters",
                               email=f"{_first.lower()}@example.org")
    RECORDS.append(_record)


@pytest.fixture(autouse=True)
def three_customers(customers):
    customers(*RECORDS)


def chunks_of(settings, rows):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "BACKGROUND": {"CHUNK_ROWS": rows}}


def started(agent, template, capture, rows, channel):  # noqa: F811 (template is the fixture's value)
    content = "customer_id,balance,channel\n" + "".join(f"C-{1 + n % 3},{n}.00,{channel}\n" for n in range(rows))
    batch = make_batch(agent, template, capture, content=content)
    batch.refresh_from_db()
    assert batch.report["valid"] == rows, batch.report
    batches.start_batch(agent, batch)
    return batch


def numbers(references):
    return sorted(int(reference[-6:]) for reference in references)


def test_a_row_that_fails_in_its_chunk_leaves_a_void_number_and_the_rest_is_generated(
        agent, template, settings, customers, client, django_capture_on_commit_callbacks):  # noqa: F811
    chunks_of(settings, 3)
    batch = started(agent, template, django_capture_on_commit_callbacks, 6, "print")
    # Between the dry run and the run, customer C-2 (rows 2 and 5) leaves the data source.
    customers(RECORDS[0], RECORDS[2])
    reset_customer_source()

    assert batches.run_batch(batch.pk) == 4
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    assert BatchChunk.objects.filter(batch=batch, status=BatchChunk.DONE).count() == 2
    letters = list(Letter.objects.values_list("reference", flat=True))
    voids = {void.row_number: void for void in VoidReference.objects.filter(batch=batch)}
    assert sorted(voids) == [2, 5]
    assert all("C-2" in void.reason for void in voids.values())
    # Every number reserved is accounted for, once: a letter's or void.
    assert numbers(letters + [void.reference for void in voids.values()]) == list(range(1, 7))
    assert not set(letters) & {void.reference for void in voids.values()}
    failed = batch.rows.get(row_number=2)
    assert failed.status == BatchRowStatus.ERROR and failed.errors[0]["field"] == "customer_id"
    assert batch.rows.filter(status=BatchRowStatus.GENERATED).count() == 4

    # In the audit log (one entry per chunk that voided numbers), in the results and on the page.
    first, second = ModelLogEntry.objects.filter(action=log_actions.BATCH_REFERENCES_VOIDED).order_by("pk")
    assert [item["reference"] for item in first.data["references"]] == [voids[2].reference]
    assert [item["reference"] for item in second.data["references"]] == [voids[5].reference]
    assert voids[2].reference in first.formatter.format_message(first)
    audit.verify()
    results = {row["row"]: row for row in batches.result_rows(batch)}
    assert results[2]["void_reference"] == voids[2].reference and results[1]["void_reference"] == ""
    assert batches.batch_summary(batch)["void_references"] == 2
    client.force_login(agent)
    page = client.get(f"/admin/correspondence/letters/batches/{batch.pk}/").content.decode()
    assert "data-batch-void-references" in page and voids[5].reference in page


def test_a_chunk_seals_its_audit_entries_with_one_head_update(agent, template, settings,  # noqa: F811
                                                              django_capture_on_commit_callbacks):  # noqa: F811
    chunks_of(settings, 4)
    batch = started(agent, template, django_capture_on_commit_callbacks, 8, "print")
    before = AuditSeal.objects.count()
    with CaptureQueriesContext(connection) as queries:
        assert batches.run_batch(batch.pk) == 8
    head_updates = [query["sql"] for query in queries.captured_queries
                    if query["sql"].startswith('UPDATE "wagtail_correspondence_auditchainhead"')]
    assert len(head_updates) == 2  # one per chunk, however many entries each wrote
    assert AuditSeal.objects.count() - before >= 8 * 2  # generated + register entry, at least, per letter
    assert audit.verify().entries == AuditSeal.objects.count()  # the bulk links chain like single ones


class CountingSessions(Mailbox):
    """The test SMTP server's mailbox, counting sessions (one EHLO each) as well as messages."""

    def __init__(self):
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd's name)
        self.sessions += 1
        session.host_name = hostname
        return responses


@pytest.fixture
def counting_smtp(settings):
    server = SmtpServer()
    server.mailbox = CountingSessions()
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CHANNEL_BACKENDS": {"email": {
        "BACKEND": "wagtail_correspondence.delivery.email.EmailChannel",
        "OPTIONS": {"connection": {"backend": "django.core.mail.backends.smtp.EmailBackend", "host": "127.0.0.1",
                                   "port": server.port, "timeout": 10}}}}}
    server.start()
    yield server
    server.stop()


def test_a_chunk_sends_its_emails_over_one_smtp_connection(agent, template, settings, counting_smtp,  # noqa: F811
                                                           django_capture_on_commit_callbacks):  # noqa: F811
    chunks_of(settings, 4)
    batch = started(agent, template, django_capture_on_commit_callbacks, 10, "email")
    with django_capture_on_commit_callbacks(execute=True):  # each chunk's delivery task runs after its commit
        assert batches.run_batch(batch.pk) == 10
    mailbox = counting_smtp.mailbox
    references = sorted(message["X-Correspondence-Reference"] for message in mailbox.messages)
    assert references == sorted(Letter.objects.values_list("reference", flat=True)) and len(references) == 10
    assert BatchChunk.objects.filter(batch=batch).count() == 3
    assert mailbox.sessions == 3  # one connection per chunk (4 + 4 + 2 messages)
    statuses = dict(Dispatch.objects.values_list("channel", "status").distinct())
    assert statuses == {"email": DispatchStatus.SENT, "archive": DispatchStatus.SENT}
    assert ModelLogEntry.objects.filter(action=log_actions.LETTER_DISPATCHED).count() == 20
    audit.verify()


def test_a_refused_address_fails_alone_and_the_chunk_goes_on(agent, template, settings, counting_smtp,  # noqa: F811
                                                             django_capture_on_commit_callbacks):  # noqa: F811
    chunks_of(settings, 6)
    counting_smtp.mailbox.refuse = {"bo@example.org"}
    batch = started(agent, template, django_capture_on_commit_callbacks, 6, "email")
    with django_capture_on_commit_callbacks(execute=True):
        assert batches.run_batch(batch.pk) == 6
    emails = Dispatch.objects.filter(channel="email")
    assert emails.filter(status=DispatchStatus.SENT).count() == 4 == len(counting_smtp.mailbox.messages)
    assert set(emails.filter(status=DispatchStatus.FAILED).values_list("recipient", flat=True)) == {"bo@example.org"}
    # After each refusal the next message opens a fresh connection: three for six messages.
    assert counting_smtp.mailbox.sessions == 3
