"""Deadlines of register entries: working-time arithmetic (weekends, office hours, Belgian
public holidays, closed days, time zones), calendars inherited down the department tree,
policy selection, the clock pausing while the customer is asked, and the sweep that sends
reminders, overdue alerts and escalations exactly once (locmem, a failing SMTP server and a
real one on loopback); the `correspondence_sla_sweep` command and the periodic task."""

import datetime
import io
import os
import signal
import threading
import time
from collections import Counter
from zoneinfo import ZoneInfo

import holidays
import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    BusinessCalendar,
    Category,
    Correspondence,
    Department,
    Direction,
    Kind,
    Priority,
    RegisterChannel,
    SlaNotice,
    SlaNoticeKind,
    SlaNoticeState,
    SlaPolicy,
    SlaUnit,
    Status,
)
from wagtail_correspondence.services import register as register_service
from wagtail_correspondence.services import sla
from wagtail_correspondence.services.calendar import WorkingCalendar, calendar_for

from .test_dispatch import SmtpServer, free_port

BRUSSELS = ZoneInfo("Europe/Brussels")
UTC = datetime.timezone.utc
WEEKDAYS = frozenset(range(5))


def at(month, day, hour, minute=0, year=2026):
    """A moment in Brussels time."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


def hours(value):
    return value * 3600


def calendar(**fields):
    """Monday to Friday, 09:00-17:00 in Brussels, no public holidays unless a country is given."""
    return WorkingCalendar(**{"working_days": WEEKDAYS, "day_start": datetime.time(9), "day_end": datetime.time(17),
                              "time_zone": "Europe/Brussels", **fields})


# Working-time arithmetic ---------------------------------------------------------------

def test_weekends_are_skipped():
    friday_16 = at(3, 6, 16)
    assert friday_16.weekday() == 4
    assert calendar().add(friday_16, hours(2)) == at(3, 9, 10)  # Monday 10:00
    assert calendar().add(friday_16.astimezone(UTC), hours(2)) == at(3, 9, 10)  # any time zone in
    assert calendar().add(friday_16, hours(1)) == at(3, 6, 17)  # the last working second of Friday
    assert calendar().between(friday_16, at(3, 9, 10)) == hours(2)
    six_day_week = calendar(working_days=frozenset(range(6)))
    assert six_day_week.add(friday_16, hours(2)) == at(3, 7, 10)  # Saturday


@pytest.mark.parametrize(("arrival", "due"), [
    (at(3, 7, 11), at(3, 9, 10)),  # Saturday → Monday
    (at(3, 8, 23, 59), at(3, 9, 10)),  # Sunday night → Monday
    (at(3, 3, 20), at(3, 4, 10)),  # Tuesday evening → Wednesday
    (at(3, 3, 7, 30), at(3, 3, 10)),  # Tuesday before opening → Tuesday
    (at(3, 6, 17), at(3, 9, 10)),  # Friday at closing time → Monday
])
def test_arrival_outside_office_hours_starts_at_the_next_opening(arrival, due):
    assert calendar().add(arrival, hours(1)) == due
    assert calendar().between(arrival, due) == hours(1)


def test_nothing_to_add_outside_office_hours_is_the_next_opening():
    assert calendar().add(at(3, 7, 11), 0) == at(3, 9, 9)


def test_belgian_public_holidays():
    belgium = holidays.country_holidays("BE", years=[2026, 2027])
    assert datetime.date(2026, 12, 25) in belgium and datetime.date(2027, 1, 1) in belgium
    for working in (datetime.date(2026, 12, 24), datetime.date(2026, 12, 28), datetime.date(2026, 12, 31)):
        assert working not in belgium
    assert datetime.date(2026, 12, 25).weekday() == 4 and datetime.date(2027, 1, 1).weekday() == 4  # Fridays

    be = calendar(country="BE")
    # Thursday 24 December 16:00 + 2 working hours: Christmas (Friday), the weekend, Monday 28.
    assert be.add(at(12, 24, 16), hours(2)) == at(12, 28, 10)
    assert calendar().add(at(12, 24, 16), hours(2)) == at(12, 25, 10)  # without public holidays
    # New Year's Day, across the year end.
    assert be.add(at(12, 31, 16), hours(2)) == at(1, 4, 10, year=2027)
    assert be.between(at(12, 24, 9), at(1, 4, 17, year=2027)) == hours(8) * 6  # 24, 28-31 December, 4 January
    assert be.between(at(12, 24, 9), at(12, 31, 17)) == hours(8) * 5
    assert not be.is_working_day(datetime.date(2026, 12, 25)) and be.is_working_day(datetime.date(2026, 12, 24))
    # Easter Monday 2026 is 6 April.
    assert datetime.date(2026, 4, 6) in belgium
    assert be.add(at(4, 3, 16), hours(2)) == at(4, 7, 10)


def test_extra_closed_days():
    closed = calendar(closed_days=frozenset({datetime.date(2026, 3, 9)}))
    assert closed.add(at(3, 6, 16), hours(2)) == at(3, 10, 10)  # Monday closed too
    assert closed.between(at(3, 6, 16), at(3, 10, 10)) == hours(2)

    model = BusinessCalendar(name="Office", country="BE", extra_closed_days=["2026-03-09"])
    model.clean()
    assert WorkingCalendar.from_model(model).add(at(3, 6, 16), hours(2)) == at(3, 10, 10)


def test_working_days_and_working_hours():
    full_days = calendar()
    mornings = calendar(day_start=datetime.time(8, 30), day_end=datetime.time(12, 30))
    three_days = sla.EffectiveSla(3, SlaUnit.WORKING_DAYS, (), 8)
    three_hours = sla.EffectiveSla(3, SlaUnit.WORKING_HOURS, (), 8)
    assert three_days.budget_seconds(full_days) == hours(24)
    assert three_days.budget_seconds(mornings) == hours(12)  # a working day is the office's day
    assert three_hours.budget_seconds(full_days) == three_hours.budget_seconds(mornings) == hours(3)

    monday_14 = at(3, 2, 14)
    assert full_days.add(monday_14, three_days.budget_seconds(full_days)) == at(3, 5, 14)  # Thursday 14:00
    assert full_days.add(monday_14, three_hours.budget_seconds(full_days)) == at(3, 2, 17)
    assert mornings.add(at(3, 2, 10), three_days.budget_seconds(mornings)) == at(3, 5, 10)
    assert mornings.add(monday_14, three_hours.budget_seconds(mornings)) == at(3, 3, 11, 30)


STARTS = [at(3, 2, 9), at(3, 6, 16, 30), at(3, 7, 12), at(3, 4, 20), at(12, 24, 11), at(3, 27, 15)]
DURATIONS = [1, 1800, hours(7.5), hours(8), hours(24) + 123, hours(80)]


@pytest.mark.parametrize("start", STARTS, ids=lambda value: value.strftime("%a-%m-%d-%H%M"))
def test_between_is_the_inverse_of_add(start):
    be = calendar(country="BE")
    for seconds in DURATIONS:
        end = be.add(start, seconds)
        assert end > start
        assert be.between(start, end) == seconds
        assert be.add(start, be.between(start, end)) == end
    assert be.between(start, start) == 0
    assert be.between(start, start - datetime.timedelta(days=3)) == 0


@pytest.mark.parametrize("fields", [
    {"country": "BE"},
    {"country": "BE", "working_days": frozenset([5, 6]), "day_start": datetime.time(7), "day_end": datetime.time(23, 30)},
    {"country": "DE", "subdivision": "BY", "closed_days": frozenset([datetime.date(2026, 3, 4), datetime.date(2027, 1, 4)])},
], ids=["belgium", "weekends-only", "bavaria-closed-days"])
def test_long_spans_are_counted_as_day_by_day(fields):
    """between() counts the whole working days of a long span from a table per year (a sweep
    asks it for every open entry, some overdue for months): the same seconds as walking the
    span day by day, across holidays, closed days, years and daylight saving changes."""
    import random

    business = calendar(**fields)
    rng = random.Random(15)
    for _ in range(400):
        start = at(1, 1, 0, year=2025) + datetime.timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
        end = start + datetime.timedelta(seconds=rng.choice([rng.randint(0, 4 * 86400), rng.randint(0, 800 * 86400)]))
        assert business.between(start, end) == business._day_by_day(start, end), (start, end)


def test_daylight_saving_time_changes():
    # Summer time starts on Sunday 29 March 2026: office hours stay 09:00-17:00 local time.
    due = calendar().add(at(3, 27, 16), hours(2))
    assert due == at(3, 30, 10) and due.utcoffset() == datetime.timedelta(hours=2)
    assert calendar().between(at(3, 27, 9), at(3, 30, 17)) == hours(16)
    assert calendar().add(at(10, 23, 16), hours(2)) == at(10, 26, 10)  # and ends on 25 October


def test_the_calendar_time_zone():
    new_york = calendar(time_zone="America/New_York")
    monday_9_in_new_york = datetime.datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert new_york.add(monday_9_in_new_york, hours(1)) == datetime.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert new_york.add(at(3, 2, 9), hours(1)) == datetime.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    # Without a time zone, the site's.
    assert calendar(time_zone="").add(datetime.datetime(2026, 3, 2, 6, 0, tzinfo=UTC), hours(1)) == at(3, 2, 10)


def test_a_calendar_without_working_days_is_an_error_not_a_loop():
    with pytest.raises(ValueError):
        calendar(working_days=frozenset()).add(at(3, 2, 9), 60)


def test_the_default_calendar_is_the_sites():
    default = WorkingCalendar.default()
    assert default.country == "BE"  # the reference site's DEFAULT_CALENDAR
    assert default.add(at(12, 24, 16), hours(2)) == at(12, 28, 10)
    assert calendar_for(None) == default


# Calendars of departments --------------------------------------------------------------

@pytest.fixture
def officer(make_user):
    return make_user("officer", roles.OFFICERS)


@pytest.fixture
def worker(make_user):
    return make_user("worker", roles.OFFICERS, first_name="Wim", last_name="Worker")


def register(user, **fields):
    fields.setdefault("subject", "Question about my claim")
    fields.setdefault("kind", Kind.INQUIRY)
    fields.setdefault("channel", RegisterChannel.EMAIL)
    fields.setdefault("received_at", at(3, 2, 9))
    return register_service.register_entry(user, **fields)


@pytest.mark.django_db
def test_departments_inherit_the_calendar_of_their_parents(officer):
    mornings = BusinessCalendar.objects.create(name="Mornings", country="BE", day_start=datetime.time(8),
                                               day_end=datetime.time(12))
    full_days = BusinessCalendar.objects.create(name="Full days", day_start=datetime.time(9),
                                                day_end=datetime.time(17))
    head = Department.add_root(name="Head office", code="head", calendar=mornings)
    region = head.add_child(name="Region", code="region")
    desk = region.add_child(name="Desk", code="desk")
    night_desk = region.add_child(name="Night desk", code="night", calendar=full_days)
    elsewhere = Department.add_root(name="Elsewhere", code="elsewhere")
    # "Elsewhere" sorts first: the tree renumbered the head office's branch under our feet.
    region, desk, night_desk, elsewhere = [Department.objects.get(pk=department.pk)
                                           for department in (region, desk, night_desk, elsewhere)]

    assert calendar_for(region) == calendar_for(desk) == WorkingCalendar.from_model(mornings)
    assert calendar_for(night_desk) == WorkingCalendar.from_model(full_days)
    assert calendar_for(elsewhere) == WorkingCalendar.default()

    SlaPolicy.objects.create(name="Two hours", response_time=2, unit=SlaUnit.WORKING_HOURS)
    monday_11 = at(3, 2, 11)
    assert register(officer, department=desk, received_at=monday_11).due_at == at(3, 3, 9)  # 11-12, then 8-9
    assert register(officer, department=night_desk, received_at=monday_11).due_at == at(3, 2, 13)
    assert register(officer, department=elsewhere, received_at=monday_11).due_at == at(3, 2, 13)
    assert register(officer, received_at=monday_11).due_at == at(3, 2, 13)

    # Working days are the office's days: one working day of mornings is four hours.
    SlaPolicy.objects.update(is_active=False)
    SlaPolicy.objects.create(name="One day", response_time=1, unit=SlaUnit.WORKING_DAYS)
    entry = register(officer, department=desk, received_at=monday_11)
    assert entry.sla_budget_seconds == hours(4) and entry.due_at == at(3, 3, 11)


# Policies ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_most_specific_policy_applies(officer):
    complaints = Category.add_root(name="Complaints", code="complaints")
    delay = complaints.add_child(name="Delay", code="delay")
    billing = Category.add_root(name="Billing", code="billing")

    def policy(name, **fields):
        return SlaPolicy.objects.create(name=name, response_time=5, **fields)

    general = policy("General")
    urgent = policy("Urgent", priority=Priority.URGENT)
    for_complaints = policy("Complaints", category=complaints)
    urgent_complaints = policy("Urgent complaints", category=complaints, priority=Priority.URGENT)
    for_delays = policy("Delays", category=delay)
    policy("Retired", category=delay, priority=Priority.URGENT, is_active=False)
    policy("Low billing", category=billing, priority=Priority.LOW)

    def chosen(category=None, priority=Priority.NORMAL):
        return sla.policy_for(Correspondence(category=category, priority=priority))

    assert chosen() == general
    assert chosen(priority=Priority.URGENT) == urgent
    assert chosen(complaints) == for_complaints
    assert chosen(complaints, Priority.URGENT) == urgent_complaints
    assert chosen(delay) == for_delays
    # The nearer category wins over a matching priority on a category further up.
    assert chosen(delay, Priority.URGENT) == for_delays
    assert chosen(billing, Priority.URGENT) == urgent
    assert chosen(billing) == general

    entry = register(officer, category=delay, priority=Priority.URGENT)
    assert entry.sla_policy == for_delays


@pytest.mark.django_db
def test_without_a_policy_the_default_sla_applies(officer):
    entry = register(officer)  # DEFAULT_SLA: 10 working days
    assert entry.sla_policy is None
    assert entry.sla_budget_seconds == hours(80)
    assert entry.due_at == at(3, 13, 17)
    SlaPolicy.objects.create(name="Switched off", response_time=1, is_active=False)
    assert register(officer).sla_policy is None


# The clock -----------------------------------------------------------------------------

@pytest.mark.django_db
def test_pause_and_resume(officer):
    SlaPolicy.objects.create(name="Two days", response_time=16, unit=SlaUnit.WORKING_HOURS)
    entry = register(officer)
    assert entry.due_at == at(3, 3, 17)
    assert sla.elapsed_fraction(entry, at(3, 2, 13)) == 0.25

    sla.pause_clock(entry, at(3, 2, 13))
    sla.pause_clock(entry, at(3, 2, 15))  # already paused: from the first moment
    assert entry.sla_paused_at == at(3, 2, 13)
    assert sla.elapsed_fraction(entry, at(3, 4, 12)) == 0.25  # frozen while paused
    assert sla.notices_due(entry, at(3, 12, 12)) == []

    sla.resume_clock(entry, at(3, 5, 9))
    assert entry.sla_paused_at is None
    assert entry.due_at == at(3, 6, 13)  # the 12 hours left, from Thursday 09:00
    sla.resume_clock(entry, at(3, 9, 9))  # not paused: nothing moves
    assert entry.due_at == at(3, 6, 13)

    # Paused after the deadline had passed: still as late after the customer answered.
    sla.pause_clock(entry, at(3, 9, 10))
    sla.resume_clock(entry, at(3, 11, 10))
    assert entry.due_at == at(3, 6, 13)


# The sweep -----------------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    """Freezes django.utils.timezone.now (which the services read) at ``clock.now``."""

    class Clock:
        now = at(3, 2, 8)

    frozen = Clock()
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@pytest.fixture
def tree(db, make_user):
    """Head office › Customer service › Claims desk, each with a supervisor; Brussels hours."""
    office = BusinessCalendar.objects.create(name="Brussels office", country="BE")
    supervisors = [make_user(f"supervisor{level}") for level in (1, 2, 3)]
    head = Department.add_root(name="Head office", code="head", calendar=office, supervisor=supervisors[2])
    service = head.add_child(name="Customer service", code="service", supervisor=supervisors[1])
    desk = service.add_child(name="Claims desk", code="desk", supervisor=supervisors[0])
    return desk


@pytest.fixture
def policy(db):
    """Ten working hours, reminders at 50% and 80%, one escalation level more every 4 hours."""
    return SlaPolicy.objects.create(name="Ten hours", response_time=10, unit=SlaUnit.WORKING_HOURS,
                                    reminder_percentages=[50, 80], escalation_interval_hours=4)


@pytest.fixture
def entry(officer, worker, tree, policy):
    """Received Monday 2 March 09:00, due Tuesday 11:00; 50% is Monday 14:00, 80% Monday 17:00."""
    created = register(officer, department=tree, assignee=worker)
    assert created.sla_policy == policy and created.due_at == at(3, 3, 11)
    return created


def notices(entry=None):
    rows = SlaNotice.objects.filter(**({"correspondence": entry} if entry else {})).order_by("pk")
    return [(row.kind, row.level, row.cycle, tuple(row.recipients), row.state) for row in rows]


def sent_mail():
    return [(message.subject, tuple(message.to)) for message in mail.outbox]


def mail_keys():
    # Reminders at 50% and 80% share their subject, and so do escalations of two deadline
    # cycles: the bodies (percentage, deadline) tell them apart.
    return [(message.subject, tuple(message.to), message.body) for message in mail.outbox]


def reminder(level, cycle=0, state=SlaNoticeState.SENT):
    return (SlaNoticeKind.REMINDER, level, cycle, ("worker@example.org",), state)


def assert_each_once():
    assert all(count == 1 for count in Counter(mail_keys()).values()), mail_keys()
    keys = SlaNotice.objects.values_list("correspondence", "kind", "level", "cycle")
    assert all(count == 1 for count in Counter(keys).values())


def test_reminders_overdue_and_escalations_go_out_once(entry):
    ref = entry.reference
    due = "3 Mar 2026, 11:00"
    expected_notices, expected_mail = [], []
    timeline = [
        (at(3, 2, 13), [], []),  # 40%
        (at(3, 2, 13, 59), [], []),
        (at(3, 2, 14), [reminder(50)], [(f"Reminder: {ref} is due {due}", ("worker@example.org",))]),
        (at(3, 2, 16), [], []),  # 70%
        (at(3, 3, 10), [reminder(80)], [(f"Reminder: {ref} is due {due}", ("worker@example.org",))]),
        (at(3, 3, 12), [  # an hour late: the worker and the desk's supervisor
            (SlaNoticeKind.OVERDUE, 0, 0, ("worker@example.org",), SlaNoticeState.SENT),
            (SlaNoticeKind.ESCALATION, 1, 0, ("supervisor1@example.org",), SlaNoticeState.SENT),
        ], [(f"Overdue: {ref} was due {due}", ("worker@example.org",)),
            (f"Escalation (level 1): {ref} is overdue", ("supervisor1@example.org",))]),
        (at(3, 3, 14, 59), [], []),  # 3:59 late
        (at(3, 3, 15), [(SlaNoticeKind.ESCALATION, 2, 0, ("supervisor2@example.org",), SlaNoticeState.SENT)],
         [(f"Escalation (level 2): {ref} is overdue", ("supervisor2@example.org",))]),
        (at(3, 4, 11), [(SlaNoticeKind.ESCALATION, 3, 0, ("supervisor3@example.org",), SlaNoticeState.SENT)],
         [(f"Escalation (level 3): {ref} is overdue", ("supervisor3@example.org",))]),  # 8 hours late
        (at(3, 20, 9), [], []),  # the tree has no fourth level
        (at(6, 1, 9), [], []),
    ]
    for moment, new_notices, new_mail in timeline:
        for repeat in range(2):
            result = sla.sweep(now=moment)
            assert result.checked == 1
            assert (result.created, result.sent) == ((len(new_notices), len(new_mail)) if repeat == 0 else (0, 0))
        expected_notices += new_notices
        expected_mail += new_mail
        assert notices(entry) == expected_notices, moment
        assert sent_mail() == expected_mail, moment
    # Sweeping the whole timeline again, backwards or forwards, sends nothing more.
    for moment, _new_notices, _new_mail in reversed(timeline + timeline):
        assert sla.sweep(now=moment).created == 0
    assert notices(entry) == expected_notices and sent_mail() == expected_mail
    assert_each_once()

    stored = Correspondence.objects.get(pk=entry.pk)
    assert stored.escalation_level == 3
    assert all(row.sent_at is not None and row.attempts == 1 and row.due_at == entry.due_at
               for row in SlaNotice.objects.all())
    logged = ModelLogEntry.objects.for_instance(entry).filter(action=log_actions.REGISTER_SLA_NOTICE).order_by("pk")
    assert [(log.data["kind"], log.data["level"]) for log in logged] == [
        ("reminder", 50), ("reminder", 80), ("overdue", 0), ("escalation", 1), ("escalation", 2), ("escalation", 3)]
    first = mail.outbox[0]
    assert "50% of the response time of this entry has passed." in first.body
    assert f"Reference: {ref}" in first.body and "Assignee: Wim Worker" in first.body
    assert f"http://testserver{entry.get_admin_url()}" in first.body
    assert first.from_email == "correspondence@example.org"


def test_a_late_first_sweep_sends_only_the_highest_reminder_reached(entry):
    sla.sweep(now=at(3, 3, 10))  # 90%: the 50% reminder is no longer news
    sla.sweep(now=at(3, 2, 15))
    assert notices(entry) == [reminder(80)]
    assert len(mail.outbox) == 1


def test_a_first_sweep_after_the_deadline_sends_no_reminders(entry):
    sla.sweep(now=at(3, 4, 11))
    assert [(kind, level) for kind, level, *_rest in notices(entry)] == [
        ("overdue", 0), ("escalation", 1), ("escalation", 2), ("escalation", 3)]
    assert len(mail.outbox) == 4


def test_the_notice_key_is_unique(entry):
    SlaNotice.objects.create(correspondence=entry, kind=SlaNoticeKind.OVERDUE, level=0, cycle=0, due_at=entry.due_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaNotice.objects.create(correspondence=entry, kind=SlaNoticeKind.OVERDUE, level=0, cycle=0,
                                 due_at=entry.due_at)
    SlaNotice.objects.create(correspondence=entry, kind=SlaNoticeKind.OVERDUE, level=0, cycle=1, due_at=entry.due_at)


def test_no_reminder_while_the_clock_is_paused(entry, officer, clock):
    clock.now = at(3, 2, 10)
    started = register_service.transition(officer, entry, "start")
    clock.now = at(3, 2, 11)  # 20% used
    register_service.transition(officer, started, "await_customer")

    for moment in (at(3, 2, 16), at(3, 3, 10), at(3, 3, 12), at(3, 4, 17)):  # 70%, 90%, late, later
        result = sla.sweep(now=moment)
        assert (result.checked, result.created, result.sent) == (0, 0, 0)
    paused = Correspondence.objects.get(pk=entry.pk)
    assert sla.notices_due(paused, at(3, 4, 17)) == []
    assert notices() == [] and mail.outbox == []

    clock.now = at(3, 5, 9)  # the customer answers on Thursday morning: 8 hours left
    register_service.transition(officer, paused, "resume")
    resumed = Correspondence.objects.get(pk=entry.pk)
    assert resumed.due_at == at(3, 5, 17)
    assert sla.sweep(now=at(3, 5, 11)).created == 0  # 40%
    assert sla.sweep(now=at(3, 5, 12)).created == 1  # 50%
    assert notices(entry) == [reminder(50)]
    assert [subject for subject, _to in sent_mail()] == [f"Reminder: {entry.reference} is due 5 Mar 2026, 17:00"]


@pytest.mark.parametrize("status", [Status.CLOSED, Status.RESPONDED])
def test_a_finished_entry_gets_nothing(entry, officer, status):
    entry = register_service.transition(officer, entry, "start")
    entry = register_service.transition(officer, entry, "respond")
    if status == Status.CLOSED:
        entry = register_service.transition(officer, entry, "close")
    for moment in (at(3, 2, 15), at(3, 3, 10), at(3, 3, 12), at(4, 1, 9)):
        assert sla.sweep(now=moment).checked == 0
        assert sla.notices_due(entry, moment) == []
    assert notices() == [] and mail.outbox == []


def test_outbound_entries_get_nothing(officer, worker, tree, policy):
    register(officer, direction=Direction.OUTBOUND, department=tree, assignee=worker, received_at=None)
    assert sla.sweep(now=at(4, 1, 9)).checked == 0
    assert notices() == []


def test_a_reopened_entry_gets_its_own_notices(entry, officer, clock):
    sla.sweep(now=at(3, 2, 14))
    sla.sweep(now=at(3, 3, 10))
    sla.sweep(now=at(3, 3, 12))
    assert len(notices(entry)) == 4 and Correspondence.objects.get(pk=entry.pk).escalation_level == 1
    clock.now = at(3, 3, 13)
    closed = register_service.transition(officer, entry, "close", reason="Answered by phone")
    assert sla.sweep(now=at(3, 4, 17)).created == 0  # closed: no second escalation

    clock.now = at(3, 5, 9)
    reopened = register_service.transition(officer, closed, "reopen", reason="The customer called back")
    assert reopened.sla_cycle == 1 and reopened.escalation_level == 0
    assert reopened.due_at == at(3, 6, 11)
    assert sla.sweep(now=at(3, 5, 13)).created == 0  # 40% of the new deadline
    assert sla.sweep(now=at(3, 5, 14)).created == 1
    assert sla.sweep(now=at(3, 6, 10)).created == 1
    assert sla.sweep(now=at(3, 6, 12)).created == 2
    assert sla.sweep(now=at(3, 6, 12)).created == 0
    assert [(kind, level, cycle) for kind, level, cycle, *_rest in notices(entry)] == [
        ("reminder", 50, 0), ("reminder", 80, 0), ("overdue", 0, 0), ("escalation", 1, 0),
        ("reminder", 50, 1), ("reminder", 80, 1), ("overdue", 0, 1), ("escalation", 1, 1)]
    assert len(mail.outbox) == 8
    assert mail.outbox[4].subject == f"Reminder: {entry.reference} is due 6 Mar 2026, 11:00"
    assert_each_once()


def test_who_is_told(officer, make_user, policy):
    """Without an assignee the department's team address, else its members; up the tree, the
    supervisor, else the department's address; nobody at all fails the notice for good."""
    head = Department.add_root(name="Head office", code="head", email="head@example.org")
    service = head.add_child(name="Customer service", code="service", supervisor=make_user("boss"))
    desk = service.add_child(name="Desk", code="desk")
    nomail = make_user("nomail")
    nomail.email = ""
    nomail.save()
    desk.members.add(make_user("ann"), make_user("bert"), nomail)
    team = service.add_child(name="Team", code="team", email="team@example.org")

    at_desk = register(officer, department=desk)
    with_team = register(officer, department=team)
    sla.sweep(now=at(3, 2, 14))
    assert notices(at_desk) == [("reminder", 50, 0, ("ann@example.org", "bert@example.org"), "sent")]
    assert notices(with_team) == [("reminder", 50, 0, ("team@example.org",), "sent")]

    sla.sweep(now=at(3, 4, 11))
    assert notices(at_desk)[1:] == [
        ("overdue", 0, 0, ("ann@example.org", "bert@example.org"), "sent"),
        ("escalation", 1, 0, (), "failed"),  # the desk has neither supervisor nor address
        ("escalation", 2, 0, ("boss@example.org",), "sent"),
        ("escalation", 3, 0, ("head@example.org",), "sent"),
    ]
    failed = SlaNotice.objects.get(correspondence=at_desk, kind="escalation", level=1)
    assert failed.last_error.startswith("nobody to notify") and failed.sent_at is None
    sla.sweep(now=at(3, 4, 12))
    assert SlaNotice.objects.get(pk=failed.pk).state == SlaNoticeState.FAILED
    assert_each_once()

    # An entry of no department and no assignee: a notice nobody can receive.
    orphan = register(officer, received_at=at(3, 2, 9))
    sla.sweep(now=at(3, 20, 9))
    assert [state for *_key, state in notices(orphan)] == ["failed"]  # overdue; no tree to escalate in


