"""Email through Django's email backends (SMTP by default): HTML and text bodies, the PDF
attached (the sealed letter, its enclosures inside), each enclosure also attached as its own
file, images as inline parts (mail clients block data: URIs)."""

import base64
import hashlib
import re
import smtplib
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.translation import gettext as _
from pypdf.generic import ArrayObject, NameObject

from .. import pdf_seal
from .base import (
    Channel,
    DeliveryError,
    DeliveryResult,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
    letter_pdf_bytes,
)

DATA_IMAGE_RE = re.compile(r'src="data:(image/[a-z+.-]+);base64,([A-Za-z0-9+/=]+)"')
# Characters a file name in a mail client may not hold.
UNSAFE_FILE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def enclosure_attachments(letter):
    """(file name, bytes) of each enclosure the letter carries, in its order: the approved
    revision's file, checked against the SHA-256 pinned with the letter. A file that is not
    the one approved is never sent."""
    from ..models.letters import letter_storage
    from ..rendering.assembly import revision_objects

    pins = list(letter.enclosure_pins.order_by("position"))
    approved = revision_objects([pin.revision_id for pin in pins])
    attachments = []
    for pin in pins:
        enclosure = approved[pin.revision_id]
        try:
            with letter_storage().open(enclosure.file.name, "rb") as handle:
                content = handle.read()
        except OSError as exc:
            raise TemporaryDeliveryError(f"the enclosure {enclosure.key} cannot be read: {exc}") from exc
        if hashlib.sha256(content).hexdigest() != pin.file_sha256:
            raise PermanentDeliveryError(f"the stored file of the enclosure {enclosure.key} is not the one approved")
        name = UNSAFE_FILE_NAME.sub("-", enclosure.title).strip(" .-")[:100] or enclosure.key
        attachments.append((f"{name}.pdf", content))
    return attachments


def lookup(data, path):
    value = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    return value if isinstance(value, str) else ""


def open_smtp(connection_options, server="the mail server"):
    """An open Django email connection, or TemporaryDeliveryError."""
    connection = get_connection(fail_silently=False, **connection_options)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as exc:
        raise TemporaryDeliveryError(f"{server} could not be reached: {exc}") from exc
    return connection


def send_on(connection, message, server="the mail server"):
    """Send one message on an open connection, telling the outbox what happened: refused
    (permanent), nothing left (temporary), or unknown (the connection broke after the message
    went out: resending could deliver it twice)."""
    try:
        connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError(f"{server} refused {', '.join(exc.recipients)}") from exc
    except smtplib.SMTPResponseException as exc:
        error = f"{server} answered {exc.smtp_code}: {exc.smtp_error!r}"
        raise (PermanentDeliveryError if 500 <= exc.smtp_code < 600 else TemporaryDeliveryError)(error) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise UncertainDeliveryError(f"the connection to {server} broke while sending: {exc}") from exc


def send_by_smtp(message, connection_options, server="the mail server"):
    """Send one message over a connection of its own (``open_smtp`` + ``send_on``)."""
    connection = open_smtp(connection_options, server)
    try:
        send_on(connection, message, server)
    finally:
        connection.close()


def inline_images(html, domain):
    """Replace data: images by cid: references; returns (html, [MIMEImage])."""
    parts = []

    def replace(match):
        mime, payload = match.group(1), match.group(2)
        content_id = f"image{len(parts) + 1}@{domain}"
        part = MIMEImage(base64.b64decode(payload), _subtype=mime.split("/", 1)[1].replace("svg+xml", "svg+xml"))
        part.add_header("Content-ID", f"<{content_id}>")
        part.add_header("Content-Disposition", "inline", filename=f"image{len(parts) + 1}")
        parts.append(part)
        return f'src="cid:{content_id}"'

    return DATA_IMAGE_RE.sub(replace, html), parts


