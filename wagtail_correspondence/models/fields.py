from django import forms
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from ..conf import get_setting
from ..encryption import decrypt_text, encrypt_text, is_encrypted_text


class ChannelsField(models.JSONField):
    """A list of channel codes (print, email, sms), edited as checkboxes."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return forms.MultipleChoiceField(
            choices=get_setting("CHANNELS"),
            widget=forms.CheckboxSelectMultiple,
            required=not self.blank,
            label=self.verbose_name,
            help_text=self.help_text,
        )

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        allowed = {code for code, _label in get_setting("CHANNELS")}
        unknown = [code for code in value or [] if code not in allowed]
        if unknown:
            raise forms.ValidationError(f"Unknown channel(s): {', '.join(unknown)}")


def language_choices():
    return get_setting("LANGUAGES")


def channel_choices():
    return get_setting("CHANNELS")


class EncryptedTextField(models.TextField):
    """Text encrypted at rest (see ``encryption.py``). Cannot be searched or filtered on by
    content: keep such fields out of search and lookups."""

    encrypted_at_rest = True  # what encryption.encrypted_fields() looks for

    def from_db_value(self, value, expression, connection):
        return decrypt_text(value) if value is not None else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or is_encrypted_text(value):
            return value
        return encrypt_text(value)


class EncryptedJSONField(models.TextField):
    """A JSON value encrypted at rest, stored as text. Python sees the decoded value, as
    with ``JSONField``; JSON lookups are not available."""

    encrypted_at_rest = True

    def __init__(self, *args, **kwargs):
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        import json

        if value is None:
            return None
        return json.loads(decrypt_text(value))

    def to_python(self, value):
        import json

        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value):
        import json

        if value is None:
            return None
        return encrypt_text(json.dumps(value, cls=DjangoJSONEncoder))

    def value_to_string(self, obj):
        import json

        return json.dumps(self.value_from_object(obj), cls=DjangoJSONEncoder)

    def formfield(self, **kwargs):
        from ..json_limits import BoundedJSONFormField

        kwargs.pop("form_class", None)
        return BoundedJSONFormField(label=self.verbose_name, required=not self.blank, help_text=self.help_text,
                                    **kwargs)


# What a new language variant of a fragment or layout does not take from its source when
# wagtail-localize copies it: the source's publication, revisions and lock. A variant begins as
# a draft of its own and is reviewed on its own (``exclude_fields_in_copy``).
NEW_VARIANT_BLANKS = ["live_revision", "latest_revision", "first_published_at", "last_published_at", "locked",
                      "locked_at", "locked_by", "go_live_at", "expire_at", "expired"]