def test_a_notice_claimed_by_another_sweep_is_not_sent_again(entry):
    sla.sweep(now=at(3, 2, 13))
    notice = SlaNotice.objects.create(correspondence=entry, kind=SlaNoticeKind.REMINDER, level=50, cycle=0,
                                      recipients=["worker@example.org"], due_at=entry.due_at,
                                      state=SlaNoticeState.SENDING)
    assert sla.sweep(now=at(3, 2, 15)).sent == 0
    assert mail.outbox == [] and SlaNotice.objects.get(pk=notice.pk).state == SlaNoticeState.SENDING
    assert sla.send_notice(notice) is False


# SMTP ----------------------------------------------------------------------------------

@pytest.fixture
def smtp_backend(settings):
    def use(port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5

    return use


def test_a_failed_send_stays_pending_and_goes_out_once_later(entry, settings, smtp_backend):
    smtp_backend(free_port())  # nothing listens there
    for attempt in (1, 2):
        result = sla.sweep(now=at(3, 2, 15))
        assert (result.created, result.sent) == (1 if attempt == 1 else 0, 0)
        notice = SlaNotice.objects.get()
        assert notice.state == SlaNoticeState.PENDING and notice.attempts == attempt
        assert notice.last_error and notice.sent_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    result = sla.sweep(now=at(3, 2, 15))
    assert (result.created, result.sent) == (0, 1)
    notice = SlaNotice.objects.get()
    assert notice.state == SlaNoticeState.SENT and notice.attempts == 3 and notice.last_error == ""
    for _again in range(2):
        assert sla.sweep(now=at(3, 2, 16)).sent == 0
    assert sent_mail() == [(f"Reminder: {entry.reference} is due 3 Mar 2026, 11:00", ("worker@example.org",))]


@pytest.fixture
def smtp_server(smtp_backend):
    server = SmtpServer()
    smtp_backend(server.port)
    yield server
    server.stop()


def test_notices_through_a_real_smtp_server(entry, settings, smtp_server):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "REGISTER": {
        **settings.WAGTAIL_CORRESPONDENCE["REGISTER"], "NOTIFY_FROM": "Deadlines <deadlines@example.org>"}}
    # The server is down at first: the reminder waits.
    assert sla.sweep(now=at(3, 2, 15)).sent == 0
    assert SlaNotice.objects.get().state == SlaNoticeState.PENDING

    smtp_server.start()
    assert sla.sweep(now=at(3, 2, 15)).sent == 1
    assert sla.sweep(now=at(3, 2, 16)).sent == 0
    [message] = smtp_server.mailbox.messages
    assert message["Subject"] == f"Reminder: {entry.reference} is due 3 Mar 2026, 11:00"
    assert entry.reference in message["Subject"]
    assert message["To"] == "worker@example.org"
    assert message["From"] == "Deadlines <deadlines@example.org>"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "50% of the response time" in body and f"http://testserver{entry.get_admin_url()}" in body

    assert sla.sweep(now=at(3, 3, 12)).sent == 2
    assert [(item["Subject"], item["To"]) for item in smtp_server.mailbox.messages[1:]] == [
        (f"Overdue: {entry.reference} was due 3 Mar 2026, 11:00", "worker@example.org"),
        (f"Escalation (level 1): {entry.reference} is overdue", "supervisor1@example.org"),
    ]
    assert sla.sweep(now=at(3, 3, 12)).sent == 0 and len(smtp_server.mailbox.messages) == 3


