"""Registering many entries at once (services.register.register_entries): what mail intake and
imports use. A run must leave exactly what registering each entry on its own leaves (the
same routing, deadline, versions, log entries, audit seals and indexes), refuse bad drafts by
field without losing the good ones, save nothing when it fails, and cost the same number of
statements whatever its size."""

import datetime
import math
import re
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from reversion.models import Version
from wagtail.models import ModelLogEntry, ReferenceIndex

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    Assignment,
    Attachment,
    AttachmentVersion,
    AuditSeal,
    Category,
    Correspondence,
    Department,
    Kind,
    Priority,
    ReferenceSequence,
    RegisterChannel,
    RoutingRule,
    SlaPolicy,
    SlaUnit,
    Status,
)
from wagtail_correspondence.services import audit, register_history
from wagtail_correspondence.services import register as service
from wagtail_correspondence.services.register import Draft, NewAttachment

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Brussels"))
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles.OFFICERS)


@pytest.fixture
def setup(db, make_user):
    """Two departments, a category tree, an SLA policy on a category, and rules that route by
    keyword, by category and by sender domain (one assigning a fixed person)."""
    head = Department.add_root(name="Head office", code="head")
    billing = head.add_child(name="Billing", code="billing")
    head = Department.objects.get(pk=head.pk)
    legal = head.add_child(name="Legal", code="legal")
    lawyer = make_user("lawyer", roles.OFFICERS)
    legal.members.add(lawyer)
    complaints = Category.add_root(name="Complaints", code="complaints")
    delay = complaints.add_child(name="Delay", code="delay")
    fast = SlaPolicy.objects.create(name="Complaints in a day", response_time=8, unit=SlaUnit.WORKING_HOURS,
                                    category=complaints)
    rules = [
        RoutingRule.objects.create(name="Courts", department=legal, sort_order=10, senders="@court.example",
                                   priority=Priority.URGENT, assignment=Assignment.FIXED, assignee=lawyer),
        RoutingRule.objects.create(name="Refunds", department=billing, sort_order=20, keywords="refund"),
    ]
    by_category = RoutingRule.objects.create(name="Complaints", department=billing, sort_order=30)
    by_category.categories.set([complaints])
    return {"billing": billing, "legal": legal, "lawyer": lawyer, "delay": delay, "fast": fast,
            "rules": rules + [by_category]}


def fields_of(number, setup):
    """A mix: a court's letter, a refund request, a complaint about a delay, an unrouted one."""
    shapes = [
        {"subject": "Summons", "sender_email": "greffe@court.example", "kind": Kind.LEGAL},
        {"subject": "Please refund my premium", "sender_email": "ann@example.org"},
        {"subject": "Still waiting", "category": setup["delay"], "kind": Kind.COMPLAINT},
        {"subject": "Change of address", "sender_email": "bob@example.org"},
    ]
    return {"channel": RegisterChannel.POST, "received_at": MONDAY_9, "kind": Kind.LETTER,
            **shapes[number % len(shapes)], "body": f"Letter number {number}"}


def outcome(entry):
    """What registering decided for an entry, without what differs between any two entries."""
    decision = {key: value for key, value in entry.routing_decision.items() if key != "decided_at"}
    logged = [(item.action, {key: value for key, value in item.data.items() if key != "reference"})
              for item in ModelLogEntry.objects.for_instance(entry).order_by("pk")]
    versions = Version.objects.get_for_object(entry)
    # (tags: a manager in field_dict; the tags are compared in the next test)
    differ = {"id", "uuid", "reference", "registered_at", "updated_at", "body", "routing_decision", "tags"}
    stored = {key: value for key, value in versions[0].field_dict.items() if key not in differ}
    return {
        "department": entry.department_id, "assignee": entry.assignee_id, "priority": entry.priority,
        "status": entry.status, "policy": entry.sla_policy_id, "due_at": entry.due_at,
        "budget": entry.sla_budget_seconds, "rule": entry.routing_rule_id, "decision": decision,
        "logged": logged, "versions": [(version.revision.comment, version.revision.user_id) for version in versions],
        "stored": stored,
        "references": sorted(ReferenceIndex.get_references_for_object(entry).values_list("model_path", flat=True)),
    }


def test_a_run_registers_what_registering_one_by_one_registers(officer, setup):
    alone = [service.register_entry(officer, **fields_of(number, setup)) for number in range(8)]
    results = service.register_entries(officer, [Draft(fields_of(number, setup)) for number in range(8)])
    together = [result.entry for result in results]
    assert [result.error for result in results] == [None] * 8
    for one, other in zip(alone, together):
        one, other = Correspondence.objects.get(pk=one.pk), Correspondence.objects.get(pk=other.pk)
        assert outcome(one) == outcome(other)
    # The mix was routed as the rules say, so the comparison compared something.
    first = Correspondence.objects.get(pk=together[0].pk)
    assert (first.department, first.assignee, first.priority, first.status) == (
        setup["legal"], setup["lawyer"], Priority.URGENT, Status.ASSIGNED)
    assert Correspondence.objects.get(pk=together[2].pk).sla_policy == setup["fast"]
    assert Correspondence.objects.get(pk=together[3].pk).routing_decision["matched"] == []
    # Consecutive numbers, after those given one by one.
    numbers = [int(entry.reference.rsplit("-", 1)[1]) for entry in alone + together]
    assert numbers == list(range(numbers[0], numbers[0] + 16))
    assert audit.verify().entries == AuditSeal.objects.count()


