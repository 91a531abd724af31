"""The portal channel: tells the customer by email that a letter waits in the portal, with a
signed, expiring link. The letter itself never travels by email on this channel.

The notice is a multipart email (plain text, and HTML with inline styles only, as mail
clients drop style sheets), rendered from Django templates with autoescaping, in the
letter's language: ``wagtail_correspondence/portal/email/notice.txt`` and ``notice.html``."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .. import public_urls
from ..conf import get_setting
from .base import Channel, DeliveryResult, PermanentDeliveryError
from .email import lookup, send_by_smtp
from .portal_tokens import make_token

NOTICE_TEMPLATE = "wagtail_correspondence/portal/email/notice"


def portal_link(dispatch):
    """The absolute link of a portal dispatch (public_urls.py says where it starts)."""
    base = public_urls.base_url(dispatch.link_origin)
    if not base.startswith(("http://", "https://")):
        raise PermanentDeliveryError(
            "no public address to start the portal link with: set WAGTAIL_CORRESPONDENCE['PORTAL']['BASE_URL'] "
            "(or WAGTAILADMIN_BASE_URL)")
    return base + reverse("wagtail_correspondence_portal:letter", args=[make_token(dispatch)])


def notice_message(dispatch, link, from_email=None):
    """The email telling the customer a letter waits for them (not sent)."""
    letter = dispatch.letter
    organisation = get_setting("ORGANISATION_NAME")
    with translation.override(letter.language or None):
        subject = _("A new letter from %(organisation)s") % {"organisation": organisation}
        context = {"organisation": organisation, "subject": letter.subject, "reference": letter.reference,
                   "recipient_name": letter.recipient_name, "link": link, "email_subject": subject,
                   "days": int(get_setting("PORTAL")["LINK_MAX_AGE_DAYS"]),
                   "language": translation.get_language() or settings.LANGUAGE_CODE}
        text = render_to_string(f"{NOTICE_TEMPLATE}.txt", context)
        html = render_to_string(f"{NOTICE_TEMPLATE}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[dispatch.recipient],
                                     from_email=from_email or settings.DEFAULT_FROM_EMAIL,
                                     headers={"X-Correspondence-Reference": letter.reference})
    message.attach_alternative(html, "text/html")
    return message


class PortalChannel(Channel):
    """OPTIONS: ``recipient_field`` (default customer.email), ``from_email``, ``connection``
    (keyword arguments for django.core.mail.get_connection)."""

    def __init__(self, recipient_field="customer.email", from_email=None, connection=None):
        self.recipient_field = recipient_field
        self.from_email = from_email
        self.connection_options = connection or {}

    def recipient_for(self, letter):
        return lookup(letter.data, self.recipient_field)

    def no_recipient_reason(self):
        return _("no email address for the portal notice (%(field)s)") % {"field": self.recipient_field}

    def send(self, dispatch):
        if not dispatch.recipient:
            raise PermanentDeliveryError(f"the letter's data has no email address ({self.recipient_field})")
        message = notice_message(dispatch, portal_link(dispatch), self.from_email)
        send_by_smtp(message, self.connection_options)
        return DeliveryResult(provider_message_id=message.extra_headers.get("Message-ID", ""),
                              recipient=dispatch.recipient)
