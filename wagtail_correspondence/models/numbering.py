from django.db import models
from django.utils.translation import gettext_lazy as _


class ReferenceSequence(models.Model):
    """The last number handed out for one prefix in one year (``OUT-2026-`` → 1234).

    Numbers are taken by ``services.numbering.next_reference`` with the row locked (by the
    ``UPDATE`` that advances it) inside the caller's transaction: concurrent writers queue on the
    row, and a letter that fails to save rolls its number back with it, leaving no gap.
    """

    prefix = models.CharField(_("prefix"), max_length=100,
                              help_text=_("The reference pattern with every part but the counter filled in"))
    year = models.PositiveSmallIntegerField(_("year"))
    last_value = models.PositiveBigIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("reference sequence")
        verbose_name_plural = _("reference sequences")
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="unique_reference_sequence")]

    def __str__(self):
        return f"{self.prefix} ({self.year}): {self.last_value}"


class VoidReference(models.Model):
    """A reference number that was reserved but never became a letter, and why.

    Batches reserve numbers in blocks, one per row (services.batch_pipeline); the number of a
    row that fails to generate, or of a chunk whose batch was cancelled while it was being
    rendered, is recorded here, so that every number handed out is accounted for: used by
    exactly one letter, or void with its reason. Never reused.
    """

    reference = models.CharField(_("reference"), max_length=100, unique=True)
    batch = models.ForeignKey("wagtail_correspondence.LetterBatch", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="void_references", verbose_name=_("batch"))
    row_number = models.PositiveIntegerField(_("row"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("voided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("void reference number")
        verbose_name_plural = _("void reference numbers")
        ordering = ["reference"]

    def __str__(self):
        return f"{self.reference} (void)"