def test_the_first_version_is_the_one_reversion_writes(officer, setup):
    """The versions are written in bulk, bypassing django-reversion's own saving: they must
    hold exactly what reversion serialises (its history and restore views read them)."""
    import reversion

    [result] = service.register_entries(officer, [Draft(fields_of(2, setup), tags=["urgent", "Paper"])])
    entry = Correspondence.objects.get(pk=result.entry.pk)
    [written] = Version.objects.get_for_object(entry)
    with reversion.create_revision():
        entry.save()  # what reversion itself writes for the same state
    by_reversion = Version.objects.get_for_object(entry)[0]
    assert by_reversion.pk != written.pk
    ignore = {"updated_at", "tags"}  # tags: a manager in field_dict; the followed rows are compared below
    assert ({key: value for key, value in written.field_dict.items() if key not in ignore}
            == {key: value for key, value in by_reversion.field_dict.items() if key not in ignore})
    assert (written.format, written.object_repr, written.content_type) == (
        by_reversion.format, by_reversion.object_repr, by_reversion.content_type)
    followed = {version.object_repr for version in written.revision.version_set.exclude(pk=written.pk)}
    assert followed == {version.object_repr for version in by_reversion.revision.version_set.exclude(
        pk=by_reversion.pk)} and len(followed) == 2
    # The history shows the registration with its tags.
    oldest = register_history.history(entry)[-1]
    assert oldest.comment == "Registered" and oldest.user == officer
    assert any(change.name == "tags" and change.new == "Paper, urgent" for change in oldest.changes)


def test_bad_drafts_are_refused_by_field_and_the_others_registered(officer, setup):
    drafts = [
        Draft(fields_of(1, setup)),
        Draft({**fields_of(3, setup), "subject": ""}),
        Draft({**fields_of(3, setup), "category_id": 999_999}),
        Draft({**fields_of(3, setup), "sender_email": "not an address"}),
        Draft(fields_of(3, setup), attachments=[NewAttachment(content=b"MZ\x90\x00binary", filename="run.exe")]),
        Draft(fields_of(0, setup)),
    ]
    results = service.register_entries(officer, drafts)
    errors = [sorted(result.error.message_dict) if result.error else None for result in results]
    assert errors == [None, ["subject"], ["category"], ["sender_email"], ["attachments[0]"], None]
    assert "999999" in " ".join(results[2].error.message_dict["category"])
    registered = [result.entry for result in results if result.entry]
    assert Correspondence.objects.count() == 2
    # The refused drafts used up no numbers.
    numbers = [int(entry.reference.rsplit("-", 1)[1]) for entry in registered]
    assert numbers == [numbers[0], numbers[0] + 1]


def test_register_entry_still_raises_the_error_of_its_one_draft(officer, setup):
    with pytest.raises(service.ValidationError) as raised:
        service.register_entry(officer, **{**fields_of(3, setup), "category_id": 999_999})
    assert list(raised.value.message_dict) == ["category"]
    assert not Correspondence.objects.exists()


def test_permissions_hold_for_a_run(make_user, officer, setup):
    reader = make_user("reader", roles.AUDITORS)
    with pytest.raises(PermissionDenied):
        service.register_entries(reader, [Draft(fields_of(1, setup))])
    # Choosing the department needs the assign permission: that draft is refused by name.
    clerk = make_user("clerk")
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["add_correspondence", "view_correspondence"]))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # permissions are cached per instance
    drafts = [Draft({**fields_of(1, setup), "department": setup["legal"]}), Draft(fields_of(1, setup))]
    results = service.register_entries(clerk, drafts)
    assert list(results[0].error.message_dict) == ["department"] and results[1].entry is not None
    assert Correspondence.objects.count() == 1


def stored_files():
    location = Path(AttachmentVersion._meta.get_field("file").storage.location)
    return {path for path in location.rglob("*") if path.is_file()}