def encrypt_pdf(content, password, sealed_at=None):
    """The PDF encrypted with AES-256; opening it asks for ``password``. Encrypting rewrites
    the file, which breaks a seal: a sealed PDF (``sealed_at``: its signing time) loses its
    seal in the rewrite and is sealed again inside the encryption."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    if sealed_at is not None:
        _drop_signatures(writer)
    writer.encrypt(user_password=password, owner_password=None, algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    if sealed_at is None:
        return buffer.getvalue()
    try:
        return pdf_seal.seal(buffer.getvalue(), when=sealed_at, password=password)
    except pdf_seal.SealError as exc:
        raise PermanentDeliveryError(f"the password-protected PDF cannot be sealed: {exc}") from exc


def _drop_signatures(writer):
    """Signature fields and their widgets out of a pypdf writer: their byte ranges no longer
    describe the rewritten file."""
    def is_signature(ref):
        return ref.get_object().get("/FT") == "/Sig"

    form = writer._root_object.get("/AcroForm")
    if form is not None:
        form = form.get_object()
        form[NameObject("/Fields")] = ArrayObject(ref for ref in form.get("/Fields", []) if not is_signature(ref))
        form.pop("/SigFlags", None)
    for page in writer.pages:
        if "/Annots" in page:
            page[NameObject("/Annots")] = ArrayObject(ref for ref in page["/Annots"] if not is_signature(ref))


class EmailChannel(Channel):
    """OPTIONS: ``recipient_field`` (default customer.email), ``from_email``, ``reply_to``,
    and ``connection`` (keyword arguments for django.core.mail.get_connection, e.g.
    {"backend": "django.core.mail.backends.smtp.EmailBackend", "host": ..., "port": ...})."""

    def __init__(self, recipient_field="customer.email", from_email=None, reply_to=None, connection=None):
        self.recipient_field = recipient_field
        self.from_email = from_email
        self.reply_to = reply_to
        self.connection_options = connection or {}

    def recipient_for(self, letter):
        return lookup(letter.data, self.recipient_field)

    def no_recipient_reason(self):
        return _("no email address (%(field)s)") % {"field": self.recipient_field}

    def build_message(self, dispatch):
        letter = dispatch.letter
        from_email = self.from_email or settings.DEFAULT_FROM_EMAIL
        domain = from_email.rsplit("@", 1)[-1].strip(">") or "localhost"
        html, images = inline_images(letter.email_html, domain)
        message = EmailMultiAlternatives(
            subject=letter.email_subject or letter.subject, body=letter.email_text, from_email=from_email,
            to=[dispatch.recipient], reply_to=[self.reply_to] if self.reply_to else None,
            headers={
                # One Message-ID per dispatch: a provider or mailbox that deduplicates by it
                # never shows the same letter twice.
                "Message-ID": f"<{dispatch.idempotency_key}@{domain}>",
                "X-Correspondence-Reference": letter.reference,
            })
        message.attach_alternative(html, "text/html")
        for image in images:
            message.attach(image)
        content = letter_pdf_bytes(letter)
        password = self.pdf_password(letter)
        if password is not None:
            content = encrypt_pdf(content, password, sealed_at=letter.generated_at if letter.pdf_sealed_by else None)
        message.attach(f"{letter.reference}.pdf", content, "application/pdf")
        for name, enclosure in enclosure_attachments(letter):
            message.attach(name, enclosure, "application/pdf")
        return message

    def pdf_password(self, letter):
        """The template's password rule applied to the letter's data, or None without a rule."""
        from ..rendering.assembly import revision_object
        from ..rendering.sandbox import MergeError, render_source

        revision_id = letter.template_revision_id
        # A revision never changes: its rule is read once per channel (per delivery call, a
        # batch chunk's letters share one template revision).
        rules = self.__dict__.setdefault("_password_rules", {})
        if revision_id not in rules:
            rules[revision_id] = getattr(revision_object(revision_id), "email_pdf_password", "") if revision_id else ""
        rule = rules[revision_id]
        if not rule:
            return None
        try:
            password = render_source(rule, letter.data, autoescape=False).strip()
        except MergeError as exc:
            raise PermanentDeliveryError(f"the PDF password rule cannot be applied: {exc}") from exc
        if len(password) < 4:
            raise PermanentDeliveryError("the PDF password rule gives a password shorter than 4 characters")
        return password

    def send(self, dispatch):
        if not dispatch.recipient:
            raise PermanentDeliveryError(f"the letter's data has no email address ({self.recipient_field})")
        message = self.build_message(dispatch)
        send_by_smtp(message, self.connection_options)
        return DeliveryResult(provider_message_id=message.extra_headers["Message-ID"], recipient=dispatch.recipient)

    def send_many(self, dispatches):
        """Send several dispatches over one SMTP connection, kept open for the next call until
        ``close()``; yields (dispatch, DeliveryResult or DeliveryError) in order. After an
        error the connection is closed and the next message opens a fresh one, so one refused
        or broken message never affects the others. A subclass that sends otherwise (SES, a
        fax gateway) sends one by one."""
        if type(self).send is not EmailChannel.send:
            yield from Channel.send_many(self, dispatches)
            return
        for dispatch in dispatches:
            try:
                if not dispatch.recipient:
                    raise PermanentDeliveryError(f"the letter's data has no email address ({self.recipient_field})")
                message = self.build_message(dispatch)
                if getattr(self, "_smtp", None) is None:
                    self._smtp = open_smtp(self.connection_options)
                send_on(self._smtp, message)
            except DeliveryError as exc:
                self.close()
                yield dispatch, exc
                continue
            yield dispatch, DeliveryResult(provider_message_id=message.extra_headers["Message-ID"],
                                           recipient=dispatch.recipient)

    def close(self):
        connection, self._smtp = getattr(self, "_smtp", None), None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # closing a broken connection: nothing left to do
                pass


class SesEmailChannel(EmailChannel):
    """Email through Amazon SES (boto3 send_raw_email): the same message as SMTP. OPTIONS as
    EmailChannel, plus ``region_name``, ``endpoint_url`` and ``configuration_set`` (whose
    event destination, an SNS topic, sends the delivery receipts)."""

    def __init__(self, region_name=None, endpoint_url=None, configuration_set="", **options):
        super().__init__(**options)
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.configuration_set = configuration_set

    def send(self, dispatch):
        import boto3
        from botocore.config import Config
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        if not dispatch.recipient:
            raise PermanentDeliveryError(f"the letter's data has no email address ({self.recipient_field})")
        message = self.build_message(dispatch)
        arguments = {"Source": message.from_email, "Destinations": [dispatch.recipient],
                     "RawMessage": {"Data": message.message().as_bytes()}}
        if self.configuration_set:
            arguments["ConfigurationSetName"] = self.configuration_set
        # No automatic retries: a retried send after a lost answer would send twice.
        client = boto3.client("ses", region_name=self.region_name, endpoint_url=self.endpoint_url,
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        try:
            response = client.send_raw_email(**arguments)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in ("Throttling", "ThrottlingException", "ServiceUnavailable") or status >= 500:
                raise TemporaryDeliveryError(f"SES: {code or status} {exc}") from exc
            raise PermanentDeliveryError(f"SES refused the message: {code or status} {exc}") from exc
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            raise UncertainDeliveryError(f"SES did not answer after the message was sent: {exc}") from exc
        except (EndpointConnectionError, BotoCoreError) as exc:
            raise TemporaryDeliveryError(f"SES could not be reached: {exc}") from exc
        return DeliveryResult(provider_message_id=response["MessageId"], recipient=dispatch.recipient)
