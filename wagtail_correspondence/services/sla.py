"""Deadlines of register entries: which policy applies, when an entry is due, the clock
pausing while the customer is asked for something, and the sweep that sends reminders,
overdue alerts and escalations, each exactly once.

The sweep is safe to run as often and from as many places as one likes (a cron job, the
periodic task, two workers at once): a notice is a row with a unique key, created once, and
claimed (pending → sending) before the email goes out.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.admin.utils import get_admin_base_url
from wagtail.log_actions import log

from .. import dates, log_actions
from ..conf import get_setting
from ..delivery.base import PermanentDeliveryError, TemporaryDeliveryError, UncertainDeliveryError
from ..delivery.email import open_smtp, send_on
from ..models import (
    Correspondence,
    Department,
    Direction,
    SlaNotice,
    SlaNoticeKind,
    SlaNoticeState,
    SlaPolicy,
    SlaUnit,
)
from .audit import bulk_log, sealed_in_bulk
from .calendar import WorkingCalendar, calendar_for
from .lookups import Lookups

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EffectiveSla:
    response_time: int
    unit: str
    reminder_percentages: tuple
    escalation_interval_hours: int
    policy: SlaPolicy = None

    @classmethod
    def of(cls, policy):
        if policy is None:
            config = get_setting("REGISTER")["DEFAULT_SLA"]
            return cls(config["response_time"], config["unit"], tuple(config.get("reminder_percentages", ())),
                       config.get("escalation_interval_hours", 8))
        return cls(policy.response_time, policy.unit, tuple(policy.reminder_percentages or ()),
                   policy.escalation_interval_hours, policy)

    def budget_seconds(self, calendar):
        if self.unit == SlaUnit.WORKING_HOURS:
            return int(self.response_time * 3600)
        return int(self.response_time * calendar.day_seconds)


def policy_for(entry, lookups=None):
    """The most specific active policy: the nearest matching category wins, then a policy
    for the entry's priority over one for any priority. ``lookups``: the policies and
    categories of a run of registrations (read now when not given)."""
    lookups = lookups or Lookups()
    lineage = {category.pk: index for index, category in enumerate(lookups.category_lineage(entry.category_id))} \
        if entry.category_id else {}
    best, best_score = None, None
    for policy in lookups.sla_policies():
        if policy.category_id and policy.category_id not in lineage:
            continue
        if policy.priority and policy.priority != entry.priority:
            continue
        # Nearer category (smaller index) is better; no category is the least specific.
        category_score = -lineage[policy.category_id] if policy.category_id else -1000
        score = (category_score, 1 if policy.priority else 0)
        if best_score is None or score > best_score:
            best, best_score = policy, score
    return best


def effective_sla(entry):
    return EffectiveSla.of(entry.sla_policy if entry.sla_policy_id else None)


def start_clock(entry, start=None, lookups=None):
    """Set the deadline of an entry from its policy, counting from ``start`` (received)."""
    start = start or entry.received_at or entry.registered_at or timezone.now()
    calendar = lookups.calendar(entry.department) if lookups is not None else calendar_for(entry.department)
    budget = effective_sla(entry).budget_seconds(calendar)
    entry.sla_started_at = start
    entry.sla_budget_seconds = budget
    entry.due_at = calendar.add(start, budget)
    entry.sla_paused_at = None


def set_deadline(entry, due_at, now=None):
    """A deadline set by hand: reminders count from now towards it."""
    now = now or timezone.now()
    calendar = calendar_for(entry.department)
    entry.sla_started_at = now
    entry.sla_budget_seconds = max(int(calendar.between(now, due_at)), 1)
    entry.due_at = due_at


def pause_clock(entry, now=None):
    if entry.due_at and entry.sla_paused_at is None:
        entry.sla_paused_at = now or timezone.now()


def resume_clock(entry, now=None):
    """The customer answered: the working time that was left when the clock stopped is
    counted again from now."""
    if entry.sla_paused_at is None:
        return
    now = now or timezone.now()
    if entry.due_at and entry.due_at > entry.sla_paused_at:
        calendar = calendar_for(entry.department)
        remaining = calendar.between(entry.sla_paused_at, entry.due_at)
        entry.due_at = calendar.add(now, remaining)
    entry.sla_paused_at = None


class DepartmentTree:
    """Every department loaded once, with supervisors and calendars: a sweep over thousands
    of entries asks the same few lineages and calendars again and again."""

    def __init__(self):
        self.departments = {department.pk: department
                            for department in Department.objects.select_related("supervisor", "calendar")}
        self._lineages, self._calendars, self._members = {}, {}, None
        self._users, self._policies = {}, None

    def lineage(self, department_id):
        if department_id not in self._lineages:
            department = self.departments[department_id]
            ancestors = [other for other in self.departments.values() if department.path.startswith(other.path)]
            self._lineages[department_id] = sorted(ancestors, key=lambda other: -other.depth)
        return self._lineages[department_id]

    def members(self, department_id):
        """The members of a department; every department's, read in one query on first use."""
        if self._members is None:
            self._members = defaultdict(list)
            through = Department.members.through
            users = {user.pk: user for user in get_user_model().objects.filter(
                pk__in=through.objects.values("user_id"))}
            for department_id_, user_id in through.objects.values_list("department_id", "user_id"):
                self._members[department_id_].append(users[user_id])
        return self._members.get(department_id, [])

    def attach(self, entries):
        """Give ``entries`` their department, assignee and policy from what this sweep has read
        (assignees read once each, policies once), instead of joining them to every row."""
        if self._policies is None:
            self._policies = SlaPolicy.objects.in_bulk()
        missing = {entry.assignee_id for entry in entries} - set(self._users) - {None}
        if missing:
            self._users.update(get_user_model().objects.in_bulk(missing))
        for entry in entries:
            if entry.department_id in self.departments:
                entry.department = self.departments[entry.department_id]
            if entry.assignee_id in self._users:
                entry.assignee = self._users[entry.assignee_id]
            if entry.sla_policy_id in self._policies:
                entry.sla_policy = self._policies[entry.sla_policy_id]
        return entries

    def calendar(self, department_id):
        if department_id not in self._calendars:
            own = next((department.calendar for department in self.lineage(department_id)
                        if department.calendar_id), None)
            self._calendars[department_id] = (WorkingCalendar.from_model(own) if own is not None
                                              else WorkingCalendar.default())
        return self._calendars[department_id]


