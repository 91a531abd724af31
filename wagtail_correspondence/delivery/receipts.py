"""Delivery receipts: Amazon SNS notifications (for SES email events), verified against AWS's
signature before anything is believed: the signing certificate must come from an SNS address,
and the signature must match. What a verified receipt changes (dispatch status, fallback,
register) is ``services.receipts.handle``."""

import base64
import functools
import re
import urllib.request

from ..conf import get_setting

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
