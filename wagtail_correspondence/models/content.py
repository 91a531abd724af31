from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, PublishingPanel
from wagtail.fields import StreamField
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

from ..blocks import FragmentBodyBlock
from .engine import engine
from .fields import NEW_VARIANT_BLANKS, ChannelsField, language_choices
from .previews import SampleDataPreviewMixin


class ContentCategory(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("content category")
        verbose_name_plural = _("content categories")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Fragment(WorkflowMixin, DraftStateMixin, LockableMixin, RevisionMixin, SampleDataPreviewMixin,
               PreviewableMixin, TranslatableMixin, index.Indexed, models.Model):
    """An approved building block of letters: wording with merge fields, conditions, lists,
    images and tables. Only its live (approved, published, unexpired) revision is ever used.

    A fragment has a variant per content language (``locale``; variants share their
    ``translation_key`` and their ``key``), made with wagtail-localize and reviewed each on its
    own. ``language`` follows the locale."""

    reviewed_by_four_eyes = True  # published only by the review workflow (review.rules)

    title = models.CharField(_("title"), max_length=200)
    key = models.SlugField(_("key"), max_length=100,
                           help_text=_("Stable identifier used by integrations, e.g. payment-reminder-intro; "
                                       "the same in every language"))
    data_dictionary = models.ForeignKey("wagtail_correspondence.DataDictionary", on_delete=models.PROTECT,
                                        related_name="fragments", verbose_name=_("data dictionary"))
    body = StreamField(FragmentBodyBlock(), verbose_name=_("body"))
    category = models.ForeignKey(ContentCategory, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="fragments", verbose_name=_("category"))
    owning_department = models.ForeignKey("wagtail_correspondence.Department", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="fragments",
                                          verbose_name=_("owning department"))
    channels = ChannelsField(_("channels"), help_text=_("Channels this wording suits"))
    language = models.CharField(_("language"), max_length=10, choices=language_choices, default="en")
    review_by = models.DateField(_("review by"), null=True, blank=True,
                                 help_text=_("Date by which the owners must review this wording again"))
    notes = models.TextField(_("internal notes"), blank=True)

    panels = [
        MultiFieldPanel([FieldPanel("title"), FieldPanel("key"), FieldPanel("data_dictionary")],
                        heading=_("Identity")),
        FieldPanel("body"),
        MultiFieldPanel([FieldPanel("category"), FieldPanel("owning_department"), FieldPanel("channels"),
                         FieldPanel("review_by"), FieldPanel("notes")],
                        heading=_("Metadata")),
        PublishingPanel(),
    ]
    exclude_fields_in_copy = NEW_VARIANT_BLANKS
    # What a translator translates (the wording); the rest is the same in every language, and
    # the translation editor offers no way to change it (not overridable).
    translatable_fields = [
        TranslatableField("title"), TranslatableField("body"),
        *(SynchronizedField(name, overridable=False) for name in (
            "key", "data_dictionary", "category", "owning_department", "channels", "review_by", "notes")),
    ]
    search_fields = [
        index.SearchField("title"), index.AutocompleteField("title"), index.SearchField("key"),
        index.FilterField("live"), index.FilterField("language"), index.FilterField("locale_id"),
    ]

    class Meta(TranslatableMixin.Meta):
        verbose_name = _("fragment")
        verbose_name_plural = _("fragments")
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["key", "locale"], name="fragment_key_per_locale")]

    def save(self, *args, **kwargs):
        if not self.locale_id:
            self.locale = self.get_default_locale()
        self.language = self.locale.language_code
        super().save(*args, **kwargs)

    def __str__(self):
        return self.title

    @property
    def is_expired(self):
        return bool(self.expired or (self.expire_at and self.expire_at <= timezone.now()))

    @property
    def is_usable(self):
        """Approved and in force: live, with a live revision, and not past its expiry."""
        return bool(self.live and self.live_revision_id and not self.is_expired)

    def live_object(self):
        """The fragment as last approved and published, whatever drafts exist since."""
        if not self.is_usable:
            return None
        return self.live_revision.as_object()

    @property
    def review_overdue(self):
        return bool(self.review_by and self.review_by < timezone.localdate())

    def check_merge_fields(self):
        if not self.data_dictionary_id:
            return []
        return engine().check_fragment_body(self.body, self.data_dictionary.field_index())

    def clean(self):
        super().clean()
        self.check_key_of_translations()
        if getattr(self, "_merge_fields_checked", False):
            return
        problems = self.check_merge_fields()
        if problems:
            raise ValidationError({"body": [str(problem) for problem in problems]})

    def check_key_of_translations(self):
        """The variants of a fragment share its key (integrations name the wording by it, in
        every language): a fragment that has translations keeps the key they share."""
        if not self.pk or not self.translation_key:
            return
        others = (Fragment.objects.filter(translation_key=self.translation_key).exclude(pk=self.pk)
                  .values_list("key", flat=True))
        shared = set(others)
        if shared and self.key not in shared:
            raise ValidationError({"key": _("This wording exists in other languages under the key “%(key)s”; "
                                            "the key is the same in every language.") % {"key": sorted(shared)[0]}})

    # Previews --------------------------------------------------------------------------

    def preview_dictionary(self):
        return self.data_dictionary if self.data_dictionary_id else None

    def render_preview_body(self, data):
        return engine().render_fragment_body(self.body, data)
