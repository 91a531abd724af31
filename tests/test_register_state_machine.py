"""The status machine of register entries (services.register.transition): every (from, to)
pair, the reasons and the assignee it asks for, the deadline clock it pauses and restarts,
and the history (django-reversion) and audit log (Wagtail) each change leaves."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from reversion.models import Version
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    Correspondence,
    Direction,
    Kind,
    RegisterChannel,
    SlaPolicy,
    SlaUnit,
    Status,
)
from wagtail_correspondence.services import register as service
from wagtail_correspondence.services.calendar import WorkingCalendar

pytestmark = pytest.mark.django_db

BRUSSELS = ZoneInfo("Europe/Brussels")
MONDAY_9 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=BRUSSELS)  # no Belgian holiday that fortnight


def at(day, hour, minute=0):
    """A moment in March 2026, Brussels time."""
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=BRUSSELS)


# The status machine as specified; TRANSITIONS must not drift from it unnoticed.
EXPECTED_TRANSITIONS = {
    Status.REGISTERED: {Status.ASSIGNED, Status.CLOSED},
    # back to registered when the assignee is removed (assign(), or transition() of an entry
    # whose assignee is gone)
    Status.ASSIGNED: {Status.IN_PROGRESS, Status.CLOSED, Status.REGISTERED},
    Status.IN_PROGRESS: {Status.AWAITING_CUSTOMER, Status.RESPONDED, Status.CLOSED},
    Status.AWAITING_CUSTOMER: {Status.IN_PROGRESS, Status.RESPONDED, Status.CLOSED},
    Status.RESPONDED: {Status.CLOSED, Status.IN_PROGRESS},
    Status.CLOSED: {Status.ASSIGNED, Status.REGISTERED},
}
ALL_PAIRS = [(source, target) for source in Status for target in Status]
ALLOWED = [pair for pair in ALL_PAIRS if pair[1] in EXPECTED_TRANSITIONS[pair[0]]]
REFUSED = [pair for pair in ALL_PAIRS if pair[1] not in EXPECTED_TRANSITIONS[pair[0]]]

# How an entry reaches each status through the service (from "assigned").
PATHS = {
    Status.REGISTERED: [],
    Status.ASSIGNED: [],
    Status.IN_PROGRESS: ["start"],
    Status.AWAITING_CUSTOMER: ["start", "await_customer"],
    Status.RESPONDED: ["start", "respond"],
    Status.CLOSED: ["start", "respond", "close"],
}


@pytest.fixture
def clock(monkeypatch):
    """Freezes django.utils.timezone.now (which the services read) at ``clock.now``."""

    class Clock:
        now = MONDAY_9

    frozen = Clock()
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles.OFFICERS)


@pytest.fixture
def worker(make_user):
    return make_user("worker", roles.OFFICERS)


@pytest.fixture
def policy(db):
    """16 working hours: received Monday 09:00, due Tuesday 17:00."""
    return SlaPolicy.objects.create(name="Two days", response_time=16, unit=SlaUnit.WORKING_HOURS)


def register(user, **fields):
    fields.setdefault("subject", "Question about my policy")
    fields.setdefault("kind", Kind.INQUIRY)
    fields.setdefault("channel", RegisterChannel.EMAIL)
    fields.setdefault("received_at", MONDAY_9)
    return service.register_entry(user, **fields)


def entry_in(status, officer, worker):
    """An entry (registered by ``officer``, assigned to ``worker``) in ``status``."""
    if status == Status.REGISTERED:
        entry = register(officer)
        assert entry.status == Status.REGISTERED
        # Registered with someone already named (so that registered → assigned can succeed);
        # the services move such an entry to "assigned" themselves, hence the direct update.
        Correspondence.objects.filter(pk=entry.pk).update(assignee=worker)
    else:
        entry = register(officer, assignee=worker)
        assert entry.status == Status.ASSIGNED
    for action in PATHS[status]:
        entry = service.transition(officer, entry, action, reason="Closed by the test")
    entry = Correspondence.objects.get(pk=entry.pk)
    assert entry.status == status
    return entry


def snapshot(entry):
    return Correspondence.objects.filter(pk=entry.pk).values().get()


def versions(entry):
    return Version.objects.get_for_object(entry)


def transition_logs(entry):
    return ModelLogEntry.objects.for_instance(entry).filter(action=log_actions.REGISTER_TRANSITIONED).order_by("pk")


def needs_reason(source, target):
    return source == Status.CLOSED or (target == Status.CLOSED and source != Status.RESPONDED)


def test_transitions_are_the_specified_machine():
    assert service.TRANSITIONS == EXPECTED_TRANSITIONS
    assert len(ALL_PAIRS) == 36 and len(ALLOWED) == 15


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[f"{s.value}->{t.value}" for s, t in ALLOWED])
def test_allowed_transition(source, target, officer, worker, clock):
    entry = entry_in(source, officer, worker)
    if target == Status.REGISTERED:
        # Only an entry nobody is assigned to is (or reopens as) "registered" (see the tests below).
        Correspondence.objects.filter(pk=entry.pk).update(assignee=None)
        entry.refresh_from_db()
    before, version_count = snapshot(entry), versions(entry).count()
    reason = "The customer phoned" if needs_reason(source, target) else ""
    clock.now = at(2, 11)

    moved = service.transition(officer, entry, target, reason=reason)

    assert moved.status == target
    stored = Correspondence.objects.get(pk=entry.pk)
    assert stored.status == target
    assert versions(entry).count() == version_count + 1
    latest = versions(entry).first()
    comment = f"Status {source.label} → {target.label}"
    assert latest.revision.comment == (f"{comment}: {reason}" if reason else comment)
    assert latest.revision.user == officer
    assert latest.field_dict["status"] == target
    log = transition_logs(entry).last()
    assert log.user == officer
    assert log.data == {"reference": entry.reference, "from": source.value, "to": target.value, "reason": reason}
    if target == Status.CLOSED:
        assert stored.closed_at == clock.now and stored.sla_paused_at is None
    if target == Status.RESPONDED:
        assert stored.responded_at == clock.now
    if source == Status.CLOSED:
        assert stored.sla_cycle == before["sla_cycle"] + 1 and stored.closed_at is None
    else:
        assert stored.sla_cycle == before["sla_cycle"]


@pytest.mark.parametrize(("source", "target"), REFUSED, ids=[f"{s.value}->{t.value}" for s, t in REFUSED])
def test_refused_transition(source, target, officer, worker):
    entry = entry_in(source, officer, worker)
    before, version_count = snapshot(entry), versions(entry).count()
    log_count = ModelLogEntry.objects.for_instance(entry).count()

    # With a reason, so that only the status machine can be what refuses.
    with pytest.raises(ValidationError) as refused:
        service.transition(officer, entry, target, reason="Because")

    assert isinstance(refused.value, service.TransitionNotAllowed)
    assert list(refused.value.message_dict) == ["status"]
    assert snapshot(entry) == before
    assert versions(entry).count() == version_count
    assert ModelLogEntry.objects.for_instance(entry).count() == log_count


@pytest.mark.parametrize(("source", "target"), [pair for pair in ALLOWED if needs_reason(*pair)],
                         ids=lambda value: value.value)
def test_reason_is_required(source, target, officer, worker):
    entry = entry_in(source, officer, worker)
    before, version_count = snapshot(entry), versions(entry).count()
    for blank in ("", "   "):
        with pytest.raises(ValidationError) as refused:
            service.transition(officer, entry, target, reason=blank)
        assert list(refused.value.message_dict) == ["reason"]
    assert snapshot(entry) == before and versions(entry).count() == version_count


def test_closing_a_responded_entry_needs_no_reason(officer, worker):
    entry = entry_in(Status.RESPONDED, officer, worker)
    assert service.transition(officer, entry, "close").status == Status.CLOSED


def test_reopen_action_needs_a_reason_and_a_closed_entry(officer, worker):
    entry = entry_in(Status.CLOSED, officer, worker)
    with pytest.raises(ValidationError) as refused:
        service.transition(officer, entry, "reopen")
    assert list(refused.value.message_dict) == ["reason"]
    assert Correspondence.objects.get(pk=entry.pk).status == Status.CLOSED

    reopened = service.transition(officer, entry, "reopen", reason="The customer wrote again")
    assert reopened.status == Status.ASSIGNED  # it has an assignee

    with pytest.raises(ValidationError) as refused:
        service.transition(officer, reopened, "reopen", reason="Again")
    assert list(refused.value.message_dict) == ["status"]


def test_reopening_an_entry_without_assignee_registers_it_again(officer):
    entry = register(officer)
    entry = service.transition(officer, entry, "close", reason="Spam")
    assert service.transition(officer, entry, "reopen", reason="Not spam").status == Status.REGISTERED


def test_assigned_needs_an_assignee(officer, worker):
    entry = register(officer)
    assert entry.status == Status.REGISTERED and entry.assignee is None
    before = snapshot(entry)
    with pytest.raises(ValidationError) as refused:
        service.transition(officer, entry, Status.ASSIGNED)
    assert list(refused.value.message_dict) == ["assignee"]
    assert snapshot(entry) == before

    # Closed without anyone assigned: reopening straight to "assigned" is refused too.
    entry = service.transition(officer, entry, "close", reason="Duplicate")
    with pytest.raises(ValidationError) as refused:
        service.transition(officer, entry, Status.ASSIGNED, reason="Not a duplicate")
    assert list(refused.value.message_dict) == ["assignee"]


def test_unknown_action_or_status_is_refused(officer, worker):
    entry = entry_in(Status.ASSIGNED, officer, worker)
    with pytest.raises(ValidationError) as refused:
        service.transition(officer, entry, "archive")
    assert list(refused.value.message_dict) == ["status"]


def test_actions_offered_per_status(officer, worker):
    offered = {status: [name for name, _label in service.available_actions(officer, entry_in(status, officer, worker))]
               for status in Status}
    assert offered == {
        Status.REGISTERED: ["close"],
        Status.ASSIGNED: ["start", "close"],
        Status.IN_PROGRESS: ["await_customer", "respond", "close"],
        Status.AWAITING_CUSTOMER: ["resume", "respond", "close"],
        Status.RESPONDED: ["start", "close"],
        Status.CLOSED: ["reopen"],
    }


def test_awaiting_customer_pauses_the_clock_and_resuming_pushes_the_deadline(officer, worker, policy, clock):
    calendar = WorkingCalendar.default()
    entry = register(officer, assignee=worker)
    assert entry.sla_policy == policy
    assert entry.due_at == at(3, 17)  # 16 working hours from Monday 09:00
    clock.now = at(2, 10)
    entry = service.transition(officer, entry, "start")

    clock.now = at(2, 15)
    entry = service.transition(officer, entry, "await_customer")
    stored = Correspondence.objects.get(pk=entry.pk)
    assert stored.status == Status.AWAITING_CUSTOMER and stored.sla_paused_at == at(2, 15)
    assert stored.due_at == at(3, 17)
    # Paused entries are never overdue.
    assert not Correspondence.objects.overdue(now=at(4, 12)).filter(pk=entry.pk).exists()

    clock.now = at(5, 11)  # Thursday: Monday 15-17, Tuesday, Wednesday and Thursday 9-11 were paused
    entry = service.transition(officer, entry, "resume")
    stored = Correspondence.objects.get(pk=entry.pk)
    assert stored.status == Status.IN_PROGRESS and stored.sla_paused_at is None
    # 10 working hours were left (Monday 15-17, Tuesday 9-17); counted again from Thursday 11:00.
    assert stored.due_at == at(6, 13)
    paused = calendar.between(at(2, 15), at(5, 11))
    assert paused == 20 * 3600
    assert calendar.between(at(3, 17), stored.due_at) == paused
    assert stored.sla_started_at == MONDAY_9 and stored.sla_budget_seconds == 16 * 3600


def test_leaving_awaiting_customer_any_way_restarts_the_clock(officer, worker, policy, clock):
    entry = entry_in(Status.AWAITING_CUSTOMER, officer, worker)  # paused at Monday 09:00
    clock.now = at(3, 9)
    entry = service.transition(officer, entry, Status.RESPONDED)
    stored = Correspondence.objects.get(pk=entry.pk)
    assert stored.sla_paused_at is None and stored.due_at == at(4, 17)  # all 16 hours from Tuesday 09:00


def test_a_reply_from_the_customer_wakes_a_waiting_entry(officer, worker, policy, clock):
    entry = entry_in(Status.AWAITING_CUSTOMER, officer, worker)
    clock.now = at(4, 9)
    reply = register(officer, subject="Here are the documents", in_reply_to=entry, received_at=at(4, 9))
    assert reply.thread_root_id == entry.pk
    stored = Correspondence.objects.get(pk=entry.pk)
    assert stored.status == Status.IN_PROGRESS and stored.sla_paused_at is None
    assert stored.due_at == at(5, 17)
    log = transition_logs(entry).last()
    assert log.data["from"] == Status.AWAITING_CUSTOMER and log.data["to"] == Status.IN_PROGRESS
    assert reply.reference in log.data["reason"]


def test_reopen_starts_a_new_deadline_cycle(officer, worker, policy, clock):
    entry = register(officer, assignee=worker)
    first_due = entry.due_at
    clock.now = at(2, 10)
    for action in ("start", "respond", "close"):
        entry = service.transition(officer, entry, action)
    Correspondence.objects.filter(pk=entry.pk).update(escalation_level=2)
    closed = Correspondence.objects.get(pk=entry.pk)
    assert closed.sla_cycle == 0 and closed.closed_at == at(2, 10) and closed.responded_at == at(2, 10)

    clock.now = at(10, 10)  # the next Tuesday
    entry = service.transition(officer, entry, "reopen", reason="The customer is not satisfied")
    stored = Correspondence.objects.get(pk=entry.pk)
    assert stored.status == Status.ASSIGNED
    assert stored.sla_cycle == 1 and stored.escalation_level == 0
    assert stored.closed_at is None and stored.responded_at is None
    assert stored.sla_started_at == at(10, 10)
    # 16 working hours from Tuesday 10:00: 7 that day, 8 on Wednesday, 1 on Thursday.
    assert stored.due_at == at(12, 10) != first_due
    assert stored.sla_budget_seconds == 16 * 3600


def test_each_change_is_versioned_and_logged(officer, worker):
    entry = register(officer)
    [created] = versions(entry)
    assert created.revision.user == officer and created.revision.comment == "Registered"
    assert ModelLogEntry.objects.for_instance(entry).get(action=log_actions.REGISTER_CREATED).user == officer

    entry = service.assign(officer, entry, assignee=worker, reason="Knows the file")
    assert entry.status == Status.ASSIGNED
    latest = versions(entry).first()
    assert latest.revision.user == officer
    assert latest.revision.comment == "Assigned to - / worker: Knows the file"
    assert latest.field_dict["assignee_id"] == worker.pk
    assigned = ModelLogEntry.objects.for_instance(entry).get(action=log_actions.REGISTER_ASSIGNED)
    assert assigned.user == officer and assigned.data["assignee"] == "worker"

    entry = service.transition(officer, entry, "start")
    entry = service.transition(officer, entry, "close", reason="Sent to the wrong company")
    assert [version.revision.comment for version in versions(entry)] == [
        "Status In progress → Closed: Sent to the wrong company",
        "Status Assigned → In progress",
        "Assigned to - / worker: Knows the file",
        "Registered",
    ]
    assert all(version.revision.user == officer for version in versions(entry))
    assert [(log.data["from"], log.data["to"], log.data["reason"], log.user) for log in transition_logs(entry)] == [
        ("assigned", "in_progress", "", officer), ("in_progress", "closed", "Sent to the wrong company", officer)]
    # The log entries read as messages in the admin's history.
    assert transition_logs(entry).last().message == "Status in_progress → closed Sent to the wrong company"


def test_unassigning_an_assigned_entry_registers_it_again(officer, worker):
    entry = register(officer, assignee=worker)
    entry = service.assign(officer, entry, assignee=None)
    assert entry.status == Status.REGISTERED and entry.assignee is None


def test_an_assigned_entry_with_its_assignee_cannot_be_made_registered(officer, worker):
    entry = entry_in(Status.ASSIGNED, officer, worker)
    with pytest.raises(service.TransitionNotAllowed) as refused:
        service.transition(officer, entry, Status.REGISTERED)
    assert "assignee is removed" in refused.value.message_dict["status"][0]
    assert Correspondence.objects.get(pk=entry.pk).status == Status.ASSIGNED


def test_assignment_moves_status_only_along_the_machine(officer, worker, monkeypatch):
    """assign() and registration change the status through the machine too: with the
    assigned → registered move taken out of it, unassigning is refused and nothing changes."""
    entry = register(officer, assignee=worker)
    before = snapshot(entry)
    monkeypatch.setitem(service.TRANSITIONS, Status.ASSIGNED, {Status.IN_PROGRESS, Status.CLOSED})
    with pytest.raises(service.TransitionNotAllowed):
        service.assign(officer, entry, assignee=None)
    assert snapshot(entry) == before
    monkeypatch.setitem(service.TRANSITIONS, Status.REGISTERED, {Status.CLOSED})
    with pytest.raises(service.TransitionNotAllowed):
        register(officer, assignee=worker)


def test_choosing_department_or_assignee_at_registration_needs_the_assign_permission(make_user, worker):
    """The rule lives in the service, so the admin, the API and any other caller share it."""
    from django.contrib.auth.models import Permission

    clerk = make_user("clerk")
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["add_correspondence", "view_correspondence"]))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # fresh permission cache
    count = Correspondence.objects.count()
    with pytest.raises(ValidationError) as refused:
        register(clerk, assignee=worker)
    assert list(refused.value.message_dict) == ["assignee"]
    with pytest.raises(ValidationError) as refused:
        register(clerk, department=None, assignee=None)
    assert set(refused.value.message_dict) == {"department", "assignee"}
    assert Correspondence.objects.count() == count
    assert register(clerk).status == Status.REGISTERED  # leaving it to routing is fine


def test_an_assignee_must_be_able_to_work_entries(officer, make_user):
    auditor = make_user("auditor", roles.AUDITORS)
    entry = register(officer)
    with pytest.raises(ValidationError) as refused:
        service.assign(officer, entry, assignee=auditor)
    assert list(refused.value.message_dict) == ["assignee"]
    assert Correspondence.objects.get(pk=entry.pk).assignee is None


@pytest.mark.parametrize("who", ["auditor", "plain", "other_officer", "inactive_officer"])
def test_users_without_change_permission_cannot_move_entries(who, officer, worker, make_user):
    user = {
        "auditor": lambda: make_user("auditor", roles.AUDITORS),  # sees everything, changes nothing
        "plain": lambda: make_user("plain"),
        # May change entries, but not this one: not theirs, no department of theirs.
        "other_officer": lambda: make_user("other", roles.OFFICERS),
        "inactive_officer": lambda: make_user("gone", roles.OFFICERS, is_active=False),
    }[who]()
    entry = entry_in(Status.IN_PROGRESS, officer, worker)
    before, version_count = snapshot(entry), versions(entry).count()
    log_count = ModelLogEntry.objects.for_instance(entry).count()
    for target in ("respond", Status.CLOSED, "await_customer"):
        with pytest.raises(PermissionDenied):
            service.transition(user, entry, target, reason="No")
    assert service.available_actions(user, entry) == []
    assert snapshot(entry) == before
    assert versions(entry).count() == version_count
    assert ModelLogEntry.objects.for_instance(entry).count() == log_count


def test_the_assignee_may_move_an_entry_of_someone_else(officer, worker):
    entry = entry_in(Status.ASSIGNED, officer, worker)
    assert service.transition(worker, entry, "start").status == Status.IN_PROGRESS
    assert versions(entry).first().revision.user == worker


def test_outbound_entries_have_no_deadline(officer, worker):
    entry = register(officer, direction=Direction.OUTBOUND, received_at=None, assignee=worker)
    assert entry.due_at is None
    entry = service.transition(officer, entry, "start")
    entry = service.transition(officer, entry, "await_customer")
    assert Correspondence.objects.get(pk=entry.pk).sla_paused_at is None


def test_an_assigned_entry_does_not_reopen_as_registered(officer, worker):
    entry = entry_in(Status.CLOSED, officer, worker)
    with pytest.raises(ValidationError) as refused:
        service.transition(officer, entry, Status.REGISTERED, reason="Customer wrote again")
    assert "status" in refused.value.message_dict
    assert Correspondence.objects.get(pk=entry.pk).status == Status.CLOSED
    reopened = service.transition(officer, entry, "reopen", reason="Customer wrote again")
    assert reopened.status == Status.ASSIGNED and reopened.assignee == worker
