"""Delivery receipts: Amazon SNS notifications (for SES email events) turned into dispatch
statuses. Every message is verified against AWS's signature before anything is believed:
the signing certificate must come from an SNS address, and the signature must match."""

import base64
import functools
import re
import urllib.request

from django.utils import timezone
from wagtail.log_actions import log

from .. import json_limits, log_actions
from ..conf import get_setting
from ..models import Dispatch, DispatchStatus

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


class InvalidNotification(Exception):
    pass


def receipt_settings():
    return {"SNS_URL_PATTERN": r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/", "TOPIC_ARNS": [],
            "CONFIRM_SUBSCRIPTIONS": True, **get_setting("DELIVERY_RECEIPTS")}


def trusted_sns_url(url):
    return bool(url) and re.match(receipt_settings()["SNS_URL_PATTERN"], url) is not None


@functools.lru_cache(maxsize=16)
def signing_certificate(url):
    from cryptography import x509

    with urllib.request.urlopen(url, timeout=10) as response:
        return x509.load_pem_x509_certificate(response.read())


def string_to_sign(message):
    keys = NOTIFICATION_KEYS if message.get("Type") == "Notification" else SUBSCRIPTION_KEYS
    return "".join(f"{key}\n{message[key]}\n" for key in keys if key in message).encode("utf-8")


def verify(message):
    """Raise InvalidNotification unless ``message`` is signed by SNS."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if not isinstance(message, dict) or message.get("Type") not in ("Notification", "SubscriptionConfirmation",
                                                                    "UnsubscribeConfirmation"):
        raise InvalidNotification("not an SNS message")
    topics = receipt_settings()["TOPIC_ARNS"]
    if topics and message.get("TopicArn") not in topics:
        raise InvalidNotification("from a topic that is not configured")
    url = message.get("SigningCertURL", "")
    if not trusted_sns_url(url) or not url.endswith(".pem"):
        raise InvalidNotification("the signing certificate does not come from SNS")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise InvalidNotification("unknown signature version")
    try:
        signature = base64.b64decode(message.get("Signature", ""), validate=True)
        signing_certificate(url).public_key().verify(signature, string_to_sign(message), padding.PKCS1v15(),
                                                     algorithm)
    except (InvalidSignature, ValueError) as exc:
        raise InvalidNotification("the signature does not match") from exc
    except OSError as exc:
        raise InvalidNotification(f"the signing certificate could not be fetched: {exc}") from exc


def find_dispatch(mail):
    ids = [mail.get("messageId", ""), (mail.get("commonHeaders") or {}).get("messageId", "")]
    ids = [value for value in ids if value]
    return Dispatch.objects.select_related("letter").filter(provider_message_id__in=ids).first() if ids else None


def receipt_data(dispatch):
    return {"reference": dispatch.letter.reference, "channel": dispatch.channel, "recipient": dispatch.recipient}


def handle(message):
    """Act on a verified SNS message. Returns a short description of what was done."""
    from ..services.dispatch import plan_fallback
    from ..services.register_links import sync_delivery

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
