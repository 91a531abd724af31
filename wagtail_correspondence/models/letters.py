import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.search import index

from ..conf import get_setting
from .fields import EncryptedJSONField, EncryptedTextField


def letter_storage():
    """Letters live in their own storage alias, so deployments can keep them private
    (and later retained) apart from public media."""
    return storages[get_setting("LETTER_STORAGE")]


def letter_pdf_path(instance, filename):
    stamp = instance.generated_at
    return f"correspondence/letters/{stamp:%Y/%m}/{instance.reference}.pdf"


class LetterStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    # Numbered and rendered, held until a second person approves it (services/letter_approval.py).
    PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
    # Sent back by the approver: the agent changes it and submits it again, same reference.
    RETURNED = "returned", _("Returned for changes")
    # Taken back before approval: never sent; its reference stays used.
    WITHDRAWN = "withdrawn", _("Withdrawn")
    GENERATED = "generated", _("Generated")


# A letter under approval has its reference and outputs but may still change.
AWAITING_STATUSES = (LetterStatus.PENDING_APPROVAL, LetterStatus.RETURNED)
# Records: nothing of what makes them what they are changes again.
FINAL_STATUSES = (LetterStatus.GENERATED, LetterStatus.WITHDRAWN)


class LetterImmutable(ValidationError):
    """A generated letter is a record of what was sent: it cannot change."""


