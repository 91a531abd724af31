import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedJSONField
from .letters import letter_storage


def batch_upload_path(instance, filename):
    return f"correspondence/batches/{instance.uuid}/{filename}"


class BatchStatus(models.TextChoices):
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class LetterBatch(models.Model):
    """Letters for many customers from one template and an uploaded CSV or JSON Lines file.

    Each row becomes a BatchRow; a dry run checks every row first. Running generates one
    letter per row, a chunk of rows at a time (BatchChunk), each chunk written in one
    transaction together with its rows' status, so a batch resumed after a crash generates
    nothing twice and bad rows never stop good ones.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    template = models.ForeignKey("wagtail_correspondence.LetterTemplatePage", on_delete=models.PROTECT,
                                 related_name="batches", verbose_name=_("template"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    source = models.FileField(_("file"), storage=letter_storage, upload_to=batch_upload_path, max_length=255)
    source_format = models.CharField(_("format"), max_length=10, choices=[("csv", "CSV"), ("jsonl", "JSON Lines")])
    channel = models.CharField(_("channel"), max_length=20, blank=True,
                               help_text=_("Empty: each customer's preferred channel, or the row's own"))
    status = models.CharField(_("status"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.CHECKING,
                              db_index=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    report = models.JSONField(_("dry-run report"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name or f"{self.template.title} · {self.created_at:%Y-%m-%d %H:%M}"

    def progress(self):
        counts = dict(self.rows.values("status").annotate(n=models.Count("pk")).values_list("status", "n"))
        done = counts.get(BatchRowStatus.GENERATED, 0)
        failed = counts.get(BatchRowStatus.ERROR, 0)
        total = self.total_rows or sum(counts.values())
        # While the dry run checks, progress is rows checked; afterwards, rows finished.
        checked = total - counts.get(BatchRowStatus.PENDING, 0)
        finished = checked if self.status == BatchStatus.CHECKING else done + failed
        return {"total": total, "generated": done, "errors": failed, "checked": checked,
                "pending": counts.get(BatchRowStatus.PENDING, 0) + counts.get(BatchRowStatus.VALID, 0),
                "percent": round(100 * finished / total, 1) if total else 100.0}


class BatchRowStatus(models.TextChoices):
    PENDING = "pending", _("Not checked")
    VALID = "valid", _("Ready")
    ERROR = "error", _("Error")
    GENERATED = "generated", _("Generated")


class BatchRow(models.Model):
    batch = models.ForeignKey(LetterBatch, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField(_("row"))
    customer_id = models.CharField(max_length=100, blank=True)
    data = EncryptedJSONField(default=dict, blank=True)
    slots = EncryptedJSONField(default=dict, blank=True)
    channel = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=BatchRowStatus.choices, default=BatchRowStatus.PENDING,
                              db_index=True)
    errors = models.JSONField(default=list, blank=True)
    # Where the dry run found the row's letter will go (services.dispatch.ChannelRoute.as_dict,
    # with the reason the row asks for its channel): shown per row and in the results file.
    route = models.JSONField(default=dict, blank=True)
    letter = models.OneToOneField("wagtail_correspondence.Letter", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="batch_row")
    # The chunk that took the row (services.batch_pipeline); None until one does.
    chunk = models.ForeignKey("wagtail_correspondence.BatchChunk", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="rows")

    class Meta:
        verbose_name = _("batch row")
        ordering = ["batch", "row_number"]
        constraints = [models.UniqueConstraint(fields=["batch", "row_number"], name="unique_batch_row")]

    def __str__(self):
        return f"{self.batch} · row {self.row_number}"


class BatchChunk(models.Model):
    """Up to ``BACKGROUND["CHUNK_ROWS"]`` rows of a batch taken together by one task.

    Taking a chunk is one short transaction: the rows are marked as the chunk's, and a block
    of reference numbers (``first_seq`` … ``first_seq + size - 1``, one per row, in row order)
    is reserved with the reference counter locked for that transaction only. The letters are
    then assembled and rendered outside any transaction and written in one more. A chunk
    whose worker died keeps its rows and its block: whoever takes it over renders the same
    rows with the same numbers, so no number is used twice or lost; a number whose row fails
    is recorded as a VoidReference.

    ``token`` changes with every takeover: the write is refused to a worker whose token is no
    longer the chunk's (it was taken over while that worker was slow, not dead).
    """

    RUNNING, DONE = "running", "done"

    batch = models.ForeignKey(LetterBatch, on_delete=models.CASCADE, related_name="chunks")
    status = models.CharField(max_length=10, choices=[(RUNNING, _("Running")), (DONE, _("Done"))],
                              default=RUNNING, db_index=True)
    size = models.PositiveIntegerField(default=0)
    pattern = models.CharField(max_length=100, blank=True)
    reference_date = models.DateField(null=True, blank=True)
    first_seq = models.PositiveBigIntegerField(null=True, blank=True)
    token = models.UUIDField(default=uuid.uuid4)
    worker_id = models.CharField(max_length=100, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    host = models.CharField(max_length=100, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    takeovers = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("batch chunk")
        verbose_name_plural = _("batch chunks")
        ordering = ["batch", "pk"]

    def __str__(self):
        return f"{self.batch_id} · chunk {self.pk} ({self.size} rows)"
