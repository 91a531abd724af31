"""Register operations shared by the admin, the API, mail intake, letters and the portal:
register, edit, move through the status machine, assign, add notes and attachment versions.

Every change runs in one transaction, inside ``reversion.create_revision()`` with the user
and a comment (the history and restore views read those revisions), and writes a Wagtail
log entry. Nothing else writes ``Correspondence`` rows.
"""

import hashlib
from dataclasses import dataclass, field
from functools import partial

import reversion
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.log_actions import log

from .. import log_actions
from ..conf import get_setting
from ..models import (
    Attachment,
    AttachmentVersion,
    Correspondence,
    Direction,
    Note,
    Source,
    Status,
)
from ..uploads import EXTENSIONS, check_content, content_name, read_upload
from . import register_access as access
from . import sla
from .audit import bulk_log, bulk_log_actions, sealed_in_bulk
from .indexing import index_in_bulk, index_new_references
from .lookups import Lookups
from .numbering import next_references
from .routing import Turns, assignee_for, route
from .versions import save_first_versions

# status → the statuses it may move to. Anything else is refused.
TRANSITIONS = {
    Status.REGISTERED: {Status.ASSIGNED, Status.CLOSED},
    # back to "registered" only when (re)assignment leaves the entry without an assignee
    Status.ASSIGNED: {Status.IN_PROGRESS, Status.CLOSED, Status.REGISTERED},
    Status.IN_PROGRESS: {Status.AWAITING_CUSTOMER, Status.RESPONDED, Status.CLOSED},
    Status.AWAITING_CUSTOMER: {Status.IN_PROGRESS, Status.RESPONDED, Status.CLOSED},
    Status.RESPONDED: {Status.CLOSED, Status.IN_PROGRESS},
    Status.CLOSED: {Status.ASSIGNED, Status.REGISTERED},  # reopen, with a reason
}

# The buttons of the inspect view and the API's transition names, in the order shown.
ACTIONS = {
    "start": (Status.IN_PROGRESS, gettext_lazy("Start work")),
    "await_customer": (Status.AWAITING_CUSTOMER, gettext_lazy("Wait for the customer")),
    "resume": (Status.IN_PROGRESS, gettext_lazy("Resume")),
    "respond": (Status.RESPONDED, gettext_lazy("Mark responded")),
    "close": (Status.CLOSED, gettext_lazy("Close")),
    "reopen": (None, gettext_lazy("Reopen")),
}

# The step that usually comes next in each status: the action bar's primary button. Closing a
# responded entry is the end of the normal path; after a response, going back to work is the
# exception (a follow-up), so it is not offered first.
NEXT_ACTION = {
    Status.ASSIGNED: "start",
    Status.IN_PROGRESS: "respond",
    Status.AWAITING_CUSTOMER: "resume",
    Status.RESPONDED: "close",
    Status.CLOSED: "reopen",
}

# Fields a person edits directly; status, department and assignee have their own operations.
EDITABLE_FIELDS = [
    "kind", "channel", "subject", "body", "sender_name", "sender_organisation", "sender_address", "sender_email",
    "sender_phone", "recipients", "customer_id", "external_reference", "received_at", "sent_at", "priority",
    "confidentiality", "category", "resolution",
]


class TransitionNotAllowed(ValidationError):
    pass


@dataclass
class NewAttachment:
    """A file for a new entry: its bytes were read already (uploads, mail parts)."""

    content: bytes
    filename: str
    title: str = ""
    content_type: str = ""  # trusted only for mail intake's original message; else sniffed


def _pattern(direction):
    return get_setting("REGISTER")["REFERENCE_PATTERNS"][direction]


