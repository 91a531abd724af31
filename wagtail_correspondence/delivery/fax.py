"""Fax, the two ways fax providers offer: an email-to-fax gateway (the PDF mailed to an
address made from the number) or an HTTP fax API."""

import base64
import json
import socket
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from .base import Channel, DeliveryResult, PermanentDeliveryError, TemporaryDeliveryError, UncertainDeliveryError
from .email import lookup, send_by_smtp
from .sms import to_e164


class FaxChannel(Channel):
    def __init__(self, fax_field="customer.fax", default_country_code=""):
        self.fax_field = fax_field
        self.default_country_code = default_country_code

    def recipient_for(self, letter):
        return to_e164(lookup(letter.data, self.fax_field), self.default_country_code)

    def no_recipient_reason(self):
        return _("no valid fax number (%(field)s)") % {"field": self.fax_field}

    def pdf(self, letter):
        with letter.pdf.open("rb") as handle:
            return handle.read()


class EmailToFaxChannel(FaxChannel):
    """OPTIONS: ``address_pattern`` such as "{digits}@fax.example.net" ({number} is E.164 with
    the +, {digits} without), ``fax_field``, ``default_country_code``, ``from_email``,
    ``connection`` (for django.core.mail.get_connection)."""

    def __init__(self, address_pattern, from_email=None, connection=None, **options):
        super().__init__(**options)
        self.address_pattern = address_pattern
        self.from_email = from_email
        self.connection_options = connection or {}

    def send(self, dispatch):
        letter = dispatch.letter
        if not dispatch.recipient:
            raise PermanentDeliveryError(f"no valid fax number in the letter's data ({self.fax_field})")
        address = self.address_pattern.format(number=dispatch.recipient, digits=dispatch.recipient.lstrip("+"))
        message = EmailMessage(subject=letter.reference, body="", to=[address],
                               from_email=self.from_email or settings.DEFAULT_FROM_EMAIL,
                               headers={"X-Correspondence-Reference": letter.reference})
        message.attach(f"{letter.reference}.pdf", self.pdf(letter), "application/pdf")
        send_by_smtp(message, self.connection_options, server="the fax gateway")
        return DeliveryResult(provider_message_id=address, recipient=dispatch.recipient)


class HttpFaxChannel(FaxChannel):
    """A fax API over HTTP. OPTIONS: ``url``; ``token`` (sent as "Authorization: Bearer");
    ``timeout``. The request is JSON: {"to", "reference", "idempotency_key", "filename",
    "document" (base64 PDF)}; the answer JSON carries the provider's ``id``. The idempotency key
    is also sent as the Idempotency-Key header, for providers that honour it."""

    def __init__(self, url, token="", timeout=30, **options):
        super().__init__(**options)
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, dispatch):
        letter = dispatch.letter
        if not dispatch.recipient:
            raise PermanentDeliveryError(f"no valid fax number in the letter's data ({self.fax_field})")
        body = json.dumps({"to": dispatch.recipient, "reference": letter.reference,
                           "idempotency_key": dispatch.idempotency_key, "filename": f"{letter.reference}.pdf",
                           "document": base64.b64encode(self.pdf(letter)).decode("ascii")}).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": dispatch.idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            error = f"the fax API answered {exc.code}: {exc.read()[:200]!r}"
            if exc.code >= 500 or exc.code == 429:
                raise TemporaryDeliveryError(error) from exc
            raise PermanentDeliveryError(error) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (socket.timeout, TimeoutError)):
                raise UncertainDeliveryError(f"the fax API did not answer in time: {exc.reason}") from exc
            raise TemporaryDeliveryError(f"the fax API could not be reached: {exc.reason}") from exc
        except (socket.timeout, TimeoutError) as exc:
            raise UncertainDeliveryError(f"the fax API did not answer in time: {exc}") from exc
        except ValueError as exc:
            raise UncertainDeliveryError(f"the fax API's answer was not JSON: {exc}") from exc
        return DeliveryResult(provider_message_id=str(answer.get("id", "")), recipient=dispatch.recipient)
