"""Four-eyes on letters: which letters need a second person before they are sent, and the
approver's decision.

A letter that an active ``LetterApprovalRule`` matches is generated as *awaiting approval*:
numbered, rendered, sealed and pinned like any letter, but nothing is dispatched and no
register entry is written. An approver of its department (``approve_letter``, the letter
in their scope, and neither its author nor whoever submitted it) approves it, and it is sent
as any generated letter; or returns it with a comment, and its agent changes it and submits
it again under the same reference; or its agent withdraws it. Every step is logged on the
letter. The admin, the API and batches all come here, so the rules hold the same everywhere.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import data_rules, log_actions
from ..models import Confidentiality, Letter, LetterApprovalRule, LetterStatus
from ..models.letters import AWAITING_STATUSES  # noqa: F401 - the views read it from here
from ..rendering.assembly import dictionary_steps
from ..rendering.templates import slot_text
from .dispatch import plan_dispatches
from .letter_access import visible_letters
from .register_links import register_letter

logger = logging.getLogger(__name__)

APPROVE_LETTER = "wagtail_correspondence.approve_letter"
ADD_LETTER = "wagtail_correspondence.add_letter"


class ApprovalError(Exception):
    """A decision that cannot be taken on this letter now; ``field`` names what to fix."""

    def __init__(self, message, field="status"):
        super().__init__(message, field)
        self.field = field
        self.message = message


# Which letters need approval --------------------------------------------------------------


def active_rules():
    return list(LetterApprovalRule.objects.filter(is_active=True).select_related("template", "department"))


def agent_wrote_text(template, slot_values):
    """Whether the agent typed text of their own into a slot (not the slot's default text)."""
    for slot in template.slots():
        value = (slot_values or {}).get(slot["name"])
        if value is not None and value.strip() and value != slot_text(slot, {}):
            return True
    return False


def _matches(rule, letter, assembled):
    """(holds, note): whether every condition the rule sets holds for the letter; ``note``
    says why a broken condition counted as holding."""
    if rule.template_id and rule.template_id != letter.template_id:
        return False, ""
    if rule.channel and rule.channel != letter.channel:
        return False, ""
    if rule.department_id:
        department = letter.department
        if department is None or not department.path.startswith(rule.department.path):
            return False, ""
    if rule.agent_wrote_text and not (agent_wrote_text(assembled.template, letter.slot_values)
                                      or assembled.changed_wording):
        return False, ""
    if rule.confidential_reply:
        entry = letter.in_reply_to
        if entry is None or entry.confidentiality != Confidentiality.SECRET:
            return False, ""
    if rule.field:
        spec = data_rules.RuleSpec(kind=data_rules.COMPARE_VALUE, field=rule.field, operator=rule.operator,
                                   value=rule.value, origin=rule.name)
        index = dictionary_steps(assembled.sources.dictionary).field_index
        try:
            if not data_rules.condition_holds(spec, assembled.typed_data, assembled.letter_date, index):
                return False, ""
        except ValueError as exc:
            # A rule that cannot be applied holds the letter: better a second look than a
            # letter sent because a rule was mistyped.
            return True, str(exc)
    return True, ""


def approval_reasons(letter, assembled, rules=None):
    """The names of the active rules that hold ``letter`` for approval (empty: none do).
    ``assembled`` is the letter as assembled for generation (typed data, template)."""
    reasons = []
    for rule in active_rules() if rules is None else rules:
        holds, note = _matches(rule, letter, assembled)
        if holds:
            reasons.append(f"{rule.name} ({note})" if note else rule.name)
    return reasons


# Who decides --------------------------------------------------------------------------------


def may_approve_letters(user):
    return user.is_active and user.has_perm(APPROVE_LETTER)


def approvable_letters(user, queryset=None):
    """Letters awaiting approval that ``user`` may decide: in their scope (as they see
    letters), neither written nor submitted by them."""
    queryset = Letter.objects.all() if queryset is None else queryset
    if not may_approve_letters(user):
        return queryset.none()
    return (visible_letters(user, queryset).filter(status=LetterStatus.PENDING_APPROVAL)
            .exclude(created_by=user).exclude(generated_by=user))


def can_approve(user, letter):
    return letter.pk is not None and approvable_letters(user, Letter.objects.filter(pk=letter.pk)).exists()


def can_withdraw(user, letter):
    """The agent who wrote a letter under approval may take it back (administrators too)."""
    if letter.status not in AWAITING_STATUSES or not user.is_active:
        return False
    return (letter.created_by_id == user.pk and user.has_perm(ADD_LETTER)) or user.is_superuser


def returned_to(user, queryset=None):
    """Letters returned to ``user`` for changes."""
    queryset = Letter.objects.all() if queryset is None else queryset
    return queryset.filter(status=LetterStatus.RETURNED, created_by=user)


def waiting_for_others(user, queryset=None):
    """``user``'s letters awaiting someone else's approval."""
    queryset = Letter.objects.all() if queryset is None else queryset
    return queryset.filter(status=LetterStatus.PENDING_APPROVAL, created_by=user)


def notify(letter, event):
    """Email the people ``event`` concerns once the transaction commits (approval_notices)."""
    letter_id = letter.pk

    def enqueue():
        from ..tasks import letter_approval_notice_task

        try:
            letter_approval_notice_task.enqueue(letter_id, event)
        except Exception:  # the letter is safe in the queue; only the email is missed
            logger.exception("Could not queue the %s notice of letter %s", event, letter_id)

    transaction.on_commit(enqueue)


# Decisions ------------------------------------------------------------------------------------


def _locked(letter):
    return Letter.objects.select_for_update().select_related("template", "department", "in_reply_to").get(
        pk=letter.pk)


def _check_decision(user, letter):
    """Refusals in the order a caller should learn them: permission first (a user who may
    not approve learns nothing of the letter's state), then four-eyes, then the state."""
    if not may_approve_letters(user):
        raise PermissionDenied(_("You may not approve letters."))
    if user.pk in (letter.created_by_id, letter.generated_by_id):
        raise PermissionDenied(_("You wrote or submitted this letter: another person must approve it."))
    if letter.status != LetterStatus.PENDING_APPROVAL:
        raise ApprovalError(_("This letter is not awaiting approval (it is %(status)s).") % {
            "status": letter.get_status_display().lower()})
    if not can_approve(user, letter):
        raise PermissionDenied(_("This letter is not one of your departments' letters."))


def withdrawn_content(letter):
    """What the letter was built from that is no longer published (withdrawn since it was
    submitted): such wording is no longer approved and must not be sent."""
    withdrawn = []
    template = letter.template.specific
    if not template.live:
        withdrawn.append(_("the template “%(title)s”") % {"title": template.title})
    if template.layout_id and not template.layout.live:
        withdrawn.append(_("the layout “%(title)s”") % {"title": template.layout})
    for pin in letter.fragment_pins.filter(included=True).select_related("fragment"):
        if not pin.fragment.live:
            withdrawn.append(_("the fragment “%(title)s”") % {"title": pin.fragment.title})
    return withdrawn


@transaction.atomic
def approve_letter(user, letter, comment=""):
    """Approve a letter awaiting approval: it becomes a generated letter and is sent (its
    dispatches planned, its outbound register entry written) as if generated now."""
    letter = _locked(letter)
    _check_decision(user, letter)
    withdrawn = withdrawn_content(letter)
    if withdrawn:
        raise ApprovalError(_("This letter uses content withdrawn since it was submitted (%(what)s): return it so "
                              "that the agent builds it again.") % {"what": ", ".join(withdrawn)})
    letter.status = LetterStatus.GENERATED
    letter.approved_by = user
    letter.approved_at = timezone.now()
    letter.return_comment = ""
    letter.save()
    plan_dispatches(letter)  # sent by the workers once this transaction commits
    register_letter(letter, letter.generated_by or user)
    log(letter, log_actions.LETTER_APPROVED, user=user, data={"reference": letter.reference,
                                                              "comment": (comment or "").strip()[:2000]})
    notify(letter, "approved")
    return letter


@transaction.atomic
def return_letter(user, letter, comment):
    """Send a letter back to its agent with what to change; it keeps its reference."""
    comment = (comment or "").strip()
    letter = _locked(letter)
    _check_decision(user, letter)
    if not comment:
        raise ApprovalError(_("Say what the agent should change."), field="comment")
    letter.status = LetterStatus.RETURNED
    letter.return_comment = comment[:4000]
    letter.save()
    log(letter, log_actions.LETTER_RETURNED, user=user, data={"reference": letter.reference,
                                                              "comment": letter.return_comment})
    notify(letter, "returned")
    return letter


@transaction.atomic
def withdraw_letter(user, letter, reason=""):
    """Take back a letter under approval: it is never sent; its reference stays used."""
    letter = _locked(letter)
    if letter.created_by_id != user.pk and not user.is_superuser:
        raise PermissionDenied(_("Only the agent who wrote this letter may withdraw it."))
    if not can_withdraw(user, letter):
        raise ApprovalError(_("Only a letter awaiting approval or returned for changes can be withdrawn (this one "
                              "is %(status)s).") % {"status": letter.get_status_display().lower()})
    letter.status = LetterStatus.WITHDRAWN
    letter.save()
    log(letter, log_actions.LETTER_WITHDRAWN, user=user, data={"reference": letter.reference,
                                                               "reason": (reason or "").strip()[:2000]})
    return letter
