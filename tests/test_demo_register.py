"""The demo register: about 200 entries across departments, every status, overdue and due-soon
work, threads answered with real letters, configuration to route and time them, and a second
run that creates nothing. The demo is built once for the module and rolled back at the end."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max, Min
from django.test import override_settings
from django.utils import timezone

from correspondence_demo.content import DemoBuilder
from wagtail_correspondence.models import (
    Attachment,
    AttachmentVersion,
    BusinessCalendar,
    Category,
    Correspondence,
    Department,
    Direction,
    Letter,
    Note,
    RetentionPolicy,
    RoutingRule,
    SlaPolicy,
    Status,
)
from wagtail_correspondence.services import sla
from wagtail_correspondence.services.register_access import visible_entries
from wagtail_correspondence.uploads import sniff


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, _migrated_data):
    with django_db_blocker.unblock():
        from django.contrib.auth.models import Group

        if not Group.objects.exists():
            # A transactional test of another module flushed what the migrations created.
            call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
            from django.db import connection

            connection.creation.deserialize_db_from_string(_migrated_data)
        with transaction.atomic():
            with override_settings(DEBUG=True):
                call_command("correspondence_demo", stdout=io.StringIO())
            yield
            transaction.set_rollback(True)


def user(username):
    return get_user_model().objects.get(username=username)


def counts():
    return {model.__name__: model.objects.count() for model in (
        Correspondence, Note, Attachment, AttachmentVersion, Letter, Category, SlaPolicy, RoutingRule,
        BusinessCalendar, Department, get_user_model())}


def test_about_two_hundred_entries_in_many_departments(demo, db):
    entries = Correspondence.objects.all()
    assert 180 <= entries.count() <= 230
    per_department = dict(entries.values_list("department__code").annotate(n=Count("pk")))
    assert len([code for code, number in per_department.items() if code and number >= 5]) >= 4
    assert {"complaints", "billing", "claims", "legal"} <= set(per_department)
    assert set(entries.values_list("direction", flat=True)) == set(Direction.values)
    # Every inbound entry was routed by a rule; several rules took part.
    inbound = entries.filter(direction=Direction.INBOUND)
    assert not inbound.filter(routing_decision={}).exists()
    assert inbound.exclude(routing_rule=None).values("routing_rule").distinct().count() >= 8


def test_every_status_some_overdue_some_waiting(demo, db):
    entries = Correspondence.objects.all()
    assert set(entries.values_list("status", flat=True)) == set(Status.values)
    overdue = entries.overdue()
    assert overdue.count() >= 5
    assert overdue.filter(assignee__username="officer").exists()
    waiting = entries.filter(status=Status.AWAITING_CUSTOMER)
    assert waiting.exists() and not waiting.filter(sla_paused_at=None).exists()
    closed = entries.filter(status=Status.CLOSED, direction=Direction.INBOUND)
    assert not closed.filter(closed_at=None).exists()
    assert entries.filter(sla_cycle__gt=0).exists()  # reopened once


def test_entries_are_spread_over_ten_weeks_in_the_past(demo, db):
    now = timezone.now()
    span = Correspondence.objects.aggregate(first=Min("registered_at"), last=Max("registered_at"))
    assert span["last"] <= now
    assert now - span["first"] >= datetime.timedelta(weeks=8)
    for name in ("registered_at", "received_at", "responded_at", "closed_at", "sla_paused_at"):
        assert not Correspondence.objects.filter(**{f"{name}__gt": now}).exists(), name
    for entry in Correspondence.objects.exclude(responded_at=None).exclude(received_at=None):
        assert entry.received_at <= entry.registered_at <= entry.responded_at, entry.reference
    references = list(Correspondence.objects.filter(direction=Direction.INBOUND, in_reply_to=None)
                      .order_by("registered_at").values_list("reference", flat=True))
    assert references == sorted(references)
    assert Correspondence.objects.filter(external_reference="DEMO-0001").count() == 1


def test_threads_answered_with_generated_letters(demo, db):
    replies = Correspondence.objects.filter(direction=Direction.OUTBOUND, letter__isnull=False,
                                            in_reply_to__isnull=False).select_related("letter", "in_reply_to")
    assert 6 <= replies.count() <= 10
    for reply in replies:
        assert reply.letter.in_reply_to_id == reply.in_reply_to_id
        assert reply.reference == reply.letter.reference
        assert reply.in_reply_to.status in (Status.RESPONDED, Status.CLOSED)
        assert reply.in_reply_to.responded_at is not None
        assert reply.thread_root_id == reply.in_reply_to_id
    # Customers wrote back in a thread: the reply is an inbound entry of the conversation,
    # with the person who handles it.
    answers = Correspondence.objects.filter(direction=Direction.INBOUND, in_reply_to__isnull=False)
    assert answers.count() >= 2
    for answer in answers:
        assert answer.thread_root_id and answer.assignee_id


def test_a_portal_letter_waits_for_its_customer(demo, db, settings, client):
    import re

    from wagtail_correspondence.models import Dispatch
    from wagtail_correspondence.services.dispatch import process_dispatch

    settings.WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8014"  # what `make demo` sets from PORT
    dispatch = Dispatch.objects.select_related("letter").get(channel="portal", letter__template__slug="policy-renewal")
    assert dispatch.letter.data["customer"]["id"] == "C-1017" and dispatch.recipient == "quentin.simon@example.org"
    assert dispatch.status == "queued" and dispatch.link_origin == ""  # the worker sends the notice
    mail.outbox.clear()
    assert process_dispatch(dispatch.pk).status == "sent"
    [message] = mail.outbox
    path = re.search(r"^http://127\.0\.0\.1:8014(/portal/letters/[^/\s]+/)$", message.body, re.M).group(1)
    page = client.get(path)
    assert page.status_code == 200 and dispatch.letter.reference in page.content.decode()


def test_configuration_for_routing_and_deadlines(demo, db):
    calendar = BusinessCalendar.objects.get(name="Belgium (Brussels)")
    assert calendar.country == "BE"
    calendar.full_clean()
    roots = Department.get_root_nodes()
    assert {department.calendar_id for department in roots} == {calendar.pk}
    assert Department.objects.get(code="customer-service").supervisor.username == "supervisor"
    assert Department.objects.get(code="legal").supervisor.username == "admin"
    assert Department.objects.get(code="claims").get_parent().code == "customer-service"
    assert Department.objects.get(code="litigation").get_parent().code == "legal"
    assert Category.objects.get(code="legal-gdpr").get_parent().code == "legal"
    assert Category.objects.get(code="complaint-delay").get_parent().code == "complaints"
    for policy in SlaPolicy.objects.all():
        policy.full_clean()
        assert policy.reminder_percentages == [50, 80]
    rules = list(RoutingRule.objects.order_by("sort_order"))
    assert len(rules) >= 10
    for rule in rules:
        rule.full_clean()
    assert any(rule.assignment == "round_robin" and rule.department.code == "complaints" for rule in rules)
    assert any(rule.customer_condition for rule in rules) and any(rule.senders for rule in rules)
    assert any(rule.keywords for rule in rules) and any(rule.kinds for rule in rules)
    assert any(rule.categories.exists() for rule in rules)
    assert rules[-1].department.code == "customer-service"  # the catch-all comes last
    # Round-robin shared the complaints between the two officers.
    complaint_handlers = set(Correspondence.objects.filter(routing_rule__assignment="round_robin")
                             .values_list("routing_decision__assignee", flat=True))
    assert {"officer", "officer2"} <= complaint_handlers


def test_officer_and_supervisor_see_their_work(demo, db):
    officer, supervisor = user("officer"), user("supervisor")
    seen_by_officer = visible_entries(officer)
    seen_by_supervisor = visible_entries(supervisor)
    assert seen_by_officer.count() >= 20
    assert seen_by_supervisor.count() > seen_by_officer.count()
    subtree = Correspondence.objects.filter(department__path__startswith=Department.objects.get(
        code="customer-service").path)
    assert set(subtree.values_list("pk", flat=True)) <= set(seen_by_supervisor.values_list("pk", flat=True))
    assert seen_by_officer.filter(department__code="complaints").count() == Correspondence.objects.filter(
        department__code="complaints").count()
    assert Correspondence.objects.open().filter(assignee=officer).count() >= 8
    assert Correspondence.objects.open().filter(assignee__username="agent").count() >= 3
    now = timezone.now()
    soon = now + datetime.timedelta(hours=24)
    due_soon = Correspondence.objects.open().filter(due_at__gt=now, due_at__lte=soon, sla_paused_at=None)
    assert due_soon.filter(assignee=officer).count() >= 2
    assert due_soon.filter(assignee=supervisor).count() >= 2


def test_attachments_pass_the_content_checks(demo, db):
    versions = list(AttachmentVersion.objects.all())
    assert len(versions) >= 5
    assert {version.content_type for version in versions} == {"application/pdf", "image/png"}
    for version in versions:
        with version.file.open("rb") as handle:
            content = handle.read()
        assert sniff(content) == version.content_type
        assert len(content) == version.size
    assert Note.objects.count() >= 10


def test_the_sla_sweep_runs_over_the_demo(demo, db):
    result = sla.sweep()
    assert result.checked >= 20 and result.created > 0
    assert mail.outbox
    assert Correspondence.objects.filter(escalation_level__gt=0).exists()


def test_retention_policies_and_a_legal_hold_show_what_retention_would_do(demo, db):
    from wagtail_correspondence.services import retention

    assert RetentionPolicy.objects.filter(category__isnull=True).count() == 1  # the default
    held = Correspondence.objects.get(legal_hold=True)
    assert held.category.code == "legal-lawyer" and held.legal_hold_reason
    later = timezone.now() + datetime.timedelta(days=365 * 15)
    due = {item.entry.pk for item in retention.due_for_retention(later)}
    closed = set(Correspondence.objects.filter(status=Status.CLOSED).values_list("pk", flat=True))
    assert due and due <= closed  # only closed entries, and some of them
    assert held.pk not in due
    if held.status == Status.CLOSED:  # it would be due, but the hold keeps it
        assert any(item.entry.pk == held.pk and item.held for item in retention.retention_plan(later))


def test_a_second_run_creates_nothing(demo, db):
    before = counts()
    assert DemoBuilder(log=lambda *args: None).build() == []
    assert counts() == before


def test_the_demo_letters_speak_their_customers_language(demo, db):
    """Every demo letter is in its customer's language where content exists in it (German
    customers get English), and the agent's reworded apology is in the letter's language."""
    from wagtail_correspondence.customers import get_customer_source
    from wagtail_correspondence.models import Letter

    letters = list(Letter.objects.exclude(customer_id=""))
    assert {letter.language for letter in letters} == {"en", "fr", "nl"}
    for letter in letters:
        spoken = get_customer_source().get(letter.customer_id)["customer"]["language"]
        assert letter.language == (spoken if spoken in ("en", "fr", "nl") else "en"), letter.reference
    tailored = Letter.objects.get(template__slug="claim-update", customer_id="C-1002")
    assert tailored.language == "nl" and "Het spijt ons" in tailored.fragment_edits["apology"]["html"]
