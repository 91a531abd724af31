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


@register(Tags.security, deploy=True)
def audit_keys_configured(app_configs, **kwargs):
    from .audit_keys import configured_keys

    if configured_keys():
        return []
    return [Warning(
        "No WAGTAIL_CORRESPONDENCE['AUDIT_KEYS']: the audit log is sealed with a key derived from SECRET_KEY, so "
        "whoever holds SECRET_KEY can re-seal an edited log, and rotating SECRET_KEY breaks every seal.",
        hint="Set CORRESPONDENCE_AUDIT_KEYS (the reference site) to a key made by "
             "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` before migrating, or move the seals "
             "to it afterwards with `manage.py correspondence_audit_rekey --from-development-key`.",
        id="wagtail_correspondence.W020")]


@register()
def audit_keys_valid(app_configs, **kwargs):
    from django.core.checks import Error
    from django.core.exceptions import ImproperlyConfigured

    from .audit_keys import keyring

    try:
        keyring()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="wagtail_correspondence.E020")]
    return []


@register(Tags.security, deploy=True)
def audit_checkpoints_write_once(app_configs, **kwargs):
    from django.core.checks import Error
    from django.core.exceptions import ImproperlyConfigured

    from .checkpoint_stores import checkpoint_store

    try:
        store = checkpoint_store()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="wagtail_correspondence.E021")]
    if store.write_once:
        return []
    return [Warning(
        f"Audit checkpoints are written to {store.describe()}, which is not write-once: someone who can delete "
        f"or rewrite them there and holds an audit key can re-seal an edited log unseen.",
        hint="Write them to an S3 bucket with Object Lock (the reference site: CORRESPONDENCE_AUDIT_CHECKPOINT_BUCKET; "
             "or WAGTAIL_CORRESPONDENCE['AUDIT_CHECKPOINTS'] with S3CheckpointStore and object_lock_mode), or "
             "silence this check if the storage is write-once in another way.",
        id="wagtail_correspondence.W021")]
