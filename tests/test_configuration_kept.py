"""Registering an entry reads the routing rules, the trees, the SLA policies and the calendars
once per process while the configuration stamp holds (services/lookups.py). Database
triggers change the stamp with every write to them, whoever writes: these tests change the
configuration the ways that send no signal and check that the next registration sees it."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from wagtail.models import ReferenceIndex

from wagtail_correspondence import roles
from wagtail_correspondence.configuration_stamp import install
from wagtail_correspondence.models import (
    Assignment,
    BusinessCalendar,
    Category,
    ConfigurationStamp,
    Department,
    Kind,
    RegisterChannel,
    RoutingRule,
    SlaPolicy,
    SlaUnit,
)
from wagtail_correspondence.services import register as service

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Brussels"))
CONFIGURATION_TABLES = re.compile(r'FROM "wagtail_correspondence_(routingrule|category|slapolicy|businesscalendar'
                                  r'|department)"')


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles.OFFICERS)


@pytest.fixture
def setup(db, make_user):
    head = Department.add_root(name="Head office", code="head")
    billing = head.add_child(name="Billing", code="billing")
    head = Department.objects.get(pk=head.pk)
    legal = head.add_child(name="Legal", code="legal")
    lawyer = make_user("lawyer", roles.OFFICERS)
    complaints = Category.add_root(name="Complaints", code="complaints")
    RoutingRule.objects.create(name="Courts", department=legal, sort_order=10, senders="@court.example",
                               assignment=Assignment.FIXED, assignee=lawyer)
    refunds = RoutingRule.objects.create(name="Refunds", department=billing, sort_order=20, keywords="refund")
    return {"head": head, "billing": billing, "legal": legal, "lawyer": lawyer, "complaints": complaints,
            "refunds": refunds}


def register(officer, **fields):
    return service.register_entry(officer, **{
        "channel": RegisterChannel.POST, "received_at": MONDAY_9, "kind": Kind.LETTER,
        "subject": "Please refund my premium", "sender_email": "greffe@court.example", **fields})


def configuration_reads(officer, **fields):
    with CaptureQueriesContext(connection) as captured:
        entry = register(officer, **fields)
    return entry, [query["sql"] for query in captured.captured_queries if CONFIGURATION_TABLES.search(query["sql"])]


def test_a_second_registration_reads_one_row_of_configuration(officer, setup):
    register(officer, category=setup["complaints"])
    entry, reads = configuration_reads(officer, category=setup["complaints"])
    assert entry.routing_rule.name == "Courts"
    assert reads == []


def test_a_rule_changed_without_signals_applies_to_the_next_registration(officer, setup):
    assert register(officer).routing_rule.name == "Courts"
    RoutingRule.objects.filter(name="Refunds").update(sort_order=5)  # a queryset update: no post_save
    entry, reads = configuration_reads(officer)
    assert entry.routing_rule.name == "Refunds" and entry.department == setup["billing"]
    assert reads, "the rules were read again"
    RoutingRule.objects.filter(name="Refunds").update(is_active=False)
    assert register(officer).routing_rule.name == "Courts"


def test_a_rule_category_added_or_a_category_moved_applies_at_once(officer, setup):
    setup["refunds"].categories.add(setup["complaints"])  # m2m: the through table's trigger
    assert register(officer, sender_email="ann@example.org").routing_rule is None  # needs the category now
    delay = Category.objects.get(pk=setup["complaints"].pk).add_child(name="Delay", code="delay")
    assert register(officer, sender_email="ann@example.org", category=delay).routing_rule.name == "Refunds"
    other = Category.add_root(name="Other", code="other")
    Category.objects.get(pk=delay.pk).move(other, pos="sorted-child")  # treebeard rewrites the path by UPDATE
    assert register(officer, sender_email="ann@example.org", category_id=delay.pk).routing_rule is None


def test_policies_and_calendars_apply_at_once(officer, setup):
    entry = register(officer, subject="Summons")
    assert entry.sla_policy is None
    SlaPolicy.objects.create(name="Legal in an hour", response_time=1, unit=SlaUnit.WORKING_HOURS)
    entry = register(officer, subject="Summons")
    assert entry.sla_policy.name == "Legal in an hour" and entry.due_at == MONDAY_9 + datetime.timedelta(hours=1)
    closed = BusinessCalendar.objects.create(name="Legal", working_days=[1, 2, 3, 4])  # closed on Mondays
    Department.objects.filter(pk=setup["legal"].pk).update(calendar=closed)
    entry = register(officer, subject="Summons")
    assert entry.due_at.astimezone(MONDAY_9.tzinfo) == MONDAY_9 + datetime.timedelta(days=1, hours=1)


def test_the_round_robin_turn_leaves_the_stamp_alone(officer, setup, make_user):
    setup["billing"].members.add(make_user("first", roles.OFFICERS), make_user("second", roles.OFFICERS))
    RoutingRule.objects.filter(name="Refunds").update(assignment=Assignment.ROUND_ROBIN)
    register(officer, sender_email="ann@example.org")
    token = ConfigurationStamp.objects.get().token
    entries = [register(officer, sender_email="ann@example.org") for _turn in range(2)]
    assert [entry.assignee.username for entry in entries] == ["second", "first"]
    assert ConfigurationStamp.objects.get().token == token


def test_the_fixed_assignee_is_read_for_each_run_not_kept(officer, setup):
    assert register(officer).assignee == setup["lawyer"]
    type(setup["lawyer"]).objects.filter(pk=setup["lawyer"].pk).update(username="counsel")
    assert register(officer).routing_decision["assignee"] == "counsel"


def test_the_references_are_indexed_with_the_entry(officer, setup):
    with transaction.atomic():
        entry = register(officer, category=setup["complaints"])
        # Written by the registration's own transaction, not by a task after the commit.
        recorded = set(ReferenceIndex.get_references_for_object(entry).values_list("model_path", "to_object_id"))
    assert {("department", str(setup["legal"].pk)), ("category", str(setup["complaints"].pk)),
            ("routing_rule", str(entry.routing_rule_id))} <= recorded


def test_an_entry_without_tags_reads_no_tag_rows_and_one_with_tags_indexes_them(officer, setup):
    with CaptureQueriesContext(connection) as captured:
        plain = register(officer)
    assert not [query["sql"] for query in captured.captured_queries if "taggedcorrespondence" in query["sql"]]
    assert plain.tags.count() == 0
    tagged = register(officer, tags=["urgent", "vip"])
    assert sorted(tagged.tags.names()) == ["urgent", "vip"]
    recorded = ReferenceIndex.get_references_for_object(tagged).values_list("model_path", flat=True)
    assert any(path.startswith("tagged_items.item.tag") for path in recorded), list(recorded)


def test_installing_again_keeps_one_stamp(db):
    install()
    install()
    assert ConfigurationStamp.objects.count() == 1


@pytest.mark.django_db(transaction=True, databases=["default", "postgres"])
def test_the_triggers_change_the_stamp_on_postgresql():
    database = connections["postgres"]
    assert database.vendor == "postgresql"
    install("postgres")
    stamps = ConfigurationStamp.objects.using("postgres")

    def token():
        return stamps.get().token

    before = token()
    Category.objects.using("postgres").create(path="0009", depth=1, name="Somewhere", code="somewhere")
    after_insert = token()
    Category.objects.using("postgres").filter(code="somewhere").update(name="Elsewhere")
    after_update = token()
    calendar = BusinessCalendar.objects.using("postgres").create(name="Closed on Mondays", working_days=[1, 2, 3, 4])
    after_calendar = token()
    BusinessCalendar.objects.using("postgres").filter(pk=calendar.pk).delete()
    assert len({before, after_insert, after_update, after_calendar, token()}) == 5
