"""The plugin's settings: one dict, ``WAGTAIL_CORRESPONDENCE``, with every default here.

Read a value with ``get_setting("NAME")``; never read ``settings.WAGTAIL_CORRESPONDENCE``
directly elsewhere, so that defaults and validation stay in one place.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

DEFAULTS = {
    "ORGANISATION_NAME": "Correspondence",
    # Pluggable customer data source: a class with search(), get() (see customers.py).
    "CUSTOMER_DATA_SOURCE": {
        "BACKEND": "wagtail_correspondence.customers.JSONFileCustomerSource",
        "OPTIONS": {"path": None},
    },
    "DEFAULT_CURRENCY": "EUR",
    "DEFAULT_LOCALE": "en_GB",
    "LANGUAGES": [("en", "English"), ("fr", "French"), ("nl", "Dutch"), ("de", "German")],
    "CHANNELS": [("print", "Print"), ("email", "Email"), ("sms", "SMS")],
    # Name of the workflow that content must pass before it is live.
    "REVIEW_WORKFLOW_NAME": "Legal review",
    "PDF_BACKEND": "weasyprint",
}


def get_setting(name):
    if name not in DEFAULTS:
        raise KeyError(f"Unknown WAGTAIL_CORRESPONDENCE setting {name!r}")
    configured = getattr(settings, "WAGTAIL_CORRESPONDENCE", {})
    unknown = set(configured) - set(DEFAULTS)
    if unknown:
        raise ImproperlyConfigured(f"Unknown WAGTAIL_CORRESPONDENCE keys: {', '.join(sorted(unknown))}")
    return configured.get(name, DEFAULTS[name])


def load_backend(name):
    """Instantiate a pluggable part configured as ``{"BACKEND": "dotted.path", "OPTIONS": {...}}``."""
    config = get_setting(name)
    try:
        backend_class = import_string(config["BACKEND"])
    except (KeyError, ImportError) as exc:
        raise ImproperlyConfigured(f"WAGTAIL_CORRESPONDENCE[{name!r}]['BACKEND'] is invalid: {exc}") from exc
    return backend_class(**config.get("OPTIONS", {}))
