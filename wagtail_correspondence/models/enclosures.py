"""Enclosures: documents sent with letters (terms and conditions, forms, leaflets), approved
through the same review workflow as the wording, and the templates' lists of them.

Each upload is stored under a name made from its SHA-256 and never overwritten, so a revision
of an enclosure names exactly the bytes that were approved; a letter pins that revision."""

import hashlib
import io

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, PublishingPanel
from wagtail.models import DraftStateMixin, LockableMixin, Orderable, RevisionMixin, WorkflowMixin
from wagtail.search import index

from ..panels import EnclosureFileInput
from .letters import letter_storage

MAX_ENCLOSURE_BYTES = 10 * 1024 * 1024


def enclosure_path(instance, filename):
    return f"correspondence/enclosures/{instance.file_sha256[:2]}/{instance.file_sha256}.pdf"


class Enclosure(WorkflowMixin, DraftStateMixin, LockableMixin, RevisionMixin, index.Indexed, models.Model):
    """A PDF sent with letters. Only its live (approved, published) revision is ever sent."""

    reviewed_by_four_eyes = True  # published only by the review workflow (review.rules)

    title = models.CharField(_("title"), max_length=200)
    key = models.SlugField(_("key"), max_length=100, unique=True,
                           help_text=_("Stable identifier used by integrations, e.g. terms-and-conditions"))
    description = models.TextField(_("description"), blank=True,
                                   help_text=_("What it is, as agents see it when they choose enclosures"))
    file = models.FileField(_("PDF"), storage=letter_storage, upload_to=enclosure_path, max_length=255,
                            help_text=_("A PDF of at most 10 MB; it is appended to the letter's PDF as it is"))
    file_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64, blank=True, editable=False)
    pages = models.PositiveIntegerField(_("pages"), null=True, blank=True, editable=False)
    owning_department = models.ForeignKey("wagtail_correspondence.Department", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="enclosures",
                                          verbose_name=_("owning department"))
    notes = models.TextField(_("internal notes"), blank=True)

    panels = [
        MultiFieldPanel([FieldPanel("title"), FieldPanel("key"), FieldPanel("description")], heading=_("Identity")),
        FieldPanel("file", widget=EnclosureFileInput),
        MultiFieldPanel([FieldPanel("owning_department"), FieldPanel("notes")], heading=_("Metadata")),
        PublishingPanel(),
    ]
    search_fields = [index.SearchField("title"), index.AutocompleteField("title"), index.SearchField("key"),
                     index.FilterField("live")]

    class Meta:
        verbose_name = _("enclosure")
        verbose_name_plural = _("enclosures")
        ordering = ["title"]

    def __str__(self):
        return self.title

    @property
    def is_usable(self):
        """Approved and in force: live, with a live revision, not expired."""
        return bool(self.live and self.live_revision_id and not (
            self.expired or (self.expire_at and self.expire_at <= timezone.now())))

    def clean(self):
        super().clean()
        if not self.file:
            raise ValidationError({"file": _("Choose the PDF to send.")})
        self.measure()

    def save(self, *args, **kwargs):
        self.measure()  # also when saved without a form: the file's name is made from its hash
        super().save(*args, **kwargs)

    def measure(self):
        """Check a newly uploaded PDF and record its SHA-256 and pages (ValidationError naming
        ``file`` when it cannot be sent); a stored file was checked when it was uploaded."""
        upload = self.file
        if not upload or getattr(upload, "_committed", True):
            return
        upload.seek(0)
        content = upload.read()
        upload.seek(0)
        if len(content) > MAX_ENCLOSURE_BYTES:
            raise ValidationError({"file": _("The PDF is larger than 10 MB.")})
        if not content.startswith(b"%PDF-"):
            raise ValidationError({"file": _("This file is not a PDF.")})
        try:
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(content))
            if reader.is_encrypted:
                raise ValidationError({"file": _("The PDF is password-protected; it could not be appended to "
                                                 "letters.")})
            pages = len(reader.pages)
        except ValidationError:
            raise
        except Exception:
            raise ValidationError({"file": _("This PDF cannot be read.")}) from None
        if not pages:
            raise ValidationError({"file": _("The PDF has no pages.")})
        self.file_sha256 = hashlib.sha256(content).hexdigest()
        self.pages = pages


class Inclusion(models.TextChoices):
    MANDATORY = "mandatory", _("Always sent")
    PRESELECTED = "preselected", _("Offered, ticked")
    OPTIONAL = "optional", _("Offered, not ticked")


class TemplateEnclosure(Orderable):
    """An enclosure a template sends or offers, in the template's order."""

    page = ParentalKey("wagtail_correspondence.LetterTemplatePage", on_delete=models.CASCADE,
                       related_name="enclosures")
    enclosure = models.ForeignKey(Enclosure, on_delete=models.PROTECT, related_name="template_uses",
                                  verbose_name=_("enclosure"))
    inclusion = models.CharField(_("sent"), max_length=20, choices=Inclusion.choices, default=Inclusion.MANDATORY)

    panels = [FieldRowPanel([FieldPanel("enclosure"), FieldPanel("inclusion")])]

    class Meta(Orderable.Meta):
        verbose_name = _("template enclosure")
        verbose_name_plural = _("template enclosures")

    def __str__(self):
        return f"{self.enclosure} ({self.get_inclusion_display()})"


class LetterEnclosurePin(models.Model):
    """Which revision of an enclosure a letter carried, and where in its PDF."""

    letter = models.ForeignKey("wagtail_correspondence.Letter", on_delete=models.CASCADE,
                               related_name="enclosure_pins")
    enclosure = models.ForeignKey(Enclosure, on_delete=models.PROTECT, related_name="letter_pins")
    revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(_("position"))
    file_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64)
    pages = models.PositiveIntegerField(_("pages"))

    class Meta:
        verbose_name = _("pinned enclosure revision")
        ordering = ["letter", "position"]
        constraints = [models.UniqueConstraint(fields=["letter", "enclosure"], name="unique_letter_enclosure_pin")]

    def __str__(self):
        return f"{self.letter} · {self.enclosure} @ {self.revision_id}"
