"""Leases of background work: who is working on what, and until when that claim holds.

A worker that dies stops renewing its lease; when the lease has expired the work is taken
over (services.recovery). Leases live in rows of their own, never in the row of the work
itself: renewing one must not wait for, or block, a worker's row lock on the batch.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BatchLease(models.Model):
    """The lease of a batch that is being checked or generated.

    ``task_id`` is the background task expected to work on the batch (enqueued, or running);
    ``worker_id`` the worker that last renewed the lease, as rows completed. While
    ``expires_at`` lies ahead the batch is alive; after it, a queued task is still waited
    for, anything else is stale and the batch is resumed. ``resumes`` counts automatic
    resumes since the last row completed: a batch whose worker dies again and again without
    progress stops (failed) after a few, for a person to look at.
    """

    batch = models.OneToOneField("wagtail_correspondence.LetterBatch", on_delete=models.CASCADE, primary_key=True,
                                 related_name="lease", verbose_name=_("batch"))
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    worker_id = models.CharField(_("worker"), max_length=100, blank=True)
    acquired_at = models.DateTimeField(_("acquired at"), null=True, blank=True)
    renewed_at = models.DateTimeField(_("renewed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, db_index=True)
    resumes = models.PositiveSmallIntegerField(_("automatic resumes"), default=0)

    class Meta:
        verbose_name = _("batch lease")
        verbose_name_plural = _("batch leases")

    def __str__(self):
        return f"{self.batch_id} · {self.worker_id or 'no worker'} until {self.expires_at}"


class JobOutcome(models.TextChoices):
    OK = "ok", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class ScheduledJob(models.Model):
    """One periodic job of the scheduler (``correspondence_scheduler``) and its last run.

    ``next_run_at`` is claimed with a conditional update, so however many schedulers run,
    each job starts once per interval; ``held_until`` keeps a second scheduler from starting
    the job again while a run that outlasts its interval is still going.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    held_by = models.CharField(_("running in"), max_length=100, blank=True)
    held_until = models.DateTimeField(_("held until"), null=True, blank=True)
    last_started_at = models.DateTimeField(_("last started"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    last_outcome = models.CharField(_("last outcome"), max_length=10, choices=JobOutcome.choices, blank=True)
    last_result = models.TextField(_("last result"), blank=True)
    runs = models.PositiveIntegerField(_("runs"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")
        ordering = ["name"]

    def __str__(self):
        return self.name