# The command and the task --------------------------------------------------------------

def run(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("correspondence_sla_sweep", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_command_sweeps_once():
    assert run() == ("checked 0 open entries, 0 new notices, 0 emails sent\n", "")


def test_command_sweeps_now_by_default(entry):
    # Today is long after March 2026: overdue, and escalated to the top of the tree.
    out, _err = run()
    assert out == "checked 1 open entries, 4 new notices, 4 emails sent\n"
    assert run()[0] == "checked 1 open entries, 0 new notices, 0 emails sent\n"


def test_command_sweeps_as_of_a_given_moment(entry):
    assert run("--now", "2026-03-02T13:00:00+01:00")[0] == \
        "As of 2026-03-02T13:00:00+01:00: checked 1 open entries, 0 new notices, 0 emails sent\n"
    assert run("--now", "2026-03-02T14:30:00+01:00")[0] == \
        "As of 2026-03-02T14:30:00+01:00: checked 1 open entries, 1 new notices, 1 emails sent\n"
    # Without an offset: the site's time zone (Brussels); a date alone is its midnight.
    assert run("--now", "2026-03-03 10:00")[0] == \
        "As of 2026-03-03T10:00:00+01:00: checked 1 open entries, 1 new notices, 1 emails sent\n"
    assert run("--now", "2026-03-03T09:30:00Z")[0].endswith("0 new notices, 0 emails sent\n")
    # Six working hours late at midnight: overdue, and two escalation levels (one per 4 hours started).
    assert run("--now", "2026-03-04")[0] == \
        "As of 2026-03-04T00:00:00+01:00: checked 1 open entries, 3 new notices, 3 emails sent\n"
    assert [(kind, level) for kind, level, *_rest in notices(entry)] == [
        ("reminder", 50), ("reminder", 80), ("overdue", 0), ("escalation", 1), ("escalation", 2)]


@pytest.mark.django_db
@pytest.mark.parametrize("args", [("--now", "yesterday"), ("--now", "2026-02-30T10:00"), ("--every", "0"),
                                  ("--every", "-5"), ("--every", "soon"), ("--every", "nan"),
                                  ("--every", "60", "--now", "2026-03-02T10:00")])
def test_command_refuses_bad_options(args):
    with pytest.raises(CommandError):
        run(*args)
    assert SlaNotice.objects.count() == 0


class Unhandled(BaseException):
    """What a signal the command should have handled raises in the test instead."""


@pytest.fixture
def guarded_signals():
    """Signals the command fails to handle fail the test instead of ending the test run; the
    command must put the handlers back."""

    def unhandled(signum, frame):
        raise Unhandled(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, unhandled)
    # As in a terminal: a test run started in the background (make under a CI runner) may
    # inherit SIGINT as ignored, and the command rightly leaves an ignored SIGINT alone.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield unhandled
    assert signal.getsignal(signal.SIGTERM) is unhandled, "the command did not restore the SIGTERM handler"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "the command did not restore SIGINT"
    signal.signal(signal.SIGTERM, previous)
    signal.signal(signal.SIGINT, previous_int)


def kill_self_later(delay, signum=signal.SIGTERM):
    timer = threading.Timer(delay, os.kill, (os.getpid(), signum))
    timer.start()
    return timer


@pytest.mark.django_db(transaction=True)
def test_command_loops_until_sigterm(officer, worker, tree, policy, guarded_signals):
    register(officer, department=tree, assignee=worker)
    timer = kill_self_later(1.0)
    started = time.monotonic()
    try:
        out, err = run("--every", "3600")
    finally:
        timer.cancel()
    assert time.monotonic() - started < 30
    lines = out.splitlines()
    assert lines[0] == "Sweeping SLA deadlines every 3600 s; stop with SIGTERM or Ctrl+C."
    assert lines[1].endswith(" checked 1 open entries, 4 new notices, 4 emails sent")
    assert lines[2:] == ["Stopped after 1 sweeps."] and err == ""
    assert len(mail.outbox) == 4


def fake_sweeps(monkeypatch, *steps):
    """Replaces the sweep by ``steps``: each a result to return, an exception to raise, or a
    callable to run first."""
    calls = []

    def fake(now=None):
        step = steps[len(calls)]
        calls.append(now)
        if callable(step) and not isinstance(step, sla.SweepResult):
            step = step()
        if isinstance(step, BaseException):
            raise step
        return step

    monkeypatch.setattr(sla, "sweep", fake)
    return calls


# The loop calls close_old_connections() like a request would: no test transaction around it.
def test_sigterm_during_a_sweep_lets_it_finish(monkeypatch, guarded_signals, transactional_db):
    def terminated_while_sweeping():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        return sla.SweepResult(checked=2, created=1, sent=1)

    calls = fake_sweeps(monkeypatch, terminated_while_sweeping)
    out, _err = run("--every", "3600")
    assert len(calls) == 1
    assert out.splitlines()[1].endswith(" checked 2 open entries, 1 new notices, 1 emails sent")
    assert out.splitlines()[-1] == "Stopped after 1 sweeps."


def test_ctrl_c_stops_the_loop_cleanly(monkeypatch, guarded_signals, transactional_db):
    def interrupted():
        raise KeyboardInterrupt

    calls = fake_sweeps(monkeypatch, sla.SweepResult(checked=3), sla.SweepResult(checked=3), interrupted)
    out, _err = run("--every", "0.01", verbosity=2)
    assert len(calls) == 3
    assert [line.split(" ", 2)[2] for line in out.splitlines()[1:3]] == [
        "checked 3 open entries, 0 new notices, 0 emails sent"] * 2
    assert out.splitlines()[-1] == "Stopped after 2 sweeps."


def test_ctrl_c_while_waiting(monkeypatch, guarded_signals, transactional_db):
    fake_sweeps(monkeypatch, sla.SweepResult())
    timer = kill_self_later(0.5, signal.SIGINT)
    started = time.monotonic()
    try:
        out, _err = run("--every", "3600")
    finally:
        timer.cancel()
    assert time.monotonic() - started < 30
    assert out.splitlines() == ["Sweeping SLA deadlines every 3600 s; stop with SIGTERM or Ctrl+C.",
                                "Stopped after 1 sweeps."]  # nothing happened: quiet at verbosity 1


def test_a_failed_sweep_does_not_end_the_loop(monkeypatch, guarded_signals, transactional_db):
    def terminated():
        os.kill(os.getpid(), signal.SIGTERM)
        return sla.SweepResult(checked=1)

    calls = fake_sweeps(monkeypatch, RuntimeError("database is locked"), terminated)
    out, err = run("--every", "0.01")
    assert len(calls) == 2 and calls == [None, None]
    assert "sweep failed: database is locked" in err
    assert out.splitlines()[-1] == "Stopped after 1 sweeps."


def test_the_periodic_task(entry):
    from wagtail_correspondence.tasks import sla_sweep_task

    result = sla_sweep_task.enqueue()
    assert result.return_value == "checked 1 open entries, 4 new notices, 4 emails sent"
    assert sla_sweep_task.enqueue().return_value == "checked 1 open entries, 0 new notices, 0 emails sent"
    assert len(mail.outbox) == 4


def test_a_sweep_reads_people_once_not_per_entry(officer, make_user, policy):
    """The sweep's queries do not grow with the entries it checks: departments, their members
    and supervisors are read once per sweep (they were read again for every unassigned entry,
    6,716 of 6,805 queries in a steady-state sweep of 21,000 entries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    desk = Department.add_root(name="Desk", code="desk")
    desk.members.add(make_user("ann"), make_user("bert"))

    def steady_sweep_queries(count):
        for _ in range(count):
            register(officer, department=desk)
        sla.sweep(now=at(3, 2, 14))  # the 50% reminders of the new entries
        with CaptureQueriesContext(connection) as queries:
            result = sla.sweep(now=at(3, 2, 15))  # nothing new: the steady state
        assert result.created == 0
        return len(queries.captured_queries), result.checked

    few, checked_few = steady_sweep_queries(3)
    many, checked_many = steady_sweep_queries(12)
    assert (checked_few, checked_many) == (3, 15)
    assert many == few, (few, many)
    assert notices()[0][3] == ("ann@example.org", "bert@example.org")


def test_a_first_sweep_over_a_backlog_writes_its_notices_in_bulk(officer, worker, tree, policy, monkeypatch):
    """A first sweep over a backlog creates tens of thousands of notices: their rows, log
    entries (sealed into the audit chain) and escalation levels are written per batch of
    entries, and the mails go out over one connection per chunk, so the sweep's statements do
    not grow with the notices it creates and sends."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wagtail_correspondence.services import audit

    connections = []
    opened = sla.open_smtp
    monkeypatch.setattr(sla, "open_smtp", lambda options: connections.append(1) or opened(options))

    def first_sweep_queries(count):
        SlaNotice.objects.all().delete()
        mail.outbox.clear()
        connections.clear()
        entries = [register(officer, department=tree, assignee=worker) for _ in range(count)]
        everyone.extend(entries)
        with CaptureQueriesContext(connection) as queries:
            # Overdue since Tuesday 11:00, 9 working hours by Thursday 12:00: escalations 1 to 3.
            result = sla.sweep(now=at(3, 5, 12))
        # Every entry so far (notices were removed): overdue and escalations 1 to 3 each.
        assert (result.created, result.sent) == (4 * len(everyone), 4 * len(everyone))
        return len(queries.captured_queries), entries

    everyone = []
    few, _ = first_sweep_queries(2)
    many, entries = first_sweep_queries(9)
    assert many == few, (few, many)
    assert connections == [1]
    for entry in entries:
        entry.refresh_from_db()
        assert entry.escalation_level == 3
        assert [kind for kind, *_rest in notices(entry)] == [SlaNoticeKind.OVERDUE] + [SlaNoticeKind.ESCALATION] * 3
    logged = ModelLogEntry.objects.filter(action=log_actions.REGISTER_SLA_NOTICE, object_id=str(entries[0].pk))
    assert sorted((item.data["kind"], item.data["level"]) for item in logged) == sorted(
        (kind, level) for kind, level, *_rest in notices(entries[0]))
    assert audit.verify().entries >= 4 * 11  # raises AuditChainBroken if a notice was left unsealed


class DropsTheSecondMessage:
    """A stand-in mail backend (a test double): the connection breaks while its second message
    is being sent, as a server that hangs up after DATA would; other messages are kept."""

    sent, connections = [], 0

    def __init__(self, **kwargs):
        self.messages = 0

    def open(self):
        type(self).connections += 1

    def close(self):
        pass

    def send_messages(self, messages):
        import smtplib

        self.messages += 1
        if type(self).connections == 1 and self.messages == 2:
            raise smtplib.SMTPServerDisconnected("connection closed after DATA")
        type(self).sent.extend(messages)
        return len(messages)


def test_a_connection_that_breaks_mid_chunk_is_replaced_and_the_uncertain_notice_not_resent(
        officer, worker, tree, policy, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DropsTheSecondMessage"
    DropsTheSecondMessage.sent, DropsTheSecondMessage.connections = [], 0
    entries = [register(officer, department=tree, assignee=worker) for _ in range(3)]
    result = sla.sweep(now=at(3, 2, 15))
    assert (result.created, result.sent) == (3, 2)
    states = [notices(entry)[0][4] for entry in entries]
    # The second may have reached the server: left "sending", never sent again; the third went
    # out on a new connection.
    assert states == [SlaNoticeState.SENT, SlaNoticeState.SENDING, SlaNoticeState.SENT]
    assert "outcome unknown" in SlaNotice.objects.get(correspondence=entries[1]).last_error
    assert DropsTheSecondMessage.connections == 2
    assert sla.sweep(now=at(3, 2, 16)).sent == 0 and len(DropsTheSecondMessage.sent) == 2


def test_notices_another_sweep_created_meanwhile_are_not_created_twice(officer, worker, tree, policy, monkeypatch):
    """Two sweeps at once: the notices one of them is about to insert in bulk may already be
    there. The bulk insert then fails on the unique key and the batch is recorded notice by
    notice: the others are still created, each notice exists once."""
    entries = [register(officer, department=tree, assignee=worker) for _ in range(3)]
    due = sla.notices_due

    def racing(entry, now=None, tree=None):
        found = due(entry, now, tree)
        if entry.pk == entries[1].pk:  # the other sweep got here first
            kind, level, recipients = found[0]
            SlaNotice.objects.create(correspondence=entry, kind=kind, level=level, cycle=entry.sla_cycle,
                                     recipients=recipients, due_at=entry.due_at)
        return found

    monkeypatch.setattr(sla, "notices_due", racing)
    result = sla.sweep(now=at(3, 2, 15))
    assert result.created == 2
    assert [len(notices(entry)) for entry in entries] == [1, 1, 1]
    assert_each_once()
