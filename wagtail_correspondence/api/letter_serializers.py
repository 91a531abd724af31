"""Serializers of the letter API: customers, templates, letter requests and letters."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..conf import get_setting
from ..models import Letter, LetterStatus
from ..services.letters import (
    LetterRequest,
    available_templates,
    letter_tailoring,
    tailorable_fragments,
)
from .register_serializers import NamedChoiceField
from .serializers import IdField


class LetterStatusField(NamedChoiceField):
    """A letter's status, every value (``StatusEnum`` names the two a new letter may ask for)."""

    enum_name = "LetterStatusEnum"
    enum_choices = LetterStatus.choices


class CustomerSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    full_name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    preferred_channel = serializers.CharField(allow_blank=True)
    language = serializers.CharField(allow_blank=True)


class SlotSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    help = serializers.CharField(allow_blank=True)
    required = serializers.BooleanField()
    max_length = serializers.IntegerField()
    default_text = serializers.CharField(allow_blank=True)


class OptionalGroupSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    help = serializers.CharField(allow_blank=True)
    preselected = serializers.BooleanField()
    fragments = serializers.ListField(child=serializers.CharField(), help_text="Fragment keys")


@extend_schema_field({"type": "object", "additionalProperties": {"type": "object", "properties": {
    "html": {"type": "string", "description": "The agent's wording: HTML with bold, italic, paragraphs and lists "
                                              "(links where the template allows them); other markup is cleaned "
                                              "away. Merge fields such as {{ customer.first_name }} stay merge "
                                              "fields."},
    "removed": {"type": "boolean", "description": "true: leave the paragraph out"},
    "based_on": {"type": "integer", "description": "The approved revision the edit started from "
                                                   "(tailorable_fragments[].revision of the template)"}}}})
class EditsField(serializers.JSONField):
    """Paragraph name → edit; checked by the letter service, which names the paragraph."""


@extend_schema_field({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}})
class ZonesField(serializers.JSONField):
    """Zone name → fragment keys in order, and "page_break" where the zone allows one."""


class LetterTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    folder = serializers.SerializerMethodField()
    language = serializers.CharField()
    channels = serializers.ListField(child=serializers.CharField())
    live_revision = serializers.IntegerField(source="live_revision_id")
    data_dictionary = serializers.SerializerMethodField()
    slots = serializers.SerializerMethodField()
    optional_fragments = serializers.SerializerMethodField()
    enclosures = serializers.SerializerMethodField()
    enclosures_reorderable = serializers.BooleanField()
    max_enclosures = serializers.IntegerField(allow_null=True)
    tailorable_fragments = serializers.SerializerMethodField()
    zones = serializers.SerializerMethodField()

    def get_tailorable_fragments(self, page) -> list[dict]:
        """The paragraphs agents may change (``agents_may``: edit, remove, edit_or_remove), with
        the approved wording to start from and its revision (send it as ``based_on``). Every
        other fragment of the template is locked."""
        return tailorable_fragments(page)

    def get_zones(self, page) -> list[dict]:
        """Where agents arrange approved fragments (``arrangement``: any_order, listed_order,
        choose_one; ``start_with``: what a letter has before the agent changes it)."""
        return [{"name": zone["name"], "label": zone["label"], "help": zone["help"],
                 "fragments": [fragment.key for fragment in zone["fragments"] if fragment is not None],
                 "arrangement": zone["arrangement"], "start_with": zone["start_with"], "min_count": zone["min_count"],
                 "max_count": zone["max_count"], "page_breaks": zone["page_breaks"]} for zone in page.fragment_zones()]

    def get_enclosures(self, page) -> list[dict]:
        """The enclosures the template sends or offers, in its order (``inclusion``: mandatory,
        preselected or optional)."""
        return [{"key": row.enclosure.key, "title": row.enclosure.title, "inclusion": row.inclusion,
                 "pages": row.enclosure.pages} for row in page.enclosures.select_related("enclosure")]

    def get_folder(self, page) -> str:
        return " / ".join(ancestor.title for ancestor in page.get_ancestors()[2:])

    def get_data_dictionary(self, page) -> dict:
        dictionary = page.data_dictionary
        return {"id": dictionary.pk, "name": dictionary.name, "json_schema": dictionary.json_schema()}

    def get_slots(self, page) -> list[dict]:
        return SlotSerializer([dict(slot) for slot in page.slots()], many=True).data

    def get_optional_fragments(self, page) -> list[dict]:
        return [{"name": group["name"], "label": group["label"], "help": group["help"],
                 "preselected": group["preselected"], "fragments": [fragment.key for fragment in group["fragments"]]}
                for group in page.optional_groups()]


