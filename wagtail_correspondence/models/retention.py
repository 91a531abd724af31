import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class RetentionAction(models.TextChoices):
    ANONYMISE = "anonymise", _("Anonymise (keep the record, remove personal data)")
    PURGE = "purge", _("Purge (delete the entry)")


def add_years(moment, years):
    """``moment`` moved by whole calendar years; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


class RetentionPolicy(models.Model):
    """How long closed register entries of a category (and of every category below it) are
    kept, counted from their closing (else their registration), and what happens then. The
    policy of the nearest category wins; one policy without a category is the default for
    everything else. Applied by ``correspondence_apply_retention`` (services.retention)."""

    name = models.CharField(_("name"), max_length=150)
    category = models.ForeignKey("wagtail_correspondence.Category", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="retention_policies", verbose_name=_("category"),
                                 help_text=_("Applies to this category and those below it; empty: the default "
                                             "policy for entries no other policy covers"))
    retain_years = models.PositiveSmallIntegerField(_("years"), default=0, validators=[MaxValueValidator(200)])
    retain_days = models.PositiveIntegerField(_("days"), default=0, validators=[MaxValueValidator(100 * 366)],
                                              help_text=_("Added to the years"))
    action = models.CharField(_("then"), max_length=20, choices=RetentionAction.choices,
                              default=RetentionAction.ANONYMISE)
    is_active = models.BooleanField(_("active"), default=True,
                                    help_text=_("An inactive policy is ignored: the next policy up the category "
                                                "tree (or the default) applies"))

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        ordering = ["name"]
        constraints = [
            # One policy per category, and one default (no category: 0 stands for it).
            models.UniqueConstraint(Coalesce("category", Value(0)), name="unique_retention_policy_category",
                                    violation_error_message=_("This category already has a retention policy "
                                                              "(or, without a category, there is a default "
                                                              "policy already).")),
        ]

    def __str__(self):
        return f"{self.name} ({self.period_display}, {self.get_action_display()})"

    @property
    def period_display(self):
        parts = []
        if self.retain_years:
            parts.append(_("%(count)s years") % {"count": self.retain_years})
        if self.retain_days or not parts:
            parts.append(_("%(count)s days") % {"count": self.retain_days})
        return " ".join(str(part) for part in parts)

    def clean(self):
        super().clean()
        if not (self.retain_years or self.retain_days):
            raise ValidationError({"retain_days": _("Keep entries for at least one day.")})

    def expires(self, start):
        """When an entry counted from ``start`` is due."""
        return add_years(start, self.retain_years) + datetime.timedelta(days=self.retain_days)

    def cutoff(self, now):
        """Entries counted from this moment or earlier are due at ``now``."""
        return add_years(now - datetime.timedelta(days=self.retain_days), -self.retain_years)


class RetentionRecord(models.Model):
    """That an entry was anonymised under a retention policy: it is not anonymised again
    (a purge policy may still delete it later). Purged entries leave only their audit log."""

    correspondence = models.OneToOneField("wagtail_correspondence.Correspondence", on_delete=models.CASCADE,
                                          related_name="retention_record", verbose_name=_("entry"))
    policy = models.ForeignKey(RetentionPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name=_("policy"))
    action = models.CharField(_("action"), max_length=20, choices=RetentionAction.choices)
    applied_at = models.DateTimeField(_("applied at"))

    class Meta:
        verbose_name = _("retention record")
        verbose_name_plural = _("retention records")

    def __str__(self):
        return f"{self.correspondence_id} · {self.get_action_display()} · {self.applied_at:%Y-%m-%d}"