def _calendar(entry, tree=None):
    if tree is not None and entry.department_id in tree.departments:
        return tree.calendar(entry.department_id)
    return calendar_for(entry.department)


def elapsed_fraction(entry, now=None, tree=None):
    """How much of the working time allowed has been used (1.0 at the deadline)."""
    now = now or timezone.now()
    if not entry.due_at or not entry.sla_budget_seconds:
        return 0.0
    moment = entry.sla_paused_at or now
    remaining = _calendar(entry, tree).between(moment, entry.due_at)
    return 1 - remaining / entry.sla_budget_seconds


# The sweep -----------------------------------------------------------------------------

def _emails(users):
    return sorted({user.email for user in users if user is not None and user.is_active and user.email})


def _escalation_target(entry, level, tree=None):
    """Who receives escalation ``level`` (1: the department's supervisor, 2: the parent
    department's...). None when the tree has no department that high."""
    if entry.department_id is None:
        return None
    lineage = tree.lineage(entry.department_id) if tree is not None else entry.department.lineage()
    if level > len(lineage):
        return None
    department = lineage[level - 1]
    return department, ([department.supervisor] if department.supervisor_id else [])


def _worker_recipients(entry, tree=None):
    if entry.assignee_id:
        return _emails([entry.assignee])
    if entry.department_id:
        if entry.department.email:
            return [entry.department.email]
        if tree is not None and entry.department_id in tree.departments:
            return _emails(tree.members(entry.department_id))
        return _emails(entry.department.members.all())
    return []


