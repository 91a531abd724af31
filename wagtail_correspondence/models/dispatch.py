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


class PrintRunStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Merging letters")
    DONE = "done", _("Sent to the print room")
    FAILED = "failed", _("Failed")


class PrintRun(models.Model):
    """Letters sent to the print room together: one merged PDF and a manifest (reference,
    recipient, address, pages, sheets), written to the print storage by a background task.

    Starting a run reserves the waiting print dispatches for it (``Dispatch.print_run``); a
    worker merges them, reporting ``letters_merged`` as it goes, and renews ``lease_expires_at``;
    when the lease has expired the recovery job gives the run to another worker. Its files go
    to a folder named after the run, the JSON manifest last: the print room takes a run whose
    manifest is there, and a worker that finds it written only records the run as done."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    status = models.CharField(_("status"), max_length=20, choices=PrintRunStatus.choices,
                              default=PrintRunStatus.DONE, db_index=True)
    letters_merged = models.PositiveIntegerField(_("letters merged"), default=0)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    worker_id = models.CharField(_("worker"), max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True, db_index=True)
    resumes = models.PositiveSmallIntegerField(_("automatic resumes"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    pdf_path = models.CharField(_("merged PDF"), max_length=255, blank=True)
    manifest_path = models.CharField(_("manifest"), max_length=255, blank=True)
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64, blank=True)
    letter_count = models.PositiveIntegerField(_("letters"), default=0)
    page_count = models.PositiveIntegerField(_("pages"), default=0)
    sheet_count = models.PositiveIntegerField(_("sheets"), default=0)
    duplex = models.BooleanField(_("duplex"), default=True)

    ACTIVE = (PrintRunStatus.QUEUED, PrintRunStatus.RUNNING)

    class Meta:
        verbose_name = _("print run")
        verbose_name_plural = _("print runs")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} · {self.letter_count} letters"

    @property
    def folder(self):
        """Where its files go, the same for every worker that takes the run up."""
        return f"{self.created_at:%Y%m%d-%H%M%S}-{self.uuid.hex[:8]}"

    @property
    def is_active(self):
        return self.status in self.ACTIVE

    def progress(self):
        total = self.letter_count or 0
        merged = min(self.letters_merged, total) if total else 0
        return {"status": self.status, "status_display": self.get_status_display(), "merged": merged,
                "total": total, "percent": round(100 * merged / total) if total else 100,
                "pages": self.page_count, "error": self.error}


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
