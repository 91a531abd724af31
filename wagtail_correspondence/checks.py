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


@register()
def pdf_seal_loads(app_configs, **kwargs):
    """A configured seal whose key cannot be read would refuse every letter: said at start."""
    from django.core.checks import Error
    from django.core.exceptions import ImproperlyConfigured

    from . import pdf_seal

    try:
        pdf_seal.certificate_fingerprint()
    except (ImproperlyConfigured, pdf_seal.SealError) as exc:
        return [Error(f"WAGTAIL_CORRESPONDENCE['PDF_SEAL']: {exc}", id="wagtail_correspondence.E070",
                      hint="Letters cannot be generated until the seal's files and passphrase are right.")]
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
            id="wagtail_correspondence.W030"))
    if getattr(settings, "WAGTAIL_ENABLE_UPDATE_CHECK", True):
        warnings.append(Warning(
            "Wagtail's dashboard asks releases.wagtail.org for new versions from superusers' browsers.",
            hint="Set WAGTAIL_ENABLE_UPDATE_CHECK = False and follow Wagtail's releases another way.",
            id="wagtail_correspondence.W031"))
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
        id="wagtail_correspondence.W032")]


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
        id="wagtail_correspondence.E040")]


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
        errors.append(Error(str(exc), id="wagtail_correspondence.E050"))
    for name, value in get_setting("BACKGROUND").items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            errors.append(Error(f"WAGTAIL_CORRESPONDENCE['BACKGROUND'][{name!r}] must be a positive number",
                                id="wagtail_correspondence.E051"))
    return errors


@register(Tags.security, deploy=True)
def portal_links_have_a_public_address(app_configs, **kwargs):
    """Without PORTAL["BASE_URL"], a portal link in a customer's email starts with the host of
    the request that generated the letter: in production that trusts a Host header (within
    ALLOWED_HOSTS) to decide where customers are sent."""
    from .conf import get_setting

    if get_setting("PORTAL").get("BASE_URL"):
        return []
    return [Warning(
        "Portal links in customers' emails follow the address of the request that generated each letter.",
        hint="Set WAGTAIL_CORRESPONDENCE['PORTAL']['BASE_URL'] (CORRESPONDENCE_PUBLIC_URL in the reference site) "
             "to the address customers reach the site at.",
        id="wagtail_correspondence.W033")]


@register(Tags.urls)
def portal_is_routed(app_configs, **kwargs):
    """Letters sent on the portal channel link to the portal's pages: without its URLs, every
    portal dispatch fails."""
    from django.core.checks import Error
    from django.urls import get_resolver

    if "wagtail_correspondence_portal" in get_resolver().namespace_dict:
        return []
    return [Error(
        "The customer portal's URLs are not routed: letters on the portal channel cannot be sent.",
        hint='Add path("portal/", include("wagtail_correspondence.portal.urls")) to the project\'s urlpatterns.',
        id="wagtail_correspondence.E060")]


@register(Tags.security, Tags.urls)
def site_history_goes_to_the_audit_log(app_configs, **kwargs):
    """Wagtail's Site history lists the log of every object type a user holds a permission on,
    whatever the object's department: officers would read entries outside their scope. The
    audit log (auditors only) takes its place when the project redirects it there."""
    from django.core.checks import Warning
    from django.urls import NoReverseMatch, resolve, reverse

    try:
        match = resolve(reverse("wagtailadmin_reports:site_history"))
    except NoReverseMatch:
        return []
    if match.namespace != "wagtailadmin_reports":
        return []
    return [Warning(
        "Wagtail's Site history is reachable: it shows officers the history of register entries outside their "
        "scope. The menu entry is hidden, but the page still answers at its address.",
        hint="Route admin/reports/site-history/ (and results/) to the audit log before Wagtail's admin URLs, as "
             "the reference site does: RedirectView.as_view(pattern_name=\"wagtail_correspondence_audit:index\", "
             "query_string=True) and \"wagtail_correspondence_audit:results\".",
        id="wagtail_correspondence.W034")]