class Letter(index.Indexed, models.Model):
    """One personalised letter: the agent's input, and once generated, its reference number,
    the exact revisions it was built from, every rendered output and the PDF."""

    # Fields that make a generated letter what it is; any change to them is refused.
    FROZEN_FIELDS = (
        "reference", "template_id", "template_revision_id", "layout_revision_id", "dictionary_revision_id",
        "customer_id", "data", "data_overrides", "slot_values", "optional_fragments", "enclosure_keys", "channels",
        "fragment_edits", "zone_choices",
        "in_reply_to_id",
        "language", "subject", "html",
        "email_subject", "email_html", "email_text", "sms_text", "pdf", "pdf_sha256", "html_sha256", "pdf_pages",
        "pdf_sealed_by", "generated_at", "generated_by_id", "approval_reasons", "approved_by_id", "approved_at",
    )

    uuid = models.UUIDField(_("identifier"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference number"), max_length=60, unique=True, null=True, blank=True,
                                 help_text=_("Given when the letter is generated"))
    status = models.CharField(_("status"), max_length=20, choices=LetterStatus.choices, default=LetterStatus.DRAFT,
                              db_index=True)
    template = models.ForeignKey("wagtail_correspondence.LetterTemplatePage", on_delete=models.PROTECT,
                                 related_name="letters", verbose_name=_("template"))

    # The exact content a generated letter was built from (drafts: as last previewed).
    template_revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+", verbose_name=_("template revision"))
    layout_revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("layout revision"))
    dictionary_revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.PROTECT, null=True, blank=True,
                                            related_name="+", verbose_name=_("data dictionary revision"))

    # What the agent chose and typed.
    customer_id = models.CharField(_("customer"), max_length=100, blank=True, db_index=True)
    # Whose letters these are: users who may view letters see those of their department subtree.
    department = models.ForeignKey("wagtail_correspondence.Department", on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="letters", verbose_name=_("department"))
    recipient_name = models.CharField(_("recipient"), max_length=255, blank=True)
    # Customer data and everything rendered from it are encrypted at rest (encryption.py).
    data = EncryptedJSONField(_("data"), default=dict, blank=True,
                              help_text=_("The data the letter is rendered with: the customer record and the "
                                          "agent's changes"))
    data_overrides = EncryptedJSONField(_("data entered by the agent"), null=True, blank=True,
                                        help_text=_("Changes over the customer record, or the whole data when no "
                                                    "customer was chosen"))
    slot_values = EncryptedJSONField(_("slot texts"), default=dict, blank=True)
    optional_fragments = models.JSONField(_("optional fragments"), null=True, blank=True,
                                          help_text=_("Names of the ticked groups; empty means the template's choice"))
    # What the agent tailored within the template's bounds (rendering/tailoring.py): their text
    # of each edited paragraph with the approved revision it started from, or its removal; and
    # the fragments of each zone in their order. Edits are the agent's words: encrypted.
    fragment_edits = EncryptedJSONField(_("edited wording"), default=dict, blank=True)
    zone_choices = models.JSONField(_("arranged fragments"), null=True, blank=True,
                                    help_text=_("Zone name → fragment keys and page breaks; empty means the "
                                                "template's start"))
    enclosure_keys = models.JSONField(_("enclosures"), null=True, blank=True,
                                      help_text=_("Keys of the enclosures chosen, in order; empty means the "
                                                  "template's choice"))
    channels = models.JSONField(_("channels"), default=list, blank=True)
    in_reply_to = models.ForeignKey("wagtail_correspondence.Correspondence", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="reply_letters", verbose_name=_("in reply to"),
                                    help_text=_("The register entry this letter answers"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    # What was asked for (the builder's or the API's choice), kept so that a resumed draft
    # offers it again; empty: the customer's language, whatever it is then.
    language_requested = models.CharField(_("language asked for"), max_length=10, blank=True)
    # Pieces used in another language than the letter's (LANGUAGE_FALLBACK): each a dict of
    # piece ("template", "layout", "fragment"), name, language and the language used instead.
    language_fallbacks = models.JSONField(_("language fallbacks"), default=list, blank=True)

    # What was generated.
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    html = EncryptedTextField(_("print HTML"), blank=True)
    html_sha256 = models.CharField(_("SHA-256 of the HTML"), max_length=64, blank=True)
    email_subject = models.CharField(_("email subject"), max_length=500, blank=True)
    email_html = EncryptedTextField(_("email HTML"), blank=True)
    email_text = EncryptedTextField(_("email text"), blank=True)
    sms_text = EncryptedTextField(_("SMS text"), blank=True)
    pdf = models.FileField(_("PDF"), storage=letter_storage, upload_to=letter_pdf_path, blank=True, max_length=255)
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64, blank=True)
    pdf_pages = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    # The SHA-256 of the certificate that sealed the PDF (pdf_seal.py); blank: not sealed.
    pdf_sealed_by = models.CharField(_("sealed by (certificate SHA-256)"), max_length=64, blank=True)

    # Four-eyes on letters: why it needed approval (the rules' names), who approved it, and the
    # approver's last comment when it was returned.
    approval_reasons = models.JSONField(_("approval needed because"), default=list, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    return_comment = models.TextField(_("comment of the approver"), blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("generated by"))
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True, db_index=True)

    # Idempotent creation through the API: the same key from the same user gives the same letter.
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    search_fields = [
        index.SearchField("reference"), index.AutocompleteField("reference"), index.SearchField("subject"),
        index.SearchField("recipient_name"), index.AutocompleteField("recipient_name"),
        index.SearchField("customer_id"), index.FilterField("status"), index.FilterField("created_at"),
    ]

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["-created_at", "-pk"]
        permissions = [("view_all_letters", "Can view the letters of every department"),
                       ("approve_letter", "Can approve letters before they are sent")]
        constraints = [
            models.UniqueConstraint(fields=["created_by", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="unique_letter_idempotency_key"),
            models.CheckConstraint(condition=Q(status="draft") | Q(reference__isnull=False),
                                   name="generated_letter_has_reference"),
        ]

    def __str__(self):
        return self.reference or _("Draft %(id)s") % {"id": str(self.uuid)[:8]}

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        if instance.status in FINAL_STATUSES:
            instance._frozen = {name: getattr(instance, name) for name in cls.FROZEN_FIELDS if name in field_names}
            instance._frozen_status = instance.status
        return instance

    def save(self, *args, **kwargs):
        frozen = getattr(self, "_frozen", None)
        if frozen is not None:
            if self.status != self._frozen_status:
                raise LetterImmutable(_("A generated letter cannot go back to draft.") if self._frozen_status
                                      == LetterStatus.GENERATED else _("A withdrawn letter stays withdrawn."))
            changed = sorted(name for name, value in frozen.items() if getattr(self, name) != value)
            if changed:
                raise LetterImmutable(_("A generated letter cannot be changed (attempted: %(fields)s).") % {
                    "fields": ", ".join(changed)})
        super().save(*args, **kwargs)
        if self.status in FINAL_STATUSES:
            self._frozen = {name: getattr(self, name) for name in self.FROZEN_FIELDS}
            self._frozen_status = self.status

    def delete(self, *args, **kwargs):
        if self.status != LetterStatus.DRAFT:
            raise LetterImmutable(_("A numbered letter is a record and cannot be deleted."))
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self):
        return self.status == LetterStatus.DRAFT

    @property
    def is_generated(self):
        return self.status == LetterStatus.GENERATED

    @property
    def is_awaiting_approval(self):
        return self.status == LetterStatus.PENDING_APPROVAL

    @property
    def is_returned(self):
        return self.status == LetterStatus.RETURNED

    @property
    def has_output(self):
        """Numbered and rendered: generated, or held for approval (its PDF can be read)."""
        return self.status in (LetterStatus.GENERATED, LetterStatus.PENDING_APPROVAL, LetterStatus.RETURNED,
                               LetterStatus.WITHDRAWN) and bool(self.reference)

    @property
    def channel(self):
        return self.channels[0] if self.channels else ""

    @property
    def delivery_status(self):
        """The status of the customer-facing dispatches (not the archive), e.g. "sent", or
        "" while nothing is planned."""
        statuses = [dispatch.status for dispatch in self.dispatches.all() if dispatch.channel != "archive"]
        if not statuses:
            return ""
        for status in ("failed", "bounced", "sending", "queued"):
            if status in statuses:
                return status
        return "delivered" if all(status == "delivered" for status in statuses) else statuses[-1]

    @cached_property
    def pinned_fragments(self):
        return list(self.fragment_pins.select_related("fragment", "revision").order_by("pk"))

    def get_admin_url(self):
        return reverse("wagtail_correspondence_letters:inspect", args=[self.pk])


class LetterFragmentPin(models.Model):
    """Which revision of a fragment a letter was built from. Protecting both keeps every
    generated letter reproducible and makes "where is this wording used?" one query."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="fragment_pins")
    fragment = models.ForeignKey("wagtail_correspondence.Fragment", on_delete=models.PROTECT,
                                 related_name="letter_pins")
    revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.PROTECT, related_name="+")
    included = models.BooleanField(_("included"), default=True,
                                   help_text=_("False when the template references it but the letter left it out"))

    class Meta:
        verbose_name = _("pinned fragment revision")
        constraints = [models.UniqueConstraint(fields=["letter", "fragment"], name="unique_letter_fragment_pin")]

    def __str__(self):
        return f"{self.letter} · {self.fragment} @ {self.revision_id}"
