"""Rules across a letter's data, kept on a data dictionary (every letter using it) or on a
letter template (its letters only). The logic is in ``data_rules``; these rows only hold a
rule and are edited inline, one compact row each."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel
from wagtail.models import Orderable

from .. import data_rules


class DataRule(Orderable):
    kind = models.CharField(_("the field is"), max_length=20, choices=data_rules.KIND_CHOICES,
                            default=data_rules.COMPARE_VALUE)
    field = models.CharField(_("field"), max_length=120, help_text=_("e.g. due_date or balance"))
    operator = models.CharField(_("must be"), max_length=3, choices=data_rules.OPERATOR_CHOICES,
                                default=data_rules.GT)
    other_field = models.CharField(_("other field"), max_length=120, blank=True,
                                   help_text=_("For “another field” and “required if”"))
    value = models.CharField(_("value"), max_length=120, blank=True, help_text=_(
        "The value (0, 2026-12-31); for the letter's date, days added to it (empty: the date itself)"))
    message = models.CharField(_("message"), max_length=255, blank=True,
                               help_text=_("Shown when the rule is broken; empty: a message is written for you"))

    # Two rows per rule: a row's columns are as wide as their widest content, so the field names
    # get a minimum width beside the selects.
    panels = [
        FieldRowPanel([FieldPanel("field", widget=forms.TextInput(attrs={"style": "min-width:12rem"})),
                       FieldPanel("kind"), FieldPanel("operator")]),
        FieldRowPanel([FieldPanel("other_field", widget=forms.TextInput(attrs={"style": "min-width:12rem"})),
                       FieldPanel("value"), FieldPanel("message")]),
    ]

    class Meta(Orderable.Meta):
        abstract = True

    def __str__(self):
        return f"{self.field} {self.operator} {self.other_field or self.value or self.kind}"

    def clean(self):
        super().clean()
        errors = data_rules.check_rule_shape(self.kind, self.operator, self.field, self.other_field, self.value)
        if errors:
            raise ValidationError(errors)

    def as_spec(self, origin):
        return data_rules.RuleSpec(kind=self.kind, field=self.field, operator=self.operator,
                                   other_field=self.other_field, value=self.value, message=self.message, origin=origin)


class DictionaryRule(DataRule):
    dictionary = ParentalKey("wagtail_correspondence.DataDictionary", on_delete=models.CASCADE,
                             related_name="rules")

    class Meta(DataRule.Meta):
        verbose_name = _("data rule")
        verbose_name_plural = _("data rules")


class TemplateRule(DataRule):
    page = ParentalKey("wagtail_correspondence.LetterTemplatePage", on_delete=models.CASCADE,
                       related_name="data_rules")

    class Meta(DataRule.Meta):
        verbose_name = _("template rule")
        verbose_name_plural = _("template rules")
