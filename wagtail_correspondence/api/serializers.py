from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..models import DataDictionary, Department, Fragment, Layout
from ..services.usage import fragment_usage

# The largest primary key a database column holds (64-bit); larger numbers never name a row,
# and some databases raise an error instead of finding nothing.
MAX_ID = 2**63 - 1


class IdField(serializers.PrimaryKeyRelatedField):
    """A primary key of a related object: an id no database can hold is an unknown id (400),
    not a database error (500)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            try:
                number = int(data)
            except OverflowError:  # an infinite float
                self.fail("does_not_exist", pk_value=data)
            except (TypeError, ValueError):
                number = None  # not a number at all: the parent says so
            if number is not None and not -MAX_ID <= number <= MAX_ID:
                self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class DepartmentSerializer(serializers.ModelSerializer):
    parent = serializers.SerializerMethodField()

    class Meta:
        model = Department
        fields = ["id", "name", "code", "email", "parent", "depth", "is_active"]

    def get_parent(self, obj) -> int | None:
        parent = obj.get_parent()
        return parent.pk if parent else None


class DataFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField(source="field_type")
    required = serializers.BooleanField()
    example = serializers.CharField()
    help = serializers.CharField(source="help_text")


class DataDictionarySerializer(serializers.ModelSerializer):
    fields = DataFieldSerializer(many=True, read_only=True)
    sample_data_sets = serializers.SerializerMethodField()
    json_schema = serializers.SerializerMethodField()

    class Meta:
        model = DataDictionary
        fields = ["id", "name", "description", "fields", "sample_data_sets", "json_schema"]

    def get_sample_data_sets(self, obj) -> list[dict]:
        return [{"id": sample.pk, "name": sample.name} for sample in obj.sample_data_sets.all()]

    def get_json_schema(self, obj) -> dict:
        return obj.json_schema()


class FragmentSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="status_string", read_only=True)
    live_revision = serializers.IntegerField(source="live_revision_id", read_only=True)
    latest_revision = serializers.IntegerField(source="latest_revision_id", read_only=True)
    category = serializers.StringRelatedField()
    owning_department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    used_in_templates = serializers.SerializerMethodField()
    used_in_letters = serializers.SerializerMethodField()

    class Meta:
        model = Fragment
        fields = ["id", "key", "title", "status", "live", "live_revision", "latest_revision", "data_dictionary",
                  "category", "owning_department", "channels", "language", "review_by", "go_live_at", "expire_at",
                  "used_in_templates", "used_in_letters"]

    def usage(self, obj):
        """Where the fragment is used, worked out once per fragment for both fields."""
        cache = self.context.setdefault("fragment_usage", {})
        if obj.pk not in cache:
            cache[obj.pk] = fragment_usage(obj)
        return cache[obj.pk]

    def get_used_in_templates(self, obj) -> list[dict]:
        return [{"id": page.pk, "title": page.title, "live": page.live} for page in self.usage(obj).templates]

    def get_used_in_letters(self, obj) -> dict:
        usage = self.usage(obj)
        return {"drafts": usage.draft_letters, "generated": usage.generated_letters}


class LayoutSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="status_string", read_only=True)

    class Meta:
        model = Layout
        fields = ["id", "name", "status", "live", "page_size", "orientation", "address_window", "show_page_numbers"]


class PayloadValidationSerializer(serializers.Serializer):
    data = serializers.JSONField(help_text="The payload to check against the dictionary")


class MeSerializer(serializers.ModelSerializer):
    groups = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    departments = serializers.SlugRelatedField(source="correspondence_departments", slug_field="code", many=True,
                                               read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "first_name", "last_name", "email", "groups", "departments"]