def test_a_failing_run_saves_nothing_and_leaves_no_files(officer, setup, monkeypatch):
    counter_before = list(ReferenceSequence.objects.values_list("prefix", "last_value"))
    files_before = stored_files()
    drafts = [Draft(fields_of(number, setup), attachments=[NewAttachment(content=PDF, filename=f"scan{number}.pdf")])
              for number in range(3)]

    def broken(*args, **kwargs):
        raise RuntimeError("the audit log is unreachable")

    # Fails after the entries, their versions and the attachments' files were written.
    real_bulk_log = service.bulk_log

    def fail_on_attachments(instances, action, **kwargs):
        if action == log_actions.REGISTER_ATTACHMENT_ADDED:
            broken()
        return real_bulk_log(instances, action, **kwargs)

    monkeypatch.setattr(service, "bulk_log", fail_on_attachments)
    with pytest.raises(RuntimeError):
        service.register_entries(officer, drafts)
    assert not Correspondence.objects.exists() and not Attachment.objects.exists()
    assert not AttachmentVersion.objects.exists() and not Version.objects.exists()
    assert list(ReferenceSequence.objects.values_list("prefix", "last_value")) == counter_before
    assert stored_files() == files_before
    # The drafts can be registered again as they are.
    monkeypatch.setattr(service, "bulk_log", real_bulk_log)
    results = service.register_entries(officer, drafts)
    assert all(result.entry for result in results)
    assert AttachmentVersion.objects.count() == 3 and audit.verify().entries == AuditSeal.objects.count()
    assert len(stored_files() - files_before) == 3


def test_attachments_of_a_run(officer, setup):
    results = service.register_entries(officer, [
        Draft(fields_of(1, setup), attachments=[NewAttachment(content=PDF, filename="scan.pdf", title="Scan"),
                                                NewAttachment(content=b"hello", filename="note.bat")]),
        Draft(fields_of(3, setup))])
    entry = results[0].entry
    files = {(version.attachment.title, version.filename, version.number, version.content_type, version.size)
             for version in AttachmentVersion.objects.filter(attachment__correspondence=entry)}
    assert files == {("Scan", "scan.pdf", 1, "application/pdf", len(PDF)),
                     ("note.bat", "note.txt", 1, "text/plain", 5)}  # named after what it is
    version = AttachmentVersion.objects.get(filename="scan.pdf")
    assert version.file.read() == PDF and version.uploaded_by == officer
    logged = ModelLogEntry.objects.for_instance(entry).filter(action=log_actions.REGISTER_ATTACHMENT_ADDED)
    assert sorted(item.data["title"] for item in logged) == ["Scan", "note.bat"]
    assert not Attachment.objects.filter(correspondence=results[1].entry).exists()


def test_round_robin_takes_turns_within_a_run_and_after_it(officer, setup, make_user):
    desk = setup["billing"]
    members = [make_user(name, roles.OFFICERS) for name in ("first", "second", "third")]
    desk.members.add(*members)
    RoutingRule.objects.filter(name="Refunds").update(assignment=Assignment.ROUND_ROBIN)
    results = service.register_entries(officer, [Draft(fields_of(1, setup)) for _number in range(5)])
    assert [result.entry.assignee for result in results] == members + members[:2]
    assert RoutingRule.objects.get(name="Refunds").last_assignee == members[1]
    assert service.register_entry(officer, **fields_of(1, setup)).assignee == members[2]


def test_a_reply_in_a_run_wakes_its_conversation(officer, setup, make_user):
    supervisor = make_user("boss", roles.SUPERVISORS)
    first = service.register_entry(officer, **fields_of(1, setup))
    service.assign(supervisor, first, assignee=officer)
    service.transition(officer, first, "start")
    service.transition(officer, first, "await_customer")
    [result] = service.register_entries(officer, [Draft(fields_of(3, setup), in_reply_to=first)])
    first.refresh_from_db()
    assert first.status == Status.IN_PROGRESS
    assert result.entry.thread_root_id == first.pk and result.entry.department == first.department


def test_the_statements_of_a_run_do_not_grow_with_its_size(officer, setup):
    """Only the inserts may be split, where the database limits the values of one statement
    (SQLite: 999 or 32,766); everything else is read and written once per run."""
    def statements(count):
        drafts = [Draft(fields_of(number, setup)) for number in range(count)]
        with CaptureQueriesContext(connection) as captured:
            results = service.register_entries(officer, drafts)
        assert all(result.entry for result in results)
        return [query["sql"] for query in captured.captured_queries]

    def inserts(sqls):
        return Counter(re.match(r'INSERT (?:OR IGNORE )?INTO "(\w+)"', sql).group(1) for sql in sqls if sql.startswith("INSERT"))

    statements(4)  # content types and the like are read once per process
    few = statements(4)
    tables = {model._meta.db_table: model for model in apps.get_models()}
    before = {table: tables[table]._base_manager.count() for table in inserts(few)}
    many = statements(40)
    assert len([sql for sql in many if not sql.startswith("INSERT")]) == len(
        [sql for sql in few if not sql.startswith("INSERT")])
    assert set(inserts(many)) == set(inserts(few)) and len(few) < 40
    for table, count in inserts(many).items():
        # Rows, not entries: an entry has several references in the reference index.
        rows = tables[table]._base_manager.count() - before[table]
        fields = tables[table]._meta.concrete_fields
        assert count <= max(math.ceil(rows / connection.ops.bulk_batch_size(fields, [None] * rows)),
                            inserts(few)[table]), (table, count, rows)
