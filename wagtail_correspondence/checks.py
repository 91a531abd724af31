"""System checks of the plugin's settings (``manage.py check``; ``--deploy`` for production)."""

from django.conf import settings
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


@register(Tags.security)
def no_third_party_requests(app_configs, **kwargs):
    """Pages of the admin must not make browsers contact third parties: staff would be
    tracked, and Gravatar receives an MD5 hash of each staff email address on the page."""
    warnings = []
    if getattr(settings, "WAGTAIL_GRAVATAR_PROVIDER_URL", "//www.gravatar.com/avatar") is not None:
        warnings.append(Warning(
            "Wagtail shows Gravatar avatars: every admin page asks the provider for each user's picture, "
            "sending a hash of their email address out of the organisation.",
            hint="Set WAGTAIL_GRAVATAR_PROVIDER_URL = None (users may still upload a picture).",
            id="wagtail_correspondence.W020"))
    if getattr(settings, "WAGTAIL_ENABLE_UPDATE_CHECK", True):
        warnings.append(Warning(
            "Wagtail's dashboard asks releases.wagtail.org for new versions from superusers' browsers.",
            hint="Set WAGTAIL_ENABLE_UPDATE_CHECK = False and follow Wagtail's releases another way.",
            id="wagtail_correspondence.W021"))
    return warnings


@register(Tags.security)
def bounded_json_forms(app_configs, **kwargs):
    if "wagtail_correspondence.middleware.BoundedJSONFormMiddleware" in settings.MIDDLEWARE:
        return []
    return [Warning(
        "Admin forms are not checked for JSON nested past WAGTAIL_CORRESPONDENCE['INPUT_LIMITS']['JSON_MAX_DEPTH']: "
        "a crafted post to Wagtail's rich text editor answers 500 (RecursionError).",
        hint="Add 'wagtail_correspondence.middleware.BoundedJSONFormMiddleware' to MIDDLEWARE, after Django's "
             "CSRF and authentication middleware.",
        id="wagtail_correspondence.W022")]