def notices_due(entry, now=None, tree=None):
    """(kind, level, recipients) of every notice the entry has reached by ``now``. Reminders
    below the highest threshold reached are not listed: one reminder per sweep is enough."""
    now = now or timezone.now()
    if not entry.is_open or not entry.due_at or entry.sla_paused_at or entry.direction == Direction.OUTBOUND:
        return []
    sla = effective_sla(entry)
    calendar = _calendar(entry, tree)
    notices = []
    if now < entry.due_at:
        fraction = elapsed_fraction(entry, now, tree)
        reached = [percentage for percentage in sla.reminder_percentages if fraction * 100 >= percentage]
        if reached:
            notices.append((SlaNoticeKind.REMINDER, max(reached), _worker_recipients(entry, tree)))
        return notices
    notices.append((SlaNoticeKind.OVERDUE, 0, _worker_recipients(entry, tree)))
    overdue_for = calendar.between(entry.due_at, now)
    levels = 1 + int(overdue_for // (sla.escalation_interval_hours * 3600))
    for level in range(1, levels + 1):
        target = _escalation_target(entry, level, tree)
        if target is None:
            break
        department, supervisors = target
        recipients = _emails(supervisors) or ([department.email] if department.email else [])
        notices.append((SlaNoticeKind.ESCALATION, level, recipients))
    return notices


def _not_recorded(entry, notices, sent):
    """The ``notices`` (``notices_due``) of ``entry`` no earlier sweep recorded, by the keys of
    existing notices read once per batch (``sent``): a reminder is also left out when one as
    high or higher went out in this deadline cycle."""
    keys = sent.get(entry.pk, set())
    for kind, level, recipients in notices:
        if (kind, level, entry.sla_cycle) in keys or (kind == SlaNoticeKind.REMINDER and any(
                other == kind and cycle == entry.sla_cycle and other_level >= level
                for other, other_level, cycle in keys)):
            continue
        yield kind, level, recipients


def _log_data(entry, kind, level, recipients):
    return {"reference": entry.reference, "kind": kind, "level": level, "recipients": recipients,
            "due_at": entry.due_at.isoformat()}


def _record_all(found):
    """Create the notices ``found`` ((entry, kind, level, recipients) each) in one insert, with
    their log entries in one more and each escalation level raised in one update: a first sweep
    over a backlog of a hundred thousand entries creates tens of thousands of notices. When
    another sweep created one of them meanwhile, the insert fails on the notices' unique key
    and the batch is recorded one notice at a time, each created once. Returns how many were
    created."""
    if not found:
        return 0
    try:
        with transaction.atomic(), sealed_in_bulk():
            SlaNotice.objects.bulk_create([
                SlaNotice(correspondence=entry, kind=kind, level=level, cycle=entry.sla_cycle,
                          recipients=recipients, due_at=entry.due_at) for entry, kind, level, recipients in found])
            escalated = defaultdict(set)
            for entry, kind, level, _recipients in found:
                if kind == SlaNoticeKind.ESCALATION and level > entry.escalation_level:
                    escalated[level].add(entry.pk)
            for level, ids in escalated.items():
                Correspondence.objects.filter(pk__in=ids, escalation_level__lt=level).update(escalation_level=level)
            bulk_log([entry for entry, *_notice in found], log_actions.REGISTER_SLA_NOTICE,
                     data=[_log_data(*item) for item in found])
        return len(found)
    except IntegrityError:
        return sum(_record(*item) is not None for item in found)


def _record(entry, kind, level, recipients):
    """Create one notice row once; None when another sweep already did."""
    try:
        with transaction.atomic():
            notice = SlaNotice.objects.create(correspondence=entry, kind=kind, level=level, cycle=entry.sla_cycle,
                                              recipients=recipients, due_at=entry.due_at)
    except IntegrityError:
        return None
    if kind == SlaNoticeKind.ESCALATION and level > entry.escalation_level:
        Correspondence.objects.filter(pk=entry.pk, escalation_level__lt=level).update(escalation_level=level)
    log(entry, log_actions.REGISTER_SLA_NOTICE, data=_log_data(entry, kind, level, recipients))
    return notice


def _labels():
    """The words of a notice's body, translated once per chunk of notices."""
    return {"reference": _("Reference"), "subject": _("Subject"), "department": _("Department"),
            "assignee": _("Assignee"), "due": _("Due"), "base_url": get_admin_base_url()}


def _message(notice, labels=None):
    labels = labels or _labels()
    entry = notice.correspondence
    url = labels["base_url"] + entry.get_admin_url()
    # The sweep runs without a request: the site's language and time zone.
    due = dates.when(entry.due_at)
    if notice.kind == SlaNoticeKind.REMINDER:
        subject = _("Reminder: %(reference)s is due %(due)s") % {"reference": entry.reference, "due": due}
        intro = _("%(percent)s%% of the response time of this entry has passed.") % {"percent": notice.level}
    elif notice.kind == SlaNoticeKind.OVERDUE:
        subject = _("Overdue: %(reference)s was due %(due)s") % {"reference": entry.reference, "due": due}
        intro = _("This entry has passed its deadline without a response.")
    else:
        subject = _("Escalation (level %(level)s): %(reference)s is overdue") % {
            "level": notice.level, "reference": entry.reference}
        intro = _("This entry is overdue and has been escalated to you as supervisor.")
    body = "\n".join([
        intro, "",
        f"{labels['reference']}: {entry.reference}",
        f"{labels['subject']}: {entry.subject}",
        f"{labels['department']}: {entry.department or '-'}",
        f"{labels['assignee']}: {entry.assignee.get_full_name() if entry.assignee_id else '-'}",
        f"{labels['due']}: {due}", "", url,
    ])
    return subject, body


MAX_NOTICE_ATTEMPTS = 10


# What a notice's message reads of its entry (department and assignee: DepartmentTree.attach).
MESSAGE_FIELDS = ("reference", "subject", "due_at", "department_id", "assignee_id", "sla_policy_id")

# Notices are sent over one connection to the mail server per chunk of this many.
SEND_CHUNK = 200
NOBODY = "nobody to notify: no assignee, supervisor or email"


def send_notice(notice):
    """Send one pending notice, at most once (``send_pending`` does this for many)."""
    return bool(_send_claimed(_claim([notice.pk])))


def send_pending(tree=None):
    """Send every pending notice, at most once each: the rows are claimed (pending → sending)
    before the mail server is called, through the same SMTP path as letters, which tells a
    refusal (failed), a server that could not be reached (pending again, up to
    MAX_NOTICE_ATTEMPTS) and a connection lost after sending (left "sending": resending could
    notify twice). A chunk of notices shares one connection. Returns how many were sent."""
    ids = list(SlaNotice.objects.filter(state=SlaNoticeState.PENDING).order_by("pk").values_list("pk", flat=True))
    tree = tree or DepartmentTree()
    return sum(_send_claimed(_claim(ids[start:start + SEND_CHUNK], tree))
               for start in range(0, len(ids), SEND_CHUNK))


def _claim(ids, tree=None):
    """The notices of ``ids`` this sweep now holds (pending → sending, one attempt more); those
    another sweep holds or finished are left to it."""
    with transaction.atomic():
        pending = SlaNotice.objects.filter(pk__in=ids, state=SlaNoticeState.PENDING)
        mine = list(pending.select_for_update(skip_locked=True).values_list("pk", flat=True))
        claimed = SlaNotice.objects.filter(pk__in=mine, state=SlaNoticeState.PENDING).update(
            state=SlaNoticeState.SENDING, attempts=F("attempts") + 1)
        if claimed != len(mine):  # no row locks (SQLite): another sweep took some; claim one by one
            mine = [pk for pk in mine if SlaNotice.objects.filter(pk=pk, state=SlaNoticeState.PENDING).update(
                state=SlaNoticeState.SENDING, attempts=F("attempts") + 1)]
    notices = list(SlaNotice.objects.filter(pk__in=mine).select_related("correspondence").only(
        "kind", "level", "recipients", "attempts", "state", *(f"correspondence__{name}" for name in MESSAGE_FIELDS))
        .order_by("pk"))
    if tree is not None:
        tree.attach([notice.correspondence for notice in notices])
    return notices


def _send_claimed(notices):
    if not notices:
        return 0
    sender = get_setting("REGISTER")["NOTIFY_FROM"] or settings.DEFAULT_FROM_EMAIL
    delivered, connection, labels = [], None, _labels()
    try:
        for notice in notices:
            if not notice.recipients:
                SlaNotice.objects.filter(pk=notice.pk).update(state=SlaNoticeState.FAILED, last_error=NOBODY)
                continue
            subject, body = _message(notice, labels)
            try:
                connection = connection or open_smtp({})
                send_on(connection, EmailMessage(subject, body, sender, notice.recipients))
            except UncertainDeliveryError as exc:
                SlaNotice.objects.filter(pk=notice.pk).update(last_error=f"outcome unknown: {exc}"[:2000])
                connection = _closed(connection)  # broken: the next notice opens a new one
            except (TemporaryDeliveryError, PermanentDeliveryError) as exc:
                _not_sent(notice, exc)
            else:
                delivered.append(notice.pk)
    finally:
        _closed(connection)
        SlaNotice.objects.filter(pk__in=delivered).update(state=SlaNoticeState.SENT, sent_at=timezone.now(),
                                                          last_error="")
    return len(delivered)


def _not_sent(notice, error):
    if isinstance(error, PermanentDeliveryError):
        state = SlaNoticeState.FAILED
    else:
        state = SlaNoticeState.FAILED if notice.attempts >= MAX_NOTICE_ATTEMPTS else SlaNoticeState.PENDING
        logger.warning("SLA notice %s not sent (attempt %s): %s", notice.pk, notice.attempts, error)
    SlaNotice.objects.filter(pk=notice.pk).update(state=state, last_error=str(error)[:2000])


def _closed(connection):
    if connection is not None:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - a connection that broke may not close cleanly either
            logger.debug("Closing the mail connection failed", exc_info=True)
    return None


# What the sweep reads of an entry; its department, assignee and policy come from
# DepartmentTree.attach. (Whole rows with their relations cost a sweep of 80,000 entries
# 400,000 model instances.)
SWEPT_FIELDS = ("pk", "reference", "subject", "status", "direction", "due_at", "sla_paused_at", "sla_budget_seconds",
                "sla_cycle", "escalation_level", "department_id", "assignee_id", "sla_policy_id")


@dataclass
class SweepResult:
    checked: int = 0
    created: int = 0
    sent: int = 0
    errors: int = 0

    def __str__(self):
        summary = f"checked {self.checked} open entries, {self.created} new notices, {self.sent} emails sent"
        return summary + (f", {self.errors} entries failed (see the log)" if self.errors else "")


def sweep(now=None):
    """Create the notices every open entry has reached, then send every pending one."""
    now = now or timezone.now()
    result = SweepResult()
    entries = (Correspondence.objects.open().filter(due_at__isnull=False, sla_paused_at__isnull=True)
               .exclude(direction=Direction.OUTBOUND).only(*SWEPT_FIELDS).order_by("pk"))
    tree = DepartmentTree()
    ids = list(entries.values_list("pk", flat=True))
    for start in range(0, len(ids), 500):
        batch = tree.attach(list(entries.filter(pk__in=ids[start:start + 500])))
        sent = defaultdict(set)
        for entry_id, kind, level, cycle in SlaNotice.objects.filter(correspondence__in=batch).values_list(
                "correspondence_id", "kind", "level", "cycle"):
            sent[entry_id].add((kind, level, cycle))
        found = []
        for entry in batch:
            result.checked += 1
            try:
                found.extend((entry, *notice) for notice in _not_recorded(entry, notices_due(entry, now, tree), sent))
            except Exception:  # one misconfigured entry (a calendar without working days) must not stop the rest
                logger.exception("Deadline notices of %s could not be worked out", entry.reference)
                result.errors += 1
        result.created += _record_all(found)
    result.sent = send_pending(tree)
    return result
