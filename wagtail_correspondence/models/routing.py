from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .engine import engine
from .register import Direction, Priority


class Assignment(models.TextChoices):
    NONE = "none", _("Department only")
    FIXED = "fixed", _("A fixed person")
    ROUND_ROBIN = "round_robin", _("Round-robin within the department")


def split_list(value):
    return [item.strip() for item in (value or "").replace("\n", ",").split(",") if item.strip()]


class RoutingRule(models.Model):
    """Where new entries go. Rules are tried in ``sort_order``; the first whose conditions all
    hold decides the department, the assignee, the priority and the SLA policy. An empty
    condition matches anything."""

    name = models.CharField(_("name"), max_length=150)
    sort_order = models.IntegerField(_("order"), default=100, db_index=True,
                                     help_text=_("Rules with lower numbers are tried first"))
    is_active = models.BooleanField(_("active"), default=True)

    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    kinds = models.JSONField(_("kinds"), default=list, blank=True, help_text=_("Any of these kinds; empty: any"))
    channels = models.JSONField(_("channels"), default=list, blank=True,
                                help_text=_("Any of these channels; empty: any"))
    categories = models.ManyToManyField("wagtail_correspondence.Category", blank=True, related_name="routing_rules",
                                        verbose_name=_("categories"),
                                        help_text=_("Any of these categories or those below them; empty: any"))
    senders = models.TextField(_("senders"), blank=True,
                               help_text=_("Addresses (ada@example.org) or domains (@example.org), comma-separated"))
    keywords = models.TextField(_("keywords"), blank=True,
                                help_text=_("Any of these words in the subject or body, comma-separated"))
    customer_condition = models.CharField(
        _("customer condition"), max_length=500, blank=True,
        help_text=_("A condition on the customer record, e.g. customer.vip or policy.product == 'Car insurance'"))

    department = models.ForeignKey("wagtail_correspondence.Department", on_delete=models.PROTECT,
                                   related_name="routing_rules", verbose_name=_("route to department"))
    assignment = models.CharField(_("assign"), max_length=20, choices=Assignment.choices, default=Assignment.NONE)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("assignee"),
                                 help_text=_("For a fixed assignment"))
    priority = models.CharField(_("set priority"), max_length=10, blank=True,
                                choices=[("", _("Keep"))] + Priority.choices)
    sla_policy = models.ForeignKey("wagtail_correspondence.SlaPolicy", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="routing_rules", verbose_name=_("SLA policy"),
                                   help_text=_("Empty: the policy for the entry's category and priority"))
    # Round-robin pointer; moved under a row lock so that concurrent intakes take turns.
    last_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+", editable=False)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return self.name

    @property
    def sender_list(self):
        return [value.lower() for value in split_list(self.senders)]

    @property
    def keyword_list(self):
        return [value.lower() for value in split_list(self.keywords)]

    def clean(self):
        super().clean()
        errors = {}
        if self.assignment == Assignment.FIXED and not self.assignee_id:
            errors["assignee"] = _("Choose who gets the entries of a fixed assignment.")
        for field in ("kinds", "channels"):
            value = getattr(self, field)
            if not isinstance(value, list) or any(not isinstance(item, str) for item in value):
                errors[field] = _("Give a list of codes.")
        if self.customer_condition:
            try:
                engine().parse_expression(self.customer_condition)
            except engine().MergeError as exc:
                errors["customer_condition"] = str(exc)
        if errors:
            raise ValidationError(errors)


class ConfigurationStamp(models.Model):
    """One row whose ``token`` changes with every write to what registering an entry reads
    of the configuration: routing rules (except the round-robin turn), their categories,
    the category and department trees, SLA policies and business calendars.

    Database triggers (migration 0039) write a new random token in the same transaction as
    the change, whoever makes it: the admin, a queryset ``update()``, a tree move, a data
    migration. ``services.lookups`` keeps what it read while the token it read holds, so a
    registration reads one row instead of the rules, the trees and the calendars."""

    token = models.CharField(_("token"), max_length=32)

    class Meta:
        verbose_name = _("configuration stamp")
        verbose_name_plural = _("configuration stamps")

    def __str__(self):
        return self.token
