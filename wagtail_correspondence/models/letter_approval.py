"""Which letters need a second person before they are sent (four-eyes on letters).

A rule holds a few conditions; a letter needs approval when every condition a rule sets
holds for it (an unset condition matches any letter), for any active rule. The logic is in
``services.letter_approval``; these rows only hold the rules, edited in the admin."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel

from .. import data_rules
from .fields import channel_choices


def dictionaries_with_field(path, template=None):
    """The specs of ``path`` in the template's data dictionary, or in every dictionary."""
    from .dictionary import DataDictionary

    dictionaries = [template.data_dictionary] if template is not None else DataDictionary.objects.all()
    found = []
    for dictionary in dictionaries:
        spec = dictionary.field_index().get(path)
        if spec is not None:
            found.append(spec)
    return found


class LetterApprovalRule(models.Model):
    name = models.CharField(_("name"), max_length=150,
                            help_text=_("Shown to the agent and the approver as the reason, e.g. “Refunds over €1,000”"))
    is_active = models.BooleanField(_("active"), default=True)

    template = models.ForeignKey("wagtail_correspondence.LetterTemplatePage", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="approval_rules", verbose_name=_("template"),
                                 help_text=_("Letters from this template only; empty: any template"))
    channel = models.CharField(_("channel"), max_length=20, blank=True, choices=channel_choices,
                               help_text=_("Letters sent on this channel only; empty: any channel"))
    department = models.ForeignKey("wagtail_correspondence.Department", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="letter_approval_rules", verbose_name=_("department"),
                                   help_text=_("Letters of this department or one below it; empty: any department"))
    agent_wrote_text = models.BooleanField(
        _("when the agent wrote text or changed approved wording"), default=False,
        help_text=_("Only letters in which the agent typed their own text into a slot, or edited or left out an "
                    "approved paragraph"))
    confidential_reply = models.BooleanField(
        _("when answering a strictly confidential entry"), default=False,
        help_text=_("Only letters that answer a strictly confidential register entry"))
    field = models.CharField(_("data field"), max_length=120, blank=True,
                             help_text=_("Only letters whose data field compares as below, e.g. refund.amount"))
    operator = models.CharField(_("is"), max_length=3, blank=True, choices=data_rules.OPERATOR_CHOICES,
                                default=data_rules.GT)
    value = models.CharField(_("value"), max_length=120, blank=True, help_text=_("e.g. 1000 or 2026-12-31"))

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    panels = [
        FieldPanel("name"), FieldPanel("is_active"),
        MultiFieldPanel([FieldPanel("template"), FieldPanel("channel"), FieldPanel("department"),
                         FieldPanel("agent_wrote_text"), FieldPanel("confidential_reply"),
                         FieldRowPanel([FieldPanel("field"), FieldPanel("operator"), FieldPanel("value")])],
                        heading=_("Letters that need approval"),
                        help_text=_("Every condition you set must hold; leave a condition empty to match any letter.")),
    ]

    class Meta:
        verbose_name = _("letter approval rule")
        verbose_name_plural = _("letter approval rules")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        from .. import schema

        errors = {}
        field, value = (self.field or "").strip(), (self.value or "").strip()
        if field and not schema.FIELD_NAME_RE.match(field):
            errors["field"] = _("Use the dotted name of a data field, such as refund.amount.")
        elif field and not value:
            errors["value"] = _("Give the value to compare the data field to.")
        elif value and not field:
            errors["field"] = _("Name the data field the value is compared to.")
        elif field and self.operator not in data_rules.COMPARE:
            errors["operator"] = _("Choose how the data field compares to the value.")
        elif field:
            errors.update(self._field_errors(field, value))
        if errors:
            raise ValidationError(errors)

    def _field_errors(self, field, value):
        from .. import schema

        """The field must exist in the template's data dictionary (or in some dictionary when
        the rule covers every template), and the value must be of its type: a misspelt field
        would otherwise never match, and letters would leave unapproved."""
        found = dictionaries_with_field(field, self.template if self.template_id else None)
        if not found:
            where = _("the template's data dictionary") if self.template_id else _("any data dictionary")
            return {"field": _("'%(field)s' is not a field of %(where)s.") % {"field": field, "where": where}}
        for spec in found:
            if spec.type in (schema.LIST, schema.ADDRESS):
                return {"field": _("'%(field)s' is a list or an address; a rule compares a single value.") % {
                    "field": field}}
            if spec.type not in data_rules.ORDERED_TYPES and self.operator not in data_rules.EQUALITY_ONLY:
                return {"operator": _("%(field)s is %(type)s; it can only be equal to or different from a value.")
                        % {"field": field, "type": spec.type}}
            try:
                data_rules.parse_constant(spec, value)
            except ValueError as exc:
                return {"value": str(exc)}
        return {}

    def describe(self):
        """The rule's conditions in words, for the list and the letter's page."""
        parts = []
        if self.template_id:
            parts.append(_("template %(title)s") % {"title": self.template.title})
        if self.channel:
            parts.append(_("channel %(channel)s") % {"channel": self.get_channel_display()})
        if self.department_id:
            parts.append(_("department %(name)s") % {"name": self.department.name})
        if self.agent_wrote_text:
            parts.append(_("the agent wrote text or changed approved wording"))
        if self.confidential_reply:
            parts.append(_("answers a strictly confidential entry"))
        if self.field:
            parts.append(f"{self.field} {self.get_operator_display()} {self.value}")
        return ", ".join(str(part) for part in parts) or _("every letter")
