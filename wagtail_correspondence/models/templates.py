from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    CommentPanel,
    FieldPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
    TitleFieldPanel,
)
from wagtail.fields import StreamField
from wagtail.models import Locale, Page
from wagtail.search import index
from wagtail_localize.fields import SynchronizedField, TranslatableField

from ..blocks import TemplateBodyBlock
from ..merge_fields import picker_text_input, picker_textarea
from ..review.permissions import ReviewedPageMixin
from .engine import engine
from .fields import ChannelsField, channel_choices, language_choices
from .previews import SampleDataPreviewMixin


class InternalPageMixin:
    """Library pages are internal content, never served on the public site.

    So their editors show none of a web page's furniture: no Promote tab (slug, search
    engine title, menus: the slug follows the title by itself), no scheduled publishing, and
    titles described in the library's words, not as "seen by the public"."""

    promote_panels = []
    settings_panels = []
    # The editor's status panel shows no "Visible to all" privacy row (see the template's
    # override of Wagtail's privacy.html).
    admin_privacy_status_template = "wagtail_correspondence/admin/no_privacy_status.html"

    def serve(self, request, *args, **kwargs):
        raise Http404

    def get_sitemap_urls(self, request=None):
        return []


class LibraryTitlePanel(TitleFieldPanel):
    """Wagtail's large title field, named for the library and without its slug sync: library
    pages have no slug field (made from the title on save), and a sync with no target made
    Wagtail's script fail on every template editor."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("placeholder", _("Name*"))
        super().__init__(*args, **kwargs)

    class BoundPanel(TitleFieldPanel.BoundPanel):
        def get_attrs(self):
            attrs = super().get_attrs()
            if not attrs.get("data-w-sync-target-value"):
                attrs.pop("data-w-sync-target-value", None)
                attrs["data-controller"] = " ".join(
                    name for name in attrs["data-controller"].split() if name != "w-sync")
                actions = [action for action in attrs.get("data-action", "").split() if "w-sync" not in action]
                attrs["data-action"] = " ".join(actions)
            return attrs


class TemplateLibraryPage(ReviewedPageMixin, InternalPageMixin, Page):
    """Root of the letter template library. The review workflow is assigned here, so it
    applies to every template below."""

    description = models.TextField(_("description"), blank=True)

    content_panels = [LibraryTitlePanel("title", help_text=_("Name of the template library, as authors see it")),
                      FieldPanel("description")]
    subpage_types = ["wagtail_correspondence.TemplateFolderPage", "wagtail_correspondence.LetterTemplatePage"]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    class Meta:
        verbose_name = _("template library")


class TemplateFolderPage(ReviewedPageMixin, InternalPageMixin, Page):
    description = models.TextField(_("description"), blank=True)

    content_panels = [LibraryTitlePanel("title", help_text=_("Name of the folder, as authors and agents see it")),
                      FieldPanel("description")]
    subpage_types = ["wagtail_correspondence.TemplateFolderPage", "wagtail_correspondence.LetterTemplatePage"]
    parent_page_types = ["wagtail_correspondence.TemplateLibraryPage", "wagtail_correspondence.TemplateFolderPage"]

    class Meta:
        verbose_name = _("template folder")


class LetterTemplatePage(ReviewedPageMixin, InternalPageMixin, SampleDataPreviewMixin, Page):
    """A letter template: approved fragments, agent slots and options, on a layout. Live means
    available to agents in the letter builder."""

    data_dictionary = models.ForeignKey("wagtail_correspondence.DataDictionary", on_delete=models.PROTECT,
                                        related_name="templates", verbose_name=_("data dictionary"))
    layout = models.ForeignKey("wagtail_correspondence.Layout", on_delete=models.PROTECT, related_name="templates",
                               verbose_name=_("layout"))
    subject = models.CharField(_("subject"), max_length=255,
                               help_text=_("Printed above the body; merge fields allowed"))
    description = models.TextField(_("description for agents"), blank=True)
    body = StreamField(TemplateBodyBlock(), verbose_name=_("body"))
    channels = ChannelsField(_("channels"), blank=False, default=list)
    fallback_channel = models.CharField(
        _("fallback channel"), max_length=20, blank=True, choices=channel_choices,
        help_text=_("When delivery fails for good or bounces, send the letter this way instead (e.g. print)"))
    language = models.CharField(_("language"), max_length=10, choices=language_choices, default="en")
    owning_department = models.ForeignKey("wagtail_correspondence.Department", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="templates",
                                          verbose_name=_("owning department"))
    recipient_name_field = models.CharField(_("recipient name field"), max_length=120, default="customer.full_name",
                                            help_text=_("Data field printed as the first address line"))
    recipient_address_field = models.CharField(_("recipient address field"), max_length=120,
                                               default="customer.address",
                                               help_text=_("Address field printed in the envelope window"))

    email_subject = models.CharField(_("email subject"), max_length=255, blank=True,
                                     help_text=_("Defaults to the letter subject"))
    email_intro = models.TextField(_("email introduction"), blank=True,
                                   help_text=_("Text of the email that carries the letter; merge fields allowed"))
    sms_text = models.TextField(_("SMS text"), blank=True, help_text=_("Merge fields allowed; keep it short"))
    enclosures_reorderable = models.BooleanField(
        _("agents may change the order of enclosures"), default=False,
        help_text=_("Otherwise enclosures follow the order listed here"))
    max_enclosures = models.PositiveSmallIntegerField(
        _("at most this many enclosures"), null=True, blank=True, help_text=_("Empty: no limit"))
    email_pdf_password = models.CharField(
        _("PDF password for email"), max_length=255, blank=True,
        help_text=_("Protects the emailed PDF (AES-256) with a password drawn from the data, e.g. "
                    "{{ customer.date_of_birth|digits }}. Say in the email introduction what the password is."))

    content_panels = [
        LibraryTitlePanel("title", help_text=_("Name of the template, as agents see it when they choose one")),
        FieldPanel("description"),
        MultiFieldPanel([FieldPanel("data_dictionary"), FieldPanel("layout"), FieldPanel("language"),
                         FieldPanel("channels"), FieldPanel("fallback_channel"), FieldPanel("owning_department")],
                        heading=_("Setup")),
        MultiFieldPanel([FieldPanel("recipient_name_field"), FieldPanel("recipient_address_field")],
                        heading=_("Recipient")),
        FieldPanel("subject", widget=picker_text_input()),
        FieldPanel("body"),
    ]
    channel_panels = [
        MultiFieldPanel([FieldPanel("email_subject", widget=picker_text_input()),
                         FieldPanel("email_intro", widget=picker_textarea()), FieldPanel("email_pdf_password")],
                        heading=_("Email")),
        MultiFieldPanel([FieldPanel("sms_text", widget=picker_textarea())], heading=_("SMS")),
    ]
    rule_panels = [MultiFieldPanel([InlinePanel("data_rules", label=_("Rule"))], heading=_("Template rules"), help_text=_(
        "Refuse a letter whose data makes no sense for this template (e.g. an amount due that is not greater "
        "than 0). The data dictionary's own rules apply too."))]
    enclosure_panels = [MultiFieldPanel([
        InlinePanel("enclosures", label=_("Enclosure")), FieldPanel("enclosures_reorderable"),
        FieldPanel("max_enclosures")], heading=_("Enclosures"), help_text=_(
        "Approved documents appended to the letter's PDF after the letter: always, or offered to the agent "
        "(ticked or not)."))]
    edit_handler = TabbedInterface([
        ObjectList(content_panels, heading=_("Content")),
        ObjectList(channel_panels, heading=_("Channel variants")),
        ObjectList(enclosure_panels, heading=_("Enclosures")),
        ObjectList(rule_panels, heading=_("Data rules")),
        # Remarks on the wording while it is drafted and reviewed (Wagtail's comments).
        ObjectList([CommentPanel()], heading=_("Comments")),
    ])
    parent_page_types = ["wagtail_correspondence.TemplateLibraryPage", "wagtail_correspondence.TemplateFolderPage"]
    subpage_types = []
    search_fields = Page.search_fields + [index.SearchField("description"), index.SearchField("subject")]
    # A language variant (wagtail-localize) translates the template's own words. Its body is the
    # source's: the fragments it references are taken in the letter's language when a letter is
    # built (rendering/assembly.py), and its slot and zone names, conditions and data paths are
    # what letters and the API are built with. The rest is the source's too, not overridable.
    translatable_fields = [
        TranslatableField("title"), TranslatableField("description"), TranslatableField("subject"),
        TranslatableField("email_subject"), TranslatableField("email_intro"), TranslatableField("sms_text"),
        SynchronizedField("slug"),
        *(SynchronizedField(name, overridable=False) for name in (
            "body", "data_dictionary", "layout", "channels", "fallback_channel", "owning_department",
            "recipient_name_field", "recipient_address_field", "enclosures_reorderable", "max_enclosures",
            "email_pdf_password")),
    ]

    class Meta:
        verbose_name = _("letter template")

    # Structure -------------------------------------------------------------------------

    def slots(self):
        return [child.value for child in self.body if child.block_type == "agent_slot"]

    def optional_groups(self):
        return [child.value for child in self.body if child.block_type == "optional_fragments"]

    def tailorable_fragments(self):
        """The fragments agents may edit or leave out (by name); every other fragment is locked."""
        return [child.value for child in self.body if child.block_type == "tailorable_fragment"]

    def fragment_zones(self):
        return [child.value for child in self.body if child.block_type == "fragment_zone"]

    def referenced_fragments(self):
        """Every fragment the body can include, with where it is referenced."""
        found = []
        for position, child in enumerate(self.body):
            where = f"Block {position + 1} ({child.block.label})"
            if child.block_type == "fragment" and child.value is not None:
                found.append((child.value, where, position))
            elif child.block_type == "tailorable_fragment" and child.value["fragment"] is not None:
                found.append((child.value["fragment"], where, position))
            elif child.block_type == "conditional_include" and child.value["fragment"] is not None:
                found.append((child.value["fragment"], where, position))
            elif child.block_type in ("optional_fragments", "fragment_zone"):
                for fragment in child.value["fragments"]:
                    if fragment is not None:
                        found.append((fragment, where, position))
        return found

    def check_content(self):
        return engine().check_letter_template(self)

    def enclosure_errors(self):
        """What is wrong with the template's enclosures as listed (the inline rows in the form)."""
        rows = [row for row in self.enclosures.all() if row.enclosure_id]
        mandatory = sum(1 for row in rows if row.inclusion == "mandatory")
        errors = {}
        if len({row.enclosure_id for row in rows}) != len(rows):
            errors["enclosures"] = [_("An enclosure is listed twice.")]
        if self.max_enclosures is not None and mandatory > self.max_enclosures:
            errors["max_enclosures"] = [_("%(count)s enclosures are always sent: the maximum cannot be lower.") % {
                "count": mandatory}]
        return errors

    def save(self, *args, **kwargs):
        # A template in the tree of another locale than the default is that locale's variant:
        # its language is its locale's (the source's copy would say the source's).
        if self.locale_id and self.locale.language_code != self.language and \
                self.locale.language_code != Locale.get_default().language_code:
            self.language = self.locale.language_code
        return super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        enclosure_errors = self.enclosure_errors()
        if enclosure_errors:
            raise ValidationError(enclosure_errors)
        if not self.data_dictionary_id:
            return
        problems = self.check_content()
        if problems:
            errors = {}
            for problem in problems:
                errors.setdefault(problem.field, []).append(str(problem))
            raise ValidationError(errors)

    def rule_specs(self):
        return [rule.as_spec(_("Template rule %(number)s") % {"number": number})
                for number, rule in enumerate(self.data_rules.all(), start=1)]

    # Previews --------------------------------------------------------------------------

    def preview_dictionary(self):
        return self.data_dictionary if self.data_dictionary_id else None

    preview_template = "wagtail_correspondence/previews/letter_template.html"

    def render_preview_body(self, data):
        return engine().render_template_preview(self, data)