def validate_entries(entries, exclude=()):
    """The errors of each entry (a ValidationError naming the fields, or None), in order.
    Related rows are looked up once per field for all entries, not once per entry and field
    as ``full_clean`` would: a run of a hundred registrations by one user asks once whether
    that user exists."""
    exclude = {"reference", "tags", *exclude}
    related = [model_field for model_field in Correspondence._meta.concrete_fields
               if model_field.is_relation and model_field.name not in exclude]
    errors = [{} for _entry in entries]
    for relation in related:
        # A row given as an object (the registering user, a category a form chose) was read
        # from the database by whoever holds it: asking again whether it exists costs a
        # query per registration. Values given as ids are looked up, and so is everything
        # a ``limit_choices_to`` narrows.
        asked = {getattr(entry, relation.attname) for entry in entries
                 if not (relation.is_cached(entry) and not relation.get_limit_choices_to())} - {None, ""}
        existing = _existing(relation, asked)
        for entry, found in zip(entries, errors):
            value = getattr(entry, relation.attname)
            if value not in (None, "") and value in asked and value not in existing:
                found[relation.name] = [ValidationError(relation.error_messages["invalid"], code="invalid", params={
                    "model": relation.remote_field.model._meta.verbose_name, "pk": value,
                    "field": relation.remote_field.field_name, "value": value})]
    names = [relation.name for relation in related]
    for entry, found in zip(entries, errors):
        try:
            entry.full_clean(exclude=[*exclude, *names], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.error_dict.items():
                found.setdefault(name, []).extend(messages)
    return [ValidationError(found) if found else None for found in errors]


def _existing(relation, values):
    """Which of ``values`` name a row ``relation`` may point to (as ForeignKey.validate asks)."""
    values = {value for value in values if _converts(relation.target_field, value)}
    if not values:
        return set()
    name = relation.remote_field.field_name
    return set(relation.remote_field.model._base_manager.filter(**{f"{name}__in": values}).complex_filter(
        relation.get_limit_choices_to()).values_list(name, flat=True))


def _converts(target, value):
    try:
        target.to_python(value)
    except ValidationError:
        return False
    return True


def validate_entry(entry, exclude=()):
    error = validate_entries([entry], exclude)[0]
    if error is not None:
        raise error


def _save_version(entry, user, comment):
    with reversion.create_revision():
        entry.save()
        if user is not None and user.is_authenticated:
            reversion.set_user(user)
        reversion.set_comment(comment)


def _set_tags(entry, tags):
    cleaned = sorted({str(tag).strip()[:100] for tag in tags or [] if str(tag).strip()}, key=str.lower)
    entry.tags.set(cleaned)


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different request."""


def _replay(user, key, fingerprint):
    existing = Correspondence.objects.filter(created_by=user, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(_("This Idempotency-Key was already used for a different request."))
    existing.replayed = True
    return existing


@dataclass
class Draft:
    """One new entry as ``register_entries`` takes it: the model fields, and what comes with
    them (``register_entry``'s keyword arguments)."""

    fields: dict
    direction: str = Direction.INBOUND
    source: str = Source.ADMIN
    attachments: list = field(default_factory=list)  # NewAttachment
    tags: list = field(default_factory=list)
    in_reply_to: Correspondence = None
    comment: str = ""
    reference_override: str = None  # a letter's entry carries the letter's own number


@dataclass
class Registered:
    """What became of one draft: its entry, or the error (naming the fields) that kept it out."""

    entry: Correspondence = None
    error: ValidationError = None


def register_entry(user, *, direction=Direction.INBOUND, source=Source.ADMIN, attachments=(), tags=(),
                   in_reply_to=None, comment="", check_permission=True, reference_override=None,
                   idempotency_key=None, fingerprint="", **fields):
    """Register a new entry: reference number, routing, deadline, attachments. Raises
    ValidationError naming the fields when the input is incomplete; nothing is saved then.

    With ``idempotency_key`` (and the request's ``fingerprint``), a repeated request returns
    the entry registered the first time (``entry.replayed`` is True)."""
    if check_permission:
        access.require(access.can_register(user), _("You may not register correspondence."))
        check_may_choose_assignment(user, fields)
    draft = Draft(fields, direction, source, list(attachments), list(tags), in_reply_to, comment, reference_override)
    if idempotency_key:
        existing = _replay(user, idempotency_key, fingerprint)
        if existing is not None:
            return existing
        draft.fields = {**fields, "idempotency_key": idempotency_key, "request_fingerprint": fingerprint}
        try:
            entry = _register_one(user, draft)
        except IntegrityError:
            existing = _replay(user, idempotency_key, fingerprint)  # a concurrent request won the race
            if existing is None:
                raise
            return existing
    else:
        entry = _register_one(user, draft)
    entry.replayed = False
    return entry


def register_entries(user, drafts, *, check_permission=True):
    """Register many new entries at once (a mailbox, an import): what ``register_entry`` does
    for each, in one transaction, with the configuration read once and the rows written in
    bulk. Returns a ``Registered`` per draft, in order: a draft with invalid fields gets its
    error and is left out, the others are registered. A database error (a Message-ID
    registered meanwhile by another intake) rolls back the whole run and is raised; the
    caller may then register the drafts one by one."""
    if check_permission:
        access.require(access.can_register(user), _("You may not register correspondence."))
    return _register_all(user, list(drafts), check_permission)


def _register_one(user, draft):
    result = _register_all(user, [draft], check_permission=False)[0]
    if result.error is not None:
        raise result.error
    return result.entry


def _new_entry(user, draft, now):
    entry = Correspondence(direction=draft.direction, source=draft.source, created_by=user if user and user.pk else None,
                           registered_at=now, **draft.fields)
    if draft.direction == Direction.INBOUND and entry.received_at is None:
        entry.received_at = now
    if draft.in_reply_to is not None:
        entry.in_reply_to = draft.in_reply_to
        entry.thread_root_id = draft.in_reply_to.thread_root_id or draft.in_reply_to.pk
        entry.customer_id = entry.customer_id or draft.in_reply_to.customer_id
    return entry


def _prepared(user, drafts, now, check_permission):
    """(draft, entry, checked files) of the drafts that can be registered, and a
    ``Registered`` per draft, the refused ones with their error."""
    entries = [_new_entry(user, draft, now) for draft in drafts]
    results, ready = [], []
    for draft, entry, error in zip(drafts, entries, validate_entries(entries)):
        try:
            if check_permission:
                check_may_choose_assignment(user, draft.fields)
            if error is not None:
                raise error
            check_assignee(entry.assignee)
            files = [_checked_attachment(item, index) for index, item in enumerate(draft.attachments)]
        except ValidationError as exc:
            results.append(Registered(error=exc))
            continue
        results.append(Registered(entry=entry))
        ready.append((draft, entry, files))
    return results, ready


def _register_all(user, drafts, check_permission):
    now = timezone.now()
    results, ready = _prepared(user, drafts, now, check_permission)
    if not ready:
        return results
    lookups, turns = Lookups(), Turns()
    entries = [entry for _draft, entry, _files in ready]
    stored = []
    try:
        # Its log entries are sealed into the audit chain together, at the end.
        with transaction.atomic(), sealed_in_bulk():
            _number(ready, now)
            routed = []
            for draft, entry, _files in ready:
                decision = (route(entry, lookups.customer(entry.customer_id), assign=False, lookups=lookups)
                            if entry.direction != Direction.OUTBOUND else None)
                if decision is not None:
                    _apply_routing(entry, decision, draft.in_reply_to, turns, lookups)
                    if entry.routing_decision.get("matched"):
                        routed.append(entry)
                _follow_assignment(entry)
                if entry.direction != Direction.OUTBOUND:
                    entry.sla_policy = entry.sla_policy or sla.policy_for(entry, lookups)
                    sla.start_clock(entry, lookups=lookups)
                if draft.tags:
                    _set_tags(entry, draft.tags)  # kept with the entry and saved in the same version
                else:
                    entry.tagged_items = []  # known to be none: indexing its references reads no tag rows
            turns.save()
            Correspondence.objects.bulk_create(entries)
            for draft, entry, _files in ready:
                if draft.tags:
                    entry.tagged_items.commit()
            save_first_versions([(entry, list(entry.tagged_items.all()) if draft.tags else [],
                                  draft.comment or _("Registered")) for draft, entry, _files in ready], user=user)
            bulk_log_actions([
                *((entry, log_actions.REGISTER_CREATED,
                   {"reference": entry.reference, "direction": entry.direction, "source": entry.source})
                  for entry in entries),
                *((entry, log_actions.REGISTER_ROUTED, _routed(entry)) for entry in routed)], user=user)
            for stored_file in _store_first_versions(user, ready):
                stored.append(stored_file)
            for draft, entry, _files in ready:
                if draft.in_reply_to is not None and entry.direction == Direction.INBOUND:
                    _customer_answered(entry, user)
            # bulk_create sent no post_save: the reference index is written with the entries,
            # the search backends are told after the commit.
            index_new_references(Correspondence, entries)
            transaction.on_commit(partial(index_in_bulk, Correspondence, entries, references=False))
    except BaseException:
        for stored_file in stored:  # the rows rolled back; their files must not stay behind
            stored_file.storage.delete(stored_file.name)
        for entry in entries:  # nothing of the run was saved
            entry.pk = entry.id = None
            entry._state.adding = True
        raise
    return results


def _number(ready, now):
    """References for the entries of a run: one counter lock per pattern for all of them."""
    by_pattern = {}
    for draft, entry, _files in ready:
        if draft.reference_override:
            entry.reference = draft.reference_override
        else:
            by_pattern.setdefault(_pattern(entry.direction), []).append(entry)
    for pattern, numbered in by_pattern.items():
        for entry, reference in zip(numbered, next_references(pattern, len(numbered), when=timezone.localdate(now))):
            entry.reference = reference


def _routed(entry):
    return {"reference": entry.reference,
            "rule": entry.routing_decision.get("rule") or _("(follows its conversation)"),
            "department": str(entry.department or "-"),
            "assignee": entry.assignee.get_username() if entry.assignee_id else "-"}


def _apply_routing(entry, decision, in_reply_to, turns=None, lookups=None):
    if in_reply_to is not None:
        # A reply stays with the people who know the conversation: its department and handler
        # come from the thread (unless given); a matching rule still sets priority and SLA.
        root = in_reply_to.thread_root or in_reply_to
        if not entry.department_id:
            entry.department = in_reply_to.department or root.department
        if not entry.assignee_id:
            handler = in_reply_to.assignee or root.assignee
            if handler is not None and handler.is_active and (handler.is_superuser or handler.has_perm(access.CHANGE)):
                entry.assignee = handler
    if decision.rule is not None:
        # What the caller chose explicitly (a department, an assignee) or the conversation
        # gave stands; the rule fills in the rest, and the record says which was which.
        given = [name for name in ("department", "assignee") if getattr(entry, f"{name}_id")]
        entry.routing_rule = decision.rule
        if not entry.department_id:
            entry.department = decision.department
        if not entry.assignee_id and entry.department_id == decision.department.pk:
            # Only now, so that a given assignee or department uses up no round-robin turn;
            # and never someone of a department other than the entry's.
            decision.assignee = assignee_for(decision.rule, turns, lookups)
            entry.assignee = decision.assignee
        if decision.priority:
            entry.priority = decision.priority
        if decision.sla_policy is not None:
            entry.sla_policy = decision.sla_policy
        entry.routing_decision = {**decision.as_record(), "given": given,
                                  "follows_conversation": in_reply_to is not None}
    elif in_reply_to is not None:
        entry.routing_decision = {"rule": None, "matched": ["thread"], "decided_at": timezone.now().isoformat(),
                                  "department": entry.department.code if entry.department else None,
                                  "assignee": entry.assignee.get_username() if entry.assignee else None}
    else:
        entry.routing_decision = {"rule": None, "matched": [], "decided_at": timezone.now().isoformat(),
                                  "department": entry.department.code if entry.department else None,
                                  "assignee": entry.assignee.get_username() if entry.assignee else None}


def _customer_answered(entry, user):
    """An inbound reply wakes the entries of its thread that wait for the customer."""
    root_id = entry.thread_root_id
    waiting = Correspondence.objects.select_for_update().filter(
        Q(thread_root_id=root_id) | Q(pk=root_id), status=Status.AWAITING_CUSTOMER).exclude(pk=entry.pk)
    for other in waiting:
        _transition(other, user, Status.IN_PROGRESS, _("The customer answered (%(reference)s)") % {
            "reference": entry.reference})


# Changes -------------------------------------------------------------------------------

def _display(entry, name):
    value = getattr(entry, name)
    return str(value) if value is not None else ""


def update_entry(user, entry, changes, *, tags=None, comment=""):
    """Edit the fields of ``EDITABLE_FIELDS`` given in ``changes`` (and the tags)."""
    access.require(access.can_change(user, entry), _("You may not change this entry."))
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"category_id", "due_at"}
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    with transaction.atomic():
        entry = Correspondence.objects.select_for_update().get(pk=entry.pk)
        before = {name: _display(entry, name) for name in EDITABLE_FIELDS}
        old_tags = sorted(entry.tags.names(), key=str.lower)
        old_key = (entry.category_id, entry.priority)
        for name, value in changes.items():
            if name == "due_at":
                continue
            setattr(entry, name, value)
        validate_entry(entry)
        changed = [name for name in EDITABLE_FIELDS if _display(entry, name) != before[name]]
        if "due_at" in changes and changes["due_at"] != entry.due_at:
            access.require(access.can_assign(user, entry), _("You may not change the deadline."))
            if changes["due_at"] is None:
                raise ValidationError({"due_at": _("An open entry needs a deadline.")})
            sla.set_deadline(entry, changes["due_at"])
            changed.append("due_at")
        elif (entry.category_id, entry.priority) != old_key and entry.is_open and not (
                entry.routing_rule_id and entry.routing_rule.sla_policy_id):
            policy = sla.policy_for(entry)
            if policy != entry.sla_policy:
                entry.sla_policy = policy
                sla.start_clock(entry, entry.sla_started_at)
                changed.append("sla_policy")
        if tags is not None:
            new_tags = sorted({str(tag).strip() for tag in tags if str(tag).strip()}, key=str.lower)
            if new_tags != old_tags:
                _set_tags(entry, new_tags)
                changed.append("tags")
        if not changed:
            return entry
        _save_version(entry, user, comment or _("Changed %(fields)s") % {"fields": ", ".join(changed)})
        log(entry, log_actions.REGISTER_UPDATED, user=user, data={"reference": entry.reference, "fields": changed})
    return entry


def allowed_targets(entry):
    return TRANSITIONS[entry.status]


def available_actions(user, entry):
    """(action, label) pairs the user can take now, for buttons."""
    if not access.can_change(user, entry):
        return []
    actions = []
    for name, (target, label) in ACTIONS.items():
        if name == "reopen":
            if entry.status == Status.CLOSED:
                actions.append((name, label))
            continue
        if name == "resume" and entry.status != Status.AWAITING_CUSTOMER:
            continue
        if name == "start" and entry.status == Status.AWAITING_CUSTOMER:
            continue
        if target in TRANSITIONS[entry.status]:
            if name == "start" and entry.status == Status.RESPONDED:
                label = gettext_lazy("Follow up")  # back to work on an answered entry
            actions.append((name, label))
    return actions


def next_action(entry, actions):
    """The action of ``actions`` (as ``available_actions`` gives them) that moves ``entry``
    along its normal path, or None when none of them does (registered: assign it first)."""
    wanted = NEXT_ACTION.get(entry.status)
    return next((name for name, _label in actions if name == wanted), None)


def transition(user, entry, action_or_status, reason=""):
    """Move an entry through the status machine. ``action_or_status`` is an action name of
    ``ACTIONS`` or a target status. Reopening and closing an entry nobody responded to need
    a reason."""
    access.require(access.can_change(user, entry), _("You may not change this entry."))
    with transaction.atomic():
        entry = Correspondence.objects.select_for_update().get(pk=entry.pk)
        if action_or_status == "reopen":
            target = Status.ASSIGNED if entry.assignee_id else Status.REGISTERED
            if entry.status != Status.CLOSED:
                raise TransitionNotAllowed({"status": _("Only a closed entry can be reopened.")})
        elif action_or_status in ACTIONS:
            target = ACTIONS[action_or_status][0]
        elif action_or_status in Status.values:
            target = Status(action_or_status)
        else:
            raise ValidationError({"status": _("'%(value)s' is not a status or an action.") % {
                "value": action_or_status}})
        _transition(entry, user, target, reason)
    return entry


def _transition(entry, user, target, reason=""):
    source = Status(entry.status)
    if target == source or target not in TRANSITIONS[source]:
        raise TransitionNotAllowed({"status": _("An entry cannot go from “%(from)s” to “%(to)s”.") % {
            "from": source.label, "to": Status(target).label}})
    reason = (reason or "").strip()
    if source == Status.CLOSED and not reason:
        raise ValidationError({"reason": _("Say why the entry is reopened.")})
    if target == Status.CLOSED and source != Status.RESPONDED and not reason:
        raise ValidationError({"reason": _("Say why the entry is closed without a response.")})
    if target == Status.ASSIGNED and not entry.assignee_id:
        raise ValidationError({"assignee": _("Assign someone first.")})
    if target == Status.REGISTERED and entry.assignee_id:
        raise TransitionNotAllowed({"status": _("An entry with an assignee reopens as “Assigned”.")
                                    if source == Status.CLOSED else
                                    _("An entry goes back to “Registered” when its assignee is removed.")})
    now = timezone.now()
    if source == Status.AWAITING_CUSTOMER:
        sla.resume_clock(entry, now)
    if target == Status.AWAITING_CUSTOMER:
        sla.pause_clock(entry, now)
    if target == Status.RESPONDED and entry.responded_at is None:
        entry.responded_at = now
    if target == Status.CLOSED:
        entry.closed_at = now
        entry.sla_paused_at = None
    if source == Status.CLOSED:
        # A reopened entry gets a new deadline and its own reminders.
        entry.closed_at = None
        entry.responded_at = None
        entry.sla_cycle += 1
        entry.escalation_level = 0
        if entry.direction != Direction.OUTBOUND:
            sla.start_clock(entry, now)
    _move(entry, target)
    comment = _("Status %(from)s → %(to)s") % {"from": source.label, "to": Status(target).label}
    _save_version(entry, user, f"{comment}: {reason}" if reason else comment)
    log(entry, log_actions.REGISTER_TRANSITIONED, user=user, data={
        "reference": entry.reference, "from": source.value, "to": str(target), "reason": reason})


def _move(entry, target):
    """The one place a status changes: only along ``TRANSITIONS``."""
    source = Status(entry.status)
    if target != source and target not in TRANSITIONS[source]:
        raise TransitionNotAllowed({"status": _("An entry cannot go from “%(from)s” to “%(to)s”.") % {
            "from": source.label, "to": Status(target).label}})
    entry.status = target


def _follow_assignment(entry):
    """Registered and assigned say whether someone has the entry: an assignee makes a
    registered entry assigned, removing the assignee makes an assigned one registered again.
    Later statuses keep their status (the department takes the entry over as it stands)."""
    if entry.status == Status.REGISTERED and entry.assignee_id:
        _move(entry, Status.ASSIGNED)
    elif entry.status == Status.ASSIGNED and not entry.assignee_id:
        _move(entry, Status.REGISTERED)


ASSIGNMENT_FIELDS = ("department", "assignee")


def check_may_choose_assignment(user, given):
    """Choosing the department or the assignee of a new entry, instead of leaving it to the
    routing rules, needs the assign permission. ``given``: the names of the fields given. The
    API calls this before it looks any department or username up, so that a refused caller
    learns nothing about which ones exist."""
    chosen = [name for name in ASSIGNMENT_FIELDS if name in given]
    if chosen and not (user and user.has_perm(access.ASSIGN)):
        raise ValidationError({name: _("You may not assign entries.") for name in chosen})


def check_assignee(assignee):
    if assignee is None:
        return
    if not assignee.is_active:
        raise ValidationError({"assignee": _("This user is inactive.")})
    if not (assignee.is_superuser or assignee.has_perm(access.CHANGE)):
        raise ValidationError({"assignee": _("%(user)s may not work register entries.") % {
            "user": assignee.get_username()}})


def assign(user, entry, *, department=..., assignee=..., reason=""):
    """Hand an entry to a department and/or a person. A registered entry with an assignee
    becomes assigned. Manual reassignment is versioned and audited with its reason."""
    with transaction.atomic():
        entry = Correspondence.objects.select_for_update().get(pk=entry.pk)
        taking_it = (assignee is not ... and assignee is not None and assignee.pk == user.pk
                     and entry.assignee_id is None and department is ...)
        access.require(access.can_assign(user, entry) or (taking_it and access.can_change(user, entry)),
                       _("You may not assign this entry."))
        if department is not ...:
            entry.department = department
        if assignee is not ...:
            check_assignee(assignee)
            entry.assignee = assignee
        _follow_assignment(entry)
        assignee_name = entry.assignee.get_username() if entry.assignee_id else "-"
        _save_version(entry, user, _("Assigned to %(department)s / %(assignee)s") % {
            "department": entry.department or "-", "assignee": assignee_name} + (f": {reason}" if reason else ""))
        log(entry, log_actions.REGISTER_ASSIGNED, user=user, data={
            "reference": entry.reference, "department": str(entry.department or "-"), "assignee": assignee_name,
            "reason": reason})
    return entry


def add_note(user, entry, text):
    access.require(access.can_change(user, entry), _("You may not add notes to this entry."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note.")})
    note = Note.objects.create(correspondence=entry, author=user, text=text)
    log(entry, log_actions.REGISTER_NOTE_ADDED, user=user, data={"reference": entry.reference, "note": note.pk})
    return note


# Attachments ---------------------------------------------------------------------------

def _limits():
    config = get_setting("REGISTER")
    return config["ALLOWED_UPLOAD_TYPES"], config["MAX_UPLOAD_BYTES"]


def _checked_attachment(item, index=0):
    allowed, max_bytes = _limits()
    if item.content_type == "message/rfc822" and len(item.content) <= max_bytes:
        return item.content, item.content_type
    content_type, _extension = check_content(item.content, allowed=allowed, max_bytes=max_bytes,
                                             field=f"attachments[{index}]")
    return item.content, content_type


def _named(filename, content_type):
    # Named after what it is: a text file uploaded as "run.bat" is downloaded as "run.txt".
    return content_name(filename, content_type) if content_type in EXTENSIONS else filename


def _new_version(entry, user, attachment, number, filename, content, content_type, comment):
    """An attachment version with its file stored (the row is the caller's to save)."""
    version = AttachmentVersion(attachment=attachment, number=number, filename=filename[:255] or "file",
                                content_type=content_type, size=len(content),
                                sha256=hashlib.sha256(content).hexdigest(), comment=comment[:500],
                                uploaded_by=user if user and user.pk else None, uploaded_at=timezone.now())
    safe_name = "".join(char if char.isalnum() or char in "._-" else "_" for char in filename)[-100:] or "file"
    version.file.save(safe_name, ContentFile(content), save=False)
    return version


def _attachment_added(entry, version):
    return {"reference": entry.reference, "title": version.attachment.title, "version": version.number,
            "sha256": version.sha256, "size": version.size, "content_type": version.content_type}


def _store_version(entry, user, attachment, title, filename, content, content_type, comment):
    filename = _named(filename, content_type)
    if attachment is None:
        attachment = Attachment.objects.create(correspondence=entry, title=(title or filename)[:255])
    number = (attachment.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = _new_version(entry, user, attachment, number, filename, content, content_type, comment)
    version.save()
    log(entry, log_actions.REGISTER_ATTACHMENT_ADDED, user=user, data=_attachment_added(entry, version))
    return version


def _store_first_versions(user, ready):
    """The attachments of a run's new entries, each as its version 1: the files are stored one
    by one, the rows and their log entries written in bulk. Yields each stored file as it is
    stored, so that the caller can remove them if the run fails."""
    attachments, files = [], []
    for draft, entry, checked in ready:
        for item, (content, content_type) in zip(draft.attachments, checked):
            # The title is the name it came with; the file is named after what it is.
            attachments.append(Attachment(correspondence=entry, title=(item.title or item.filename)[:255]))
            files.append((entry, _named(item.filename, content_type), content, content_type))
    if not attachments:
        return
    Attachment.objects.bulk_create(attachments)
    versions = []
    for attachment, (entry, filename, content, content_type) in zip(attachments, files):
        version = _new_version(entry, user, attachment, 1, filename, content, content_type, "")
        yield version.file
        versions.append(version)
    AttachmentVersion.objects.bulk_create(versions)
    owners = [attachment.correspondence for attachment in attachments]
    bulk_log(owners, log_actions.REGISTER_ATTACHMENT_ADDED, user=user,
             data=[_attachment_added(entry, version) for entry, version in zip(owners, versions)])


def add_attachment(user, entry, upload, *, title="", attachment=None, comment=""):
    """Upload a file to an entry; with ``attachment``, as its next version (earlier versions
    are kept). The file is checked by its content and size."""
    access.require(access.can_change(user, entry), _("You may not add files to this entry."))
    allowed, max_bytes = _limits()
    content, content_type, _extension = read_upload(upload, allowed=allowed, max_bytes=max_bytes)
    filename = (getattr(upload, "name", "") or "file").rsplit("/", 1)[-1]
    if attachment is not None and attachment.correspondence_id != entry.pk:
        raise ValidationError({"attachment": _("This document belongs to another entry.")})
    version = None
    try:
        with transaction.atomic():
            Correspondence.objects.select_for_update().get(pk=entry.pk)  # one version number at a time
            version = _store_version(entry, user, attachment, title, filename, content, content_type, comment)
    except BaseException:
        if version is not None and version.file.name:
            version.file.storage.delete(version.file.name)
        raise
    return version