class LetterRequestSerializer(serializers.Serializer):
    template = IdField(
        queryset=available_templates(), help_text="Id of a published letter template (GET templates/)",
        error_messages={"does_not_exist": "No published letter template with id {pk_value}."})
    customer_id = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                        help_text="Customer in the customer data source")
    data = serializers.JSONField(
        required=False,
        help_text="Letter data; overrides the customer's record field by field, or replaces it without customer_id")
    slots = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                  required=False, help_text="Agent slot name → text")
    optional_fragments = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True,
                                               help_text="Names of the optional groups to include; omit for the "
                                                         "template's defaults")
    channel = serializers.ChoiceField(choices=[], required=False, allow_blank=True)
    enclosures = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, allow_null=True, max_length=50,
        help_text="Keys of the enclosures to send, in order (the order counts where the template lets agents "
                  "change it); omit for the template's choice. Mandatory ones cannot be left out.")
    edits = EditsField(required=False, allow_null=True, help_text=(
        "Changes to the paragraphs the template lets agents tailor (GET templates/{id}/: tailorable_fragments), "
        "by name: {\"html\": …} or {\"removed\": true}, with \"based_on\". Locked fragments cannot be changed."))
    zones = ZonesField(required=False, allow_null=True, help_text=(
        "The fragments of each zone (GET templates/{id}/: zones), by name, as a list of fragment keys in order, "
        "with \"page_break\" where allowed; omit a zone for what the template starts it with."))

    language = serializers.ChoiceField(choices=[], required=False, allow_blank=True, help_text=(
        "The letter's language; omit for the customer's (customer.language in the data), else the template's. "
        "Every piece must have an approved translation in it, unless the site falls back to the template's "
        "language (the letter's language_fallbacks then name the pieces)."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = available_templates()
        self.fields["channel"].choices = get_setting("CHANNELS")
        # The site's letter languages, as a fragment's ``language`` (one enum in the schema); the
        # letter service refuses, naming the field, one that no content is written in.
        self.fields["language"].choices = get_setting("LANGUAGES")

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value

    def validate(self, attrs):
        if not attrs.get("customer_id") and "data" not in attrs:
            raise serializers.ValidationError({"customer_id": "Give a customer_id or the letter's data."})
        return attrs

    def to_letter_request(self):
        values = self.validated_data
        return LetterRequest(template=values["template"].specific, customer_id=values.get("customer_id", ""),
                             data=values.get("data"), slots=values.get("slots") or {},
                             enclosures=values.get("enclosures"), edits=values.get("edits"), zones=values.get("zones"),
                             optional_fragments=values.get("optional_fragments"), channel=values.get("channel", ""),
                             language=values.get("language", ""))


class LetterCreateSerializer(LetterRequestSerializer):
    status = serializers.ChoiceField(
        choices=[(LetterStatus.DRAFT.value, LetterStatus.DRAFT.label),
                 (LetterStatus.GENERATED.value, LetterStatus.GENERATED.label)], default=LetterStatus.GENERATED,
        help_text="'generated' (default) generates now; 'draft' saves a draft. A letter that an approval rule "
                  "holds is generated as 'pending_approval' and sent once approved.")


class ProblemSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()
    kind = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    can_generate = serializers.BooleanField()
    missing = ProblemSerializer(many=True)
    channel = serializers.CharField()
    language = serializers.CharField()
    subject = serializers.CharField()
    html = serializers.CharField(help_text="The print document")
    email = serializers.DictField()
    sms = serializers.DictField(allow_null=True)
    fragments = serializers.ListField(child=serializers.DictField())


class LetterSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    status = LetterStatusField(read_only=True)
    template = serializers.SerializerMethodField()
    revisions = serializers.SerializerMethodField()
    fragments = serializers.SerializerMethodField()
    slots = serializers.JSONField(source="slot_values")
    data = serializers.JSONField(read_only=True)  # an encrypted field: not a JSONField to DRF's eyes
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    generated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    links = serializers.SerializerMethodField()
    delivery_status = serializers.CharField(read_only=True)
    delivery = serializers.SerializerMethodField()
    approval = serializers.SerializerMethodField()
    enclosures = serializers.SerializerMethodField()
    edits = EditsField(source="fragment_edits", read_only=True)
    zones = ZonesField(source="zone_choices", read_only=True)
    tailoring = serializers.SerializerMethodField()

    class Meta:
        model = Letter
        fields = ["id", "reference", "status", "template", "revisions", "fragments", "enclosures", "customer_id",
                  "recipient_name",
                  "channels", "language", "language_fallbacks", "subject", "data", "slots", "optional_fragments",
                  "edits", "zones", "tailoring", "pdf_sha256",
                  "pdf_pages", "html_sha256", "created_by", "created_at", "generated_by", "generated_at",
                  "approval", "delivery_status", "delivery", "links"]
        read_only_fields = fields

    def get_template(self, letter) -> dict:
        return {"id": letter.template_id, "title": letter.template.title}

    def get_revisions(self, letter) -> dict:
        return {"template": letter.template_revision_id, "layout": letter.layout_revision_id,
                "data_dictionary": letter.dictionary_revision_id}

    def get_fragments(self, letter) -> list[dict]:
        return [{"key": pin.fragment.key, "title": pin.fragment.title, "revision": pin.revision_id,
                 "included": pin.included} for pin in letter.pinned_fragments]

    def get_enclosures(self, letter) -> list[dict]:
        """The enclosures the letter carries after its own pages, with the revision pinned; for
        a draft, the keys chosen (null: the template's choice)."""
        pins = list(letter.enclosure_pins.select_related("enclosure").order_by("position"))
        if pins or letter.has_output:
            return [{"key": pin.enclosure.key, "title": pin.enclosure.title, "revision": pin.revision_id,
                     "pages": pin.pages, "sha256": pin.file_sha256} for pin in pins]
        return [{"key": key} for key in letter.enclosure_keys or []]

    def get_tailoring(self, letter) -> list[dict]:
        """Each paragraph the agent edited or left out: the fragment and approved revision it
        started from, and a redline against that wording as the customer reads it (``redline``
        in wdiff form, ``changes`` as pieces). Empty for drafts and untailored letters."""
        return letter_tailoring(letter)

    def get_delivery(self, letter) -> list[dict]:
        return [{"channel": dispatch.channel, "status": dispatch.status, "recipient": dispatch.recipient,
                 "attempts": dispatch.attempts, "next_attempt_at": dispatch.next_attempt_at,
                 "sent_at": dispatch.sent_at, "delivered_at": dispatch.delivered_at, "last_error": dispatch.last_error}
                for dispatch in letter.dispatches.all()]

    def get_approval(self, letter) -> dict | None:
        """Why the letter needed approval, who approved it, the approver's comment when it was
        returned; null for a letter no rule held."""
        if not (letter.approval_reasons or letter.approved_by_id or letter.return_comment):
            return None
        return {"reasons": list(letter.approval_reasons or []),
                "approved_by": letter.approved_by.get_username() if letter.approved_by_id else None,
                "approved_at": letter.approved_at, "return_comment": letter.return_comment}

    def get_links(self, letter) -> dict:
        request = self.context.get("request")
        key = letter.reference or str(letter.uuid)

        def absolute(url):
            return request.build_absolute_uri(url) if request else url

        links = {"self": absolute(reverse("wagtail_correspondence_api:letter-detail", args=[key])),
                 "admin": absolute(reverse("wagtail_correspondence_letters:inspect", args=[letter.pk]))}
        if letter.has_output:
            links["pdf"] = absolute(reverse("wagtail_correspondence_api:letter-pdf", args=[key]))
        if letter.status in (LetterStatus.DRAFT, LetterStatus.RETURNED):
            links["generate"] = absolute(reverse("wagtail_correspondence_api:letter-generate", args=[key]))
        if letter.is_awaiting_approval:
            links["approve"] = absolute(reverse("wagtail_correspondence_api:letter-approve", args=[key]))
            links["return"] = absolute(reverse("wagtail_correspondence_api:letter-return-for-changes", args=[key]))
        return links


class LetterListSerializer(LetterSerializer):
    class Meta(LetterSerializer.Meta):
        fields = ["id", "reference", "status", "template", "customer_id", "recipient_name", "channels", "subject",
                  "created_by", "created_at", "generated_at", "delivery_status", "links"]
        read_only_fields = fields


class ApprovalDecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000,
                                    help_text="The approver's comment; required to return a letter.")


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SealCheckSerializer(serializers.Serializer):
    sealed = serializers.BooleanField()
    intact = serializers.BooleanField(help_text="The signed bytes are unchanged, and nothing was added after.")
    valid = serializers.BooleanField(help_text="The signature matches its certificate.")
    trusted = serializers.BooleanField(help_text="The certificate chains to a trust root of the settings.")
    ours = serializers.BooleanField(help_text="Sealed with the certificate recorded at generation.")
    signer = serializers.CharField(help_text="The signing certificate's common name.")
    subject = serializers.CharField(help_text="The signing certificate's whole subject.")
    fingerprint = serializers.CharField(help_text="SHA-256 of the signing certificate.")
    signed_at = serializers.DateTimeField(allow_null=True)
    problem = serializers.CharField()
    ok = serializers.BooleanField()


class PdfCheckSerializer(serializers.Serializer):
    reference = serializers.CharField()
    ok = serializers.BooleanField(help_text="The stored PDF is the one generated, and its seal (if it was "
                                            "sealed) is intact, ours and trusted.")
    stored_pdf_matches = serializers.BooleanField(help_text="The stored PDF's SHA-256 is the one recorded.")
    seal_expected = serializers.BooleanField(help_text="The letter was sealed when it was generated.")
    seal = SealCheckSerializer(allow_null=True)
    problem = serializers.CharField()


class PdfCopyRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The PDF to check.")
    password = serializers.CharField(required=False, allow_blank=False, max_length=200, trim_whitespace=False,
                                     help_text="Its password, for a password-protected email copy.")


class PdfCopyCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="The file carries our seal, intact and trusted.")
    reference = serializers.CharField(help_text="The letter reference the file names, if any.")
    letter_found = serializers.BooleanField(help_text="A letter with that reference that you may see exists.")
    same_as_stored = serializers.BooleanField(help_text="The file is byte for byte that letter's stored PDF.")
    seal = SealCheckSerializer()
