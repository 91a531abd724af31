import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField
from .letters import letter_storage as letter_storage_callable


class DispatchStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")
    CANCELLED = "cancelled", _("Cancelled")


class Dispatch(models.Model):
    """One letter on one channel: the outbox row that a worker claims, sends and records.

    Delivery is at most once. A worker marks the row ``sending`` and commits before it calls
    the provider; if it dies after the provider accepted the message, the row stays
    ``sending`` and is never picked up again automatically (see services.dispatch), because
    resending could reach the customer twice. Definite failures (the provider refused, the
    connection failed) go back to ``queued`` with an exponential back-off.
    """

    FINAL = (DispatchStatus.SENT, DispatchStatus.DELIVERED, DispatchStatus.FAILED, DispatchStatus.BOUNCED,
             DispatchStatus.CANCELLED)

    letter = models.ForeignKey("wagtail_correspondence.Letter", on_delete=models.PROTECT, related_name="dispatches",
                               verbose_name=_("letter"))
    channel = models.CharField(_("channel"), max_length=20, db_index=True)
    recipient = models.CharField(_("recipient"), max_length=255, blank=True,
                                 help_text=_("Address, number or location the letter went to"))
    status = models.CharField(_("status"), max_length=20, choices=DispatchStatus.choices,
                              default=DispatchStatus.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    last_error = models.TextField(_("last error"), blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True, db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True,
                                       help_text=_("Sent to providers that support it; one per letter and channel"))
    fallback_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="fallbacks", verbose_name=_("fallback of"))
    print_run = models.ForeignKey("wagtail_correspondence.PrintRun", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="dispatches", verbose_name=_("print run"))
    # Links sent to the customer (the portal's) start with the public address configured, else
    # with this: the address of the site the letter was generated from (public_urls.py).
    link_origin = models.CharField(_("link origin"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="dispatch_due")]

    def __str__(self):
        return f"{self.letter} · {self.channel} · {self.get_status_display()}"

    @property
    def is_final(self):
        return self.status in self.FINAL


class PrintRun(models.Model):
    """Letters sent to the print room together: one merged PDF and a manifest (reference,
    recipient, address, pages, sheets), written to the print storage."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    pdf_path = models.CharField(_("merged PDF"), max_length=255)
    manifest_path = models.CharField(_("manifest"), max_length=255)
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64)
    letter_count = models.PositiveIntegerField(_("letters"))
    page_count = models.PositiveIntegerField(_("pages"))
    sheet_count = models.PositiveIntegerField(_("sheets"))
    duplex = models.BooleanField(_("duplex"), default=True)

    class Meta:
        verbose_name = _("print run")
        verbose_name_plural = _("print runs")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} · {self.letter_count} letters"


def portal_upload_path(instance, filename):
    return f"correspondence/portal/{instance.letter.uuid}/{instance.uuid}/{filename}"


class PortalResponse(models.Model):
    """What a customer did with a letter in the portal: acknowledged it, or replied (text and
    an optional attachment). Replies are inbound items; the register threads them."""

    ACKNOWLEDGEMENT, REPLY = "acknowledgement", "reply"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    letter = models.ForeignKey("wagtail_correspondence.Letter", on_delete=models.PROTECT,
                               related_name="portal_responses", verbose_name=_("letter"))
    kind = models.CharField(_("kind"), max_length=20,
                            choices=[(ACKNOWLEDGEMENT, _("Acknowledgement")), (REPLY, _("Reply"))])
    text = EncryptedTextField(_("text"), blank=True)
    attachment = models.FileField(_("attachment"), storage=letter_storage_callable, upload_to=portal_upload_path,
                                  blank=True, max_length=255)
    attachment_name = models.CharField(_("attachment name"), max_length=255, blank=True)
    attachment_type = models.CharField(_("attachment type"), max_length=100, blank=True)
    attachment_size = models.PositiveIntegerField(_("attachment size"), null=True, blank=True)
    attachment_sha256 = models.CharField(_("SHA-256 of the attachment"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("portal response")
        verbose_name_plural = _("portal responses")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.letter} · {self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"
