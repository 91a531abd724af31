"""Delivery receipts acted on: an SES event from a verified SNS message (``delivery.receipts``
checks the signature) turns into the dispatch's status, an audit entry, a fallback channel
after a permanent bounce and the register entry's delivery status. Orchestration, so a
service: the delivery layer only verifies and reads the notification."""

import urllib.request

from django.utils import timezone
from wagtail.log_actions import log

from .. import json_limits, log_actions
from ..delivery.receipts import receipt_settings, trusted_sns_url
from ..models import Dispatch, DispatchStatus
from .dispatch import plan_fallback
from .register_links import sync_delivery


def find_dispatch(mail):
    ids = [mail.get("messageId", ""), (mail.get("commonHeaders") or {}).get("messageId", "")]
    ids = [value for value in ids if value]
    return Dispatch.objects.select_related("letter").filter(provider_message_id__in=ids).first() if ids else None


def receipt_data(dispatch):
    return {"reference": dispatch.letter.reference, "channel": dispatch.channel, "recipient": dispatch.recipient}


def handle(message):
    """Act on a verified SNS message. Returns a short description of what was done."""
    if message["Type"] == "SubscriptionConfirmation":
        url = message.get("SubscribeURL", "")
        if receipt_settings()["CONFIRM_SUBSCRIPTIONS"] and trusted_sns_url(url):
            urllib.request.urlopen(url, timeout=10).close()
            return "subscription confirmed"
        return "subscription not confirmed"
    if message["Type"] != "Notification":
        return "ignored"
    try:
        event = json_limits.loads(message["Message"])
    except (TypeError, ValueError):
        return "not an SES event"
    kind = event.get("notificationType") or event.get("eventType")
    dispatch = find_dispatch(event.get("mail") or {})
    if dispatch is None:
        return "no matching dispatch"
    now = timezone.now()
    if kind == "Delivery":
        Dispatch.objects.filter(pk=dispatch.pk, status=DispatchStatus.SENT).update(
            status=DispatchStatus.DELIVERED, delivered_at=now, updated_at=now)
        log(dispatch.letter, log_actions.LETTER_DELIVERED, data=receipt_data(dispatch))
        sync_delivery(dispatch.letter)
        return "delivered"
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        detail = "; ".join(f"{item.get('emailAddress')}: {item.get('diagnosticCode', item.get('status', ''))}"
                           for item in bounce.get("bouncedRecipients", []))
        if bounce.get("bounceType") != "Permanent":
            Dispatch.objects.filter(pk=dispatch.pk).update(last_error=f"transient bounce: {detail}", updated_at=now)
            return "transient bounce"
        updated = Dispatch.objects.filter(pk=dispatch.pk, status__in=[DispatchStatus.SENT, DispatchStatus.DELIVERED]
                                          ).update(status=DispatchStatus.BOUNCED, last_error=f"bounced: {detail}",
                                                   updated_at=now)
        if updated:
            dispatch.status = DispatchStatus.BOUNCED
            log(dispatch.letter, log_actions.LETTER_BOUNCED, data={**receipt_data(dispatch), "error": detail})
            plan_fallback(dispatch)
            sync_delivery(dispatch.letter)
        return "bounced"
    if kind == "Complaint":
        log(dispatch.letter, log_actions.LETTER_COMPLAINT, data=receipt_data(dispatch))
        return "complaint recorded"
    return "ignored"
