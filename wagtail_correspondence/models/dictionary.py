from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.models import Orderable, RevisionMixin
from wagtail.search import index

from .. import schema
from ..panels import TableInlinePanel


class DataDictionary(RevisionMixin, index.Indexed, ClusterableModel):
    """The schema of the data a template expects. Fragments and templates are checked against
    it when saved; payloads (customer records, API bodies) are validated against it."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)

    panels = [
        FieldPanel("name"),
        FieldPanel("description"),
        TableInlinePanel("fields", heading=_("Fields"), label=_("Field"), add_label=_("Add a field")),
        # Long JSON documents: folded, so that the fields above stay the page's subject.
        MultiFieldPanel([InlinePanel("sample_data_sets", label=_("Sample data set"))], heading=_("Sample data"),
                        classname="collapsed"),
    ]
    # Rules across fields (due date after the letter's date...): a panel of their own.
    panels += [MultiFieldPanel([InlinePanel("rules", label=_("Rule"))], heading=_("Data rules"),
                               help_text=_("Checked on every letter using this dictionary; a letter whose data "
                                           "breaks a rule cannot be generated."))]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        verbose_name = _("data dictionary")
        verbose_name_plural = _("data dictionaries")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def field_specs(self):
        return [f.as_spec() for f in self.fields.all()]

    def field_index(self):
        return schema.FieldIndex.from_specs(self.field_specs())

    def json_schema(self):
        return schema.json_schema(self.field_specs(), title=self.name)

    def validate_payload(self, data):
        return schema.validate_payload(self.field_specs(), data)

    def coerce_payload(self, data):
        return schema.coerce_payload(self.field_specs(), data)

    def rule_specs(self):
        return [rule.as_spec(_("Data rule %(number)s of %(dictionary)s") % {"number": number, "dictionary": self.name})
                for number, rule in enumerate(self.rules.all(), start=1)]

    def example_payload(self):
        sample = self.sample_data_sets.first()
        return sample.data if sample else {}

    def clean(self):
        super().clean()
        problems = schema.check_field_specs(self.field_specs())
        if problems:
            raise ValidationError([f"Field {index + 1}: {message}" for index, _field, message in problems])


class DataField(Orderable):
    dictionary = ParentalKey(DataDictionary, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(_("name"), max_length=120,
                            help_text=_("Dotted name used in merge fields, e.g. customer.first_name. "
                                        "Sub-fields of a list go below it: invoices.number."))
    label = models.CharField(_("label"), max_length=150)
    field_type = models.CharField(_("type"), max_length=20, choices=schema.FIELD_TYPE_CHOICES, default=schema.TEXT)
    required = models.BooleanField(_("required"), default=False)
    example = models.CharField(_("example"), max_length=255, blank=True)
    help_text = models.CharField(_("help"), max_length=255, blank=True)

    panels = [
        FieldPanel("name"), FieldPanel("label"), FieldPanel("field_type"), FieldPanel("required"),
        FieldPanel("example"), FieldPanel("help_text"),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("data field")

    def __str__(self):
        return self.name

    def as_spec(self):
        return schema.FieldSpec(name=self.name, label=self.label, type=self.field_type, required=self.required,
                                example=self.example, help=self.help_text)

    def clean(self):
        super().clean()
        if not schema.FIELD_NAME_RE.match(self.name or ""):
            raise ValidationError({"name": _("Use lower-case words separated by dots, such as customer.first_name.")})


class SampleDataSet(Orderable):
    """Named example data for previews (a typical customer, one with arrears, ...)."""

    dictionary = ParentalKey(DataDictionary, on_delete=models.CASCADE, related_name="sample_data_sets")
    name = models.CharField(_("name"), max_length=150)
    data = models.JSONField(_("data"), default=dict, help_text=_("A JSON object matching the dictionary's fields."))

    panels = [FieldPanel("name"), FieldPanel("data")]

    class Meta(Orderable.Meta):
        verbose_name = _("sample data set")

    def __str__(self):
        return self.name
