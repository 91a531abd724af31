"""Template helpers of the product's admin screens."""

from django import template
from django.utils.translation import gettext as _
from wagtail.models import Page
from wagtail.permission_policies.pages import PagePermissionPolicy

from ..conf import language_name

register = template.Library()


@register.filter
def works_with_pages(user):
    """Whether the dashboard's “Search all pages” means anything to ``user``: those who edit
    letter templates (pages) use it; correspondence staff have no page to find."""
    return PagePermissionPolicy(Page).user_has_any_permission(user, ["add", "change", "publish"])


@register.filter
def channel_name(code):
    """A channel as people call it ("Secure portal", not "portal"); the archive is a copy kept,
    not a channel of the settings."""
    from ..services.dispatch import channel_label

    return _("Archive") if code == "archive" else channel_label(code)


register.filter("language_name", language_name)


@register.simple_tag
def register_list_filter(view, spec):
    """One filter of the register list: the select filters write their own HTML
    (``SelectFilter.as_html``), the others render their template as modeladmin does."""
    from wagtail_modeladmin.templatetags.modeladmin_tags import admin_list_filter

    as_html = getattr(spec, "as_html", None)
    return as_html(view) if as_html else admin_list_filter(view, spec)


@register.simple_tag
def script_strings(name):
    """The words of one admin script (script_strings.STRINGS[name]) in the reader's language,
    as a JSON script element the script reads (id ``cc-strings-<name>``)."""
    from django.utils.html import json_script

    from ..script_strings import STRINGS

    return json_script({key: str(text) for key, text in STRINGS[name].items()}, f"cc-strings-{name}")
