"""The portal channel: tells the customer by email that a letter waits in the portal, with a
signed, expiring link. The letter itself never travels by email on this channel."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils.translation import gettext as _

from ..conf import get_setting
from .base import Channel, DeliveryResult, PermanentDeliveryError
from .email import lookup, send_by_smtp


def portal_link(dispatch):
    from ..portal.tokens import make_token

    base = get_setting("PORTAL")["BASE_URL"] or getattr(settings, "WAGTAILADMIN_BASE_URL", "")
    return base.rstrip("/") + reverse("wagtail_correspondence_portal:letter", args=[make_token(dispatch)])


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
        letter = dispatch.letter
        if not dispatch.recipient:
            raise PermanentDeliveryError(f"the letter's data has no email address ({self.recipient_field})")
        link = portal_link(dispatch)
        days = get_setting("PORTAL")["LINK_MAX_AGE_DAYS"]
        body = _("A new letter is waiting for you: %(subject)s (reference %(reference)s).\n\n"
                 "Read it, acknowledge it or reply here (the link works for %(days)s days):\n%(link)s\n") % {
            "subject": letter.subject, "reference": letter.reference, "days": days, "link": link}
        message = EmailMessage(subject=_("A new letter from %(organisation)s") % {
            "organisation": get_setting("ORGANISATION_NAME")}, body=body,
            from_email=self.from_email or settings.DEFAULT_FROM_EMAIL, to=[dispatch.recipient],
            headers={"X-Correspondence-Reference": letter.reference})
        send_by_smtp(message, self.connection_options)
        return DeliveryResult(provider_message_id=message.extra_headers.get("Message-ID", ""),
                              recipient=dispatch.recipient)
