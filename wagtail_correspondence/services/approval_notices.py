"""Emails about a letter's approval: to its approvers when it waits for them, to its agent
when it is returned or approved. A convenience beside the dashboard and the API, which list
the same letters: a notice that cannot be sent is logged, and the letter waits all the same.

Sent by a task after the decision commits (tasks.letter_approval_notice_task), never inside
the request that decided."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.utils.translation import gettext as _
from wagtail.admin.utils import get_admin_base_url

from ..models import Letter, LetterStatus
from .letter_approval import APPROVE_LETTER, approvable_letters

logger = logging.getLogger(__name__)

SUBMITTED, RETURNED, APPROVED = "submitted", "returned", "approved"


def approvers_of(letter):
    """The people who may decide ``letter``: every active holder of the approval permission
    (through a group, directly, or as a superuser) for whom the letter is in scope and not
    their own. Few per organisation: each is checked with the one scope rule."""
    app_label, codename = APPROVE_LETTER.split(".")
    holds = (Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
             | Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label)
             | Q(is_superuser=True))
    candidates = get_user_model().objects.filter(holds, is_active=True).exclude(email="").distinct().order_by("pk")
    one = Letter.objects.filter(pk=letter.pk)
    return [user for user in candidates if approvable_letters(user, one).exists()]


def _message(letter, event):
    url = get_admin_base_url() + letter.get_admin_url()
    facts = [f"{_('Reference')}: {letter.reference}", f"{_('Template')}: {letter.template.title}",
             f"{_('Recipient')}: {letter.recipient_name or '-'}"]
    if event == SUBMITTED:
        subject = _("Letter %(reference)s waits for your approval") % {"reference": letter.reference}
        intro = _("A letter needs a second person before it is sent: %(reasons)s.") % {
            "reasons": "; ".join(letter.approval_reasons)}
    elif event == RETURNED:
        subject = _("Letter %(reference)s was returned to you for changes") % {"reference": letter.reference}
        intro = _("The approver asks: %(comment)s") % {"comment": letter.return_comment}
    else:
        subject = _("Letter %(reference)s was approved and sent") % {"reference": letter.reference}
        intro = _("Your letter was approved; it is on its way.")
    return subject, "\n".join([intro, "", *facts, "", url])


def recipients(letter, event):
    if event == SUBMITTED:
        if letter.status != LetterStatus.PENDING_APPROVAL:
            return []  # decided (or withdrawn) before the notice went out
        return [user.email for user in approvers_of(letter)]
    agent = letter.created_by
    return [agent.email] if agent is not None and agent.is_active and agent.email else []


def send_notice(letter_id, event):
    """Email the people ``event`` concerns; returns how many were written to."""
    letter = Letter.objects.select_related("template", "created_by").filter(pk=letter_id).first()
    if letter is None:
        return 0
    addresses = recipients(letter, event)
    if not addresses:
        return 0
    subject, body = _message(letter, event)
    sender = settings.DEFAULT_FROM_EMAIL
    # One message per person: approvers do not learn who else approves.
    messages = [EmailMessage(subject, body, sender, [address]) for address in addresses]
    with get_connection() as connection:
        return connection.send_messages(messages) or 0
