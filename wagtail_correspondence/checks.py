"""System checks of the plugin's settings (``manage.py check``; ``--deploy`` for production)."""

from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def encryption_keys_configured(app_configs, **kwargs):
    from .encryption import configured_keys

    if configured_keys():
        return []
    return [Warning(
        "No WAGTAIL_CORRESPONDENCE['ENCRYPTION_KEYS']: customer data is encrypted with a key derived from "
        "SECRET_KEY, so rotating SECRET_KEY would make it unreadable.",
        hint="Set CORRESPONDENCE_ENCRYPTION_KEYS (the reference site) to a key made by "
             "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`.",
        id="wagtail_correspondence.W010")]


@register()
def encryption_keys_valid(app_configs, **kwargs):
    from django.core.checks import Error
    from django.core.exceptions import ImproperlyConfigured

    from .encryption import fernet

    try:
        fernet()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="wagtail_correspondence.E010")]
    return []


@register()
def four_eyes_needs_reapproval(app_configs, **kwargs):
    from django.conf import settings
    from django.core.checks import Error

    from .conf import get_setting

    if not get_setting("FOUR_EYES") or getattr(settings, "WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT", False):
        return []
    return [Error(
        "WAGTAIL_CORRESPONDENCE['FOUR_EYES'] needs WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = True: without it, "
        "approving a revision publishes whatever revision is latest, which its approver may never have seen.",
        hint="Set WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = True, or FOUR_EYES to False.",
        id="wagtail_correspondence.E020")]
