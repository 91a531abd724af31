from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node
from wagtail.search import index

from .trees import TreeNodeMixin


class Department(index.Indexed, TreeNodeMixin, MP_Node):
    """An organisational unit. The tree drives routing and escalation (up the tree) and
    access scope (a user sees a department's subtree)."""

    name = models.CharField(_("name"), max_length=150)
    code = models.SlugField(_("code"), max_length=50, unique=True,
                            help_text=_("Short unique code, used in reference numbers and the API."))
    email = models.EmailField(_("team email"), blank=True)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="correspondence_departments",
                                     verbose_name=_("members"))
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="supervised_departments", verbose_name=_("supervisor"),
                                   help_text=_("Receives overdue escalations for this department"))
    calendar = models.ForeignKey("wagtail_correspondence.BusinessCalendar", on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="departments", verbose_name=_("business calendar"),
                                 help_text=_("Working days and holidays for deadlines; empty: the parent's"))
    is_active = models.BooleanField(_("active"), default=True)

    node_order_by = ["name"]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name"), index.SearchField("code")]

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self):
        return self.name

    def effective_calendar(self):
        for department in self.lineage():
            if department.calendar_id:
                return department.calendar
        return None

    def clean(self):
        super().clean()
        if self.code and Department.objects.exclude(pk=self.pk).filter(code=self.code).exists():
            raise ValidationError({"code": _("Another department already uses this code.")})
