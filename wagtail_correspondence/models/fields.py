from django import forms
from django.db import models

from ..conf import get_setting


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
