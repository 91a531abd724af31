import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .register import Priority


def default_working_days():
    return [0, 1, 2, 3, 4]


def default_reminders():
    return [50, 80]


class BusinessCalendar(models.Model):
    """When the organisation works: week days, office hours, and public holidays taken from
    the ``holidays`` package for a country (and region), plus days of its own."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    country = models.CharField(_("country"), max_length=2, blank=True,
                               help_text=_("ISO code whose public holidays apply, e.g. BE, FR, GB; empty: none"))
    subdivision = models.CharField(_("region"), max_length=10, blank=True,
                                   help_text=_("Optional region code for regional holidays, e.g. BY (Bavaria) for DE"))
    working_days = models.JSONField(_("working days"), default=default_working_days,
                                    help_text=_("Week days worked, Monday = 0 … Sunday = 6"))
    day_start = models.TimeField(_("office opens"), default=datetime.time(9, 0))
    day_end = models.TimeField(_("office closes"), default=datetime.time(17, 0))
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True,
                                 help_text=_("Empty: the site's time zone"))
    extra_closed_days = models.JSONField(_("other closed days"), default=list, blank=True,
                                         help_text=_("Dates (YYYY-MM-DD) the office is closed beyond public holidays"))

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        errors = {}
        if not isinstance(self.working_days, list) or not self.working_days or any(
                not isinstance(day, int) or not 0 <= day <= 6 for day in self.working_days):
            errors["working_days"] = _("List week days as numbers from 0 (Monday) to 6 (Sunday).")
        if self.day_start and self.day_end and self.day_start >= self.day_end:
            errors["day_end"] = _("The office must close after it opens.")
        for value in self.extra_closed_days or []:
            try:
                datetime.date.fromisoformat(str(value))
            except ValueError:
                errors["extra_closed_days"] = _("'%(value)s' is not a date (YYYY-MM-DD).") % {"value": value}
                break
        if self.country:
            import holidays

            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision or None)
            except NotImplementedError:
                errors["country"] = _("No public holidays are known for '%(code)s'.") % {"code": self.country}
        if errors:
            raise ValidationError(errors)


class SlaUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("working days")
    WORKING_HOURS = "working_hours", _("working hours")


class SlaPolicy(models.Model):
    """How fast an entry must be answered. The most specific active policy applies: a
    matching category nearer the entry's own, then a matching priority (see services.sla)."""

    name = models.CharField(_("name"), max_length=150)
    category = models.ForeignKey("wagtail_correspondence.Category", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="sla_policies", verbose_name=_("category"),
                                 help_text=_("Applies to this category and those below it; empty: any"))
    priority = models.CharField(_("priority"), max_length=10, blank=True,
                                choices=[("", _("Any"))] + Priority.choices,
                                help_text=_("Empty: any priority"))
    response_time = models.PositiveIntegerField(_("response time"), validators=[MinValueValidator(1)])
    unit = models.CharField(_("unit"), max_length=20, choices=SlaUnit.choices, default=SlaUnit.WORKING_DAYS)
    reminder_percentages = models.JSONField(
        _("reminders at"), default=default_reminders, blank=True,
        help_text=_("Percentages of the response time at which the assignee is reminded, e.g. [50, 80]"))
    escalation_interval_hours = models.PositiveIntegerField(
        _("escalate every"), default=8, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text=_("Working hours overdue between escalations one level further up the department tree"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.response_time} {self.get_unit_display()})"

    def clean(self):
        super().clean()
        values = self.reminder_percentages
        if not isinstance(values, list) or any(
                isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 100 for value in values):
            raise ValidationError({"reminder_percentages": _("List whole percentages between 1 and 99, e.g. [50, 80].")})


class SlaNoticeKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder")
    OVERDUE = "overdue", _("Overdue")
    ESCALATION = "escalation", _("Escalation")


class SlaNoticeState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class SlaNotice(models.Model):
    """One reminder, overdue alert or escalation for one entry. The unique key (entry, kind,
    level, cycle) is what makes each notice go out once however often the sweep runs;
    ``cycle`` grows when an entry is reopened and gets a new deadline."""

    correspondence = models.ForeignKey("wagtail_correspondence.Correspondence", on_delete=models.CASCADE,
                                       related_name="sla_notices", verbose_name=_("entry"))
    kind = models.CharField(_("kind"), max_length=20, choices=SlaNoticeKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), default=0,
                                             help_text=_("Reminder percentage, or escalation step up the tree"))
    cycle = models.PositiveSmallIntegerField(_("deadline cycle"), default=0)
    recipients = models.JSONField(_("recipients"), default=list)
    due_at = models.DateTimeField(_("deadline"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Sent at most once: a sweep claims the row (pending → sending) before it sends; a row a
    # crash leaves "sending" is not sent again.
    state = models.CharField(_("state"), max_length=10, choices=SlaNoticeState.choices,
                             default=SlaNoticeState.PENDING, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("SLA notice")
        verbose_name_plural = _("SLA notices")
        ordering = ["created_at", "pk"]
        # The dashboard reads the latest notices of the last days
        indexes = [models.Index(fields=["created_at"], name="sla_notice_created_at")]
        constraints = [models.UniqueConstraint(fields=["correspondence", "kind", "level", "cycle"],
                                               name="unique_sla_notice")]

    def __str__(self):
        return f"{self.correspondence} · {self.get_kind_display()} {self.level}"
