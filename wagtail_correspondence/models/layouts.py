from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, PublishingPanel
from wagtail.fields import RichTextField
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    PreviewableMixin,
    RevisionMixin,
    TranslatableMixin,
    WorkflowMixin,
)
from wagtail.search import index
from wagtail_localize.fields import SynchronizedField, TranslatableField

from .engine import engine
from .fields import NEW_VARIANT_BLANKS
from .previews import SandboxedPreviewMixin

# Sheet sizes in millimetres (portrait).
PAGE_SIZES = {"A4": (210, 297), "A5": (148, 210), "letter": (216, 279), "legal": (216, 356)}
PAGE_SIZE_CHOICES = [("A4", "A4"), ("A5", "A5"), ("letter", "US Letter"), ("legal", "US Legal")]
FONT_CHOICES = [
    ("DejaVu Sans", "DejaVu Sans"),
    ("DejaVu Serif", "DejaVu Serif"),
    ("Liberation Sans", "Liberation Sans (Arial metrics)"),
    ("Liberation Serif", "Liberation Serif (Times metrics)"),
]


class Layout(WorkflowMixin, DraftStateMixin, LockableMixin, RevisionMixin, SandboxedPreviewMixin, PreviewableMixin,
             TranslatableMixin, index.Indexed, models.Model):
    """A letterhead: paper, margins, header and footer, logo, sender block and the position
    of the recipient address for window envelopes.

    A layout has a variant per content language (``locale``): the header, footer, sender block
    and page-number text are translated, the paper and positions are the same in every one."""

    reviewed_by_four_eyes = True  # published only by the review workflow (review.rules)

    name = models.CharField(_("name"), max_length=150)
    page_size = models.CharField(_("page size"), max_length=10, choices=PAGE_SIZE_CHOICES, default="A4")
    orientation = models.CharField(_("orientation"), max_length=10, default="portrait",
                                   choices=[("portrait", _("Portrait")), ("landscape", _("Landscape"))])
    margin_top = models.PositiveSmallIntegerField(_("top margin (mm)"), default=25)
    margin_right = models.PositiveSmallIntegerField(_("right margin (mm)"), default=20)
    margin_bottom = models.PositiveSmallIntegerField(_("bottom margin (mm)"), default=25)
    margin_left = models.PositiveSmallIntegerField(_("left margin (mm)"), default=25)
    font_family = models.CharField(_("font"), max_length=50, choices=FONT_CHOICES, default="DejaVu Sans")
    font_size = models.DecimalField(_("font size (pt)"), max_digits=4, decimal_places=1, default=10.5)

    logo = models.ForeignKey("wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("logo"))
    logo_width = models.PositiveSmallIntegerField(_("logo width (mm)"), default=40)
    logo_position = models.CharField(_("logo position"), max_length=10, default="left",
                                     choices=[("left", _("Left")), ("right", _("Right"))])
    header = RichTextField(_("header"), blank=True, features=["bold", "italic"],
                           help_text=_("Repeated at the top of every page"))
    footer = RichTextField(_("footer"), blank=True, features=["bold", "italic"],
                           help_text=_("Repeated at the bottom of every page (legal entity, registration...)"))
    sender_block = models.TextField(_("sender block"), blank=True,
                                    help_text=_("Return address printed above the recipient address"))

    address_window = models.CharField(
        _("address window"), max_length=10, default="left",
        choices=[("left", _("Left (DIN 5008 / C5 DL left window)")), ("right", _("Right (French / Swiss standard)")),
                 ("none", _("No window envelope"))])
    window_top = models.PositiveSmallIntegerField(_("window top (mm)"), default=45)
    window_side = models.PositiveSmallIntegerField(_("window distance from the side (mm)"), default=20)
    window_width = models.PositiveSmallIntegerField(_("window width (mm)"), default=85)
    window_height = models.PositiveSmallIntegerField(_("window height (mm)"), default=45)

    show_page_numbers = models.BooleanField(_("show “Page X of Y”"), default=True)
    page_number_text = models.CharField(_("page number text"), max_length=60, default="Page {page} of {pages}",
                                        help_text=_("{page} and {pages} are replaced by the numbers"))

    panels = [
        FieldPanel("name"),
        MultiFieldPanel([
            FieldRowPanel([FieldPanel("page_size"), FieldPanel("orientation")]),
            FieldRowPanel([FieldPanel("margin_top"), FieldPanel("margin_right"), FieldPanel("margin_bottom"),
                           FieldPanel("margin_left")]),
            FieldRowPanel([FieldPanel("font_family"), FieldPanel("font_size")]),
        ], heading=_("Paper")),
        MultiFieldPanel([
            FieldRowPanel([FieldPanel("logo"), FieldPanel("logo_width"), FieldPanel("logo_position")]),
            FieldPanel("header"), FieldPanel("footer"), FieldPanel("sender_block"),
        ], heading=_("Letterhead")),
        MultiFieldPanel([
            FieldPanel("address_window"),
            FieldRowPanel([FieldPanel("window_top"), FieldPanel("window_side"), FieldPanel("window_width"),
                           FieldPanel("window_height")]),
        ], heading=_("Window envelope")),
        MultiFieldPanel([FieldPanel("show_page_numbers"), FieldPanel("page_number_text")], heading=_("Page numbers")),
        PublishingPanel(),
    ]
    exclude_fields_in_copy = NEW_VARIANT_BLANKS
    translatable_fields = [
        TranslatableField("header"), TranslatableField("footer"), TranslatableField("sender_block"),
        TranslatableField("page_number_text"),
        # A language may have its own logo; the paper and the positions are the same in all.
        SynchronizedField("logo"),
        *(SynchronizedField(name, overridable=False) for name in (
            "name", "page_size", "orientation", "margin_top", "margin_right", "margin_bottom", "margin_left",
            "font_family", "font_size", "logo_width", "logo_position", "address_window", "window_top",
            "window_side", "window_width", "window_height", "show_page_numbers")),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta(TranslatableMixin.Meta):
        verbose_name = _("layout")
        verbose_name_plural = _("layouts")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name", "locale"], name="layout_name_per_locale")]

    def __str__(self):
        return self.name

    @property
    def sheet_size(self):
        width, height = PAGE_SIZES[self.page_size]
        return (height, width) if self.orientation == "landscape" else (width, height)

    @property
    def is_usable(self):
        return bool(self.live and self.live_revision_id and not self.expired)

    # A letterhead's logo sits at the top of the first page, above the address window: no taller
    # than the band between the top margin and the window (less a gap), so that it never covers
    # the sender line or the address. Without a window it stands above the letter, at most this.
    LOGO_GAP_MM = 3
    LOGO_MAX_HEIGHT_MM = 25

    @property
    def logo_max_height(self):
        if self.address_window == "none":
            return self.LOGO_MAX_HEIGHT_MM
        band = self.window_top - self.margin_top - self.LOGO_GAP_MM
        return max(min(band, self.LOGO_MAX_HEIGHT_MM), 8)

    def live_object(self):
        return self.live_revision.as_object() if self.is_usable else None

    def clean(self):
        super().clean()
        width, height = self.sheet_size
        errors = {}
        if self.margin_left + self.margin_right >= width - 20:
            errors["margin_right"] = _("The left and right margins leave less than 2 cm for text.")
        if self.margin_top + self.margin_bottom >= height - 40:
            errors["margin_bottom"] = _("The top and bottom margins leave less than 4 cm for text.")
        if self.address_window != "none":
            if self.window_side + self.window_width > width:
                errors["window_width"] = _("The address window runs off the side of the page.")
            if self.window_top + self.window_height > height:
                errors["window_height"] = _("The address window runs off the bottom of the page.")
        if self.show_page_numbers and "{page}" not in self.page_number_text:
            errors["page_number_text"] = _("The page number text must contain {page}.")
        if errors:
            raise ValidationError(errors)

    def get_preview_template(self, request, mode_name):
        return "wagtail_correspondence/previews/layout.html"

    def get_preview_context(self, request, mode_name):
        context = super().get_preview_context(request, mode_name)
        context["document"] = engine().render_letter_document(
            layout=self,
            body_html="<p>Dear customer,</p><p>This is how a letter looks on this letterhead. The body text "
                      "flows between the margins, the recipient address sits in the envelope window, and "
                      "every page carries the header and the footer.</p><p>Kind regards,</p>",
            recipient_lines=["Ms Jane Example", "12 Sample Street", "1000 Brussels", "Belgium"],
            title="Layout preview",
            meta_lines=[("Reference", "OUT-2026-000123"), ("Date", "22 November 2026")],
        )
        return context
