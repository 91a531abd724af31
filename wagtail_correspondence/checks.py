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
def scheduled_jobs_valid(app_configs, **kwargs):
    """The scheduler's job list (SCHEDULED_JOBS) and the leases (BACKGROUND) are well formed."""
    from django.core.checks import Error
    from django.core.exceptions import ImproperlyConfigured

    from .conf import get_setting
    from .services.scheduler import configured_jobs

    errors = []
    try:
        configured_jobs()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="wagtail_correspondence.E020"))
    for name, value in get_setting("BACKGROUND").items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            errors.append(Error(f"WAGTAIL_CORRESPONDENCE['BACKGROUND'][{name!r}] must be a positive number",
                                id="wagtail_correspondence.E021"))
    return errors
