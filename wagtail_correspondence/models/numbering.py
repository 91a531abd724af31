from django.db import models
from django.utils.translation import gettext_lazy as _


class ReferenceSequence(models.Model):
    """The last number handed out for one prefix in one year (``OUT-2026-`` → 1234).

    Numbers are taken by ``services.numbering.next_reference`` with the row locked
    (``select_for_update``) inside the caller's transaction: concurrent writers queue on the
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
