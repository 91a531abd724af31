"""Routing of new register entries (services.routing through services.register): the first
active rule in sort order whose conditions all hold decides department, assignee, priority
and SLA policy, and the decision is recorded on the entry."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    Assignment,
    Category,
    Correspondence,
    Department,
    Direction,
    Kind,
    Priority,
    RegisterChannel,
    RoutingRule,
    SlaPolicy,
    SlaUnit,
    Status,
)
from wagtail_correspondence.services import register as service
from wagtail_correspondence.services import routing

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Brussels"))


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles.OFFICERS)


@pytest.fixture
def departments(db):
    head = Department.add_root(name="Head office", code="head")
    return {
        "head": head,
        "claims": head.add_child(name="Claims", code="claims"),
        "billing": head.add_child(name="Billing", code="billing"),
        "vip": head.add_child(name="VIP desk", code="vip"),
        "legal": head.add_child(name="Legal", code="legal"),
    }


@pytest.fixture
def categories(db):
    complaints = Category.add_root(name="Complaints", code="complaints")
    billing = Category.add_root(name="Billing", code="billing")
    return {
        "complaints": complaints,
        "delay": complaints.add_child(name="Delay", code="delay"),
        "billing": billing,
        "refund": billing.add_child(name="Refund", code="refund"),
    }


def rule(name, department, *, categories=(), sort_order=100, **fields):
    instance = RoutingRule(name=name, department=department, sort_order=sort_order, **fields)
    instance.full_clean()
    instance.save()
    instance.categories.set(categories)
    return instance


def register(user, **fields):
    fields.setdefault("subject", "A question")
    fields.setdefault("kind", Kind.INQUIRY)
    fields.setdefault("channel", RegisterChannel.POST)
    fields.setdefault("received_at", MONDAY_9)
    return service.register_entry(user, **fields)


def test_the_first_matching_rule_by_sort_order_wins(officer, departments):
    rule("Everything else", departments["head"], sort_order=900)
    rule("Complaints", departments["claims"], kinds=[Kind.COMPLAINT], sort_order=20)
    rule("Complaints by email", departments["billing"], kinds=[Kind.COMPLAINT], channels=[RegisterChannel.EMAIL],
         sort_order=10)
    # Equal order: the older rule first.
    rule("Legal A", departments["legal"], kinds=[Kind.LEGAL], sort_order=50)
    rule("Legal B", departments["vip"], kinds=[Kind.LEGAL], sort_order=50)

    assert register(officer, kind=Kind.COMPLAINT, channel=RegisterChannel.EMAIL).department == departments["billing"]
    assert register(officer, kind=Kind.COMPLAINT, channel=RegisterChannel.POST).department == departments["claims"]
    assert register(officer, kind=Kind.LEGAL).department == departments["legal"]
    assert register(officer, kind=Kind.INQUIRY).department == departments["head"]

    RoutingRule.objects.filter(name="Complaints").update(sort_order=5)
    assert register(officer, kind=Kind.COMPLAINT, channel=RegisterChannel.EMAIL).department == departments["claims"]


def test_kind_and_channel_conditions(officer, departments):
    rule("Faxed complaints", departments["claims"], kinds=[Kind.COMPLAINT, Kind.LEGAL],
         channels=[RegisterChannel.FAX])
    routed = register(officer, kind=Kind.LEGAL, channel=RegisterChannel.FAX)
    assert routed.department == departments["claims"]
    assert routed.routing_decision["matched"] == ["kind=legal", "channel=fax"]
    assert register(officer, kind=Kind.LEGAL, channel=RegisterChannel.POST).department is None
    assert register(officer, kind=Kind.INVOICE, channel=RegisterChannel.FAX).department is None


def test_a_rule_on_a_category_matches_the_categories_below_it(officer, departments, categories):
    rule("Complaints", departments["claims"], categories=[categories["complaints"]], sort_order=10)
    rule("Refunds", departments["billing"], categories=[categories["refund"]], sort_order=20)

    child = register(officer, category=categories["delay"])
    assert child.department == departments["claims"]
    assert child.routing_decision["matched"] == ["category=complaints"]
    assert register(officer, category=categories["complaints"]).department == departments["claims"]
    assert register(officer, category=categories["refund"]).department == departments["billing"]
    # A rule on a child category does not take the parent; nor entries without a category.
    assert register(officer, category=categories["billing"]).department is None
    assert register(officer).department is None


def test_sender_addresses_and_domains(officer, departments):
    rule("Partners", departments["vip"], senders="broker@partner.example, @insurer.example")

    def routed(address):
        return register(officer, sender_email=address).department

    assert routed("broker@partner.example") == departments["vip"]
    assert routed("Broker@Partner.Example") == departments["vip"]
    assert routed("claims@insurer.example") == departments["vip"]
    assert routed("CLAIMS@INSURER.EXAMPLE") == departments["vip"]
    assert routed("other@partner.example") is None  # an address, not its domain
    assert routed("claims@mail.insurer.example") is None  # exactly the domain
    assert routed("claims@insurer.example.org") is None
    assert routed("") is None
    entry = register(officer, sender_email="claims@insurer.example")
    assert entry.routing_decision["matched"] == ["sender=@insurer.example"]


def test_keywords_in_subject_or_body_ignore_case(officer, departments):
    rule("Refunds", departments["billing"], keywords="refund,\nchargeback")
    in_subject = register(officer, subject="REFUND please")
    assert in_subject.department == departments["billing"]
    assert in_subject.routing_decision["matched"] == ["keyword=refund"]
    in_body = register(officer, subject="My card", body="I asked my bank for a ChargeBack.")
    assert in_body.department == departments["billing"]
    assert in_body.routing_decision["matched"] == ["keyword=chargeback"]
    assert register(officer, subject="A question", body="Nothing about money").department is None


def test_customer_condition(officer, departments, customers):
    customers(
        {"customer": {"id": "C-1", "full_name": "Ada Peeters", "vip": True},
         "policy": {"product": "Car insurance"}},
        {"customer": {"id": "C-2", "full_name": "Bob Janssens", "vip": False}},
    )
    rule("VIP customers", departments["vip"], customer_condition="customer.vip", sort_order=10)
    rule("Car insurance", departments["claims"], customer_condition="policy.product == 'Car insurance'",
         sort_order=20)

    vip = register(officer, customer_id="C-1")
    assert vip.department == departments["vip"]
    assert vip.routing_decision["matched"] == ["customer: customer.vip"]
    # C-2 is no VIP and has no policy at all: a condition on missing data does not match
    # (and does not stop the intake).
    assert register(officer, customer_id="C-2").department is None
    assert register(officer, customer_id="C-404").department is None  # unknown customer
    assert register(officer).department is None  # no customer

    RoutingRule.objects.filter(name="VIP customers").update(is_active=False)
    assert register(officer, customer_id="C-1").department == departments["claims"]


def test_inactive_rules_are_skipped(officer, departments):
    rule("Old rule", departments["legal"], sort_order=1, is_active=False)
    rule("Current rule", departments["claims"], sort_order=2)
    entry = register(officer)
    assert entry.department == departments["claims"] and entry.routing_rule.name == "Current rule"


def test_rules_only_route_their_direction(officer, departments):
    rule("Inbound", departments["claims"])
    rule("Internal", departments["legal"], direction=Direction.INTERNAL)
    assert register(officer).department == departments["claims"]
    assert register(officer, direction=Direction.INTERNAL).department == departments["legal"]
    outbound = register(officer, direction=Direction.OUTBOUND, received_at=None)
    assert outbound.department is None and outbound.routing_decision == {}


def test_fixed_assignee(officer, departments, make_user):
    claims_handler = make_user("handler", roles.OFFICERS)
    rule("Claims", departments["claims"], kinds=[Kind.COMPLAINT], assignment=Assignment.FIXED,
         assignee=claims_handler)
    entry = register(officer, kind=Kind.COMPLAINT)
    assert entry.department == departments["claims"] and entry.assignee == claims_handler
    assert entry.status == Status.ASSIGNED
    assert entry.routing_decision["assignee"] == "handler"
    routed_log = ModelLogEntry.objects.for_instance(entry).get(action=log_actions.REGISTER_ROUTED)
    assert routed_log.data == {"reference": entry.reference, "rule": "Claims", "department": "Claims",
                               "assignee": "handler"}


def test_round_robin_takes_turns_among_members_who_may_work_entries(officer, departments, make_user):
    desk = departments["claims"]
    first = make_user("first", roles.OFFICERS)
    no_role = make_user("norole")
    agent = make_user("agent", roles.AGENTS)  # agents may change entries
    auditor = make_user("auditor", roles.AUDITORS)  # reads only
    gone = make_user("gone", roles.OFFICERS, is_active=False)
    direct = make_user("direct")
    direct.user_permissions.add(Permission.objects.get(codename="change_correspondence"))
    outsider = make_user("outsider", roles.OFFICERS)  # not a member of the desk
    desk.members.add(first, no_role, agent, auditor, gone, direct)
    assert outsider.pk and routing.eligible_members(desk) == [first, agent, direct]

    round_robin = rule("Claims", desk, assignment=Assignment.ROUND_ROBIN)
    assignees = [register(officer, subject=f"Claim {number}").assignee for number in range(7)]
    assert assignees == [first, agent, direct, first, agent, direct, first]
    round_robin.refresh_from_db()
    assert round_robin.last_assignee == first

    # A new colleague joins the turn after the current one; one who loses the role leaves it.
    newcomer = make_user("newcomer", roles.OFFICERS)
    desk.members.add(newcomer)
    agent.groups.clear()
    assignees = [register(officer, subject=f"Claim {number}").assignee for number in range(4)]
    assert assignees == [direct, newcomer, first, direct]
    assert all(entry.status == Status.ASSIGNED
               for entry in Correspondence.objects.filter(routing_rule=round_robin))


def test_round_robin_without_eligible_members_leaves_the_entry_with_the_department(officer, departments, make_user):
    departments["legal"].members.add(make_user("reader", roles.AUDITORS))
    rule("Legal", departments["legal"], assignment=Assignment.ROUND_ROBIN)
    entry = register(officer)
    assert entry.department == departments["legal"] and entry.assignee is None
    assert entry.status == Status.REGISTERED


def test_the_decision_is_recorded_on_the_entry(officer, departments, categories):
    fast = SlaPolicy.objects.create(name="Complaints in a day", response_time=8, unit=SlaUnit.WORKING_HOURS)
    complaint_rule = rule("Refund complaints", departments["billing"], kinds=[Kind.COMPLAINT],
                          categories=[categories["billing"]], keywords="refund", priority=Priority.URGENT,
                          sla_policy=fast)
    entry = register(officer, kind=Kind.COMPLAINT, category=categories["refund"], subject="Where is my refund?")
    stored = Correspondence.objects.get(pk=entry.pk)
    assert stored.routing_rule == complaint_rule
    assert stored.priority == Priority.URGENT
    assert stored.sla_policy == fast
    assert stored.due_at == MONDAY_9.replace(hour=17)  # 8 working hours
    decision = stored.routing_decision
    assert datetime.datetime.fromisoformat(decision.pop("decided_at"))
    assert decision == {
        "rule_id": complaint_rule.pk, "rule": "Refund complaints",
        "matched": ["kind=complaint", "category=billing", "keyword=refund"],
        "department": "billing", "assignee": None, "priority": "urgent", "sla_policy": "Complaints in a day",
        "given": [], "follows_conversation": False,
    }
    # The record outlives the rule.
    complaint_rule.delete()
    stored.refresh_from_db()
    assert stored.routing_rule is None and stored.routing_decision["rule"] == "Refund complaints"


def test_a_rule_without_conditions_matches_everything(officer, departments):
    rule("Catch-all", departments["head"])
    entry = register(officer, kind=Kind.MEMO, channel=RegisterChannel.COUNTER)
    assert entry.department == departments["head"]
    assert entry.routing_decision["matched"] == ["no conditions"]


def test_without_a_matching_rule_the_entry_has_no_department(officer, departments):
    rule("Legal", departments["legal"], kinds=[Kind.LEGAL])
    entry = register(officer)
    assert entry.department is None and entry.assignee is None and entry.routing_rule is None
    assert entry.status == Status.REGISTERED
    assert entry.routing_decision["rule"] is None and entry.routing_decision["matched"] == []
    # Nothing was routed, so the audit log says nothing about routing.
    assert not ModelLogEntry.objects.for_instance(entry).filter(action=log_actions.REGISTER_ROUTED).exists()


def test_a_department_chosen_at_registration_stays_when_no_rule_matches(officer, departments):
    entry = register(officer, department=departments["legal"])
    assert entry.department == departments["legal"] and entry.routing_decision["department"] == "legal"


def test_a_department_or_assignee_given_at_registration_stands_over_the_rule(officer, departments, make_user):
    desk = departments["claims"]
    first, second = make_user("first", roles.OFFICERS), make_user("second", roles.OFFICERS)
    handler = make_user("handler", roles.OFFICERS)
    desk.members.add(first, second)
    round_robin = rule("Claims", desk, assignment=Assignment.ROUND_ROBIN, priority=Priority.HIGH)

    to_legal = register(officer, department=departments["legal"])
    assert to_legal.department == departments["legal"] and to_legal.assignee is None
    assert to_legal.routing_rule == round_robin and to_legal.priority == Priority.HIGH  # the rest still applies
    assert to_legal.routing_decision["given"] == ["department"]
    to_handler = register(officer, assignee=handler)
    assert to_handler.department == desk and to_handler.assignee == handler
    assert to_handler.routing_decision["given"] == ["assignee"]
    round_robin.refresh_from_db()
    assert round_robin.last_assignee is None  # neither used up a turn
    assert register(officer).assignee == first


def test_an_unrouted_reply_stays_with_its_thread(officer, departments, make_user):
    handler = make_user("handler", roles.OFFICERS)
    rule("Claims", departments["claims"], keywords="claim", assignment=Assignment.FIXED, assignee=handler)
    first = register(officer, subject="My claim", customer_id="C-9")
    assert first.department == departments["claims"] and first.assignee == handler

    reply = register(officer, subject="Re: documents", in_reply_to=first)
    assert reply.department == departments["claims"] and reply.assignee == handler
    assert reply.status == Status.ASSIGNED
    assert reply.routing_rule is None
    assert reply.routing_decision["rule"] is None and reply.routing_decision["matched"] == ["thread"]
    assert reply.thread_root == first and reply.customer_id == "C-9"

    # A reply to the reply: still the same thread and people.
    second = register(officer, subject="Re: Re: documents", in_reply_to=reply)
    assert second.thread_root == first and second.department == departments["claims"]
    assert second.assignee == handler
    assert list(first.thread()) == [first, reply, second]

    # A reply a rule matches still stays with its conversation; the rule is recorded and may
    # set the priority and the SLA policy.
    rule("Legal", departments["legal"], keywords="lawyer", sort_order=1, priority="high")
    routed = register(officer, subject="Re: my lawyer will call", in_reply_to=first)
    assert routed.department == departments["claims"] and routed.assignee == handler
    assert routed.routing_rule.name == "Legal" and routed.priority == "high"
    assert routed.routing_decision["follows_conversation"] is True
    assert routed.routing_decision["given"] == ["department", "assignee"]
