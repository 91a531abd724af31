"""Serializers of the register API. Input serializers only check the shape of a request and
turn codes and usernames into objects; every rule (status machine, routing, permissions,
deadlines) stays in ``services.register``."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import NoReverseMatch, reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_field
from rest_framework import serializers

from ..conf import get_setting
from ..models import (
    Category,
    Confidentiality,
    Correspondence,
    Department,
    Direction,
    Kind,
    Priority,
    RegisterChannel,
    Status,
)
from ..services import register as register_service
from ..services import register_access as access
from ..services.register_links import reply_target
from ..uploads import EXTENSIONS, content_name, sniff

# Fields that exist on an entry but are changed through their own endpoint (or never).
NOT_EDITABLE = {
    "status": "Change the status with POST …/transition/.",
    "department": "Change the department with POST …/assign/.",
    "assignee": "Change the assignee with POST …/assign/.",
}


MODEL_FIELDS = {field.name for field in Correspondence._meta.get_fields()}


def read_only_message(name):
    if name in NOT_EDITABLE:
        return NOT_EDITABLE[name]
    return "This field cannot be set here." if name in MODEL_FIELDS else "Unknown field."


class NamedChoiceField(serializers.ChoiceField):
    """A choice field documented as an enum component of its own name. Without it the
    register's ``status`` and ``channel`` would collide with the letters' fields of the same
    name, and drf-spectacular would rename both enums with hash suffixes."""

    enum_name = None
    enum_choices = None

    def __init__(self, **kwargs):
        super().__init__(choices=self.enum_choices, **kwargs)


class RegisterStatusField(NamedChoiceField):
    enum_name = "RegisterStatusEnum"
    enum_choices = Status.choices


class RegisterChannelField(NamedChoiceField):
    enum_name = "RegisterChannelEnum"
    enum_choices = RegisterChannel.choices


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = build_choice_field(serializers.ChoiceField(choices=self.target.enum_choices))
        schema.pop("x-spec-enum-id", None)
        component = ResolvedComponent(name=self.target.enum_name, type=ResolvedComponent.SCHEMA,
                                      object=self.target.enum_name, schema=schema)
        auto_schema.registry.register_on_missing(component)
        return component.ref


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, naming each, instead of silently dropping them."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data.keys()) - writable)
            if unknown:
                raise serializers.ValidationError({name: [self.message_for(name)] for name in unknown})
        return super().to_internal_value(data)

    def message_for(self, name):
        return read_only_message(name)


class UserField(serializers.CharField):
    """Someone who may work register entries, by username; ``me`` is the user making the
    request. A name no one has and the name of someone who works no entries (an auditor)
    get the same answer: the field never tells which usernames exist."""

    def to_internal_value(self, data):
        username = super().to_internal_value(data)
        request = self.context.get("request")
        if username == "me" and request is not None:
            return request.user
        user = access.workers().filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise serializers.ValidationError(f"No one named {username!r} may work register entries.")
        return user

    def to_representation(self, value):
        return value.get_username()


def department_field(**kwargs):
    return serializers.SlugRelatedField(
        queryset=Department.objects.filter(is_active=True), slug_field="code",
        error_messages={"does_not_exist": "No active department with code {value!r}.",
                        "invalid": "Give a department code."}, **kwargs)


def category_field(**kwargs):
    return serializers.SlugRelatedField(
        queryset=Category.objects.filter(is_active=True), slug_field="code",
        error_messages={"does_not_exist": "No active category with code {value!r}.",
                        "invalid": "Give a category code."}, **kwargs)


class RecipientSerializer(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    organisation = serializers.CharField(required=False, allow_blank=True, max_length=255)
    address = serializers.CharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=50)

    def message_for(self, name):
        return "Unknown field: give name, organisation, address, email and phone."


class EntryFieldsSerializer(StrictSerializer):
    """The fields a caller describes an entry with, shared by create and edit."""

    kind = serializers.ChoiceField(choices=Kind.choices, required=False)
    channel = RegisterChannelField(required=False)
    subject = serializers.CharField(max_length=500, required=False)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    sender_name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    sender_organisation = serializers.CharField(required=False, allow_blank=True, max_length=255)
    sender_address = serializers.CharField(required=False, allow_blank=True)
    sender_email = serializers.EmailField(required=False, allow_blank=True)
    sender_phone = serializers.CharField(required=False, allow_blank=True, max_length=50)
    recipients = RecipientSerializer(many=True, required=False)
    customer_id = serializers.CharField(required=False, allow_blank=True, max_length=100)
    external_reference = serializers.CharField(required=False, allow_blank=True, max_length=255)
    received_at = serializers.DateTimeField(required=False, allow_null=True)
    sent_at = serializers.DateTimeField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    confidentiality = serializers.ChoiceField(choices=Confidentiality.choices, required=False)
    category = category_field(required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                 help_text="Free words; replaces the entry's tags")


class CorrespondenceCreateSerializer(EntryFieldsSerializer):
    direction = serializers.ChoiceField(choices=Direction.choices, default=Direction.INBOUND)
    channel = RegisterChannelField(default=RegisterChannel.API,
                                   help_text="How it arrived or leaves; default 'api' (another system)")
    subject = serializers.CharField(max_length=500)
    in_reply_to = serializers.CharField(required=False, allow_blank=True,
                                        help_text="Reference of the entry this one answers (same thread)")
    department = department_field(
        required=False, allow_null=True,
        help_text="Department code. Given (even null), it replaces the routing's choice; needs the assign "
                  "permission. A department without an assignee leaves the entry unassigned there.")
    assignee = UserField(required=False, allow_null=True,
                         help_text="Username or 'me'. Given, it replaces the routing's choice; needs the assign "
                                   "permission.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                    help_text="Comment of the first version in the history")

    def validate_in_reply_to(self, value):
        if not value:
            return None
        try:
            return reply_target(self.context["request"].user, value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["in_reply_to"]) from exc


class CorrespondenceUpdateSerializer(EntryFieldsSerializer):
    """PATCH: any subset of the editable fields; ``due_at`` needs the assign permission."""

    resolution = serializers.CharField(required=False, allow_blank=True)
    due_at = serializers.DateTimeField(required=False, allow_null=True,
                                       help_text="A new deadline (needs the assign permission)")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                    help_text="Comment of the new version in the history")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Give at least one field to change."]})
        return attrs


class TransitionSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=list(register_service.ACTIONS), required=False,
                                     help_text="start, await_customer, resume, respond, close or reopen")
    status = RegisterStatusField(required=False, help_text="Or a target status")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                   help_text="Needed to reopen, and to close an entry nobody responded to")

    def validate(self, attrs):
        if ("action" in attrs) == ("status" in attrs):
            raise serializers.ValidationError({"action": ["Give either an action or a status."]})
        return attrs


class AssignSerializer(StrictSerializer):
    department = department_field(required=False, allow_null=True,
                                  help_text="Department code; null: no department; absent: unchanged")
    assignee = UserField(required=False, allow_null=True,
                         help_text="Username or 'me'; null: nobody; absent: unchanged")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    def validate(self, attrs):
        if "department" not in attrs and "assignee" not in attrs:
            raise serializers.ValidationError({"assignee": ["Give a department, an assignee or both."]})
        return attrs


class NoteCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=10000)


class AttachmentUploadSerializer(StrictSerializer):
    file = serializers.FileField()
    title = serializers.CharField(required=False, allow_blank=True, max_length=255)
    attachment = serializers.UUIDField(required=False, allow_null=True,
                                       help_text="Id of a document of this entry: the file becomes its next version")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate_file(self, upload):
        """Named after what it holds: a PDF sent as invoice.exe is kept as invoice.pdf, and is
        downloaded later as a PDF. (The content itself is checked where it is stored.)"""
        content = upload.read(get_setting("REGISTER")["MAX_UPLOAD_BYTES"] + 1)
        upload.seek(0)
        content_type = sniff(content)
        if content_type in EXTENSIONS:
            upload.name = content_name(upload.name, content_type)
        return upload


# Output -------------------------------------------------------------------------------

class CodeNameSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()


class ThreadEntrySerializer(serializers.Serializer):
    reference = serializers.CharField()
    direction = serializers.CharField()
    subject = serializers.CharField()
    status = RegisterStatusField()
    registered_at = serializers.DateTimeField()


class AttachmentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    title = serializers.CharField()
    version = serializers.IntegerField(help_text="Number of the latest version")
    versions = serializers.IntegerField(help_text="How many versions there are")
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_by = serializers.CharField(allow_null=True)
    uploaded_at = serializers.DateTimeField()

    def to_representation(self, attachment):
        versions = sorted(attachment.versions.all(), key=lambda version: version.number)
        latest = versions[-1] if versions else None
        return {
            "id": str(attachment.uuid), "title": attachment.title,
            "version": latest.number if latest else None, "versions": len(versions),
            "filename": latest.filename if latest else None,
            "content_type": latest.content_type if latest else None,
            "size": latest.size if latest else None, "sha256": latest.sha256 if latest else None,
            "uploaded_by": latest.uploaded_by.get_username() if latest and latest.uploaded_by_id else None,
            "uploaded_at": serializers.DateTimeField().to_representation(latest.uploaded_at) if latest else None,
        }


class NoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.SerializerMethodField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_author(self, note) -> str | None:
        return note.author.get_username() if note.author_id else None


class HistoryItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Version id")
    date = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True)
    comment = serializers.CharField()


class CorrespondenceListSerializer(serializers.ModelSerializer):
    status = RegisterStatusField(read_only=True)
    channel = RegisterChannelField(read_only=True)
    department = serializers.SerializerMethodField()
    category = serializers.SerializerMethodField()
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    party = serializers.CharField(read_only=True, help_text="The sender of inbound mail, else the first recipient")
    links = serializers.SerializerMethodField()

    class Meta:
        model = Correspondence
        fields = ["reference", "direction", "kind", "channel", "subject", "party", "customer_id", "status",
                  "priority", "confidentiality", "category", "department", "assignee", "registered_at",
                  "received_at", "sent_at", "due_at", "is_overdue", "links"]
        read_only_fields = fields

    def get_department(self, entry) -> CodeNameSerializer(allow_null=True):
        return {"code": entry.department.code, "name": entry.department.name} if entry.department_id else None

    def get_category(self, entry) -> CodeNameSerializer(allow_null=True):
        return {"code": entry.category.code, "name": entry.category.name} if entry.category_id else None

    def get_links(self, entry) -> dict:
        request = self.context.get("request")

        def absolute(url):
            return request.build_absolute_uri(url) if request else url

        links = {"self": absolute(reverse("wagtail_correspondence_api:correspondence-detail",
                                          args=[entry.reference]))}
        try:
            links["admin"] = absolute(entry.get_admin_url())
        except NoReverseMatch:  # the register's admin views are not installed
            pass
        return links


class CorrespondenceSerializer(CorrespondenceListSerializer):
    """One entry with its thread (as far as the user may see it), documents, notes, history
    pointer and the actions the user can take now."""

    tags = serializers.SerializerMethodField()
    in_reply_to = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    sla = serializers.SerializerMethodField()
    thread = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()
    available_actions = serializers.SerializerMethodField()

    class Meta(CorrespondenceListSerializer.Meta):
        fields = ["reference", "direction", "kind", "channel", "source", "subject", "body", "sender_name",
                  "sender_organisation", "sender_address", "sender_email", "sender_phone", "recipients", "party",
                  "customer_id", "external_reference", "status", "priority", "confidentiality", "category",
                  "department", "assignee", "tags", "in_reply_to", "registered_at", "received_at", "sent_at",
                  "due_at", "is_overdue", "responded_at", "closed_at", "resolution", "sla", "routing_decision",
                  "delivery_status", "created_by", "updated_at", "thread", "attachments", "notes",
                  "available_actions", "links"]
        read_only_fields = fields

    @property
    def _user(self):
        return self.context["request"].user

    def get_tags(self, entry) -> list[str]:
        return sorted(entry.tags.names(), key=str.lower)

    def get_sla(self, entry) -> dict:
        return {"policy": entry.sla_policy.name if entry.sla_policy_id else None,
                "started_at": entry.sla_started_at, "paused_at": entry.sla_paused_at,
                "cycle": entry.sla_cycle, "escalation_level": entry.escalation_level}

    def get_thread(self, entry) -> ThreadEntrySerializer(many=True):
        entries = access.visible_entries(self._user, entry.thread())
        return ThreadEntrySerializer(entries, many=True).data

    def get_attachments(self, entry) -> AttachmentSerializer(many=True):
        if not self._user.has_perm("wagtail_correspondence.view_attachment"):
            return []
        attachments = entry.attachments.prefetch_related("versions__uploaded_by")
        return AttachmentSerializer(attachments, many=True).data

    def get_notes(self, entry) -> NoteSerializer(many=True):
        if not self._user.has_perm("wagtail_correspondence.view_note"):
            return []
        return NoteSerializer(entry.notes.select_related("author"), many=True).data

    def get_available_actions(self, entry) -> ActionSerializer(many=True):
        return [{"action": name, "label": str(label)}
                for name, label in register_service.available_actions(self._user, entry)]


class LegalHoldSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the hold is placed (the matter) or lifted")


class LegalHoldStatusSerializer(serializers.Serializer):
    reference = serializers.CharField()
    legal_hold = serializers.BooleanField(help_text="Whether this entry itself is held")
    reason = serializers.CharField(source="legal_hold_reason")
    placed_by = serializers.SerializerMethodField()
    placed_at = serializers.DateTimeField(source="legal_hold_at", allow_null=True)
    held = serializers.SerializerMethodField(help_text="Whether a hold on this entry or on another entry of its "
                                                       "conversation keeps it from retention")

    def get_placed_by(self, entry) -> str | None:
        return entry.legal_hold_by.get_username() if entry.legal_hold_by_id else None

    def get_held(self, entry) -> bool:
        from ..services.retention import is_held

        return is_held(entry)
