import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class RegisterExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Being written")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class RegisterExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class RegisterExport(models.Model):
    """An export of a register list too large to write during a request, written by a task
    (services/register_exports.py) for the one user who asked, and for nobody else.

    ``query_string`` is the list's own query string (filters, search, order): the task opens
    that list again as that user, so the file holds what the list showed them, in their scope
    as it is when the task runs. The file sits in the register's private storage in parts
    (``parts``, each encrypted on its own where the storage encrypts), is served only through a
    view that checks who asks, and is deleted at ``expires_at``; the row stays, as a record of
    who exported what."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    format = models.CharField(_("format"), max_length=10, choices=RegisterExportFormat.choices)
    query_string = models.TextField(_("list filters and search"), blank=True)
    list_title = models.CharField(_("list"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RegisterExportStatus.choices,
                              default=RegisterExportStatus.QUEUED)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    total_rows = models.PositiveIntegerField(_("rows in the list"), null=True, blank=True)
    parts = models.JSONField(_("stored parts"), default=list, blank=True)
    file_name = models.CharField(_("file name"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    # Which run of the task holds the export: a worker that lost it (its lease expired and
    # another took it) records nothing.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)

    ACTIVE = (RegisterExportStatus.QUEUED, RegisterExportStatus.RUNNING)

    class Meta:
        verbose_name = _("register export")
        verbose_name_plural = _("register exports")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["requested_by", "-requested_at"], name="register_export_mine"),
            models.Index(fields=["status", "expires_at"], name="register_export_due"),
        ]

    def __str__(self):
        return f"{self.list_title or 'Register'} ({self.format}, {self.requested_at:%Y-%m-%d %H:%M})"

    @property
    def is_active(self):
        return self.status in self.ACTIVE

    def is_downloadable(self, now=None):
        return (self.status == RegisterExportStatus.DONE and bool(self.parts)
                and (self.expires_at is None or self.expires_at > (now or timezone.now())))

    def progress(self):
        """What the Exports page shows of it, and what its progress URL answers."""
        total = self.total_rows
        written = self.rows_written if total is None else min(self.rows_written, total)
        percent = None
        if total:
            percent = round(100 * written / total)
        elif total == 0 or self.status == RegisterExportStatus.DONE:
            percent = 100
        if total is not None:
            text = ngettext("%(rows)s of %(total)s row (%(percent)s%%)", "%(rows)s of %(total)s rows (%(percent)s%%)",
                            total) % {"rows": _number(written), "total": _number(total), "percent": percent}
        else:
            text = ngettext("%(rows)s row so far", "%(rows)s rows so far", written) % {"rows": _number(written)}
        return {"id": self.pk, "status": self.status, "status_display": str(self.get_status_display()),
                "rows": written, "total": total, "percent": percent, "active": self.is_active, "text": text}


def _number(value):
    return number_format(value, force_grouping=True)
