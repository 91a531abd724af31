from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DashboardVolumes(models.Model):
    """The dashboard's weekly volumes of one scope over one range of weeks, as last counted
    (services/register_volumes.py).

    Counting eight weeks at a million entries reads some hundred thousand index entries; the
    counts are kept here between visits, and the scheduler counts again the scopes whose
    dashboard was looked at lately, before their counts get old. A visit then reads one row.
    ``scope`` is a digest of ``register_access.scope_key``: people who see the whole register
    share one row, anyone else has their own. ``user`` is the last person who looked, whose
    scope is counted again."""

    scope = models.CharField(_("scope"), max_length=64)
    first_week = models.DateField(_("first week"))
    last_week = models.DateField(_("last week"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("counted for"))
    counts = models.JSONField(_("counts"), default=dict)
    counted_at = models.DateTimeField(_("counted at"))
    viewed_at = models.DateTimeField(_("last viewed at"), db_index=True)

    class Meta:
        verbose_name = _("dashboard volumes")
        verbose_name_plural = _("dashboard volumes")
        constraints = [models.UniqueConstraint(fields=["scope", "first_week", "last_week"],
                                               name="dashboard_volumes_scope_range")]

    def __str__(self):
        return f"{self.scope[:8]} {self.first_week}–{self.last_week}"
